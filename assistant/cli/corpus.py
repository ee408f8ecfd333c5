"""`corpus fetch`: download the manifest's public documents."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import DownloadColumn, TransferSpeedColumn
from rich.table import Table

from assistant.cli.common import console, fail, progress_bar, settings_for, shown
from assistant.errors import AssistantError
from assistant.ingest.fetch import FetchOptions, FetchProgress, FetchReport, fetch_corpus

corpus_app = typer.Typer(help="Fetch the corpus's official documents.", no_args_is_help=True)


@corpus_app.command("fetch")
def corpus_fetch(
    dest: Annotated[
        Path | None, typer.Option(help="Folder for the files (default: corpus/fetched).")
    ] = None,
    manifest: Annotated[
        Path | None, typer.Option(help="sources.toml to read (default: corpus/sources.toml).")
    ] = None,
    only: Annotated[
        list[str] | None, typer.Option("--only", help="Only this source id (repeatable).")
    ] = None,
    timeout: Annotated[
        float | None, typer.Option(min=0.1, help="Seconds to wait for the server (default 30).")
    ] = None,
    tries: Annotated[
        int | None, typer.Option(min=1, help="Tries per file on transient errors (default 3).")
    ] = None,
    max_mb: Annotated[
        float | None, typer.Option(min=0.001, help="Refuse larger files (default 100 MB).")
    ] = None,
    best_effort: Annotated[
        bool,
        typer.Option(
            "--best-effort",
            help="First-run mode (`make run`): a short summary instead of the table, and exit 0 "
            "when downloads fail (offline), saying what the index will hold instead.",
        ),
    ] = False,
) -> None:
    """Download each manifest entry that has a URL; exit 1 if any download failed."""
    settings = settings_for(None)
    given: dict[str, Any] = {"dest": dest, "timeout_s": timeout, "tries": tries, "max_mb": max_mb}
    options = FetchOptions(**{k: v for k, v in given.items() if v is not None})
    with progress_bar(DownloadColumn(), TransferSpeedColumn(), transient=True) as bar:
        tasks: dict[str, Any] = {}

        def start(source_id: str, total: int | None, done: int) -> None:
            if source_id not in tasks:
                tasks[source_id] = bar.add_task(source_id[:40], total=total)
            bar.update(tasks[source_id], total=total, completed=done)

        hooks = FetchProgress(
            on_start=start,
            on_bytes=lambda source_id, n: bar.advance(tasks[source_id], n),
        )
        try:
            report = fetch_corpus(
                manifest or settings.ingest.manifest, options, only=only, progress=hooks
            )
        except AssistantError as exc:
            raise fail(exc, 2) from exc
    if best_effort:
        console.print(best_effort_summary(report, options.dest), markup=False)
        return
    table = Table(title=f"Fetched into {options.dest} in {report.seconds:.1f} s")
    for col in ("source", "file", "status", "size", "note"):
        table.add_column(col)
    for o in report.outcomes:
        note = "; ".join(x for x in (o.detail, "" if o.redistribute else "local use only") if x)
        size = "" if o.size is None else f"{o.size / 1e6:.2f} MB"
        style = {"failed": "red", "unchanged": "dim", "skipped": "dim"}.get(o.status, "")
        table.add_row(
            o.source_id, shown(o.file_name or ""), o.status, size, shown(note), style=style
        )
    console.print(table)
    counts = "  ".join(
        f"{s}: {report.count(s)}"
        for s in ("downloaded", "resumed", "unchanged", "skipped", "failed")
    )
    console.print(counts)
    if report.failed:
        raise typer.Exit(1)


def best_effort_summary(report: FetchReport, dest: Path) -> str:
    """One or two lines for a first run: what arrived, and what the index holds if nothing did."""
    here = report.count("downloaded") + report.count("resumed") + report.count("unchanged")
    failed = report.failed
    if here and not failed:
        return f"Documents: {here} public documents are in {dest}."
    if here:
        return (
            f"Documents: {here} public documents are in {dest}; {len(failed)} could not be "
            f"fetched (first: {failed[0].source_id}: {failed[0].detail}). Run `nhs-assistant "
            "corpus fetch` later to try again."
        )
    reason = failed[0].detail if failed else "nothing to fetch"
    return (
        f"Offline, or the publishers could not be reached ({reason}). Indexing only what is on "
        "this machine: the project's briefings summarise the national documents. When online, "
        "run `nhs-assistant corpus fetch`, or `nhs-assistant ingest FOLDER` with your own copies."
    )
