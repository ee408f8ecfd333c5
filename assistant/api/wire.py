"""Shapes only the HTTP API speaks: errors, feedback, documents, health, and the OpenAI Chat
Completions format (close enough to OpenAI's for its clients). Shapes every surface shares
(questions, answers, citations) are in :mod:`assistant.schemas`."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from assistant.schemas import ChatRole, CitationInfo, DocumentInfo, Text


class FeedbackRequest(BaseModel):
    """A rating of an answer given earlier."""

    model_config = ConfigDict(extra="forbid")

    answer_id: str = Field(min_length=1, max_length=100)
    rating: Literal["up", "down"]
    comment: Text | None = Field(None, max_length=4000)


class FeedbackResponse(BaseModel):
    feedback_id: str
    answer_id: str
    rating: Literal["up", "down"]


class FieldError(BaseModel):
    """One invalid field: where it is (dotted path) and what is wrong."""

    field: str
    message: str


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable machine-readable code, e.g. 'unauthorized'.")
    message: str = Field(description="What went wrong, in words a user can act on.")
    request_id: str = Field(description="Quote this when reporting a problem.")
    # OpenAI's error fields, on /v1/chat/completions: its clients read them.
    type: str | None = Field(None, description="OpenAI error type (chat completions only).")
    param: str | None = Field(None, description="The request parameter at fault, if one is.")
    fields: list[FieldError] | None = None


class ErrorResponse(BaseModel):
    """Every error the API returns: ``{"error": {"code", "message", "request_id"}}``."""

    error: ErrorDetail


class DocumentList(BaseModel):
    documents: list[DocumentInfo]


class ReleaseRequest(BaseModel):
    keys: list[Text] | None = Field(
        None,
        max_length=1000,
        description="Keys of the quarantined passages to let through (see `quarantined` in "
        "GET /v1/documents); omit to release all of the document's passages.",
    )


class DeleteResponse(BaseModel):
    doc_id: str
    removed: bool


class HealthResponse(BaseModel):
    status: Literal["ok"] = "ok"


class ReadyResponse(BaseModel):
    """Readiness: the store answers and the index holds passages."""

    status: Literal["ready", "not_ready"]
    chunks: int | None = None
    message: str = ""
    request_id: str | None = None


class ChatContentPart(BaseModel):
    """A part of a message's content (only text parts are read)."""

    model_config = ConfigDict(extra="allow")

    type: str
    text: Text | None = None


class ChatCompletionMessage(BaseModel):
    model_config = ConfigDict(extra="allow")

    role: ChatRole
    content: Text | list[ChatContentPart] | None = None


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="allow")

    include_usage: bool = Field(
        False, description="Send a last chunk with `usage` (and no choices) before `[DONE]`."
    )


class ChatCompletionRequest(BaseModel):
    """OpenAI Chat Completions request. Sampling options (`temperature`, `top_p`, `seed`,
    penalties, `user`) are accepted and ignored: answers quote or are checked against the
    documents. What cannot be honoured is refused with 400 naming the parameter: `n` above 1,
    `tools`/`functions`, a `response_format` other than text, `logprobs`."""

    model_config = ConfigDict(extra="allow")

    model: str = Field(examples=["nhs-assistant"])
    messages: list[ChatCompletionMessage] = Field(min_length=1, max_length=100)
    stream: bool = False
    stream_options: StreamOptions | None = None
    max_tokens: int | None = Field(
        None,
        ge=1,
        description="Longest answer, in words (the unit `usage` counts: there is no tokenizer); "
        "whole sentences are kept, and `finish_reason` is `length` when some were cut. The "
        "sources after the answer are not counted.",
    )
    max_completion_tokens: int | None = Field(None, ge=1, description="As `max_tokens`.")
    n: int | None = Field(None, ge=1, le=128, description="Only 1 is supported.")


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class ChatCompletionChoice(BaseModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: Literal["stop", "length"] = "stop"


class CompletionUsage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class ChatCompletionResponse(BaseModel):
    """OpenAI Chat Completions response, plus the structured ``citations``."""

    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[ChatCompletionChoice]
    usage: CompletionUsage
    answer_id: str
    refused: bool = Field(
        description="True when the corpus does not answer: the text then says so and lists the "
        "nearest sources."
    )
    citations: list[CitationInfo]


class ChatDelta(BaseModel):
    role: Literal["assistant"] | None = None
    content: str | None = None


class ChatChunkChoice(BaseModel):
    index: int = 0
    delta: ChatDelta
    finish_reason: Literal["stop", "length"] | None = None


class ChatCompletionChunk(BaseModel):
    """One ``data:`` line of a streamed completion; the last carries the citations."""

    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChatChunkChoice]
    answer_id: str | None = None
    refused: bool | None = None
    citations: list[CitationInfo] | None = None
    usage: CompletionUsage | None = None


class ModelInfo(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelInfo]
