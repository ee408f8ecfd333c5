"""The OpenAI Chat Completions surface: ``/v1/chat/completions`` and ``/v1/models``.

Any OpenAI client can talk to the assistant: the last user message is the question, earlier
messages are the history, and the reply's text ends with its numbered sources. The structured
citations travel in an extra top-level ``citations`` field (on the last chunk when streaming).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

from assistant.answer.citations import pages, section_within
from assistant.answer.untrusted import strip_markup
from assistant.api.errors import ApiError
from assistant.api.wire import (
    AssistantMessage,
    ChatChunkChoice,
    ChatCompletionChoice,
    ChatCompletionChunk,
    ChatCompletionMessage,
    ChatCompletionRequest,
    ChatCompletionResponse,
    ChatDelta,
    CompletionUsage,
    ModelInfo,
    ModelList,
)
from assistant.errors import FieldInputError
from assistant.schemas import AskRequest, AskResponse, ChatMessage, CitationInfo
from assistant.transcript import literal, page_link

MODEL_NAME = "nhs-assistant"
MODEL_OWNER = "nhs-assistant"
MODEL_CREATED = 1_764_000_000  # fixed, so /v1/models is stable across restarts
SOURCES_HEADING = "Sources:"
COMPLETION_ID_PREFIX = "chatcmpl-"
# Stream pieces end after a citation mark or a line break, so each is about one sentence.
_PIECE_END = re.compile(r"(?<=\n)|(?<=\] )")


def model_list() -> ModelList:
    return ModelList(data=[ModelInfo(id=MODEL_NAME, created=MODEL_CREATED, owned_by=MODEL_OWNER)])


def _text_of(message: ChatCompletionMessage) -> str:
    if message.content is None:
        return ""
    if isinstance(message.content, str):
        return message.content
    return "\n".join(p.text for p in message.content if p.type == "text" and p.text)


def _unsupported(param: str, why: str) -> ApiError:
    return ApiError(
        400,
        "unsupported_parameter",
        f"'{param}' is not supported here: {why}",
        param=param,
        type="invalid_request_error",
    )


def check_parameters(request: ChatCompletionRequest) -> None:
    """400, in OpenAI's error shape naming the parameter, for what cannot be honoured."""
    extra = request.model_extra or {}
    if request.n not in (None, 1):
        raise _unsupported("n", "the assistant gives one answer per question; send n=1")
    for param in ("tools", "functions"):
        if extra.get(param):
            raise _unsupported(param, "the assistant calls no tools; it answers from documents")
    if extra.get("tool_choice") not in (None, "none"):
        raise _unsupported("tool_choice", "the assistant calls no tools")
    response_format = extra.get("response_format")
    if response_format is not None and (
        not isinstance(response_format, dict) or response_format.get("type") != "text"
    ):
        raise _unsupported("response_format", "answers are text with their sources; use 'text'")
    if extra.get("logprobs") or extra.get("top_logprobs"):
        raise _unsupported("logprobs", "answers quote documents or are checked against them")


def to_ask_request(request: ChatCompletionRequest) -> AskRequest:
    """The last user message becomes the question; the messages before it, the history."""
    check_parameters(request)
    if request.model != MODEL_NAME:
        raise ApiError(
            404, "model_not_found", f"model {request.model!r} not found: use {MODEL_NAME!r}"
        )
    last_user = max((i for i, m in enumerate(request.messages) if m.role == "user"), default=None)
    if last_user is None:
        raise FieldInputError("messages", "messages need at least one 'user' message")
    history = [ChatMessage(role=m.role, content=_text_of(m)) for m in request.messages[:last_user]]
    return AskRequest(question=_text_of(request.messages[last_user]), history=history)


QUOTE_CHARS = 200  # the quote shown under each source in the message text


def source_line(c: CitationInfo) -> str:
    """``[1] Title — section, p. 4 <https://…#page=4>``: literal Markdown (nothing a title
    carries can become markup), the address as an autolink a chat client makes clickable."""
    section = section_within(c.title, c.section)
    label = " ".join(
        strip_markup(" — ".join(x for x in (c.title or c.doc_id, section) if x)).split()
    )
    where = pages(c.page, c.page_end)
    line = f"[{c.n}] {literal(label)}" + (f", {where}" if where else "")
    link = page_link(c.source_url, c.page)
    return f"{line} <{link}>" if link else line


def short_quote(text: str, limit: int = QUOTE_CHARS) -> str:
    """The quote on one line, cut at a word before ``limit`` characters (with "…")."""
    text = " ".join(strip_markup(text).split())
    if len(text) <= limit:
        return text
    return text[:limit].rsplit(" ", 1)[0].rstrip(",;:") + " …"


def sources_markdown(citations: list[CitationInfo]) -> str:
    """Each source on its line, its quote below as a block quote; blank lines between, so any
    Markdown client keeps them apart."""
    blocks = []
    for c in citations:
        block = source_line(c)
        if c.document_warning:
            block += f"\n⚠ {literal(c.document_warning)}"
        if c.quote:
            block += f"\n> {literal(short_quote(c.quote))}"
        blocks.append(block)
    return "\n\n".join(blocks)


def completion_text(response: AskResponse) -> str:
    """The answer with its numbered sources at the end (a refusal already lists them)."""
    if response.refused or not response.citations:
        return response.answer
    return f"{response.answer}\n\n{SOURCES_HEADING}\n\n{sources_markdown(response.citations)}"


def _usage(question: str, text: str) -> CompletionUsage:
    """Word counts stand in for tokens: there is no language model to count them."""
    prompt, completion = len(question.split()), len(text.split())
    return CompletionUsage(
        prompt_tokens=prompt, completion_tokens=completion, total_tokens=prompt + completion
    )


_SENTENCE_END = re.compile(r"(?<=[.!?\]])\s+")


def within_words(response: AskResponse, limit: int | None) -> tuple[AskResponse, bool]:
    """The answer cut to whole sentences within ``limit`` words (the unit ``usage`` counts),
    keeping only the citations the kept sentences mark; whether anything was cut."""
    if limit is None or response.refused or len(response.answer.split()) <= limit:
        return response, False
    kept: list[str] = []
    for sentence in _SENTENCE_END.split(response.answer.strip()):
        if len(" ".join([*kept, sentence]).split()) > limit:
            break
        kept.append(sentence)
    if not kept:  # one sentence longer than the limit: its first words
        kept = [" ".join(response.answer.split()[:limit]) + " …"]
    text = " ".join(kept)
    marked = {int(n) for n in re.findall(r"\[(\d+)\]", text)}
    citations = [c for c in response.citations if c.n in marked]
    return response.model_copy(update={"answer": text, "citations": citations}), True


def completion_response(
    question: str, response: AskResponse, max_words: int | None = None
) -> ChatCompletionResponse:
    response, cut = within_words(response, max_words)
    text = completion_text(response)
    return ChatCompletionResponse(
        id=COMPLETION_ID_PREFIX + response.answer_id,
        created=int(time.time()),
        model=MODEL_NAME,
        choices=[
            ChatCompletionChoice(
                message=AssistantMessage(content=text), finish_reason="length" if cut else "stop"
            )
        ],
        usage=_usage(question, text),
        answer_id=response.answer_id,
        refused=response.refused,
        citations=response.citations,
    )


def completion_chunks(
    question: str,
    response: AskResponse,
    max_words: int | None = None,
    include_usage: bool = False,
) -> Iterator[ChatCompletionChunk]:
    """The completion as chunks: the role, the text piece by piece, then stop and citations
    (and, when asked for, a last chunk with the usage and no choices)."""
    response, cut = within_words(response, max_words)
    base = ChatCompletionChunk(
        id=COMPLETION_ID_PREFIX + response.answer_id,
        created=int(time.time()),
        model=MODEL_NAME,
        choices=[ChatChunkChoice(delta=ChatDelta(role="assistant", content=""))],
    )
    yield base
    for piece in _PIECE_END.split(completion_text(response)):
        if piece:
            yield base.model_copy(
                update={"choices": [ChatChunkChoice(delta=ChatDelta(content=piece))]}
            )
    yield base.model_copy(
        update={
            "choices": [
                ChatChunkChoice(delta=ChatDelta(), finish_reason="length" if cut else "stop")
            ],
            "answer_id": response.answer_id,
            "refused": response.refused,
            "citations": response.citations,
        }
    )
    if include_usage:
        usage = _usage(question, completion_text(response))
        yield base.model_copy(update={"choices": [], "usage": usage})
