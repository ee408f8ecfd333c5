"""Several API workers on shared engines: `nhs-assistant serve --workers 2` over a `chroma run`
server, PostgreSQL for records and Redis for request budgets, all real and started here.

Every worker gives the same answer; a document uploaded through the API is answered from by
every worker within a bound; a key's budget holds across workers (not one budget per worker);
every request lands in the one audit log."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import psutil
import pytest

from tests.conftest import free_port
from tests.ingest.test_pipeline import write_corpus

pytestmark = [pytest.mark.integration, pytest.mark.slow]

ASK, OTHER, ADMIN = (
    "ask-key-one-0123456789abcdef",
    "ask-key-two-0123456789abcdef",
    "admin-key-0123456789abcdef",
)
RATE = 25  # requests per minute per key
UPLOAD_VISIBLE_S = 15.0  # the bound: every worker answers from an upload within this
NOTE = "# Lounge rota\n\nThe discharge lounge coordinator books patient transport by 10am.\n"


def _cli() -> list[str]:
    return [sys.executable, "-m", "assistant.cli"]


def _fresh(base: str, key: str) -> httpx.Client:
    """A client opening a new connection per request, so requests spread over the workers."""
    return httpx.Client(
        base_url=base,
        headers={"Authorization": f"Bearer {key}"},
        limits=httpx.Limits(max_keepalive_connections=0),
        timeout=30,
    )


def test_two_workers_share_answers_uploads_budgets_and_the_audit_log(
    tmp_path: Path, chroma_server, postgres_server, redis_server
) -> None:
    database_url = postgres_server.new_database(f"w{uuid.uuid4().hex[:10]}")
    env = {
        **os.environ,
        "NHS_ASSISTANT_EMBEDDING_BACKEND": "fake",
        "NHS_ASSISTANT_CHROMA_HOST": chroma_server["host"],
        "NHS_ASSISTANT_CHROMA_PORT": str(chroma_server["port"]),
        "NHS_ASSISTANT_CHROMA_COLLECTION": f"workers-{uuid.uuid4().hex[:8]}",
        "NHS_ASSISTANT_DATABASE_URL": database_url,
        "NHS_ASSISTANT_API_RATE_LIMIT_STORAGE": redis_server,
        "NHS_ASSISTANT_API_RATE_LIMIT_PER_MINUTE": str(RATE),
        "NHS_ASSISTANT_API_KEYS": f"ask:{ASK},ask:{OTHER},admin:{ADMIN}",
    }
    data = tmp_path / "data"
    ingest = subprocess.run(
        [*_cli(), "ingest", str(write_corpus(tmp_path / "corpus")), "--data-dir", str(data)],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert ingest.returncode == 0, ingest.stderr[-2000:]
    port = free_port()
    server = subprocess.Popen(
        [*_cli(), "serve", "--workers", "2", "--port", str(port), "--data-dir", str(data)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, "server did not start"
            time.sleep(0.5)
        workers = [
            p for p in psutil.Process(server.pid).children(recursive=True) if "python" in p.name()
        ]
        assert len(workers) >= 2

        with _fresh(base, ASK) as client:
            question = {"question": "Who must agree a joint plan with partner trusts?"}
            answers = [client.post("/v1/ask", json=question).json() for _ in range(8)]
            assert {a["answer"] for a in answers} == {answers[0]["answer"]}
            assert not answers[0]["refused"]

        with _fresh(base, ADMIN) as admin:
            up = admin.post(
                "/v1/documents", files={"file": ("lounge.md", NOTE.encode(), "text/markdown")}
            )
            assert up.status_code == 201, up.text
        asked = {"question": "Who books patient transport from the discharge lounge?"}
        with _fresh(base, ASK) as client:
            for _ in range(8):  # each on a new connection: every worker, sooner or later
                started = time.monotonic()
                while True:
                    got = client.post("/v1/ask", json=asked).json()
                    if any(c["doc_id"] == "lounge.md" for c in got.get("citations", [])):
                        break
                    assert time.monotonic() - started < UPLOAD_VISIBLE_S, got
                    time.sleep(0.5)

        with _fresh(base, OTHER) as client:
            statuses = [client.get("/v1/models").status_code for _ in range(RATE + 15)]
        assert statuses.count(200) == RATE and statuses.count(429) == 15, statuses
    finally:
        server.terminate()
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()

    from assistant.audit import AuditLog
    from assistant.records.database import open_database

    db = open_database(database_url, tmp_path / "unused.sqlite")
    rows = list(AuditLog(db).entries())
    db.close()
    assert sum(r.route == "/v1/models" for r in rows) == RATE + 15
    assert sum(r.route == "/v1/models" and r.status == 429 for r in rows) == 15
    assert {r.route for r in rows} >= {"/v1/ask", "/v1/documents", "/v1/models"}
