"""Answers given by the API and the feedback on them, kept in SQLite beside the index.

Each answer is recorded under an ``answer_id`` so a rating can refer to it later. Questions and
comments are redacted (:mod:`assistant.redact`) here, on the way in, whoever the caller is.
SQLite runs in WAL mode with a busy timeout, and every operation opens its own short-lived
connection, so several threads (and several API processes on one machine) can write at once,
and several processes may create the file at the same moment. A database that stays locked
beyond the timeout, or a disk that refuses the write, is a :class:`BackendUnavailableError`
(HTTP 503), never a lost record reported as saved.

>>> store = FeedbackStore(Path("data/feedback.sqlite"))                      # doctest: +SKIP
>>> store.record_answer(StoredAnswer(answer_id="a1", question="q", answer="a"))  # doctest: +SKIP
>>> store.add_feedback("a1", "up", comment="clear")                           # doctest: +SKIP
>>> store.export_jsonl(sys.stdout)                                            # doctest: +SKIP
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TextIO

from pydantic import BaseModel, Field

from assistant.config import Settings
from assistant.errors import BackendUnavailableError
from assistant.redact import redact

Rating = Literal["up", "down"]
FEEDBACK_FILE = "feedback.sqlite"
BUSY_TIMEOUT_S = 30.0  # how long a writer waits for another writer's lock
CREATE_RETRY_S = 0.05  # pause between attempts to set up a file another process is setting up
# Writers in one process queue on a lock per file: SQLite's own busy handler waits by sleeping
# (up to 100 ms a try), which under ten concurrent requests turned a 1 ms insert into a long tail.
_WRITE_LOCKS: dict[Path, threading.Lock] = {}
_WRITE_LOCKS_GUARD = threading.Lock()


def _write_lock(path: Path) -> threading.Lock:
    key = path.resolve()
    with _WRITE_LOCKS_GUARD:
        return _WRITE_LOCKS.setdefault(key, threading.Lock())


_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    answer_id TEXT PRIMARY KEY,
    created_at TEXT NOT NULL,
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    refused INTEGER NOT NULL DEFAULT 0,
    mode TEXT NOT NULL DEFAULT '',
    evidence_score REAL NOT NULL DEFAULT 0,
    citations TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE IF NOT EXISTS feedback (
    feedback_id TEXT PRIMARY KEY,
    answer_id TEXT NOT NULL REFERENCES answers(answer_id),
    created_at TEXT NOT NULL,
    rating TEXT NOT NULL CHECK (rating IN ('up', 'down')),
    comment TEXT
);
CREATE INDEX IF NOT EXISTS feedback_answer ON feedback(answer_id);
"""


def feedback_db_path(settings: Settings) -> Path:
    """Where the feedback database lives: ``api.feedback_db``, else DATA_DIR/feedback.sqlite."""
    return settings.api.feedback_db or settings.data_dir / FEEDBACK_FILE


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class StoredAnswer(BaseModel):
    """One answer as recorded (the store redacts the question before writing it)."""

    answer_id: str
    question: str
    answer: str
    refused: bool = False
    mode: str = ""
    evidence_score: float = 0.0
    citations: list[dict[str, Any]] = Field(default_factory=list)
    created_at: str = Field(default_factory=_now)


class FeedbackRecord(BaseModel):
    """One rating, with the answer it rates (one line of the JSONL export)."""

    feedback_id: str
    answer_id: str
    rating: Rating
    comment: str | None = None
    created_at: str
    question: str
    answer: str
    refused: bool
    mode: str
    evidence_score: float
    citations: list[dict[str, Any]]
    answered_at: str


class UnknownAnswerError(LookupError):
    """Feedback names an answer_id that was never recorded."""


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


class FeedbackStore:
    """Answers and ratings in one SQLite file (WAL mode, safe for concurrent writers)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self._writes = _write_lock(path)
        self._initialise()

    def _initialise(self) -> None:
        """Switch the file to WAL and create the tables, retrying while another process that
        starts at the same moment does the same (switching the journal mode does not wait on
        the busy timeout: it fails at once with "database is locked")."""
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        while True:
            db = self._open()
            try:
                if db.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    db.execute("PRAGMA journal_mode=WAL")  # persistent: readers never block
                db.executescript(_SCHEMA)
                return
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or time.monotonic() > deadline:
                    raise BackendUnavailableError(
                        f"cannot set up the feedback database {self.path}: {exc}"
                    ) from exc
            finally:
                db.close()
            time.sleep(CREATE_RETRY_S)

    def _open(self) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
            db.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
            # WAL with NORMAL: a commit survives the process dying; only a power cut can lose
            # the last few (the usual setting for WAL; FULL syncs the disk on every commit).
            db.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.Error as exc:
            raise BackendUnavailableError(
                f"cannot open the feedback database {self.path}: {exc}"
            ) from exc
        return db

    @contextmanager
    def _connect(self, write: bool = True) -> Iterator[sqlite3.Connection]:
        """A connection for one transaction: committed on success, rolled back on error.

        Writers in this process queue on an in-process lock; across processes they take
        SQLite's write lock up front (BEGIN IMMEDIATE), so two writers queue on the busy timeout
        instead of failing when one tries to upgrade a read lock.
        """
        if write:
            with self._writes, self._transaction(write=True) as db:
                yield db
        else:
            with self._transaction(write=False) as db:
                yield db

    @contextmanager
    def _transaction(self, write: bool) -> Iterator[sqlite3.Connection]:
        db = self._open()
        try:
            db.execute("PRAGMA foreign_keys=ON")
            db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            yield db
            db.execute("COMMIT")
        except BaseException as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            if isinstance(exc, sqlite3.OperationalError):
                raise BackendUnavailableError(
                    f"cannot {'write' if write else 'read'} the feedback database "
                    f"{self.path}: {exc}"
                ) from exc
            raise
        finally:
            db.close()

    def record_answer(self, answer: StoredAnswer) -> None:
        """Keep an answer so that feedback can refer to it."""
        with self._connect() as db:
            db.execute(
                "INSERT OR REPLACE INTO answers VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    answer.answer_id,
                    answer.created_at,
                    redact(answer.question),
                    answer.answer,
                    int(answer.refused),
                    answer.mode,
                    answer.evidence_score,
                    json.dumps(answer.citations, ensure_ascii=False),
                ),
            )

    def has_answer(self, answer_id: str) -> bool:
        with self._connect(write=False) as db:
            row = db.execute("SELECT 1 FROM answers WHERE answer_id = ?", (answer_id,)).fetchone()
        return row is not None

    def add_feedback(self, answer_id: str, rating: Rating, comment: str | None = None) -> str:
        """Store a rating, its comment redacted; returns the feedback id.

        Raises UnknownAnswerError when ``answer_id`` was never recorded.
        """
        feedback_id = uuid.uuid4().hex
        with self._connect() as db:
            known = db.execute("SELECT 1 FROM answers WHERE answer_id = ?", (answer_id,)).fetchone()
            if known is None:
                raise UnknownAnswerError(answer_id)
            db.execute(
                "INSERT INTO feedback VALUES (?, ?, ?, ?, ?)",
                (feedback_id, answer_id, _now(), rating, redact(comment) if comment else None),
            )
        return feedback_id

    def set_comment(self, feedback_id: str, comment: str) -> None:
        """Attach a comment (redacted) to a rating given earlier, replacing any comment it had.

        Raises LookupError when ``feedback_id`` is unknown.
        """
        with self._connect() as db:
            updated = db.execute(
                "UPDATE feedback SET comment = ? WHERE feedback_id = ?",
                (redact(comment) or None, feedback_id),
            ).rowcount
        if not updated:
            raise LookupError(f"no feedback with id {feedback_id!r}")

    def records(self) -> Iterator[FeedbackRecord]:
        """Every rating with its answer, in the order they were given."""
        with self._connect(write=False) as db:
            rows = db.execute(
                "SELECT f.feedback_id, f.answer_id, f.rating, f.comment, f.created_at, "
                "a.question, a.answer, a.refused, a.mode, a.evidence_score, a.citations, "
                "a.created_at FROM feedback f JOIN answers a USING (answer_id) "
                "ORDER BY f.rowid"
            ).fetchall()
        for row in rows:
            yield FeedbackRecord(
                feedback_id=row[0],
                answer_id=row[1],
                rating=row[2],
                comment=row[3],
                created_at=row[4],
                question=row[5],
                answer=row[6],
                refused=bool(row[7]),
                mode=row[8],
                evidence_score=row[9],
                citations=json.loads(row[10]),
                answered_at=row[11],
            )

    def export_jsonl(self, out: TextIO) -> int:
        """Write one JSON object per rating to ``out``; returns how many were written."""
        count = 0
        for record in self.records():
            out.write(record.model_dump_json() + "\n")
            count += 1
        return count
