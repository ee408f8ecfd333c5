"""No feedback record lost under concurrent writers: processes and threads writing answers and
ratings to one SQLite file (created by all of them at the same moment), and two API servers,
one in this process and one ``nhs-assistant serve``, taking ratings for the same database.

Every check is exact: the set of answer ids and of (feedback id, answer id, comment) rows in the
file is the set the writers were told was saved, each once.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from assistant.feedback import FeedbackStore, StoredAnswer
from tests.api.conftest import ASK_KEY, RunningApi, ingested_services, serve
from tests.conftest import free_port
from tests.reliability import feedback_writer
from tests.reliability.index_checks import code_question, write_note
from tests.reliability.processes import serve_process

PROCESSES = 3
THREADS, RECORDS_EACH = feedback_writer.THREADS, feedback_writer.RECORDS_EACH
CREATION_ROUNDS = feedback_writer.CREATION_ROUNDS
LOCK_HELD_S = 0.5
HTTP_CLIENTS = 8
HTTP_ROUNDS = 6  # ask, then rate, per client


def rows(path: Path) -> tuple[list[str], list[tuple[str, str, str]]]:
    """Answer ids, and (feedback id, answer id, comment) rows, as stored."""
    with sqlite3.connect(path) as db:
        answers = [r[0] for r in db.execute("SELECT answer_id FROM answers")]
        feedback = [
            (r[0], r[1], r[2] or "")
            for r in db.execute("SELECT feedback_id, answer_id, comment FROM feedback")
        ]
    return answers, feedback


def test_opening_a_file_another_process_is_setting_up_waits_for_it_instead_of_failing(
    tmp_path: Path,
) -> None:
    """Switching to WAL does not wait on the busy timeout: it fails at once while another
    connection holds a lock, as when several API processes start together on a new file."""
    path = tmp_path / "new.sqlite"
    other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    other.execute("BEGIN IMMEDIATE")  # the other process, half-way through setting it up
    release = threading.Timer(LOCK_HELD_S, lambda: other.execute("COMMIT"))
    release.start()
    try:
        started = time.monotonic()
        store = FeedbackStore(path)
        waited = time.monotonic() - started
    finally:
        release.join()
        other.close()
    assert waited >= LOCK_HELD_S * 0.8
    store.record_answer(StoredAnswer(answer_id="a1", question="q", answer="a"))
    store.add_feedback("a1", "up")
    assert rows(path) == (["a1"], [(rows(path)[1][0][0], "a1", "")])
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@pytest.mark.integration
def test_a_feedback_database_locked_too_long_is_a_503_and_the_retry_is_stored_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import assistant.feedback as feedback
    import assistant.records.database as database

    monkeypatch.setattr(database, "BUSY_TIMEOUT_S", 0.3)  # not 30 s of waiting in a test
    services = ingested_services(tmp_path / "data", tmp_path / "corpus")
    with serve(services) as api, api.client() as client:
        answer_id = client.post("/v1/ask", json={"question": "Who agrees a joint plan?"}).json()[
            "answer_id"
        ]
        path = feedback.feedback_db_path(services.settings)
        blocker = sqlite3.connect(path, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # a writer that does not let go
        try:
            locked = client.post("/v1/feedback", json={"answer_id": answer_id, "rating": "up"})
        finally:
            blocker.execute("ROLLBACK")
            blocker.close()
        again = client.post("/v1/feedback", json={"answer_id": answer_id, "rating": "up"})
    assert locked.status_code == 503, locked.text
    error = locked.json()["error"]
    assert error["code"] == "backend_unavailable" and "database" in error["message"]
    assert "Traceback" not in locked.text
    assert again.status_code == 201
    assert rows(path)[1] == [(again.json()["feedback_id"], answer_id, "")]


@pytest.mark.integration
@pytest.mark.slow
def test_processes_and_threads_creating_and_writing_one_file_lose_no_record(
    tmp_path: Path,
) -> None:
    ctx = mp.get_context("spawn")
    together = ctx.Barrier(PROCESSES)
    procs = [
        ctx.Process(target=feedback_writer.write_records, args=(str(tmp_path), w, together))
        for w in range(PROCESSES)
    ]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    reports = [json.loads((tmp_path / f"worker-{w}.json").read_text()) for w in range(PROCESSES)]
    assert [e for r in reports for e in r["errors"]] == []
    saved = [tuple(pair) for r in reports for pair in r["saved"]]
    assert len(saved) == PROCESSES * THREADS * RECORDS_EACH

    answers, feedback = rows(tmp_path / "shared.sqlite")
    assert sorted(answers) == sorted(a for a, _ in saved)  # each once, none missing
    assert sorted(feedback) == sorted((f, a, a) for a, f in saved)
    for r in range(CREATION_ROUNDS):
        with sqlite3.connect(tmp_path / f"fresh-{r}.sqlite") as db:
            assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@pytest.mark.integration
@pytest.mark.slow
def test_ratings_posted_at_once_to_two_api_processes_sharing_the_database_are_all_kept(
    tmp_path: Path,
) -> None:
    shared = tmp_path / "feedback.sqlite"
    corpus = tmp_path / "corpus"
    for n in range(2):
        write_note(corpus, n)
    port = free_port()
    with (
        serve_process(
            tmp_path / "other-data",
            port,
            tmp_path / "serve.log",
            NHS_ASSISTANT_API_FEEDBACK_DB=str(shared),
        ),
        serve(ingested_services(tmp_path / "data", corpus, api__feedback_db=shared)) as api,
    ):
        other = RunningApi(f"http://127.0.0.1:{port}", api.services)

        def client_session(c: int) -> list[tuple[str, str, str]]:
            kept = []
            with api.client() as asker, (api if c % 2 else other).client() as rater:
                for r in range(HTTP_ROUNDS):
                    answer = asker.post("/v1/ask", json={"question": code_question(r % 2)})
                    assert answer.status_code == 200, answer.text
                    answer_id = answer.json()["answer_id"]
                    comment = f"client {c} round {r}"
                    rated = rater.post(
                        "/v1/feedback",
                        json={"answer_id": answer_id, "rating": "up", "comment": comment},
                    )
                    assert rated.status_code == 201, rated.text
                    kept.append((rated.json()["feedback_id"], answer_id, comment))
            return kept

        with ThreadPoolExecutor(HTTP_CLIENTS) as pool:
            sessions = list(pool.map(client_session, range(HTTP_CLIENTS)))
        # The other server saw an answer it did not give: the database is really shared.
        with httpx.Client(base_url=other.base_url, headers={"X-API-Key": ASK_KEY}) as client:
            unknown = client.post("/v1/feedback", json={"answer_id": "never", "rating": "up"})
        assert unknown.status_code == 404

    expected = [row for kept in sessions for row in kept]
    assert len(expected) == HTTP_CLIENTS * HTTP_ROUNDS
    answers, feedback = rows(shared)
    assert sorted(answers) == sorted(a for _, a, _ in expected)
    assert sorted(feedback) == sorted(expected)
