"""The audit log: who asked what, when, and what they were told; kept for a set number of days.

One row per ``/v1`` request: the key's id and scope (never the key), the time, the method and
route, the status and latency, the request id, and for questions the redacted question, the
answer id, the documents cited, the answer mode and whether it was refused. Rows older than
``audit.retention_days`` are deleted by ``nhs-assistant audit purge`` (the stack runs it on a
schedule); ``audit export --since`` writes them out as JSON lines for information governance,
and ``audit purge --answer-id`` removes one exchange (a person's data) on request.

Questions are redacted (:mod:`assistant.redact`) before they are written, but free text can
still hold personal data, so the log lives in the service's database (a SQLite file, or
PostgreSQL) under the same backups and access controls as the feedback.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextvars import ContextVar
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, TextIO

from pydantic import BaseModel, Field

from assistant.records import write_jsonl
from assistant.records.database import Database
from assistant.redact import redact

if TYPE_CHECKING:
    from assistant.asking import AskResult

QUESTION_CHARS = 2000  # a question is cut to this many characters in the log

# What is noted about the request being served, for its audit row: a dict the API's request
# middleware creates per request (routes running in worker threads see the same dict).
audit_notes: ContextVar[dict[str, Any] | None] = ContextVar("audit_notes", default=None)


def note_for_audit(**fields: Any) -> None:
    """Record facts about the current request for its audit row (no-op outside a request)."""
    notes = audit_notes.get()
    if notes is not None:
        notes.update(fields)


def note_answer(result: AskResult, question: str) -> None:
    """An answer observer: the question, the answer id, the documents cited, the mode and
    whether it was refused, for the audit row of the request that asked."""
    answer = result.answer
    note_for_audit(
        question=question,
        answer_id=result.answer_id,
        documents=list(dict.fromkeys(c.doc_id for c in answer.citations)),
        mode=answer.mode,
        refused=answer.refused,
    )


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


class AuditEntry(BaseModel):
    """One request, as the audit log keeps it."""

    request_id: str
    at: str = Field(default_factory=_now, description="When it was answered (UTC, ISO 8601).")
    key_id: str = Field(description="The API key's id (a digest prefix), never the key.")
    scope: str
    method: str
    route: str = Field(description="The route's template, e.g. /v1/documents/{doc_id}.")
    status: int
    latency_ms: float
    question: str | None = Field(None, description="Redacted before it is stored.")
    answer_id: str | None = None
    documents: list[str] = Field(default_factory=list, description="Documents cited.")
    mode: str | None = None
    refused: bool | None = None


# What routes may note about a request (the rest of a row comes from the request itself).
AUDIT_NOTE_FIELDS = frozenset({"question", "answer_id", "documents", "mode", "refused"})

_COLUMNS = (
    "request_id, at, key_id, scope, method, route, status, latency_ms, question, answer_id, "
    "documents, mode, refused"
)


class AuditLog:
    """Writes, reads and purges audit rows in the service's database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def record(self, entry: AuditEntry) -> None:
        question = redact(entry.question)[:QUESTION_CHARS] if entry.question else None
        with self.db.transaction() as tx:
            tx.execute(
                f"INSERT INTO audit_log ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    entry.request_id,
                    entry.at,
                    entry.key_id,
                    entry.scope,
                    entry.method,
                    entry.route,
                    entry.status,
                    round(entry.latency_ms, 3),
                    question,
                    entry.answer_id,
                    json.dumps(entry.documents),
                    entry.mode,
                    None if entry.refused is None else int(entry.refused),
                ),
            )

    def entries(self, since: datetime | None = None) -> Iterator[AuditEntry]:
        """Rows from ``since`` (default: all), oldest first."""
        with self.db.transaction(write=False) as tx:
            rows = tx.execute(
                f"SELECT {_COLUMNS} FROM audit_log WHERE at >= ? ORDER BY at, request_id",
                (_iso(since) if since else "",),
            ).fetchall()
        for r in rows:
            yield AuditEntry(
                request_id=r[0],
                at=r[1],
                key_id=r[2],
                scope=r[3],
                method=r[4],
                route=r[5],
                status=r[6],
                latency_ms=r[7],
                question=r[8],
                answer_id=r[9],
                documents=json.loads(r[10]),
                mode=r[11],
                refused=None if r[12] is None else bool(r[12]),
            )

    def export_jsonl(self, out: TextIO, since: datetime | None = None) -> int:
        return write_jsonl(self.entries(since), out)

    def purge_older_than(self, days: int, now: datetime | None = None) -> int:
        """Delete rows older than ``days``; returns how many."""
        cutoff = (now or datetime.now(UTC)) - timedelta(days=days)
        with self.db.transaction() as tx:
            return int(tx.execute("DELETE FROM audit_log WHERE at < ?", (_iso(cutoff),)).rowcount)

    def purge_answer(self, answer_id: str) -> int:
        """Delete one exchange everywhere it is kept: its audit rows, the answer and the
        ratings on it (a person's request to remove what they asked). Returns rows deleted."""
        with self.db.transaction() as tx:
            deleted = tx.execute("DELETE FROM audit_log WHERE answer_id = ?", (answer_id,)).rowcount
            deleted += tx.execute("DELETE FROM feedback WHERE answer_id = ?", (answer_id,)).rowcount
            deleted += tx.execute("DELETE FROM answers WHERE answer_id = ?", (answer_id,)).rowcount
        return int(deleted)


def _iso(moment: datetime) -> str:
    """A moment as the log writes it (UTC, ISO 8601), so text order is time order."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).isoformat(timespec="microseconds")
