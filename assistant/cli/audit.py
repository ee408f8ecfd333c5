"""`audit export|purge`: the audit log, for information governance."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer

from assistant.audit import AuditLog
from assistant.cli.common import DataDir, console, err_console, fail, settings_for
from assistant.errors import AssistantError
from assistant.feedback import feedback_db_path
from assistant.records.database import open_database

audit_app = typer.Typer(
    help="The audit log: who asked what, when (kept audit.retention_days days).",
    no_args_is_help=True,
)


def _log(data_dir: Path | None) -> tuple[AuditLog, int]:
    settings = settings_for(data_dir)
    try:
        db = open_database(settings.database_url(), feedback_db_path(settings))
    except AssistantError as exc:
        raise fail(exc) from exc
    return AuditLog(db), settings.audit.retention_days


@audit_app.command("export")
def audit_export(
    since: Annotated[
        datetime | None,
        typer.Option(help="Only rows from this day or moment on (YYYY-MM-DD[THH:MM:SS], UTC)."),
    ] = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="JSONL file to write (default: standard output).")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Write audit rows as JSON lines, oldest first."""
    log, _ = _log(data_dir)
    moment = since.replace(tzinfo=UTC) if since is not None and since.tzinfo is None else since
    try:
        if out is None:
            log.export_jsonl(sys.stdout, moment)
            return
        with out.open("w", encoding="utf-8") as f:
            count = log.export_jsonl(f, moment)
    except AssistantError as exc:
        raise fail(exc) from exc
    err_console.print(f"wrote {count} audit rows to {out}")


@audit_app.command("purge")
def audit_purge(
    older_than_days: Annotated[
        int | None,
        typer.Option(min=1, help="Delete rows older than this many days (default: the setting)."),
    ] = None,
    answer_id: Annotated[
        str | None,
        typer.Option(
            help="Instead, delete one exchange: its audit rows, the answer and its ratings."
        ),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Delete audit rows past the retention period (run it daily), or one exchange on request."""
    log, retention = _log(data_dir)
    try:
        if answer_id is not None:
            deleted = log.purge_answer(answer_id)
            console.print(f"deleted {deleted} rows of answer {answer_id}")
            return
        days = older_than_days or retention
        deleted = log.purge_older_than(days)
    except AssistantError as exc:
        raise fail(exc) from exc
    console.print(f"deleted {deleted} audit rows older than {days} days")
