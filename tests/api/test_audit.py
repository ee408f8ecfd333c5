"""The audit log through the API: one row per /v1 request, who (the key's id, never the key),
what (the redacted question, the answer id, the documents cited), and how it went; exported
and purged from the command line."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from assistant.cli import app as cli_app
from assistant.services import build_services
from tests.api.conftest import ADMIN_KEY, ASK_KEY, api_settings, serve
from tests.ingest.test_pipeline import write_corpus

pytestmark = pytest.mark.integration  # starts a server


def test_every_v1_request_is_audited_without_the_key_and_with_the_question_redacted(tmp_path):
    settings = api_settings(tmp_path / "data")
    services = build_services(settings)
    services.ingest([write_corpus(tmp_path / "corpus")])
    question = "Who must agree a joint plan with partner trusts? NHS no 943 476 5919"
    with serve(services) as running:
        with running.client(ASK_KEY, **{"X-Request-ID": "req-ask-1"}) as client:
            answer = client.post("/v1/ask", json={"question": question}).json()
            rated = client.post(
                "/v1/feedback", json={"answer_id": answer["answer_id"], "rating": "up"}
            )
            assert rated.status_code == 201
        with running.client(None) as anonymous:
            assert anonymous.post("/v1/ask", json={"question": "q"}).status_code == 401
            assert anonymous.get("/healthz").status_code == 200
        with running.client(ADMIN_KEY) as admin:
            assert admin.get("/v1/documents").status_code == 200
    rows = {r.route + ":" + str(r.status): r for r in services.audit.entries()}
    assert set(rows) == {"/v1/ask:200", "/v1/feedback:201", "/v1/ask:401", "/v1/documents:200"}
    asked = rows["/v1/ask:200"]
    assert asked.request_id == "req-ask-1" and asked.scope == "ask"
    assert asked.question == "Who must agree a joint plan with partner trusts? NHS no [NHS number]"
    assert asked.answer_id == answer["answer_id"]
    assert asked.documents == list(dict.fromkeys(c["doc_id"] for c in answer["citations"]))
    assert asked.refused is answer["refused"] and asked.mode == "extractive"
    assert asked.latency_ms > 0
    assert rows["/v1/feedback:201"].answer_id == answer["answer_id"]
    assert rows["/v1/ask:401"].key_id == "unauthenticated"
    assert rows["/v1/documents:200"].scope == "admin"
    dumped = json.dumps([r.model_dump() for r in services.audit.entries()])
    assert ASK_KEY not in dumped and ADMIN_KEY not in dumped and "943 476 5919" not in dumped

    data = ["--data-dir", str(settings.data_dir)]
    run = CliRunner().invoke
    exported = run(cli_app, ["audit", "export", *data])
    assert exported.exit_code == 0, exported.output
    assert len(exported.output.strip().splitlines()) == 4
    kept = run(cli_app, ["audit", "purge", *data])
    assert kept.exit_code == 0 and "deleted 0 audit rows older than 30 days" in kept.output
    gone = run(cli_app, ["audit", "purge", "--answer-id", answer["answer_id"], *data])
    assert gone.exit_code == 0, gone.output
    assert "deleted 4 rows" in gone.output  # 2 audit rows, the answer, its rating
    assert not services.feedback.has_answer(answer["answer_id"])
    assert {r.route for r in services.audit.entries()} == {"/v1/ask", "/v1/documents"}


def test_the_audit_log_can_be_switched_off(tmp_path):
    settings = api_settings(tmp_path / "data")
    settings.audit.enabled = False
    services = build_services(settings)
    services.ingest([write_corpus(tmp_path / "corpus")])
    with serve(services) as running, running.client(ASK_KEY) as client:
        assert client.post("/v1/ask", json={"question": "Who agrees a plan?"}).status_code == 200
    assert list(services.audit.entries()) == []
