"""OpenAPI details the routes declare: error responses and the shape of their event streams."""

from __future__ import annotations

from typing import Any

from assistant.api.sse import SSE_MEDIA_TYPE
from assistant.api.wire import ErrorResponse

_ERROR_DESCRIPTIONS = {
    400: "The request body could not be parsed.",
    401: "Missing or invalid API key.",
    403: "The API key's scope does not allow this.",
    404: "Not found.",
    413: "Request body or upload too large.",
    415: "The uploaded file's content is not a supported document type.",
    422: "Invalid input; `fields` names each field at fault.",
    429: "Rate limit reached; retry after `Retry-After` seconds.",
    500: "Internal error; the request id identifies it in the server's log.",
    503: "The vector store (Chroma) or another backend cannot be reached.",
}
COMMON_ERRORS = (400, 413, 422, 500)
KEYED_ERRORS = (401, 403, 429, *COMMON_ERRORS)
# OpenAPI 3.1 reads the schema of an event stream as the schema of one event.
ASK_STREAM_CONTENT = {
    SSE_MEDIA_TYPE: {
        "schema": {
            "type": "object",
            "required": ["event", "data"],
            "properties": {
                "event": {"type": "string", "enum": ["delta", "final", "error"]},
                "data": {
                    "type": "string",
                    "contentMediaType": "application/json",
                    "description": "DeltaEvent for `delta`, AskResponse for `final`, "
                    "ErrorResponse for `error`.",
                },
            },
        }
    }
}
CHAT_STREAM_CONTENT = {
    SSE_MEDIA_TYPE: {
        "schema": {
            "type": "object",
            "required": ["data"],
            "properties": {
                "data": {
                    "type": "string",
                    "description": "A ChatCompletionChunk as JSON; `[DONE]` ends the stream.",
                }
            },
        }
    }
}


def errors_doc(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for error status codes, all with the ErrorResponse body."""
    return {
        code: {"model": ErrorResponse, "description": _ERROR_DESCRIPTIONS[code]} for code in codes
    }


# OpenAPI links: how one operation's response feeds the next (clients and stateful testing read
# them): an answer's id to feedback on it, an upload's document id to its removal or release.
ANSWER_LINKS = {
    "RateThisAnswer": {
        "operationId": "give_feedback",
        "requestBody": {"answer_id": "$response.body#/answer_id", "rating": "up"},
        "description": "Rate the answer just given.",
    }
}
UPLOAD_LINKS = {
    "RemoveThisDocument": {
        "operationId": "delete_document",
        "parameters": {"doc_id": "$response.body#/doc_id"},
        "description": "Remove the document just uploaded.",
    },
    "ReleaseItsPassages": {
        "operationId": "release_passages",
        "parameters": {"doc_id": "$response.body#/doc_id"},
        "description": "Let the uploaded document's quarantined passages through.",
    },
    "MarkItsLifecycle": {
        "operationId": "mark_document",
        "parameters": {"doc_id": "$response.body#/doc_id"},
        "description": "Say the uploaded document is superseded (or current, withdrawn ...).",
    },
}


def with_links(responses: dict[int | str, dict[str, Any]], status: int, links: dict) -> dict:
    """``responses`` with ``links`` on the success status."""
    return {**responses, status: {**responses.get(status, {}), "links": links}}
