"""Calling the model: bounded retries with backoff, a wall-clock limit, and one error type.

The OpenAI client's own retries are switched off (``max_retries=0`` in the factory) so that
this module is the one place that decides: timeouts, refused connections, 429 and 5xx are
retried up to ``LLMSettings.max_retries`` times, waiting ``backoff_s`` then twice as long each
time (or the server's ``Retry-After``, capped at ``MAX_BACKOFF_S``). Other 4xx answers and
malformed responses are not retried: asking again would get the same answer. A stream is only
retried before its first token (after that the text is already on the user's screen).

Every wait is bounded: ``timeout_s`` for the connection and each token (the HTTP client's
timeouts) and ``total_timeout_s`` for a whole generation, checked as tokens arrive. So one call
takes at most ``attempts * (total_timeout_s + timeout_s) + sum(backoffs)``.

Whatever goes wrong ends as :class:`BackendUnavailableError` with a one-line message.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import logging
import re
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import httpx
import openai
from langchain_core.messages import BaseMessageChunk
from langchain_core.runnables import Runnable

from assistant.config import LLMSettings
from assistant.errors import BackendUnavailableError

logger = logging.getLogger(__name__)

MAX_BACKOFF_S = 8.0
MESSAGE_CHARS = 200  # of a server's error body quoted in our message
SECRET_MASK = "[secret]"
# A credential a server may quote back in its error ("Incorrect API key provided: Bearer ...").
_CREDENTIAL = re.compile(r"\b(Bearer|Basic|api[-_]?key[\"':= ]+)\s*[^\s\"',;)}]+", re.I)


def _http_modules() -> list[ModuleType]:
    """httpx, and httpx2 where the openai client uses it: errors mid-stream come from either."""
    modules = [httpx]
    with contextlib.suppress(ImportError):
        modules.append(importlib.import_module("httpx2"))
    return modules


def _errors(name: str) -> tuple[type[BaseException], ...]:
    return tuple(getattr(m, name) for m in _http_modules() if hasattr(m, name))


_TIMEOUTS: tuple[type[BaseException], ...] = (openai.APITimeoutError, *_errors("TimeoutException"))
_TRANSPORT: tuple[type[BaseException], ...] = (
    openai.APIConnectionError,
    *_errors("TransportError"),
)
_HTTP = _errors("HTTPError")


class _Failure(Exception):
    """A classified failure: whether to retry, what to tell the user, how long to wait."""

    def __init__(self, message: str, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


def _retry_after(response: Any) -> float | None:
    """Seconds from a Retry-After header given as a number (dates are ignored)."""
    value = response.headers.get("retry-after") if response is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _status_failure(exc: openai.APIStatusError) -> _Failure:
    body = " ".join(str(exc.message).split())[:MESSAGE_CHARS]
    status = exc.status_code
    if status == 429:
        return _Failure("is rate limiting requests (HTTP 429)", True, _retry_after(exc.response))
    if status >= 500:
        return _Failure(f"failed with HTTP {status}", True)
    return _Failure(f"refused the request (HTTP {status}: {body})", False)


def classify(exc: BaseException, timeout_s: float) -> _Failure | None:
    """What a failure means for the caller; None for errors that are bugs, not outages."""
    if isinstance(exc, _Failure):
        return exc
    if isinstance(exc, _TIMEOUTS):
        return _Failure(f"did not answer within {timeout_s:g} s", True)
    if isinstance(exc, _TRANSPORT):
        cause = exc.__cause__ or exc
        return _Failure(f"cannot be reached ({type(cause).__name__}: {cause})", True)
    if isinstance(exc, openai.APIStatusError):
        return _status_failure(exc)
    if isinstance(exc, openai.APIResponseValidationError | json.JSONDecodeError):
        return _Failure(f"sent a malformed response ({type(exc).__name__})", False)
    if isinstance(exc, (openai.OpenAIError, *_HTTP, KeyError, TypeError, ValueError)):
        return _Failure(f"sent a response that could not be read ({type(exc).__name__})", False)
    return None


def _text(chunk: Any) -> str:
    """The text of a message chunk (content may be a string or a list of parts)."""
    content = chunk.content if isinstance(chunk, BaseMessageChunk) else chunk
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p if isinstance(p, str) else str(p.get("text", "")) for p in content)
    raise _Failure(f"sent content of an unexpected type ({type(content).__name__})", False)


def _finished(chunk: Any) -> bool:
    return bool(getattr(chunk, "response_metadata", {}).get("finish_reason"))


@dataclass
class ModelCaller:
    """Runs an LCEL chain (prompt | chat model) with the retry and time limits above.

    >>> caller = ModelCaller(prompt | model, settings.llm, "LLM at http://...")  # doctest: +SKIP
    >>> "".join(caller.stream({"question": "..."}))
    """

    chain: Runnable[dict[str, Any], Any]
    settings: LLMSettings
    name: str
    sleep: Callable[[float], None] = time.sleep

    @property
    def attempts(self) -> int:
        return 1 + self.settings.max_retries

    def _backoff(self, attempt: int, failure: _Failure) -> float:
        wait = self.settings.backoff_s * 2**attempt
        if failure.retry_after is not None:
            wait = max(wait, failure.retry_after)
        return min(wait, MAX_BACKOFF_S)

    def _said(self, failure: _Failure) -> str:
        """The failure as we repeat it (to logs and clients): never the API key, even when
        the server quoted it back."""
        text = str(failure)
        key = self.settings.api_key.get_secret_value()
        if key:
            text = text.replace(key, SECRET_MASK)
        return _CREDENTIAL.sub(lambda m: f"{m.group(1)} {SECRET_MASK}", text)

    def _give_up(self, failure: _Failure, attempt: int, exc: BaseException) -> None:
        tries = f" after {attempt + 1} attempts" if attempt else ""
        raise BackendUnavailableError(f"the {self.name} {self._said(failure)}{tries}") from exc

    def stream(self, inputs: dict[str, Any]) -> Iterator[str]:
        """Text pieces as the model writes them; retried only before the first piece."""
        for attempt in range(self.attempts):
            sent = 0
            try:
                for piece in self._stream_once(inputs):
                    sent += len(piece)
                    yield piece
                return
            except Exception as exc:  # classified below; bugs are re-raised
                failure = classify(exc, self.settings.timeout_s)
                if failure is None:
                    raise
                if sent:
                    failure = _Failure(f"stopped mid-answer ({failure})", False)
                if not failure.retryable or attempt + 1 == self.attempts:
                    self._give_up(failure, attempt, exc)
                wait = self._backoff(attempt, failure)
                logger.warning("%s %s; retrying in %.1f s", self.name, self._said(failure), wait)
                self.sleep(wait)

    def _stream_once(self, inputs: dict[str, Any]) -> Iterator[str]:
        deadline = time.monotonic() + self.settings.total_timeout_s
        finished = False
        stream = self.chain.stream(inputs)
        try:
            for chunk in stream:
                if time.monotonic() > deadline:
                    raise _Failure(
                        f"was still writing after {self.settings.total_timeout_s:g} s", True
                    )
                finished = finished or _finished(chunk)
                piece = _text(chunk)
                if piece:
                    yield piece
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()
        if not finished:
            raise _Failure("ended the stream before the answer was finished", True)

    def invoke(self, inputs: dict[str, Any]) -> str:
        """The whole reply (streamed underneath, so the same limits apply)."""
        return "".join(self.stream(inputs))
