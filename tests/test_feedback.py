"""The feedback store: durable, redacting, safe under concurrent writers, exported as JSONL."""

from __future__ import annotations

import io
import json
import multiprocessing as mp
import sqlite3
import threading
from pathlib import Path

import pytest

from assistant.feedback import FeedbackStore, StoredAnswer, UnknownAnswerError, feedback_db_path
from tests.conftest import fake_settings

WRITERS = 8
RATINGS_EACH = 40


def _store_with_answer(path: Path) -> FeedbackStore:
    store = FeedbackStore(path)
    store.record_answer(StoredAnswer(answer_id="a1", question="When?", answer="Soon [1]"))
    return store


def test_the_database_is_in_wal_mode_under_the_data_dir(tmp_path):
    settings = fake_settings(tmp_path / "data")
    path = feedback_db_path(settings)
    assert path == tmp_path / "data" / "feedback.sqlite"
    FeedbackStore(path)
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_feedback_on_an_unknown_answer_is_refused(tmp_path):
    store = _store_with_answer(tmp_path / "f.sqlite")
    with pytest.raises(UnknownAnswerError):
        store.add_feedback("missing", "up")
    assert list(store.records()) == []


def test_questions_and_comments_are_redacted_on_the_way_in(tmp_path):
    store = FeedbackStore(tmp_path / "f.sqlite")
    store.record_answer(
        StoredAnswer(answer_id="a2", question="for 943 476 5919, a@b.org?", answer="x")
    )
    store.add_feedback("a2", "down", "call 07700 900123")
    (record,) = store.records()
    assert record.question == "for [NHS number], [email]?"
    assert record.comment == "call [phone]"


def test_concurrent_writers_from_threads_lose_nothing(tmp_path):
    store = _store_with_answer(tmp_path / "f.sqlite")
    errors: list[BaseException] = []

    def write(i: int) -> None:
        try:
            for j in range(RATINGS_EACH):
                store.add_feedback("a1", "up" if j % 2 else "down", f"writer {i} rating {j}")
        except BaseException as exc:  # reported below, so the test fails with the cause
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(WRITERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    comments = {r.comment for r in store.records()}
    assert len(comments) == WRITERS * RATINGS_EACH


def _write_from_process(path: str, i: int) -> None:
    store = FeedbackStore(Path(path))
    for j in range(RATINGS_EACH):
        store.add_feedback("a1", "up", f"process {i} rating {j}")


def test_concurrent_writers_from_processes_lose_nothing(tmp_path):
    path = tmp_path / "f.sqlite"
    store = _store_with_answer(path)
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_write_from_process, args=(str(path), i)) for i in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert sum(1 for _ in store.records()) == 4 * RATINGS_EACH


def test_export_writes_one_json_object_per_rating_with_its_answer(tmp_path):
    store = _store_with_answer(tmp_path / "f.sqlite")
    store.add_feedback("a1", "up", "clear")
    store.add_feedback("a1", "down")
    out = io.StringIO()
    assert store.export_jsonl(out) == 2
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r["rating"] for r in rows] == ["up", "down"]
    assert rows[0]["question"] == "When?" and rows[0]["answer"] == "Soon [1]"
    assert rows[1]["comment"] is None


def test_a_comment_added_after_the_rating_is_stored_redacted_on_that_rating(tmp_path):
    store = _store_with_answer(tmp_path / "f.sqlite")
    feedback_id = store.add_feedback("a1", "down")
    store.set_comment(feedback_id, "Wrong year; write to jane.doe@example.org")
    [record] = list(store.records())
    assert record.rating == "down"
    assert record.comment is not None and "jane.doe" not in record.comment
    assert record.comment.startswith("Wrong year")


def test_a_comment_on_an_unknown_rating_is_refused(tmp_path):
    store = _store_with_answer(tmp_path / "f.sqlite")
    with pytest.raises(LookupError):
        store.set_comment("nope", "text")
