"""The HTTP API over real sockets: answers, streaming, OpenAI clients, documents, limits, errors."""

from __future__ import annotations

import io
import json
import logging
import re
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from openai import OpenAI
from typer.testing import CliRunner

from assistant.api import create_app
from assistant.api.openai_compat import MODEL_NAME, SOURCES_HEADING
from assistant.api.request_context import LOG_FORMAT, RequestIdFilter
from assistant.cli import app as cli_app
from assistant.errors import BackendUnavailableError, ConfigurationError
from assistant.services import build_services
from assistant.store.base import VectorStore
from assistant.store.memory import InMemoryStore
from tests.api.conftest import (
    ADMIN_KEY,
    ASK_KEY,
    RunningApi,
    api_settings,
    ingested_services,
    serve,
    services_with_store,
)
from tests.ingest.test_pipeline import write_corpus

# Every test here serves the API (uvicorn on loopback) or starts a server process.
pytestmark = pytest.mark.integration

QUESTION = "When are draft plans due?"
UNCOVERED = "What is the capital of France?"
UPLOADED_MD = """# Estates briefing

## Car parking

Staff car parking charges at the Riverside site were abolished for night shift workers in March.
"""


def events(text: str) -> list[tuple[str, dict]]:
    """Parse a text/event-stream body into (event, data) pairs."""
    out = []
    for block in text.strip().split("\n\n"):
        event, data = "message", []
        for line in block.splitlines():
            if line.startswith("event: "):
                event = line[len("event: ") :]
            elif line.startswith("data: "):
                data.append(line[len("data: ") :])
        out.append((event, json.loads("\n".join(data))))
    return out


def openai_client(api: RunningApi, key: str = ASK_KEY) -> OpenAI:
    return OpenAI(base_url=f"{api.base_url}/v1", api_key=key, max_retries=0)


# --- asking ---------------------------------------------------------------------------------


def test_ask_returns_the_same_answer_as_the_services_with_citations_in_range(api):
    with api.client() as client:
        r = client.post("/v1/ask", json={"question": QUESTION})
    assert r.status_code == 200, r.text
    body = r.json()
    direct = api.services.ask(QUESTION)
    assert body["answer"] == direct.answer and body["refused"] is False
    assert [c["chunk_id"] for c in body["citations"]] == [c.chunk_id for c in direct.citations]
    assert body["mode"] == "extractive" and len(body["answer_id"]) == 32
    grounding = body["grounding"]
    assert grounding["sentences"] == len(direct.sentences) and grounding["verified"] is True
    assert grounding["removed"] == grounding["unsupported"] == grounding["dropped_citations"] == 0
    numbers = [c["n"] for c in body["citations"]]
    assert numbers == list(range(1, len(numbers) + 1))
    for c in body["citations"]:
        assert {"title", "section", "page", "quote", "quotes", "source_url", "doc_id"} <= set(c)
        assert f"[{c['n']}]" in body["answer"]
    assert "total" in body["timings_ms"]


def test_ask_stream_sends_the_text_piece_by_piece_then_the_final_answer(api):
    with api.client() as client:
        r = client.post("/v1/ask/stream", json={"question": QUESTION})
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    parsed = events(r.text)
    names = [name for name, _ in parsed]
    assert names[-1] == "final" and set(names[:-1]) == {"delta"} and len(names) >= 2
    final = parsed[-1][1]
    direct = api.services.ask(QUESTION)
    assert final["answer"] == direct.answer
    # Extractive answers stream one cited sentence per event; the pieces join to the answer.
    assert "".join(d["text"] for _, d in parsed[:-1]) == direct.answer
    assert len(parsed) - 1 == len(direct.sentences)
    assert final["grounding"]["verified"] is True and final["grounding"]["removed"] == 0


def test_ask_stream_refuses_a_bad_question_before_streaming(api):
    with api.client() as client:
        r = client.post("/v1/ask/stream", json={"question": ""})
    assert r.status_code == 422
    assert r.json()["error"]["fields"][0]["field"] == "question"


def test_an_uncovered_question_is_refused_and_counted(api):
    with api.client() as client:
        body = client.post("/v1/ask", json={"question": UNCOVERED}).json()
        metrics = client.get("/metrics").text
    assert body["refused"] is True and body["grounding"]["sentences"] == 0
    assert "nhs_assistant_refusals_total" in metrics
    refusals = next(
        line for line in metrics.splitlines() if line.startswith("nhs_assistant_refusals_total")
    )
    assert float(refusals.split()[-1]) >= 1


def test_empty_and_too_long_questions_are_422_with_field_messages(api):
    limit = api.services.settings.answer.max_question_chars
    with api.client() as client:
        empty = client.post("/v1/ask", json={"question": "   "})
        long = client.post("/v1/ask", json={"question": "x" * (limit + 1)})
        missing = client.post("/v1/ask", json={"history": []})
        wrong_mode = client.post("/v1/ask", json={"question": QUESTION, "mode": "llm"})
    assert empty.status_code == 422
    assert empty.json()["error"]["fields"] == [
        {
            "field": "question",
            "message": "question is empty: type a question about the NHS documents",
        }
    ]
    assert long.status_code == 422 and "too long" in long.json()["error"]["message"]
    assert missing.status_code == 422
    assert missing.json()["error"]["fields"][0]["field"] == "question"
    assert missing.json()["error"]["code"] == "invalid_request"
    assert wrong_mode.status_code == 422
    assert wrong_mode.json()["error"]["fields"][0]["field"] == "mode"


def test_a_body_over_the_limit_is_413(api):
    limit = api.services.settings.api.max_body_bytes
    with api.client() as client:
        r = client.post("/v1/ask", json={"question": "x" * (limit + 10)})
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "payload_too_large"


def test_chunked_body_over_the_limit_is_413(api):
    limit = api.services.settings.api.max_body_bytes

    def body():
        yield b'{"question": "'
        for _ in range(limit // 1000 + 2):
            yield b"x" * 1000
        yield b'"}'

    with api.client() as client:
        r = client.post("/v1/ask", content=body(), headers={"Content-Type": "application/json"})
    assert r.status_code == 413


# --- OpenAI-compatible ----------------------------------------------------------------------


def test_openai_client_gets_an_answer_with_sources_and_citations(api):
    completion = openai_client(api).chat.completions.create(
        model=MODEL_NAME,
        messages=[
            {"role": "system", "content": "You are helpful."},
            {"role": "user", "content": "Tell me about planning."},
            {"role": "assistant", "content": "Sure."},
            {"role": "user", "content": QUESTION},
        ],
    )
    text = completion.choices[0].message.content
    direct = api.services.ask(QUESTION)
    assert text.startswith(direct.answer)
    assert f"\n\n{SOURCES_HEADING}\n\n[1] " in text
    assert completion.model == MODEL_NAME and completion.choices[0].finish_reason == "stop"
    citations = completion.model_extra["citations"]
    assert [c["n"] for c in citations] == [c.n for c in direct.citations]
    assert completion.model_extra["refused"] is False and completion.model_extra["answer_id"]
    # From the text alone: each source's number, title and a quote in a block quote.
    for c in direct.citations:
        assert f"[{c.n}] " in text and c.title.split()[0] in text
        assert "\n> " + " ".join(c.quote.split())[:40] in text


def test_openai_client_streams_the_same_text(api):
    client = openai_client(api)
    messages = [{"role": "user", "content": QUESTION}]
    whole = client.chat.completions.create(model=MODEL_NAME, messages=messages)
    pieces, last = [], None
    for chunk in client.chat.completions.create(model=MODEL_NAME, messages=messages, stream=True):
        if chunk.choices and chunk.choices[0].delta.content:
            pieces.append(chunk.choices[0].delta.content)
        last = chunk
    assert len(pieces) > 1
    assert "".join(pieces) == whole.choices[0].message.content
    assert last is not None and last.choices[0].finish_reason == "stop"
    assert last.model_extra["citations"] == whole.model_extra["citations"]


def test_openai_models_lists_the_assistant(api):
    models = openai_client(api).models.list()
    assert [m.id for m in models.data] == [MODEL_NAME]


def test_openai_client_sees_errors_as_api_errors(api):
    import openai

    with pytest.raises(openai.AuthenticationError):
        openai_client(api, key="not-a-key").models.list()
    with pytest.raises(openai.NotFoundError):
        openai_client(api).chat.completions.create(
            model="gpt-4o", messages=[{"role": "user", "content": QUESTION}]
        )
    with pytest.raises(openai.UnprocessableEntityError):
        openai_client(api).chat.completions.create(
            model=MODEL_NAME, messages=[{"role": "system", "content": "no question"}]
        )


# --- documents ------------------------------------------------------------------------------


def test_upload_a_markdown_file_then_ask_about_it_and_find_it_cited(fresh_api):
    with fresh_api.client(ADMIN_KEY) as client:
        up = client.post(
            "/v1/documents",
            files={"file": ("../../Estates briefing.md", UPLOADED_MD.encode(), "text/markdown")},
        )
        assert up.status_code == 201, up.text
        assert up.json()["status"] == "indexed" and up.json()["file_name"] == "Estates briefing.md"
        doc_id = up.json()["doc_id"]
        listed = client.get("/v1/documents").json()["documents"]
        answer = client.post(
            "/v1/ask", json={"question": "Were car parking charges abolished for night shifts?"}
        ).json()
    assert doc_id in {d["doc_id"] for d in listed}
    assert not answer["refused"], answer
    assert doc_id in {c["doc_id"] for c in answer["citations"]}
    data_dir = fresh_api.services.settings.data_dir
    assert (data_dir / "uploads" / "Estates briefing.md").is_file()


def test_binary_content_behind_a_markdown_name_is_refused_with_415(fresh_api):
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
    with fresh_api.client(ADMIN_KEY) as client:
        r = client.post("/v1/documents", files={"file": ("photo.md", png, "text/markdown")})
        docs = client.get("/v1/documents").json()["documents"]
    assert r.status_code == 415
    assert "binary content behind a text extension" in r.json()["error"]["message"]
    assert "photo.md" not in {d["file_name"] for d in docs}


def test_an_upload_over_the_size_limit_is_413(tmp_path):
    services = ingested_services(
        tmp_path / "data", tmp_path / "corpus", api__max_upload_mb=0.01
    )  # 10 kB
    with serve(services) as api, api.client(ADMIN_KEY) as client:
        big = ("# Big\n\n" + "A sentence about plans. " * 2000).encode()
        r = client.post("/v1/documents", files={"file": ("big.md", big, "text/markdown")})
    assert r.status_code == 413
    assert r.json()["error"]["code"] == "payload_too_large"
    assert r.json()["error"]["message"] == "upload too large: a file may be at most 0.01 MB"


def test_delete_removes_a_document_and_a_second_delete_is_404(fresh_api):
    with fresh_api.client(ADMIN_KEY) as client:
        before = {d["doc_id"] for d in client.get("/v1/documents").json()["documents"]}
        assert "notes.txt" in before
        gone = client.delete("/v1/documents/notes.txt")
        again = client.delete("/v1/documents/notes.txt")
        after = {d["doc_id"] for d in client.get("/v1/documents").json()["documents"]}
    assert gone.status_code == 200 and gone.json() == {"doc_id": "notes.txt", "removed": True}
    assert again.status_code == 404 and again.json()["error"]["code"] == "not_found"
    assert after == before - {"notes.txt"}


# --- authentication and limits --------------------------------------------------------------


def test_missing_or_wrong_keys_are_401_and_ask_scope_on_admin_routes_is_403(api):
    with api.client(key=None) as anonymous:
        missing = anonymous.post("/v1/ask", json={"question": QUESTION})
        wrong = anonymous.post(
            "/v1/ask", json={"question": QUESTION}, headers={"Authorization": "Bearer nope"}
        )
        by_header = anonymous.post(
            "/v1/ask", json={"question": QUESTION}, headers={"X-API-Key": ASK_KEY}
        )
    with api.client(ASK_KEY) as ask_client:
        forbidden = ask_client.get("/v1/documents")
        upload = ask_client.post("/v1/documents", files={"file": ("a.md", b"# A\n\ntext")})
    with api.client(ADMIN_KEY) as admin:
        admin_asks = admin.post("/v1/ask", json={"question": QUESTION})
        admin_lists = admin.get("/v1/documents")
    assert missing.status_code == 401 and wrong.status_code == 401
    assert missing.headers["WWW-Authenticate"] == "Bearer"
    assert set(missing.json()["error"]) == {"code", "message", "request_id"}
    assert by_header.status_code == 200
    assert forbidden.status_code == 403 and upload.status_code == 403
    assert forbidden.json()["error"]["code"] == "forbidden"
    assert admin_asks.status_code == 200 and admin_lists.status_code == 200


def test_the_rate_limit_answers_429_with_retry_after(tmp_path):
    services = ingested_services(
        tmp_path / "data", tmp_path / "corpus", api__rate_limit_per_minute=3
    )
    with serve(services) as api, api.client() as client:
        codes = [client.get("/v1/models").status_code for _ in range(4)]
        limited = client.get("/v1/models")
        with api.client(ADMIN_KEY) as other_key:
            other = other_key.get("/v1/models")
    assert codes[:3] == [200, 200, 200] and codes[3] == 429
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.json()["error"]["code"] == "rate_limited"
    assert other.status_code == 200  # the limit is per key


def test_no_keys_and_auth_not_disabled_refuses_to_start(tmp_path):
    from pydantic import SecretStr

    services = build_services(api_settings(tmp_path / "data", api__keys=SecretStr("")))
    with pytest.raises(ConfigurationError, match="no API keys configured"):
        create_app(services)
    services.settings.api.auth_disabled = True
    with serve(services) as api, api.client(key=None) as client:
        assert client.get("/v1/documents").status_code == 200


def test_cors_allows_only_configured_origins(tmp_path):
    allowed = "https://intranet.example.nhs.uk"
    services = ingested_services(tmp_path / "data", tmp_path / "corpus", api__cors_origins=allowed)
    preflight = {"Access-Control-Request-Method": "POST"}
    with serve(services) as api, api.client(key=None) as client:
        ok = client.options("/v1/ask", headers={"Origin": allowed, **preflight})
        other = client.options("/v1/ask", headers={"Origin": "https://evil.example", **preflight})
    assert ok.headers["access-control-allow-origin"] == allowed
    assert "access-control-allow-origin" not in other.headers


def test_no_cors_headers_by_default(api):
    with api.client() as client:
        r = client.get("/v1/models", headers={"Origin": "https://intranet.example.nhs.uk"})
    assert "access-control-allow-origin" not in r.headers


# --- feedback and redaction -----------------------------------------------------------------


def test_feedback_is_stored_and_exported_by_the_cli(api, tmp_path, monkeypatch):
    with api.client() as client:
        answer_id = client.post("/v1/ask", json={"question": QUESTION}).json()["answer_id"]
        stored = client.post(
            "/v1/feedback", json={"answer_id": answer_id, "rating": "up", "comment": "clear"}
        )
        unknown = client.post("/v1/feedback", json={"answer_id": "nope", "rating": "down"})
        bad = client.post("/v1/feedback", json={"answer_id": answer_id, "rating": "meh"})
    assert stored.status_code == 201 and stored.json()["answer_id"] == answer_id
    assert unknown.status_code == 404
    assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["field"] == "rating"
    out = tmp_path / "feedback.jsonl"
    monkeypatch.setenv("NHS_ASSISTANT_EMBEDDING_BACKEND", "fake")
    data_dir = str(api.services.settings.data_dir)
    result = CliRunner().invoke(
        cli_app, ["feedback", "export", "--out", str(out), "--data-dir", data_dir]
    )
    assert result.exit_code == 0, result.output
    lines = [json.loads(x) for x in out.read_text().splitlines()]
    mine = [x for x in lines if x["answer_id"] == answer_id]
    assert len(mine) == 1
    assert mine[0]["rating"] == "up" and mine[0]["comment"] == "clear"
    assert mine[0]["question"] == QUESTION and mine[0]["answer"].startswith("Draft plans")


def test_patient_identifiers_never_reach_the_logs_or_the_feedback_database(api, caplog):
    nhs_number, email, near_miss = "943 476 5919", "jane.doe@example.org", "943 476 5918"
    question = f"Patient {nhs_number} ({email}) asks when draft plans are due, ref {near_miss}"
    caplog.set_level(logging.DEBUG)
    with api.client() as client:
        answer_id = client.post("/v1/ask", json={"question": question}).json()["answer_id"]
        client.post(
            "/v1/feedback",
            json={"answer_id": answer_id, "rating": "down", "comment": f"wrong for {nhs_number}"},
        )
    data_dir = api.services.settings.data_dir
    for secret in (nhs_number, nhs_number.replace(" ", ""), email):
        assert secret not in caplog.text
        for path in data_dir.glob("feedback.sqlite*"):
            assert secret.encode() not in path.read_bytes()
    assert "[NHS number]" in caplog.text and "[email]" in caplog.text
    assert near_miss in caplog.text  # fails the modulus 11 check: not an NHS number
    assert ASK_KEY not in caplog.text
    export = CliRunner().invoke(
        cli_app, ["feedback", "export", "--data-dir", str(data_dir)], catch_exceptions=False
    )
    row = next(json.loads(x) for x in export.output.splitlines() if answer_id in x)
    assert row["question"] == (
        f"Patient [NHS number] ([email]) asks when draft plans are due, ref {near_miss}"
    )
    assert row["comment"] == "wrong for [NHS number]"


# --- health, readiness, errors, metrics -----------------------------------------------------


class UnreachableStore:
    """A VectorStore whose server has gone away: every call raises BackendUnavailableError."""

    model_name = "fake-hashing"
    dimension = 384

    def _down(self, *args: object, **kwargs: object) -> Any:
        raise BackendUnavailableError("the Chroma server at 127.0.0.1:9 cannot be reached")

    upsert_chunks = delete_chunks = chunk_ids = get_chunks = all_chunks = count = search = _down
    put_document = get_document = list_documents = delete_document = _down
    generation = bump_generation = ping = put_lease = leases = delete_lease = _down


class BrokenStore(InMemoryStore):
    """A store with a bug: search raises an unexpected error."""

    def search(self, vector, k, filters=None):
        raise RuntimeError("internal detail that must not reach a client")


def test_readyz_and_ask_are_503_and_the_stream_sends_an_error_when_the_store_is_down(tmp_path):
    settings = api_settings(tmp_path / "data")
    store = UnreachableStore()
    assert isinstance(store, VectorStore)
    services = services_with_store(settings, store)
    with serve(services) as api, api.client() as client:
        health = client.get("/healthz")
        ready = client.get("/readyz")
        ask = client.post("/v1/ask", json={"question": QUESTION})
        stream = client.post("/v1/ask/stream", json={"question": QUESTION})
    assert health.status_code == 200 and health.json() == {"status": "ok"}
    assert stream.status_code == 200  # the stream had started: the error is an event
    ((name, data),) = events(stream.text)
    assert name == "error" and data["error"]["code"] == "backend_unavailable"
    assert ready.status_code == 503
    assert ready.json()["status"] == "not_ready" and "cannot be reached" in ready.json()["message"]
    assert ask.status_code == 503 and ask.json()["error"]["code"] == "backend_unavailable"
    assert "Retry-After" in ask.headers


def test_readyz_reports_ready_with_passages_and_not_ready_when_empty(api, tmp_path):
    with api.client(key=None) as client:
        ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["chunks"] > 0
    empty = build_services(api_settings(tmp_path / "empty"))
    with serve(empty) as empty_api, empty_api.client(key=None) as client:
        not_ready = client.get("/readyz")
    assert not_ready.status_code == 503 and "empty" in not_ready.json()["message"]


def test_an_unexpected_error_is_a_500_with_the_request_id_and_no_details(tmp_path, caplog):
    settings = api_settings(tmp_path / "data")
    services = services_with_store(settings, BrokenStore("fake-hashing", 384))
    services.ingest([write_corpus(tmp_path / "corpus")])  # a store with passages: search is hit
    with serve(services) as api, api.client() as client:
        r = client.post("/v1/ask", json={"question": QUESTION})
    assert r.status_code == 500
    error = r.json()["error"]
    assert error["code"] == "internal_error" and error["request_id"] == r.headers["X-Request-ID"]
    assert "internal detail" not in r.text and "Traceback" not in r.text
    assert "internal detail that must not reach a client" in caplog.text  # logged with traceback


def test_every_response_carries_a_request_id(api):
    with api.client() as client:
        generated = client.get("/healthz")
        echoed = client.post("/v1/ask", json={"question": ""}, headers={"X-Request-ID": "abc-123"})
        unsafe = client.get("/healthz", headers={"X-Request-ID": "bad id; forged=1"})
        not_found = client.get("/nowhere")
    assert len(generated.headers["X-Request-ID"]) == 32
    assert echoed.headers["X-Request-ID"] == "abc-123"
    assert echoed.json()["error"]["request_id"] == "abc-123"
    assert unsafe.headers["X-Request-ID"] != "bad id; forged=1"
    assert not_found.status_code == 404 and not_found.json()["error"]["code"] == "not_found"
    assert not_found.json()["error"]["request_id"] == not_found.headers["X-Request-ID"]


def test_log_lines_carry_the_request_id(api):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestIdFilter())
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    try:
        with api.client() as client:
            client.post(
                "/v1/ask", json={"question": QUESTION}, headers={"X-Request-ID": "trace-42"}
            )
        # The access line is written once the response has gone out: give the server a moment.
        deadline = time.monotonic() + 5
        while "POST /v1/ask -> 200" not in stream.getvalue() and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
    tagged = [line for line in stream.getvalue().splitlines() if "[trace-42]" in line]
    assert any("POST /v1/ask -> 200" in line for line in tagged)
    assert any("assistant.asking" in line and "answer " in line for line in tagged)


def test_metrics_count_requests_by_route_and_status(api):
    with api.client() as client:
        client.post("/v1/ask", json={"question": QUESTION})
        client.post("/v1/ask", json={"question": ""})
        text = client.get("/metrics").text
    assert 'nhs_assistant_http_requests_total{method="POST",route="/v1/ask",status="200"}' in text
    assert 'nhs_assistant_http_requests_total{method="POST",route="/v1/ask",status="422"}' in text
    assert "nhs_assistant_http_request_duration_seconds_bucket" in text
    assert "nhs_assistant_grounding_removed_sentences_total" in text
    assert 'nhs_assistant_answers_total{mode="extractive"}' in text


def test_openapi_documents_errors_and_both_key_schemes(api):
    with httpx.Client(base_url=api.base_url) as client:
        schema = client.get("/openapi.json").json()
    schemes = schema["components"]["securitySchemes"]
    assert schemes["BearerKey"]["scheme"] == "bearer"
    assert schemes["ApiKeyHeader"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "An API key in the `X-API-Key` header.",
    }
    ask = schema["paths"]["/v1/ask"]["post"]
    assert {"401", "403", "413", "422", "429", "503"} <= set(ask["responses"])
    assert ask["responses"]["422"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ErrorResponse"
    }
    assert {"BearerKey": []} in ask["security"] and {"ApiKeyHeader": []} in ask["security"]
    upload = schema["paths"]["/v1/documents"]["post"]
    assert "415" in upload["responses"]
    for path, operations in schema["paths"].items():
        for method, op in operations.items():
            assert "200" in op["responses"] or "201" in op["responses"], (method, path)


# --- server mode ----------------------------------------------------------------------------


def test_the_api_works_against_a_chroma_run_server(chroma_server, tmp_path):
    import uuid

    services = ingested_services(
        tmp_path / "data",
        tmp_path / "corpus",
        chroma__host=chroma_server["host"],
        chroma__port=chroma_server["port"],
        chroma__collection=f"api-{uuid.uuid4().hex[:8]}",
    )
    with serve(services) as api, api.client(ADMIN_KEY) as client:
        ready = client.get("/readyz")
        answer = client.post("/v1/ask", json={"question": QUESTION}).json()
        docs = client.get("/v1/documents").json()["documents"]
    assert ready.status_code == 200
    assert not answer["refused"] and answer["citations"]
    assert {d["doc_id"] for d in docs} == {"guide.md", "notes.txt"}


def test_serve_command_starts_uvicorn_and_logs_request_ids(tmp_path):
    import os
    import subprocess
    import sys

    from tests.conftest import free_port

    port = free_port()
    env = {
        **os.environ,
        "NHS_ASSISTANT_EMBEDDING_BACKEND": "fake",
        "NHS_ASSISTANT_API_KEYS": f"ask:{ASK_KEY}",
    }
    exe = Path(sys.executable).parent / "nhs-assistant"
    cmd = [str(exe), "serve", "--port", str(port), "--data-dir", str(tmp_path / "data")]
    log = tmp_path / "serve.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    r = httpx.get(
                        f"http://127.0.0.1:{port}/healthz", headers={"X-Request-ID": "probe-1"}
                    )
                    break
                except httpx.TransportError:
                    assert proc.poll() is None, log.read_text()
                    assert time.monotonic() < deadline, log.read_text()
                    time.sleep(0.2)
        finally:
            proc.terminate()
            proc.wait(20)
    text = log.read_text()
    assert r.status_code == 200
    assert "services: embedder=fake-hashing" in text
    assert "[probe-1]" in text and "GET /healthz -> 200" in text
    assert 'HTTP/1.1"' not in text  # uvicorn's own access log is off: one line per request
    assert ASK_KEY not in text


# --- retrieval -------------------------------------------------------------------------------


def test_retrieve_returns_ranked_citable_passages_with_the_same_filters_as_ask(api):
    with api.client() as client:
        r = client.post("/v1/retrieve", json={"question": QUESTION, "k": 3})
        assert r.status_code == 200, r.text
        body = r.json()
        direct = api.services.retrieve(QUESTION, k=3)
        assert [p["chunk_id"] for p in body["passages"]] == [c.chunk_id for c in direct]
        assert [p["rank"] for p in body["passages"]] == [1, 2, 3][: len(direct)]
        first = body["passages"][0]
        assert {"doc_id", "title", "section", "page_start", "source_url", "text"} <= set(first)
        only = client.post(
            "/v1/retrieve",
            json={"question": QUESTION, "filters": {"doc_ids": [first["doc_id"]]}},
        ).json()["passages"]
        assert only and {p["doc_id"] for p in only} == {first["doc_id"]}
        for bad, field in (({"question": "  "}, "question"), ({"question": "x", "k": 0}, "k"),
                           ({"question": "x", "k": 51}, "k")):  # fmt: skip
            r = client.post("/v1/retrieve", json=bad)
            assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == field


# --- OpenAI parameters -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("extra", "param"),
    [
        ({"n": 2}, "n"),
        ({"tools": [{"type": "function", "function": {"name": "f", "parameters": {}}}]}, "tools"),
        ({"response_format": {"type": "json_object"}}, "response_format"),
        ({"logprobs": True}, "logprobs"),
    ],
)
def test_unsupported_openai_parameters_are_a_400_naming_the_parameter(api, extra, param):
    import openai

    client = openai_client(api)
    with pytest.raises(openai.BadRequestError) as err:
        client.chat.completions.create(
            model=MODEL_NAME, messages=[{"role": "user", "content": QUESTION}], **extra
        )
    body = err.value.body
    assert isinstance(body, dict) and body["param"] == param  # openai reads error.param
    assert body["type"] == "invalid_request_error" and param in body["message"]


def test_max_tokens_keeps_whole_sentences_and_says_length(api):
    client = openai_client(api)
    messages = [{"role": "user", "content": QUESTION}]
    whole = client.chat.completions.create(model=MODEL_NAME, messages=messages)
    answer_words = len(api.services.ask(QUESTION).answer.split())
    assert answer_words > 8, "the test needs an answer of more than one short sentence"
    short = client.chat.completions.create(model=MODEL_NAME, messages=messages, max_tokens=8)
    assert short.choices[0].finish_reason == "length"
    assert whole.choices[0].finish_reason == "stop"
    answer = (short.choices[0].message.content or "").split(f"\n\n{SOURCES_HEADING}")[0]
    assert len(answer.split()) <= 8 or answer.endswith("…")
    marked = {int(n) for n in re.findall(r"\[(\d+)\]", answer)}
    assert {c["n"] for c in short.model_extra["citations"]} == marked


def test_stream_options_include_usage_sends_a_usage_chunk(api):
    client = openai_client(api)
    chunks = list(
        client.chat.completions.create(
            model=MODEL_NAME,
            messages=[{"role": "user", "content": QUESTION}],
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert chunks[-1].choices == [] and chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens > 0


# --- upload metadata --------------------------------------------------------------------------

WARD_NOTE = b"# Ward guide\n\nHandover happens at 07:30 and 19:30 on every ward, led by the nurse in charge.\n"


def test_upload_metadata_is_listed_cited_kept_on_reindex_and_validated(fresh_api):
    given = {
        "title": "Ward handover standard",
        "publisher": "St Elsewhere NHS Foundation Trust",
        "date": "2026-03-01",
        "source_url": "https://intranet.example.nhs.uk/ward-handover.pdf",
        "licence": "internal use",
        "period": "2026/27",
        "status": "current",
    }
    with fresh_api.client(ADMIN_KEY) as client:
        up = client.post(
            "/v1/documents", files={"file": ("ward.md", WARD_NOTE, "text/markdown")}, data=given
        )
        assert up.status_code == 201, up.text
        [doc] = [
            d for d in client.get("/v1/documents").json()["documents"] if d["doc_id"] == "ward.md"
        ]
        assert {k: doc[k] for k in given} == given
        answer = client.post("/v1/ask", json={"question": "When does ward handover happen?"}).json()
        cited = [c for c in answer["citations"] if c["doc_id"] == "ward.md"]
        assert cited and cited[0]["title"] == given["title"]
        assert cited[0]["publisher"] == given["publisher"]
        assert cited[0]["source_url"] == given["source_url"]
        # The document read again (a release, a restart) keeps what the uploader said.
        fresh_api.services.ingest([fresh_api.services.settings.data_dir / "uploads"])
        again = client.get("/v1/documents").json()["documents"]
        assert [d["title"] for d in again if d["doc_id"] == "ward.md"] == [given["title"]]
        for field, bad in (("date", "March 2026"), ("source_url", "javascript:alert(1)"),
                           ("title", "x" * 301)):  # fmt: skip
            r = client.post(
                "/v1/documents",
                files={"file": ("ward.md", WARD_NOTE, "text/markdown")},
                data={field: bad},
            )
            assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == field
        # Uploaded again without metadata: the file's own title.
        plain = client.post(
            "/v1/documents", files={"file": ("ward.md", WARD_NOTE, "text/markdown")}
        )
        assert plain.status_code == 201, plain.text
        titles = [
            d["title"]
            for d in client.get("/v1/documents").json()["documents"]
            if d["doc_id"] == "ward.md"
        ]
        assert titles == ["Ward guide"]
        assert client.delete("/v1/documents/ward.md").status_code == 200
    leftovers = list((fresh_api.services.settings.data_dir / "uploads").glob("*ward.md*"))
    assert leftovers == []


def test_a_wrong_method_names_every_allowed_one_and_bad_json_names_the_body(api):
    with api.client(ADMIN_KEY) as client:
        r = client.put("/v1/documents")
        assert r.status_code == 405 and r.headers["allow"] == "GET, POST"
        assert "use GET, POST" in r.json()["error"]["message"]
        assert client.get("/v1/ask").headers["allow"] == "POST"
        bad = client.post(
            "/v1/ask", content=b'{"question": "x",', headers={"Content-Type": "application/json"}
        )
        assert bad.status_code == 400 and bad.json()["error"]["code"] == "invalid_json"
        [field] = bad.json()["error"]["fields"]
        assert field["field"] == "body" and "at character 17" in field["message"]
