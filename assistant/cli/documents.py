"""`ingest` and `index stats|release|mark|rm`: what is indexed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError
from rich.progress import MofNCompleteColumn, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

from assistant.cli.common import (
    DataDir,
    JsonOut,
    console,
    err_console,
    fail,
    invalid_input,
    progress_bar,
    services_for,
    settings_for,
    shown,
)
from assistant.errors import AssistantError, UnknownDocumentError
from assistant.ingest.loaders import default_registry
from assistant.ingest.pipeline import Progress as IngestProgress
from assistant.schemas import LifecycleUpdate

index_app = typer.Typer(help="Inspect and edit the index.", no_args_is_help=True)


def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to index.")],
    prune: Annotated[bool, typer.Option(help="Remove documents whose files are gone.")] = False,
    strict: Annotated[bool, typer.Option(help="Exit non-zero if any file fails.")] = False,
    data_dir: DataDir = None,
    json_out: JsonOut = False,
) -> None:
    """Index documents; unchanged files are skipped (the help lists the loaders' formats)."""
    services = services_for(settings_for(data_dir))
    columns = (MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn())
    with progress_bar(*columns, disable=json_out) as bar:
        files_task = bar.add_task("files", total=None)
        chunks_task = bar.add_task("passages embedded", total=0)

        def to_embed(n: int) -> None:
            total = bar.tasks[chunks_task].total or 0
            bar.update(chunks_task, total=total + n)

        hooks = IngestProgress(
            on_files_found=lambda n: bar.update(files_task, total=n),
            on_file_start=lambda p: bar.update(files_task, description=f"reading {p.name[:40]}"),
            on_to_embed=to_embed,
            on_embedded=lambda n: bar.advance(chunks_task, n),
            on_file_done=lambda o: bar.advance(files_task, 1),
        )
        try:
            report = services.ingest(paths, prune=prune, progress=hooks)
        except AssistantError as exc:
            raise fail(exc) from exc
    if json_out:
        console.print_json(report.model_dump_json())
    else:
        table = Table(title=f"Ingested in {report.seconds:.1f} s")
        for col in ("file", "status", "chunks", "embedded", "reason"):
            table.add_column(col)
        for f in report.files:
            style = {"failed": "red", "unchanged": "dim"}.get(f.status, "")
            table.add_row(
                shown(Path(f.path).name),
                f.status,
                str(f.chunks),
                str(f.embedded),
                shown(f.reason or ""),
                style=style,
            )
        console.print(table)
        console.print(
            f"files: {len(report.files)}  indexed: {report.count('indexed')}  updated: "
            f"{report.count('updated')}  unchanged: {report.count('unchanged')}  failed: "
            f"{len(report.failed)}  pruned: {len(report.pruned)}  chunks: {report.chunks}  "
            f"embedded: {report.embedded}"
        )
        if report.stage_seconds.get("embed"):
            console.print(f"time: {stage_summary(report.stage_seconds)}", highlight=False)
        held = [f for f in report.files if f.quarantined]
        for f in held:
            console.print(
                f"[red]quarantined[/red] {f.quarantined} passage(s) of {shown(Path(f.path).name)} "
                "as planted text: see `nhs-assistant index stats`",
                highlight=False,
            )
    if strict and report.failed:
        raise typer.Exit(1)


INGEST_HELP = f"Index documents ({default_registry.describe()}); unchanged files are skipped."


@index_app.command("stats")
def index_stats(data_dir: DataDir = None, json_out: JsonOut = False) -> None:
    """Documents and chunks in the index."""
    settings = settings_for(data_dir)
    services = services_for(settings)
    docs = services.store.list_documents()
    stats: dict[str, Any] = {
        "data_dir": str(settings.data_dir),
        "embedding_model": services.embedder.name,
        "documents": len(docs),
        "chunks": services.store.count(),
        "by_document": [
            {
                "doc_id": d.meta.doc_id,
                "title": d.meta.title,
                "chunks": len(d.chunk_ids),
                "publisher": d.meta.publisher,
                "status": d.meta.status,
                "period": d.meta.period,
                "superseded_by": d.meta.superseded_by,
                "quarantined": [q.model_dump() for q in d.meta.quarantined],
                "released": list(d.meta.released),
            }
            for d in docs
        ],
    }
    if json_out:
        console.print_json(json.dumps(stats))
        return
    table = Table(
        title=f"{stats['documents']} documents, {stats['chunks']} chunks ({settings.data_dir})"
    )
    for col in ("doc id", "title", "publisher", "status", "period", "chunks", "quarantined"):
        table.add_column(col)
    # Grouped by status: what is current first, then what a reader must take with care.
    order = ["current", "unknown", "consultation/draft", "superseded", "historical", "withdrawn"]
    for d in sorted(stats["by_document"], key=lambda d: (order.index(d["status"]), d["doc_id"])):
        held = len(d["quarantined"])
        status = d["status"] + (f" → {d['superseded_by']}" if d["superseded_by"] else "")
        table.add_row(
            d["doc_id"],
            shown(d["title"][:70]),
            shown(d["publisher"] or ""),
            shown(status),
            shown(d["period"] or ""),
            str(d["chunks"]),
            f"[red]{held}[/red]" if held else "0",
        )
    console.print(table)
    for d in stats["by_document"]:
        for q in d["quarantined"]:
            where = " · ".join(x for x in (q["section"], q["page"] and f"page {q['page']}") if x)
            console.print(
                f"[red]quarantined[/red] {d['doc_id']} [{q['key']}] {shown(where)}: "
                f"{shown(q['excerpt'])} ({', '.join(q['reasons'])})",
                highlight=False,
            )
    if any(d["quarantined"] for d in stats["by_document"]):
        console.print(
            "Quarantined passages are never quoted or shown. Release a false alarm with "
            "`nhs-assistant index release DOC_ID --key KEY`, or remove the document with "
            "`nhs-assistant index rm DOC_ID`."
        )


@index_app.command("release")
def index_release(
    doc_id: Annotated[str, typer.Argument(help="Document id (see `index stats`).")],
    key: Annotated[
        list[str] | None,
        typer.Option("--key", help="A quarantined passage's key; repeat. Default: all of them."),
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Let quarantined passages of a document through (false alarms) and index it again."""
    services = services_for(settings_for(data_dir))
    try:
        info = services.documents.release(doc_id, key or None)
    except AssistantError as exc:
        raise fail(exc) from exc
    console.print(
        f"released {len(info.released)} passage(s) of {doc_id}; "
        f"{len(info.quarantined)} still quarantined"
    )


@index_app.command("mark")
def index_mark(
    doc_id: Annotated[str, typer.Argument(help="Document id (see `index stats`).")],
    status: Annotated[
        str | None,
        typer.Option(
            help="current, superseded, withdrawn, historical, consultation/draft or unknown."
        ),
    ] = None,
    superseded_by: Annotated[
        str | None, typer.Option(help="The id of the document that replaces it.")
    ] = None,
    period: Annotated[
        str | None, typer.Option(help='The years it governs: "2025/26", "2026/27-2028/29".')
    ] = None,
    published: Annotated[str | None, typer.Option(help="YYYY-MM-DD.")] = None,
    data_dir: DataDir = None,
) -> None:
    """Set a document's lifecycle (e.g. superseded by another) without indexing it again."""
    services = services_for(settings_for(data_dir))
    try:
        given = {
            "status": status,
            "superseded_by": superseded_by,
            "period": period,
            "published": published,
        }
        update = LifecycleUpdate(**{k: v for k, v in given.items() if v is not None})
    except ValidationError as exc:
        raise fail(invalid_input(exc)) from exc
    try:
        info = services.documents.mark(doc_id, update)
    except AssistantError as exc:
        raise fail(exc) from exc
    by = f" by {info.superseded_by}" if info.superseded_by else ""
    period_note = f", period {info.period}" if info.period else ""
    console.print(f"{doc_id}: {info.status}{by}{period_note}", highlight=False)


@index_app.command("rm")
def index_rm(
    doc_id: Annotated[str, typer.Argument(help="Document id (see `index stats`).")],
    data_dir: DataDir = None,
) -> None:
    """Remove one document, its chunks and, if it was uploaded, its file."""
    services = services_for(settings_for(data_dir))
    try:
        services.documents.delete(doc_id)
    except UnknownDocumentError as exc:
        err_console.print(
            f"[red]error:[/red] no document {doc_id!r} in the index (see `nhs-assistant index stats`)",
            highlight=False,
            markup=True,
        )
        raise typer.Exit(1) from exc
    except AssistantError as exc:
        raise fail(exc) from exc
    console.print(f"removed {doc_id}")


STAGE_NAMES = (  # (key in IngestReport.stage_seconds, how the summary names it)
    ("read", "reading (parse and screen, beside embedding)"),
    ("read_wait", "waiting for reading"),
    ("chunk", "chunking"),
    ("embed", "embedding"),
    ("store", "storing"),
    ("bm25", "keyword index"),
)


def stage_summary(seconds: dict[str, float]) -> str:
    """Where an ingest's time went, in words: "embedding 72.9 s, reading ... 57.0 s, ...".

    >>> stage_summary({"embed": 72.94, "read": 57.0, "read_wait": 17.02, "store": 0.04})
    'embedding 72.9 s, reading (parse and screen, beside embedding) 57.0 s, waiting for reading 17.0 s'
    """
    named = dict(STAGE_NAMES)
    parts = sorted(((v, k) for k, v in seconds.items() if k in named and v >= 0.05), reverse=True)
    return ", ".join(f"{named[k]} {v:.1f} s" for v, k in parts)
