"""The FastAPI app: thin routes over the services that the CLI uses, so both give the same answers.

>>> app = create_app(build_services(Settings()))   # doctest: +SKIP
>>> uvicorn.run(app, host="127.0.0.1", port=8000)  # doctest: +SKIP

Each route parses its request, calls one service that ``build_services`` made (the answering
service, the document service, the feedback store, the store) and returns a typed response.
Authentication, rate limits, body limits, request ids, metrics and error mapping sit around the
routes, not inside them; domain errors become HTTP statuses in :mod:`assistant.api.errors`.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, File, Form, Request, UploadFile
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from assistant.api.auth import (
    PRINCIPAL_STATE,
    ApiGuard,
    ApiKeyring,
    KeyGate,
    Principal,
    require,
)
from assistant.api.errors import (
    ApiError,
    describe_assistant_error,
    error_response,
    install_error_handlers,
)
from assistant.api.limits import BodyLimitMiddleware, make_limiter
from assistant.api.openai_compat import (
    completion_chunks,
    completion_response,
    model_list,
    to_ask_request,
)
from assistant.api.openapi_docs import (
    ANSWER_LINKS,
    ASK_STREAM_CONTENT,
    CHAT_STREAM_CONTENT,
    KEYED_ERRORS,
    UPLOAD_LINKS,
    errors_doc,
    with_links,
)
from assistant.api.request_context import (
    INTERNAL_ERROR_MESSAGE,
    FinishedRequest,
    RequestContextMiddleware,
    current_request_id,
)
from assistant.api.sse import SSE_HEADERS, SSE_MEDIA_TYPE, sse_event
from assistant.api.wire import (
    ChatCompletionRequest,
    ChatCompletionResponse,
    DeleteResponse,
    DocumentList,
    ErrorDetail,
    ErrorResponse,
    FeedbackRequest,
    FeedbackResponse,
    HealthResponse,
    ModelList,
    ReadyResponse,
    ReleaseRequest,
)
from assistant.asking import AskResult, AskService, passage_of
from assistant.audit import AUDIT_NOTE_FIELDS, AuditEntry, AuditLog, note_for_audit
from assistant.documents import UPLOAD_FILE_DESCRIPTION
from assistant.errors import (
    AssistantError,
    BackendUnavailableError,
    FieldInputError,
    InvalidInputError,
)
from assistant.feedback import UnknownAnswerError
from assistant.metrics import Metrics
from assistant.schemas import (
    AskRequest,
    AskResponse,
    DeltaEvent,
    DocumentInfo,
    LifecycleUpdate,
    RetrieveRequest,
    RetrieveResponse,
    UploadMetadata,
    UploadResponse,
)
from assistant.services import Services

logger = logging.getLogger(__name__)

API_TITLE = "NHS leaders' assistant"
API_VERSION = "1"
API_DESCRIPTION = (
    "Cited answers for NHS leaders from a curated corpus. Send an API key as "
    "`Authorization: Bearer KEY` or `X-API-Key: KEY`; keys have scope `ask` (questions, "
    "feedback) or `admin` (also documents). Every error is "
    '`{"error": {"code", "message", "request_id"}}` and every response carries `X-Request-ID`.'
)
DOCUMENTS_PATH = "/v1/documents"
MULTIPART_OVERHEAD_BYTES = 64 * 1024  # boundaries and part headers around an uploaded file
DONE_EVENT = "[DONE]"
CORS_METHODS = ["GET", "POST", "PATCH", "DELETE"]
CORS_HEADERS = ["Authorization", "X-API-Key", "Content-Type", "X-Request-ID"]


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


Ctx = Annotated[Services, Depends(get_services)]
AskKey = Annotated[Principal, Depends(require("ask"))]
AdminKey = Annotated[Principal, Depends(require("admin"))]

# --- asking ---------------------------------------------------------------------------------

ask_router = APIRouter(prefix="/v1", tags=["ask"])


@ask_router.post(
    "/ask",
    response_model=AskResponse,
    responses=with_links(errors_doc(*KEYED_ERRORS, 503), 200, ANSWER_LINKS),
    operation_id="ask",
)
def ask(body: AskRequest, ctx: Ctx, _key: AskKey) -> AskResponse:
    """Answer a question from the indexed documents, with numbered citations."""
    return ctx.asker.ask(body).to_response()


@ask_router.post(
    "/retrieve", response_model=RetrieveResponse, responses=errors_doc(*KEYED_ERRORS, 503)
)
def retrieve(body: RetrieveRequest, ctx: Ctx, _key: AskKey) -> RetrieveResponse:
    """Ranked passages for a question, each with what is needed to cite it (document, section,
    pages, link); no answer is written. The same retrieval and filters as /v1/ask."""
    try:
        question = ctx.asker.clean(body.question)
    except InvalidInputError as exc:
        raise FieldInputError("question", str(exc)) from exc
    chunks = ctx.retrieve(question, k=body.k, filters=body.filters)
    note_for_audit(question=question, documents=list(dict.fromkeys(c.doc_id for c in chunks)))
    return RetrieveResponse(question=question, passages=[passage_of(c) for c in chunks])


@ask_router.post(
    "/ask/stream",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "`event: delta` (data: DeltaEvent) for each piece of answer text as "
            "it is produced (an LLM's tokens, or the extractive answer's sentences), then "
            "`event: final` (data: AskResponse: the checked answer, which may have dropped "
            "sentences, with its citations and grounding summary); `event: error` (data: "
            "ErrorResponse) on failure.",
            "content": ASK_STREAM_CONTENT,
        },
        **errors_doc(*KEYED_ERRORS, 503),
    },
)
async def ask_stream(body: AskRequest, ctx: Ctx, _key: AskKey) -> StreamingResponse:
    """The answer as Server-Sent Events while it is produced, then the full checked response."""
    ctx.asker.validate(body)  # a bad question is a 422, before the stream starts
    return StreamingResponse(
        _answer_events(ctx.asker, body), media_type=SSE_MEDIA_TYPE, headers=SSE_HEADERS
    )


async def _answer_events(asker: AskService, body: AskRequest) -> AsyncIterator[str]:
    try:
        async for event in iterate_in_threadpool(asker.stream(body)):
            if isinstance(event, DeltaEvent):
                yield sse_event(event, event="delta")
            elif isinstance(event, AskResult):
                yield sse_event(event.to_response(), event="final")
    except AssistantError as exc:
        yield sse_event(describe_assistant_error(exc)[1], event="error")
    except Exception:
        logger.exception("unhandled error while answering a streamed question")
        yield sse_event(_internal_error(), event="error")


def _internal_error() -> ErrorResponse:
    return ErrorResponse(
        error=ErrorDetail(
            code="internal_error",
            message=INTERNAL_ERROR_MESSAGE,
            request_id=current_request_id(),
        )
    )


# --- OpenAI-compatible ----------------------------------------------------------------------

openai_router = APIRouter(prefix="/v1", tags=["openai"])


@openai_router.post(
    "/chat/completions",
    response_model=ChatCompletionResponse,
    responses={
        200: {
            "description": "A chat completion; with `stream: true`, `data: {chunk}` lines and "
            "`data: [DONE]`.",
            "content": CHAT_STREAM_CONTENT,
        },
        **errors_doc(*KEYED_ERRORS, 404, 503),
    },
)
def chat_completions(body: ChatCompletionRequest, ctx: Ctx, _key: AskKey) -> Any:
    """OpenAI Chat Completions: the last user message is the question."""
    request = to_ask_request(body)
    response = ctx.asker.ask(request).to_response()
    max_words = body.max_completion_tokens or body.max_tokens
    if not body.stream:
        return completion_response(request.question, response, max_words)
    include_usage = body.stream_options is not None and body.stream_options.include_usage
    chunks = completion_chunks(request.question, response, max_words, include_usage)
    return StreamingResponse(_openai_events(chunks), media_type=SSE_MEDIA_TYPE, headers=SSE_HEADERS)


def _openai_events(chunks: Iterator[Any]) -> Iterator[str]:
    for chunk in chunks:
        yield sse_event(chunk)
    yield sse_event(DONE_EVENT)


@openai_router.get("/models", response_model=ModelList, responses=errors_doc(*KEYED_ERRORS))
def models(_key: AskKey) -> ModelList:
    """The one model this server offers: ``nhs-assistant``."""
    return model_list()


# --- feedback -------------------------------------------------------------------------------

feedback_router = APIRouter(prefix="/v1", tags=["feedback"])


@feedback_router.post(
    "/feedback",
    response_model=FeedbackResponse,
    status_code=201,
    responses=errors_doc(*KEYED_ERRORS, 404, 503),
    operation_id="give_feedback",
)
def give_feedback(body: FeedbackRequest, ctx: Ctx, _key: AskKey) -> FeedbackResponse:
    """Rate an answer (by its ``answer_id``) up or down, with an optional comment."""
    note_for_audit(answer_id=body.answer_id)
    try:
        feedback_id = ctx.feedback.add_feedback(body.answer_id, body.rating, body.comment)
    except UnknownAnswerError as exc:
        raise ApiError(404, "not_found", f"no answer {body.answer_id!r} to rate") from exc
    logger.info("feedback %s on answer %s: %s", feedback_id, body.answer_id, body.rating)
    return FeedbackResponse(feedback_id=feedback_id, answer_id=body.answer_id, rating=body.rating)


# --- documents (admin) ----------------------------------------------------------------------

documents_router = APIRouter(prefix="/v1", tags=["documents"])


@documents_router.get(
    "/documents", response_model=DocumentList, responses=errors_doc(*KEYED_ERRORS, 503)
)
def list_documents(ctx: Ctx, _key: AdminKey) -> DocumentList:
    """Every indexed document with its chunk count."""
    return DocumentList(documents=ctx.documents.list())


@documents_router.post(
    "/documents",
    response_model=UploadResponse,
    status_code=201,
    responses=with_links(errors_doc(*KEYED_ERRORS, 415, 503), 201, UPLOAD_LINKS),
    operation_id="upload_document",
)
def upload_document(
    file: Annotated[UploadFile, File(description=UPLOAD_FILE_DESCRIPTION)],
    ctx: Ctx,
    _key: AdminKey,
    metadata: Annotated[UploadMetadata, Form()],
) -> UploadResponse:
    """Upload a document and index it (same pipeline as `nhs-assistant ingest`). The optional
    form fields `title`, `publisher`, `date`, `source_url` and `licence` win over what the
    file says about itself; citations and GET /v1/documents show them."""
    data = file.file.read(ctx.documents.max_upload_bytes + 1)
    uploaded = ctx.documents.upload(file.filename or "", data, metadata)
    note_for_audit(documents=[uploaded.doc_id])
    return uploaded


@documents_router.delete(
    "/documents/{doc_id}",
    response_model=DeleteResponse,
    responses=errors_doc(*KEYED_ERRORS, 404, 503),
    operation_id="delete_document",
)
def delete_document(doc_id: str, ctx: Ctx, _key: AdminKey) -> DeleteResponse:
    """Remove a document and its passages from the index."""
    note_for_audit(documents=[doc_id])
    ctx.documents.delete(doc_id)
    return DeleteResponse(doc_id=doc_id, removed=True)


@documents_router.post(
    "/documents/{doc_id}/release",
    response_model=DocumentInfo,
    responses=errors_doc(*KEYED_ERRORS, 404, 422, 503),
    operation_id="release_passages",
)
def release_passages(
    doc_id: str, ctx: Ctx, _key: AdminKey, body: ReleaseRequest | None = None
) -> DocumentInfo:
    """Let quarantined passages through (all, or those named by key): an admin's call that the
    planted-text check raised a false alarm. The document is indexed again."""
    note_for_audit(documents=[doc_id])
    return ctx.documents.release(doc_id, body.keys if body is not None else None)


@documents_router.patch(
    "/documents/{doc_id}",
    response_model=DocumentInfo,
    responses=errors_doc(*KEYED_ERRORS, 404, 422, 503),
    operation_id="mark_document",
)
def mark_document(doc_id: str, body: LifecycleUpdate, ctx: Ctx, _key: AdminKey) -> DocumentInfo:
    """Set a document's lifecycle without indexing it again: e.g. `{"status": "superseded",
    "superseded_by": "<document id>"}`. Citations of it carry the warning from the next answer;
    indexing the file again keeps what was set here."""
    note_for_audit(documents=[doc_id])
    return ctx.documents.mark(doc_id, body)


# --- operations -----------------------------------------------------------------------------

ops_router = APIRouter(tags=["operations"])


@ops_router.get("/healthz", response_model=HealthResponse)
async def healthz() -> HealthResponse:
    """The process is up (it may not be ready: see /readyz)."""
    return HealthResponse()


@ops_router.get(
    "/readyz",
    response_model=ReadyResponse,
    responses={503: {"model": ReadyResponse, "description": "Not ready, with the reason."}},
)
def readyz(ctx: Ctx) -> Any:
    """Ready when the vector store answers and the index holds passages."""
    ready = readiness(ctx)
    if ready.status == "ready":
        return ready
    return JSONResponse(ready.model_dump(), status_code=503)


def readiness(services: Services) -> ReadyResponse:
    try:
        services.store.ping()
        chunks = services.store.count()
    except BackendUnavailableError as exc:
        return ReadyResponse(status="not_ready", message=str(exc), request_id=current_request_id())
    if chunks == 0:
        return ReadyResponse(
            status="not_ready",
            chunks=0,
            message="the index is empty: ingest documents first",
            request_id=current_request_id(),
        )
    return ReadyResponse(status="ready", chunks=chunks)


@ops_router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"description": "Prometheus text format.", "content": {"text/plain": {}}}},
)
def metrics(ctx: Ctx) -> Response:
    """Prometheus metrics: requests by route and status, latency, refusals, grounding."""
    return Response(ctx.metrics.render(), media_type=ctx.metrics.content_type)


# --- the app --------------------------------------------------------------------------------


DOCS_ASSETS = "/docs-assets"
REDOC_JS = "/redoc-assets/redoc.standalone.js"
REDOC_CDN_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


def add_offline_docs(app: FastAPI) -> None:
    """Swagger UI at ``/docs`` and ReDoc at ``/redoc``, their scripts and styles served from
    the ``fastapi-offline`` wheel: FastAPI's defaults load them from a CDN, which an NHS
    intranet (or this machine) may not reach."""
    import fastapi_offline
    from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
    from fastapi.staticfiles import StaticFiles

    assets = Path(fastapi_offline.__file__).parent / "static"
    app.mount(DOCS_ASSETS, StaticFiles(directory=assets), name="docs-assets")

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{API_TITLE} – API docs",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon.png",
        )

    # ReDoc's bundle shows its maker's logo from their CDN; point it at the local favicon.
    redoc_js = (
        (assets / "redoc.standalone.js")
        .read_text(encoding="utf-8")
        .replace(REDOC_CDN_LOGO, f"{DOCS_ASSETS}/favicon.png")
    )

    @app.get(REDOC_JS, include_in_schema=False)
    def redoc_script() -> Response:
        return Response(
            redoc_js,
            media_type="application/javascript",
            headers={"Cache-Control": "public, max-age=86400"},
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=app.openapi_url or "/openapi.json",
            title=f"{API_TITLE} – API reference",
            redoc_js_url=REDOC_JS,
            redoc_favicon_url=f"{DOCS_ASSETS}/favicon.png",
            with_google_fonts=False,
        )


REQUEST_ID_HEADER_DOC = {
    "X-Request-ID": {
        "description": "The client's request id, or a new one; every log line carries it.",
        "schema": {"type": "string"},
    }
}


def configured_openapi(app: FastAPI, modes: list[str]) -> None:
    """The schema as this server is configured: the answer modes it offers (``llm`` only with
    a model configured), and the ``X-Request-ID`` header every response carries."""
    from fastapi.openapi.utils import get_openapi

    def build() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        for name in ("AskRequest",):
            mode = schema["components"]["schemas"][name]["properties"]["mode"]
            for option in mode.get("anyOf", []):
                if "enum" in option:
                    option["enum"] = list(modes)
        for operations in schema["paths"].values():
            for operation in operations.values():
                for response in operation.get("responses", {}).values():
                    response.setdefault("headers", {}).update(REQUEST_ID_HEADER_DOC)
        app.openapi_schema = schema
        return schema

    app.openapi = build  # type: ignore[method-assign]


def create_app(services: Services) -> FastAPI:
    """The API over ``services``; raises ConfigurationError when no API key is configured."""
    settings = services.settings.api
    keyring = ApiKeyring.from_settings(settings)
    metrics_ = services.metrics
    feedback = services.feedback
    max_upload_bytes = services.documents.max_upload_bytes
    app = FastAPI(
        title=API_TITLE,
        version=API_VERSION,
        description=API_DESCRIPTION,
        docs_url=None,  # served below from the package's own assets, not a CDN
        redoc_url=None,
    )
    add_offline_docs(app)
    configured_openapi(app, services.asker.modes)
    limiter = make_limiter(settings.rate_limit_per_minute, settings.rate_limit_storage)
    guard = app.state.guard = ApiGuard(keyring, limiter)
    app.state.services = services
    install_error_handlers(app)
    for router in (ask_router, openai_router, feedback_router, documents_router, ops_router):
        app.include_router(router)
    audit = audit_recorder(services.audit) if services.settings.audit.enabled else None
    _add_middleware(
        app, settings.max_body_bytes, max_upload_bytes, settings.origins(), metrics_, guard, audit
    )
    logger.info(
        "API: %s; %d requests/min per key; bodies up to %d bytes, uploads up to %g MB; "
        "CORS origins: %s; feedback in %s",
        keyring.describe(),
        settings.rate_limit_per_minute,
        settings.max_body_bytes,
        settings.max_upload_mb,
        ", ".join(settings.origins()) or "none",
        feedback.where,
    )
    return app


def _add_middleware(
    app: FastAPI,
    max_body: int,
    max_upload: int,
    origins: list[str],
    metrics_: Metrics,
    guard: ApiGuard,
    audit: Callable[[FinishedRequest], Awaitable[None]] | None = None,
) -> None:
    """Innermost first: body limit, then the key gate (no body is read for a request without
    a valid key), then CORS, then request context (ids, log, metrics)."""
    app.add_middleware(
        BodyLimitMiddleware,
        max_body_bytes=max_body,
        max_upload_bytes=max_upload,
        upload_overhead_bytes=MULTIPART_OVERHEAD_BYTES,
        upload_paths=frozenset({DOCUMENTS_PATH}),
        reject=lambda message: error_response(413, "payload_too_large", message),
    )
    app.add_middleware(
        KeyGate,
        guard=guard,
        reject=lambda e: error_response(e.status_code, e.code, e.message, headers=e.headers),
    )
    if origins:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=origins,
            allow_methods=CORS_METHODS,
            allow_headers=CORS_HEADERS,
            expose_headers=["X-Request-ID", "Retry-After"],
        )
    app.add_middleware(
        RequestContextMiddleware,
        observe=metrics_.observe_request,
        scrub=guard.keyring.mask,
        audit=audit,
    )


AUDITED_PREFIX = "/v1/"  # the routes that act for a caller; probes and docs are not logged


def audit_recorder(log: AuditLog) -> Callable[[FinishedRequest], Awaitable[None]]:
    """Writes one audit row per /v1 request, off the event loop. A row that cannot be written
    is logged as an error with the request id; the response has already gone."""

    async def record(done: FinishedRequest) -> None:
        if not done.route.startswith(AUDITED_PREFIX):
            return
        caller = done.state.get(PRINCIPAL_STATE)
        notes = {k: v for k, v in done.notes.items() if k in AUDIT_NOTE_FIELDS}
        entry = AuditEntry(
            request_id=done.request_id,
            key_id=caller.key_id if caller is not None else "unauthenticated",
            scope=caller.scope if caller is not None else "-",
            method=done.method,
            route=done.route,
            status=done.status,
            latency_ms=done.seconds * 1000,
            **notes,
        )
        try:
            await run_in_threadpool(log.record, entry)
        except Exception:
            logger.exception("could not write the audit row of request %s", done.request_id)

    return record
