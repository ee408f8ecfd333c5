"""Request ids, the access log and the last-resort error handler, as one ASGI middleware.

Every response carries ``X-Request-ID`` (the client's, when it sent a well-formed one, else a new
one) and every log line written while the request runs carries it too, through a context
variable that :class:`RequestIdFilter` copies onto log records.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from assistant.audit import audit_notes
from assistant.redact import redact

logger = logging.getLogger(__name__)

REQUEST_ID_HEADER = "X-Request-ID"
NO_REQUEST = "-"
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")  # echoed into logs: no spaces, no newlines
INTERNAL_ERROR_MESSAGE = "internal error: the request id identifies it in the server's log"

_request_id: ContextVar[str] = ContextVar("request_id", default=NO_REQUEST)

# Called once per request with (method, route template, status, seconds).
RequestObserver = Callable[[str, str, int, float], None]


@dataclass(frozen=True)
class FinishedRequest:
    """A request as the audit log sees it once its response is sent."""

    request_id: str
    method: str
    route: str  # the route's template, or the path (scrubbed) when no route matched
    status: int
    seconds: float
    state: dict[str, Any]  # request.state (the caller, as the key gate found it)
    notes: dict[str, Any]  # what the route noted (assistant.audit.note_for_audit)


def current_request_id() -> str:
    """The id of the request being handled (``-`` outside a request)."""
    return _request_id.get()


class RequestIdFilter(logging.Filter):
    """Adds ``record.request_id`` so formats can show it; attach it to handlers."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get()
        return True


def install_request_id_logging(log_format: str = LOG_FORMAT, json_lines: bool = False) -> None:
    """Show the request id on every line the root logger's handlers write; with
    ``json_lines``, one JSON object a line (time, level, logger, request_id, message), for a
    service's log shipper."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig()
    for handler in root.handlers:
        if not any(isinstance(f, RequestIdFilter) for f in handler.filters):
            handler.addFilter(RequestIdFilter())
        handler.setFormatter(json_formatter() if json_lines else logging.Formatter(log_format))


def json_formatter() -> logging.Formatter:
    """python-json-logger's formatter with the fields a service's logs are searched by."""
    try:
        from pythonjsonlogger.json import JsonFormatter
    except ImportError:  # python-json-logger 2.x
        from pythonjsonlogger.jsonlogger import JsonFormatter
    return JsonFormatter(
        "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
    )


def _incoming_id(scope: Scope) -> str | None:
    value = Headers(scope=scope).get(REQUEST_ID_HEADER)
    return value if value and _SAFE_ID.match(value) else None


def route_template(scope: Scope) -> str:
    """The matched route's path template (``/v1/documents/{doc_id}``), or ``unmatched``."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


class RequestContextMiddleware:
    """Outermost middleware: request id, one access-log line, metrics, and a safe 500.

    The access log shows the method, the path and the status, never the query string or a
    header; ``scrub`` (the keyring's mask) hides an API key a client put in the path, and
    :func:`assistant.redact.redact` any patient identifier.
    """

    def __init__(
        self,
        app: ASGIApp,
        observe: RequestObserver | None = None,
        scrub: Callable[[str], str] | None = None,
        audit: Callable[[FinishedRequest], Awaitable[None]] | None = None,
    ) -> None:
        self.app = app
        self.observe = observe
        self.scrub = scrub
        self.audit = audit  # told of every request once its response is sent

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _incoming_id(scope) or uuid.uuid4().hex
        token = _request_id.set(request_id)
        notes: dict[str, Any] = {}
        notes_token = audit_notes.set(notes)
        started = time.perf_counter()
        state = {"status": 500, "started": False}

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                state["started"] = True
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            logger.exception("unhandled error in %s %s", scope["method"], self._path(scope))
            if state["started"]:
                raise
            await self._internal_error(request_id, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            self._finish(scope, int(state["status"]), seconds)
            if self.audit is not None:
                route = route_template(scope)
                finished = FinishedRequest(
                    request_id,
                    scope["method"],
                    self._path(scope) if route == "unmatched" else route,
                    int(state["status"]),
                    seconds,
                    dict(scope.get("state") or {}),
                    notes,
                )
                await self.audit(finished)
            audit_notes.reset(notes_token)
            _request_id.reset(token)

    @staticmethod
    async def _internal_error(request_id: str, send: Send) -> None:
        body = json.dumps(
            {
                "error": {
                    "code": "internal_error",
                    "message": INTERNAL_ERROR_MESSAGE,
                    "request_id": request_id,
                }
            }
        ).encode()
        headers = [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
        ]
        await send({"type": "http.response.start", "status": 500, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    def _finish(self, scope: Scope, status: int, seconds: float) -> None:
        route = route_template(scope)
        if self.observe is not None:
            self.observe(scope["method"], route, status, seconds)
        logger.info(
            "%s %s -> %d in %.1f ms", scope["method"], self._path(scope), status, seconds * 1e3
        )

    def _path(self, scope: Scope) -> str:
        """The path as logged: never the query string or headers (they may hold keys or
        identifiers), and no key or identifier a client put in the path itself."""
        path: str = scope["path"]
        return redact(self.scrub(path) if self.scrub else path)
