"""HTTP errors: one JSON shape for all of them, and the mapping from the package's errors.

Every error body is ``{"error": {"code", "message", "request_id", "fields"?}}``; nothing else
(no stack trace, no exception text from a library) reaches a client.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from assistant.api.request_context import current_request_id
from assistant.api.wire import ErrorDetail, ErrorResponse, FieldError
from assistant.errors import (
    AssistantError,
    BackendUnavailableError,
    ConfigurationError,
    DocumentError,
    FieldInputError,
    InvalidFileNameError,
    InvalidInputError,
    NotFoundError,
    UnsupportedDocumentError,
    UploadTooLargeError,
)

logger = logging.getLogger(__name__)

BACKEND_RETRY_AFTER_S = 5  # Retry-After sent with 503 when the store cannot be reached

# The package's errors, most specific first: (class, HTTP status, code).
_ASSISTANT_ERRORS: tuple[tuple[type[AssistantError], int, str], ...] = (
    (UploadTooLargeError, 413, "payload_too_large"),
    (InvalidFileNameError, 422, "invalid_file_name"),
    (UnsupportedDocumentError, 415, "unsupported_media_type"),
    (NotFoundError, 404, "not_found"),
    (InvalidInputError, 422, "invalid_input"),
    (DocumentError, 422, "document_error"),
    (BackendUnavailableError, 503, "backend_unavailable"),
    (ConfigurationError, 500, "configuration_error"),
)
_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
    429: "rate_limited",
    500: "internal_error",
    503: "unavailable",
}


class ApiError(Exception):
    """An error with its HTTP status, raised by the API layer itself."""

    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        fields: Sequence[FieldError] | None = None,
        headers: Mapping[str, str] | None = None,
        param: str | None = None,
        type: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.fields = list(fields) if fields else None
        self.headers = dict(headers or {})
        self.param = param  # OpenAI's "param" and "type", for its clients
        self.type = type


def error_body(
    code: str,
    message: str,
    fields: Sequence[FieldError] | None = None,
    param: str | None = None,
    type: str | None = None,
) -> dict:
    """The JSON body of an error, with the current request id."""
    detail = ErrorDetail(
        code=code,
        message=message,
        request_id=current_request_id(),
        fields=fields or None,
        param=param,
        type=type,
    )
    return ErrorResponse(error=detail).model_dump(exclude_none=True)


def error_response(
    status_code: int,
    code: str,
    message: str,
    fields: Sequence[FieldError] | None = None,
    headers: Mapping[str, str] | None = None,
    param: str | None = None,
    type: str | None = None,
) -> JSONResponse:
    return JSONResponse(
        error_body(code, message, fields, param, type),
        status_code=status_code,
        headers=dict(headers or {}),
    )


_UNION_BRANCH = {"str", "int", "float", "bool", "none"}


def _field_path(loc: Sequence[Any]) -> str:
    """``("body", "history", 0, "role")`` -> ``"history.0.role"``; the branch labels pydantic
    adds inside a union (``"function-after[clean_text(), str]"``, ``"list[...]"``) are left out."""
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    parts = [p for p in parts if "[" not in p and p not in _UNION_BRANCH]
    return ".".join(parts) or "body"


def _field_errors(errors: Sequence[Mapping[str, Any]]) -> list[FieldError]:
    """One error per field: of a union's alternatives, the one that says what is wrong with
    the value (a failed check) rather than that it is not some other type."""
    by_field: dict[str, FieldError] = {}
    for e in errors:
        field = _field_path(e["loc"])
        message = str(e["msg"]).removeprefix("Value error, ")
        if field not in by_field or e.get("type") == "value_error":
            by_field[field] = FieldError(field=field, message=message)
    return list(by_field.values())


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(
        exc.status_code, exc.code, exc.message, exc.fields, exc.headers, exc.param, exc.type
    )


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = exc.errors()
    bad_json = next((e for e in errors if e.get("type") == "json_invalid"), None)
    if bad_json is not None:
        # ("body", 17): the body does not parse, at that character.
        where = bad_json["loc"][-1] if len(bad_json["loc"]) > 1 else None
        why = (bad_json.get("ctx") or {}).get("error") or "not valid JSON"
        message = f"the body is not valid JSON ({why}" + (
            f", at character {where})" if isinstance(where, int) else ")"
        )
        return error_response(
            400, "invalid_json", message, [FieldError(field="body", message=message)]
        )
    fields = _field_errors(errors)
    summary = "; ".join(f"{f.field}: {f.message}" for f in fields[:3])
    return error_response(422, "invalid_request", f"invalid request: {summary}", fields)


def _routes(routes: Sequence[Any]) -> Iterator[Any]:
    """Every route, through included routers (FastAPI nests them)."""
    for route in routes:
        inner = getattr(route, "original_router", None)
        if inner is not None:
            yield from _routes(inner.routes)
        else:
            yield route


def allowed_methods(request: Request) -> list[str]:
    """Every method some route of the app takes at this path (Starlette names only the first
    route's, though several routes may share a path)."""
    methods: set[str] = set()
    for route in _routes(request.app.router.routes):
        regex, route_methods = getattr(route, "path_regex", None), getattr(route, "methods", None)
        if regex is not None and route_methods and regex.match(request.url.path):
            methods |= set(route_methods)
    return sorted(methods)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = _HTTP_CODES.get(exc.status_code, "http_error")
    message = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    headers = dict(exc.headers or {})
    if exc.status_code == 405 and (methods := allowed_methods(request)):
        headers["Allow"] = ", ".join(methods)
        message = f"method {request.method} is not allowed here; use {headers['Allow']}"
    return error_response(exc.status_code, code, message, headers=headers)


def describe_assistant_error(exc: AssistantError) -> tuple[int, ErrorResponse]:
    """The HTTP status and error body for one of the package's errors (logged if a 5xx)."""
    status, code = next(
        ((status, code) for cls, status, code in _ASSISTANT_ERRORS if isinstance(exc, cls)),
        (500, "internal_error"),
    )
    if status >= 500:
        logger.error("%s: %s", exc.__class__.__name__, exc)
    fields = None
    if isinstance(exc, FieldInputError):
        fields = [FieldError(field=exc.field, message=str(exc))]
    detail = ErrorDetail(
        code=code, message=str(exc), request_id=current_request_id(), fields=fields
    )
    return status, ErrorResponse(error=detail)


async def _assistant_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AssistantError)
    status, body = describe_assistant_error(exc)
    headers = {"Retry-After": str(BACKEND_RETRY_AFTER_S)} if status == 503 else None
    return JSONResponse(body.model_dump(exclude_none=True), status_code=status, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Map every expected error to the one JSON shape (the rest: see RequestContextMiddleware)."""
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(AssistantError, _assistant_error)
