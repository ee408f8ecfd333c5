"""One contract for the feedback store and the audit log, on SQLite and on a real PostgreSQL
server started by the tests: the same schema, the same answers, the same errors."""

from __future__ import annotations

import io
import json
import threading
from datetime import UTC, datetime, timedelta

import pytest

from assistant.audit import AuditEntry, AuditLog
from assistant.errors import BackendUnavailableError, ConfigurationError
from assistant.feedback import FeedbackStore, StoredAnswer, UnknownAnswerError
from assistant.records.database import Database, open_database, without_password
from assistant.records.migrations import migrate, migration_files

pytestmark = pytest.mark.integration  # the PostgreSQL half starts a server


def test_the_schema_is_applied_once_and_again_is_a_no_op(database: Database) -> None:
    assert migrate(database) == []  # open_database applied every file already
    with database.transaction(write=False) as tx:
        versions = [r[0] for r in tx.execute("SELECT version FROM schema_migrations").fetchall()]
    assert sorted(versions) == [p.stem for p in migration_files()]


def test_feedback_is_stored_redacted_and_read_back_in_order(database: Database) -> None:
    store = FeedbackStore(database)
    store.record_answer(
        StoredAnswer(
            answer_id="a1",
            question="for 943 476 5919, a@b.org?",
            answer="Soon [1]",
            citations=[{"n": 1, "doc_id": "plan.md"}],
            evidence_score=0.75,
        )
    )
    store.record_answer(StoredAnswer(answer_id="a1", question="again?", answer="Later [1]"))
    assert store.has_answer("a1") and not store.has_answer("a2")
    first = store.add_feedback("a1", "down", "call 07700 900123")
    second = store.add_feedback("a1", "up")
    store.set_comment(second, "clear now")
    with pytest.raises(UnknownAnswerError):
        store.add_feedback("missing", "up")
    with pytest.raises(LookupError):
        store.set_comment("no-such-feedback", "x")
    records = list(store.records())
    assert [(r.feedback_id, r.rating, r.comment) for r in records] == [
        (first, "down", "call [phone]"),
        (second, "up", "clear now"),
    ]
    assert records[0].question == "again?" and records[0].answer == "Later [1]"
    out = io.StringIO()
    assert store.export_jsonl(out) == 2
    assert [json.loads(line)["feedback_id"] for line in out.getvalue().splitlines()] == [
        first,
        second,
    ]


def test_concurrent_writers_lose_nothing(database: Database) -> None:
    store = FeedbackStore(database)
    store.record_answer(StoredAnswer(answer_id="a1", question="q", answer="a"))
    errors: list[BaseException] = []

    def write(i: int) -> None:
        try:
            for j in range(20):
                store.add_feedback("a1", "up", f"writer {i} rating {j}")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len({r.comment for r in store.records()}) == 6 * 20


def _entry(request_id: str, at: datetime, **kw: object) -> AuditEntry:
    return AuditEntry(
        request_id=request_id,
        at=at.isoformat(timespec="microseconds"),
        key_id="k-3f2a",
        scope="ask",
        method="POST",
        route="/v1/ask",
        status=200,
        latency_ms=12.5,
        **kw,
    )


def test_the_audit_log_keeps_redacted_rows_exports_and_purges(database: Database) -> None:
    log = AuditLog(database)
    now = datetime.now(UTC)
    log.record(_entry("old", now - timedelta(days=40), question="NHS no 943 476 5919?"))
    log.record(
        _entry(
            "new",
            now - timedelta(days=1),
            question="Who signs off the plan?",
            answer_id="a9",
            documents=["plan.md", "guide.md"],
            mode="extractive",
            refused=False,
        )
    )
    log.record(_entry("rating", now, answer_id="a9"))
    rows = list(log.entries())
    assert [r.request_id for r in rows] == ["old", "new", "rating"]
    assert rows[0].question == "NHS no [NHS number]?"
    assert (rows[1].documents, rows[1].refused, rows[1].mode) == (
        ["plan.md", "guide.md"],
        False,
        "extractive",
    )
    assert [r.request_id for r in log.entries(since=now - timedelta(days=2))] == [
        "new",
        "rating",
    ]
    out = io.StringIO()
    assert log.export_jsonl(out, since=now - timedelta(hours=1)) == 1
    assert json.loads(out.getvalue())["request_id"] == "rating"
    assert log.purge_older_than(30) == 1
    assert [r.request_id for r in log.entries()] == ["new", "rating"]
    # One exchange removed everywhere it is kept: audit rows, the answer, its ratings.
    store = FeedbackStore(database)
    store.record_answer(StoredAnswer(answer_id="a9", question="q", answer="a"))
    store.add_feedback("a9", "up")
    assert log.purge_answer("a9") == 4
    assert list(log.entries()) == [] and not store.has_answer("a9")


def test_a_database_that_cannot_be_reached_is_unavailable_not_a_crash(tmp_path) -> None:
    from tests.conftest import free_port

    url = f"postgresql://nobody:secret@127.0.0.1:{free_port()}/none"
    from assistant.records.database import PostgresDatabase

    with pytest.raises(BackendUnavailableError) as caught:
        PostgresDatabase(url, timeout_s=1)
    assert "secret" not in str(caught.value) and "***" in str(caught.value)
    with pytest.raises(ConfigurationError):
        open_database("mysql://x/y", tmp_path / "f.sqlite")
    assert without_password(url).startswith("postgresql://nobody:***@")
