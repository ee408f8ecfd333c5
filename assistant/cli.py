"""`nhs-assistant`: the one command line in front of everything.

Each command parses its options, builds the services from settings, calls one service method
and prints the result. No business rules live here.
"""

from __future__ import annotations

import json
import logging
import sys
import unicodedata
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from rich.text import Text

from assistant.config import Settings
from assistant.errors import AssistantError, ConfigurationError, InvalidInputError
from assistant.ingest.loaders import default_registry
from assistant.schemas import (
    Answer,
    ChatMessage,
    DeltaEvent,
    Filters,
    FinalEvent,
    RetrievedChunk,
)
from eval.bench.cli import bench
from eval.soak.cli import soak

app = typer.Typer(
    help="Cited answers for NHS leaders from a curated corpus (offline by default).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
index_app = typer.Typer(help="Inspect and edit the index.", no_args_is_help=True)
app.add_typer(index_app, name="index")
eval_app = typer.Typer(
    help="Evaluate grounding and retrieval on a question set.", no_args_is_help=True
)
app.add_typer(eval_app, name="eval")
corpus_app = typer.Typer(help="Fetch the corpus's official documents.", no_args_is_help=True)
app.add_typer(corpus_app, name="corpus")
feedback_app = typer.Typer(help="Ratings given to answers through the API.", no_args_is_help=True)
app.add_typer(feedback_app, name="feedback")
# The benchmark and the soak live with the evaluation code (eval/bench, eval/soak); their heavy
# imports wait for a run.
app.command("bench")(bench)
app.command("soak")(soak)

console = Console()
err_console = Console(stderr=True)

DataDir = Annotated[
    Path | None,
    typer.Option(
        "--data-dir", help="Folder of the index (default: $NHS_ASSISTANT_DATA_DIR or ./data)."
    ),
]
DocFilter = Annotated[list[str] | None, typer.Option(help="Only this document id (repeatable).")]
PublisherFilter = Annotated[
    list[str] | None, typer.Option(help="Only this publisher (repeatable).")
]
ThemeFilter = Annotated[list[str] | None, typer.Option(help="Only this theme (repeatable).")]
JsonOut = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
ModeOption = Annotated[
    str | None,
    typer.Option(
        "--mode",
        help="extractive (quotes, no LLM) or llm (generated, every sentence checked against its "
        "sources; needs NHS_ASSISTANT_LLM_BASE_URL or an API key). Default: answer.mode.",
    ),
]
RETRIEVED_IN_OUTPUT = 10  # ranked chunks reported with every answer


def _settings(data_dir: Path | None, **answer: Any) -> Settings:
    settings = Settings()
    if data_dir is not None:
        settings.data_dir = data_dir
    logging.basicConfig(
        level=getattr(logging, settings.log_level.upper(), logging.INFO),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    for noisy in ("chromadb", "httpx", "httpx2", "openai", "bm25s"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    return settings


def _services(settings: Settings) -> Any:
    from assistant.services import build_services

    try:
        return build_services(settings)
    except ConfigurationError as exc:
        err_console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc


def shown(value: str) -> Text:
    """Text from a file or document for a terminal table: Rich markup in it stays literal, and
    control and direction-changing characters (a newline or right-to-left override in a file
    name) show as escapes instead of garbling the row.
    """
    out = []
    for ch in value:
        if ch.isprintable() and unicodedata.category(ch) not in ("Cf", "Zl", "Zp"):
            out.append(ch)
        else:
            out.append(ch.encode("unicode_escape").decode("ascii"))
    return Text("".join(out))


def _fail(exc: AssistantError, code: int = 1) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {exc}")
    return typer.Exit(code)


def _filters(
    doc: list[str] | None, publisher: list[str] | None, theme: list[str] | None
) -> Filters | None:
    f = Filters(doc_ids=doc or None, publishers=publisher or None, themes=theme or None)
    return None if f.is_empty() else f


def chunk_json(c: RetrievedChunk) -> dict[str, Any]:
    return {
        "rank": c.rank,
        "doc_id": c.doc_id,
        "title": c.title,
        "section": c.section,
        "page": c.page_start,
        "chunk_id": c.chunk_id,
        "chunk_text": c.text,
        "score": round(c.score, 6),
        "dense_score": None if c.dense_score is None else round(c.dense_score, 4),
        "bm25_score": None if c.bm25_score is None else round(c.bm25_score, 4),
        "source_url": c.source_url,
    }


def answer_json(answer: Answer, qid: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {} if qid is None else {"id": qid}
    out.update(
        {
            "question": answer.question,
            "answer": answer.answer,
            "refused": answer.refused,
            "mode": answer.mode,
            "evidence_score": round(answer.evidence_score, 4),
            "citations": [
                {
                    "n": c.n,
                    "doc_id": c.doc_id,
                    "title": c.title,
                    "section": c.section,
                    "page": c.page,
                    "quote": c.quote,
                    "quotes": c.quotes,
                    "chunk_id": c.chunk_id,
                    "chunk_text": c.chunk_text,
                    "score": round(c.score, 6),
                    "source_url": c.source_url,
                }
                for c in answer.citations
            ],
            "retrieved": [chunk_json(c) for c in answer.retrieved],
            "timings_ms": {k: round(v, 2) for k, v in answer.timings_ms.items()},
            "sentences": [s.model_dump() for s in answer.sentences],
            "removed": answer.removed,
            "removed_sentences": [s.model_dump() for s in answer.removed_sentences],
            "dropped_citations": answer.dropped_citations,
            "fallback_reason": answer.fallback_reason,
            "standalone_question": answer.standalone_question,
        }
    )
    return out


def _heading(answer: Answer) -> str:
    return "Not covered by the corpus" if answer.refused else "Answer"


def print_answer(answer: Answer) -> None:
    console.print(f"\n[bold]{_heading(answer)}[/bold]\n")
    console.print(answer.answer, highlight=False)
    print_sources(answer)


def grounding_notes(answer: Answer) -> list[str]:
    """What the grounding check did to a generated answer, in words."""
    notes = []
    if answer.standalone_question:
        notes.append(f"Read as: {answer.standalone_question}")
    if answer.removed:
        s = "" if answer.removed == 1 else "s"
        notes.append(f"{answer.removed} sentence{s} removed: not supported by the cited passages.")
    if answer.dropped_citations:
        notes.append(
            f"{answer.dropped_citations} citation(s) to passages that do not exist dropped."
        )
    if answer.mode == "extractive-fallback":
        notes.append(
            f"The generated answer was not used ({answer.fallback_reason}); this is the "
            "extractive answer, quoted from the sources."
        )
    return notes


def print_streamed(events: Any) -> Answer:
    """Print answer text as it arrives, then the checked answer when the check changed it."""
    pieces: list[str] = []
    answer: Answer | None = None
    for event in events:
        if isinstance(event, DeltaEvent):
            if not pieces:
                console.print("\n[bold]Answer[/bold]\n")
            pieces.append(event.text)
            console.print(event.text, end="", highlight=False, markup=False, soft_wrap=True)
            console.file.flush()
        elif isinstance(event, FinalEvent):
            answer = event.answer
    if answer is None:
        raise AssistantError("the answer stream ended without an answer")
    console.print()
    if "".join(pieces).strip() != answer.answer.strip():
        console.print(f"\n[bold]{_heading(answer)} (checked against the sources)[/bold]\n")
        console.print(answer.answer, highlight=False, markup=False)
    for note in grounding_notes(answer):
        console.print(note, style="yellow", highlight=False, markup=False)
    print_sources(answer)
    return answer


def print_sources(answer: Answer) -> None:
    if answer.citations:
        console.print("\n[bold]Sources[/bold]")
        for c in answer.citations:
            where = " · ".join(x for x in (c.section, f"page {c.page}" if c.page else "") if x)
            console.print(
                f"[{c.n}] [bold]{c.title}[/bold]" + (f" — {where}" if where else ""),
                highlight=False,
            )
            if not answer.refused:
                for quote in c.quotes:
                    console.print(f'    "{" ".join(quote.split())}"', style="dim", highlight=False)
            if c.source_url:
                console.print(f"    {c.source_url}", style="blue", highlight=False)


@app.command(help=f"Index documents ({default_registry.describe()}); unchanged files are skipped.")
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="Files or folders to index.")],
    prune: Annotated[bool, typer.Option(help="Remove documents whose files are gone.")] = False,
    strict: Annotated[bool, typer.Option(help="Exit non-zero if any file fails.")] = False,
    data_dir: DataDir = None,
    json_out: JsonOut = False,
) -> None:
    """Index documents; unchanged files are skipped (the help lists the loaders' formats)."""
    from assistant.ingest.pipeline import Progress as IngestProgress

    settings = _settings(data_dir)
    services = _services(settings)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        disable=json_out or not err_console.is_terminal,
    ) as bar:
        files_task = bar.add_task("files", total=None)
        chunks_task = bar.add_task("passages embedded", total=None)
        hooks = IngestProgress(
            on_file_start=lambda p: bar.update(files_task, description=f"reading {p.name[:40]}"),
            on_embedded=lambda n: bar.advance(chunks_task, n),
            on_file_done=lambda o: bar.advance(files_task, 1),
        )
        try:
            report = services.ingest(paths, prune=prune, progress=hooks)
        except AssistantError as exc:
            raise _fail(exc) from exc
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
    if strict and report.failed:
        raise typer.Exit(1)


@index_app.command("stats")
def index_stats(data_dir: DataDir = None, json_out: JsonOut = False) -> None:
    """Documents and chunks in the index."""
    settings = _settings(data_dir)
    services = _services(settings)
    docs = services.store.list_documents()
    stats = {
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
    for col in ("doc id", "title", "publisher", "chunks"):
        table.add_column(col)
    for d in stats["by_document"]:
        table.add_row(
            d["doc_id"], shown(d["title"][:70]), shown(d["publisher"] or ""), str(d["chunks"])
        )
    console.print(table)


@index_app.command("rm")
def index_rm(
    doc_id: Annotated[str, typer.Argument(help="Document id (see `index stats`).")],
    data_dir: DataDir = None,
) -> None:
    """Remove one document and its chunks from the index."""
    services = _services(_settings(data_dir))
    if not services.remove(doc_id):
        err_console.print(
            f"[red]error:[/red] no document {doc_id!r} in the index (see `nhs-assistant index stats`)"
        )
        raise typer.Exit(1)
    console.print(f"removed {doc_id}")


@app.command()
def retrieve(
    question: Annotated[str, typer.Argument(help="The question.")],
    k: Annotated[int, typer.Option("--k", help="How many chunks.")] = 10,
    doc: DocFilter = None,
    publisher: PublisherFilter = None,
    theme: ThemeFilter = None,
    data_dir: DataDir = None,
    json_out: JsonOut = False,
) -> None:
    """Ranked chunks for a question, without an answer."""
    services = _services(_settings(data_dir))
    try:
        chunks = services.retrieve(question, k=k, filters=_filters(doc, publisher, theme))
    except InvalidInputError as exc:
        raise _fail(exc, 2) from exc
    except AssistantError as exc:
        raise _fail(exc) from exc
    if json_out:
        console.print_json(json.dumps([chunk_json(c) for c in chunks]))
        return
    for c in chunks:
        page = f" p.{c.page_start}" if c.page_start else ""
        console.print(
            f"[bold]{c.rank}. {c.title}[/bold] — {c.section}{page}  (score {c.score:.4f})",
            highlight=False,
        )
        console.print(
            "   " + c.text[:300].replace("\n", " ") + ("…" if len(c.text) > 300 else ""),
            style="dim",
            highlight=False,
        )


@app.command()
def ask(
    question: Annotated[
        str | None, typer.Argument(help="The question (or use --questions).")
    ] = None,
    questions: Annotated[
        Path | None,
        typer.Option(help="JSONL file of {id, question}; prints one JSON answer per line."),
    ] = None,
    doc: DocFilter = None,
    publisher: PublisherFilter = None,
    theme: ThemeFilter = None,
    data_dir: DataDir = None,
    json_out: JsonOut = False,
    mode: ModeOption = None,
) -> None:
    """Answer a question from the indexed documents, with numbered sources.

    With no question on a terminal, asks for questions one after another (follow-ups
    understood). The answer is printed as it is written, then checked against the sources.
    """
    if question is not None and questions is not None:
        err_console.print("[red]error:[/red] give a QUESTION or --questions FILE.jsonl, not both")
        raise typer.Exit(2)
    if question is None and questions is None and not sys.stdin.isatty():
        err_console.print("[red]error:[/red] give a QUESTION or --questions FILE.jsonl")
        raise typer.Exit(2)
    services = _services(_settings(data_dir))
    filters = _filters(doc, publisher, theme)
    try:
        services.answerer_for(mode)
    except InvalidInputError as exc:
        raise _fail(exc, 2) from exc
    if question is None and questions is None:
        _interactive(services, filters, mode)
        return
    if questions is not None:
        _ask_batch(services, questions, filters, mode)
        return
    assert question is not None
    try:
        if json_out:
            answer = services.ask(
                question, filters=filters, report_k=RETRIEVED_IN_OUTPUT, mode=mode
            )
            console.print_json(json.dumps(answer_json(answer)))
        else:
            print_streamed(services.ask_stream(question, filters=filters, mode=mode))
    except InvalidInputError as exc:
        raise _fail(exc, 2) from exc
    except AssistantError as exc:
        raise _fail(exc) from exc


def _interactive(services: Any, filters: Filters | None, mode: str | None = None) -> None:
    count = services.store.count()
    console.print(
        f"[bold]NHS leaders' assistant[/bold] — {count} passages indexed. Ask a question about "
        "the documents; an empty line quits. Not for patient-identifiable information; not "
        "clinical advice."
    )
    history: list[ChatMessage] = []
    while True:
        try:
            question = console.input("\n[bold blue]Question:[/bold blue] ").strip()
        except (EOFError, KeyboardInterrupt):
            return
        if not question:
            return
        try:
            answer = print_streamed(
                services.ask_stream(question, filters=filters, history=history, mode=mode)
            )
        except AssistantError as exc:
            err_console.print(f"[red]error:[/red] {exc}")
            continue
        history += [
            ChatMessage(role="user", content=question),
            ChatMessage(role="assistant", content=answer.answer),
        ]


def _ask_batch(services: Any, path: Path, filters: Filters | None, mode: str | None = None) -> None:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        err_console.print(f"[red]error:[/red] cannot read {path}: {exc.strerror}")
        raise typer.Exit(2) from exc
    out = sys.stdout
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            qid, q = str(item["id"]), item["question"]
        except (ValueError, KeyError, TypeError):
            out.write(
                json.dumps(
                    {"line": lineno, "error": "expected a JSON object with 'id' and 'question'"}
                )
                + "\n"
            )
            continue
        try:
            answer = services.ask(q, filters=filters, report_k=RETRIEVED_IN_OUTPUT, mode=mode)
            out.write(json.dumps(answer_json(answer, qid), ensure_ascii=False) + "\n")
        except AssistantError as exc:
            out.write(json.dumps({"id": qid, "error": str(exc)}) + "\n")
        out.flush()


@eval_app.command("run")
def eval_run(
    dataset: Annotated[Path, typer.Option(help="JSONL questions (see eval/dataset.py).")] = Path(
        "eval/datasets/dev.jsonl"
    ),
    corpus: Annotated[
        list[Path] | None,
        typer.Option(help="Documents to index and resolve evidence in (repeatable)."),
    ] = None,
    out: Annotated[
        Path, typer.Option(help="Folder for report.json, report.md, report.html.")
    ] = Path("artifacts/eval"),
    mode: Annotated[str, typer.Option(help="extractive or llm.")] = "extractive",
    baseline: Annotated[
        bool,
        typer.Option("--baseline", help="Also run BM25-only, dense-only and the LangChain recipe."),
    ] = False,
    split: Annotated[str, typer.Option(help="all, dev or heldout.")] = "all",
    limit: Annotated[int | None, typer.Option(help="Only the first N questions.")] = None,
    thresholds: Annotated[
        Path | None, typer.Option(help="TOML of metric thresholds (default eval/thresholds.toml).")
    ] = None,
    verifier_embeddings: Annotated[
        bool, typer.Option(help="Let the verifier use embedding similarity too.")
    ] = False,
    data_dir: DataDir = None,
) -> None:
    """Score answers and retrieval against gold evidence; exit 1 when a threshold fails."""
    from eval.report import markdown_table
    from eval.run import run_evaluation

    settings = _settings(data_dir)
    if data_dir is None:
        settings.data_dir = settings.data_dir / "eval-index"
    corpus = corpus or [Path("../shared/corpus")]
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        disable=not err_console.is_terminal,
    ) as bar:

        def progress(name: str, total: int):
            task = bar.add_task(name, total=total)
            return lambda: bar.advance(task)

        try:
            report, ok = run_evaluation(
                settings,
                dataset,
                corpus,
                out,
                mode=mode,
                baselines=baseline,
                split=split,
                limit=limit,
                thresholds=thresholds,
                verifier_embeddings=verifier_embeddings,
                progress=progress,
            )
        except AssistantError as exc:
            raise _fail(exc, 2) from exc
    for split_name, summaries in report["summary"].items():
        console.print(f"\n[bold]{split_name}[/bold]")
        console.print(markdown_table(summaries), highlight=False)
    for check in report["gate"]:
        if not check["ok"]:
            err_console.print(
                f"[red]below threshold:[/red] {check['metric']} = {check['value']:.3f} "
                f"(needs {check['op']} {check['threshold']})"
            )
    console.print(f"\nreports in {out}/ (report.json, report.md, report.html)")
    if not ok:
        raise typer.Exit(1)


@eval_app.command("calibrate")
def eval_calibrate(
    labels: Annotated[
        Path, typer.Option(help="Labelled (sentence, passages, supported) pairs.")
    ] = Path("eval/datasets/verifier_labels.jsonl"),
    corpus: Annotated[
        list[Path] | None, typer.Option(help="Folders the label anchors point into.")
    ] = None,
    embeddings: Annotated[bool, typer.Option(help="Calibrate the similarity check too.")] = False,
    json_out: JsonOut = False,
) -> None:
    """Choose the verifier's thresholds on half the labels; report accuracy and kappa on the rest."""
    from eval.calibrate import calibrate

    settings = _settings(None)
    embedder = None
    if embeddings:
        from assistant.embeddings.factory import make_embedder

        embedder = make_embedder(settings.embedding)
    try:
        result = calibrate(labels, corpus or [Path("../shared/corpus")], embedder)
    except AssistantError as exc:
        raise _fail(exc, 2) from exc
    if json_out:
        console.print_json(json.dumps(result))
        return
    console.print(
        f"{result['pairs']} labelled pairs; chosen thresholds: coverage >= {result['min_coverage']}"
        + (
            f", similarity >= {result['min_similarity']}"
            if result["min_similarity"] is not None
            else ""
        )
    )
    for half in ("calib", "test"):
        a = result[half]
        console.print(
            f"{half:5}: n={a['n']} accuracy={a['accuracy']:.3f} kappa={a['kappa']:.3f} "
            f"precision={a['precision']:.3f} recall={a['recall']:.3f}"
        )
    for kind, k in sorted(result["test_errors_by_kind"].items()):
        console.print(f"  {kind:22} {k['wrong']}/{k['n']} wrong on the test half")


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
) -> None:
    """Download each manifest entry that has a URL; exit 1 if any download failed."""
    from rich.progress import DownloadColumn, TransferSpeedColumn

    from assistant.ingest.fetch import FetchOptions, FetchProgress, fetch_corpus

    settings = _settings(None)
    given: dict[str, Any] = {"dest": dest, "timeout_s": timeout, "tries": tries, "max_mb": max_mb}
    options = FetchOptions(**{k: v for k, v in given.items() if v is not None})
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    ) as bar:
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
            raise _fail(exc, 2) from exc
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


# Where a server listens (serve, ui): loopback unless asked otherwise.
Host = Annotated[str, typer.Option(help="Address to listen on (loopback by default).")]
Port = Annotated[int, typer.Option(min=1, max=65535, help="Port to listen on.")]


@app.command()
def serve(
    host: Host = "127.0.0.1",
    port: Port = 8000,
    data_dir: DataDir = None,
    with_ui: Annotated[
        bool,
        typer.Option(
            "--ui/--no-ui",
            help="Also serve the managers' web page at /ui. It has no login of its own: put it "
            "behind your intranet's sign-in.",
        ),
    ] = False,
) -> None:
    """Serve the HTTP API (FastAPI on uvicorn); API keys from NHS_ASSISTANT_API_KEYS."""
    import uvicorn

    from assistant.api import create_app
    from assistant.api.auth import ApiKeyring
    from assistant.api.request_context import install_request_id_logging

    settings = _settings(data_dir)
    install_request_id_logging()
    try:
        ApiKeyring.from_settings(settings.api)  # refuse before loading the model, not after
    except ConfigurationError as exc:
        raise _fail(exc, 2) from exc
    services = _services(settings)
    try:
        api = create_app(services)
    except ConfigurationError as exc:
        raise _fail(exc, 2) from exc
    if with_ui:
        from ui import build_ui, mount_ui

        mount_ui(api, build_ui(api.state.ctx.asker))
        console.print(f"web page on http://{host}:{port}/ui")
    # log_config=None keeps the logging set up above (request ids on every line); the API
    # writes its own access log, without query strings or headers.
    uvicorn.run(api, host=host, port=port, log_config=None, access_log=False)


@app.command()
def ui(
    host: Host = "127.0.0.1",
    port: Port = 7860,
    data_dir: DataDir = None,
) -> None:
    """Serve the managers' web page (Gradio): chat with cited answers and their sources."""
    from assistant.asking import AskService
    from assistant.feedback import FeedbackStore, feedback_db_path
    from ui import build_ui, launch_ui

    settings = _settings(data_dir)
    services = _services(settings)
    asker = AskService(services, FeedbackStore(feedback_db_path(settings)))
    console.print(f"NHS leaders' assistant on http://{host}:{port}/ (Ctrl+C to stop)")
    launch_ui(build_ui(asker), host, port)


@feedback_app.command("export")
def feedback_export(
    out: Annotated[
        Path | None, typer.Option("--out", help="JSONL file to write (default: standard output).")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Write every rating with its (redacted) question and answer as JSON lines."""
    from assistant.feedback import FeedbackStore, feedback_db_path

    settings = _settings(data_dir)
    path = feedback_db_path(settings)
    if not path.exists():
        err_console.print(f"[red]error:[/red] no feedback database at {path}")
        raise typer.Exit(1)
    store = FeedbackStore(path)
    if out is None:
        store.export_jsonl(sys.stdout)
        return
    with out.open("w", encoding="utf-8") as f:
        count = store.export_jsonl(f)
    err_console.print(f"wrote {count} ratings to {out}")


def main() -> None:  # pragma: no cover - console entry point wrapper
    app()


if __name__ == "__main__":  # pragma: no cover
    app()
