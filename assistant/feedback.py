"""Answers given by the API and the feedback on them, kept in the service's database.

Each answer is recorded under an ``answer_id`` so a rating can refer to it later. Questions and
comments are redacted (:mod:`assistant.redact`) here, on the way in, whoever the caller is.
The database is a SQLite file beside the index by default, or PostgreSQL when
``NHS_ASSISTANT_DATABASE_URL`` names one (:mod:`assistant.records`): the same schema and the
same behaviour on both. A database that stays locked, cannot be reached, or refuses the write
is a :class:`BackendUnavailableError` (HTTP 503), never a lost record reported as saved.

>>> store = FeedbackStore(Path("data/feedback.sqlite"))                      # doctest: +SKIP
>>> store.record_answer(StoredAnswer(answer_id="a1", question="q", answer="a"))  # doctest: +SKIP
>>> store.add_feedback("a1", "up", comment="clear")                           # doctest: +SKIP
>>> store.export_jsonl(sys.stdout)                                            # doctest: +SKIP
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TextIO

from pydantic import BaseModel, Field

from assistant.config import Settings
from assistant.records import write_jsonl
from assistant.records.database import Database, SqliteDatabase
from assistant.records.migrations import migrate
from assistant.redact import redact

Rating = Literal["up", "down"]
FEEDBACK_FILE = "feedback.sqlite"


def feedback_db_path(settings: Settings) -> Path:
    """Where the feedback database lives: ``api.feedback_db``, else DATA_DIR/feedback.sqlite."""
    return settings.api.feedback_db or settings.data_dir / FEEDBACK_FILE


def _now(precise: bool = False) -> str:
    """UTC now as ISO 8601; to the microsecond where rows are listed in the order written."""
    return datetime.now(UTC).isoformat(timespec="microseconds" if precise else "milliseconds")


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


class FeedbackStore:
    """Answers and ratings in the service's database (a SQLite file, or PostgreSQL)."""

    def __init__(self, where: Path | Database) -> None:
        if isinstance(where, Path):
            where = SqliteDatabase(where)
            migrate(where)
        self.db = where
        self.where = where.where  # for logs: a path, or a URL without its password

    def _connect(self, write: bool = True) -> Any:
        return self.db.transaction(write=write)

    def record_answer(self, answer: StoredAnswer) -> None:
        """Keep an answer so that feedback can refer to it."""
        with self._connect() as db:
            db.execute(
                "INSERT INTO answers (answer_id, created_at, question, answer, refused, mode, "
                "evidence_score, citations) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT (answer_id) DO UPDATE SET created_at = excluded.created_at, "
                "question = excluded.question, answer = excluded.answer, "
                "refused = excluded.refused, mode = excluded.mode, "
                "evidence_score = excluded.evidence_score, citations = excluded.citations",
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
                "INSERT INTO feedback (feedback_id, answer_id, created_at, rating, comment) "
                "VALUES (?, ?, ?, ?, ?)",
                (feedback_id, answer_id, _now(precise=True), rating, redact(comment or "") or None),
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
                "ORDER BY f.created_at, f.feedback_id"
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
        return write_jsonl(self.records(), out)
