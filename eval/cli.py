"""The evaluation harness's commands, registered into ``nhs-assistant`` by an entry point:
``eval run``, ``eval calibrate``, ``bench`` and ``soak`` (see ``pyproject.toml``)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from assistant.cli.common import (
    DataDir,
    JsonOut,
    console,
    err_console,
    fail,
    progress_bar,
    settings_for,
)
from assistant.errors import AssistantError, InvalidInputError
from eval.bench.cli import bench
from eval.bench.measure import PROJECT_ROOT
from eval.soak.cli import soak

eval_app = typer.Typer(
    help="Evaluate grounding and retrieval on a question set.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    """Add the evaluation commands to the ``nhs-assistant`` app."""
    app.add_typer(eval_app, name="eval")
    # Their heavy imports wait for a run.
    app.command("bench")(bench)
    app.command("bench-workers")(bench_workers_command)
    app.command("bench-worker-memory")(bench_worker_memory_command)
    app.command("soak")(soak)


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

    settings = settings_for(data_dir)
    if data_dir is None:
        settings.data_dir = settings.data_dir / "eval-index"
    corpus = corpus or [Path("../shared/corpus")]
    with progress_bar() as bar:

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
            raise fail(exc, 2) from exc
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

    settings = settings_for(None)
    embedder = None
    if embeddings:
        from assistant.embeddings.factory import make_embedder

        embedder = make_embedder(settings.embedding)
    try:
        result = calibrate(labels, corpus or [Path("../shared/corpus")], embedder)
    except AssistantError as exc:
        raise fail(exc, 2) from exc
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


@eval_app.command("followups")
def eval_followups(
    dataset: Annotated[
        list[Path] | None,
        typer.Option(help="Conversation set(s) (JSONL); default: both in eval/datasets."),
    ] = None,
) -> None:
    """Score the follow-up rule on scripted conversations: which turns are read as follow-ups
    and which earlier question each carries."""
    from eval.followups import DATASETS, score_conversations
    from eval.jsonl import DatasetError

    for path in dataset or DATASETS:
        try:
            report = score_conversations(path)
        except (OSError, DatasetError) as exc:
            err_console.print(f"cannot read {path}: {exc}")
            raise typer.Exit(2) from exc
        console.print(f"{path.name}", markup=False)
        console.print(report.render(), markup=False)


@eval_app.command("refusal")
def eval_refusal(
    calibrate_on: Annotated[
        Path,
        typer.Option(
            "--calibrate-on",
            help="report.json of a run with NHS_ASSISTANT_ANSWER_MIN_EVIDENCE=0 (the split to fit).",
        ),
    ],
    report: Annotated[
        list[Path] | None,
        typer.Option(help="Further report.json files (same settings) to report on (repeatable)."),
    ] = None,
    split: Annotated[
        str | None, typer.Option(help="Fit on this split of the calibration report only.")
    ] = None,
) -> None:
    """Choose answer.min_evidence on one split; show the confusion matrix there and elsewhere."""
    from eval.refusal import calibrate, render

    def questions(path: Path, only: str | None = None) -> list[dict]:
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            err_console.print(f"cannot read {path}: {exc}")
            raise typer.Exit(2) from exc
        qs = data["questions"]["project"]
        return [q for q in qs if only is None or q.get("split") == only]

    fitted = questions(calibrate_on, split)
    if not fitted:
        err_console.print(
            f"no questions in {calibrate_on}" + (f" (split {split})" if split else "")
        )
        raise typer.Exit(2)
    name = f"{calibrate_on.parent.name}" + (f"/{split}" if split else "")
    splits = {name: fitted}
    if split:
        rest = [q for q in questions(calibrate_on) if q.get("split") != split]
        if rest:
            splits[f"{calibrate_on.parent.name}/other splits"] = rest
    for path in report or []:
        splits[path.parent.name] = questions(path)
    console.print(render(calibrate(fitted), splits, fitted_on=name), markup=False)


def bench_workers_command(
    out: Annotated[Path, typer.Option(help="Folder for workers.json.")] = Path("artifacts/bench"),
    corpus: Annotated[
        Path | None, typer.Option(help="Corpus folder (default ../shared/corpus, else briefings).")
    ] = None,
    duration: Annotated[float, typer.Option(help="Measured seconds per level.")] = 20.0,
    clients: Annotated[int, typer.Option(help="Concurrent clients.")] = 10,
) -> None:
    """/v1/ask with 1 and 2 API workers on a Chroma server, in one run: throughput, p95, CPU
    seconds per request, memory per worker."""
    from eval.bench.workers import bench_workers

    shared = PROJECT_ROOT.parent / "shared" / "corpus"
    chosen = corpus or (shared if shared.is_dir() else PROJECT_ROOT / "corpus" / "briefings")
    report = bench_workers(
        chosen,
        PROJECT_ROOT / "eval" / "datasets" / "dev.jsonl",
        out / "workers-work",
        clients=clients,
        duration=duration,
    )
    out.mkdir(parents=True, exist_ok=True)
    (out / "workers.json").write_text(json.dumps(report, indent=2))
    for level in report["levels"].values():
        typer.echo(
            f"{level['workers']} worker(s): {level['rps']:.1f} req/s at {clients} clients, "
            f"p95 {level['p95_ms']:.0f} ms, {level['cpu_s_per_request'] * 1000:.0f} ms CPU per "
            f"request, {level['rss_per_worker_mb']:.0f} MiB per worker, errors {level['errors']}"
        )


def bench_worker_memory_command(
    data_dir: DataDir = None,
    out: Annotated[Path, typer.Option(help="Folder for worker-memory.json.")] = Path(
        "artifacts/bench"
    ),
    sizes: Annotated[
        str, typer.Option(help="Chunk counts, comma-separated (real chunks, then synthetic).")
    ] = "20000,200000,1000000",
) -> None:
    """What one API worker holds at each index size when the vectors live on a Chroma server:
    the embedding model plus its own lexical index (bm25s and the chunks' text), measured in a
    fresh process per size from an existing index (DATA_DIR)."""
    from eval.bench.worker_memory import bench_worker_memory
    from eval.dataset import load_dataset

    settings = settings_for(data_dir)
    try:
        chosen = tuple(int(s) for s in sizes.split(",") if s.strip())
    except ValueError:
        raise fail(
            InvalidInputError(f"--sizes takes whole numbers separated by commas, not {sizes!r}"), 2
        ) from None
    if not chosen or min(chosen) <= 0:
        raise fail(InvalidInputError("--sizes needs at least one chunk count above zero"), 2)
    questions = [i.question for i in load_dataset(PROJECT_ROOT / "eval" / "datasets" / "dev.jsonl")]
    report = bench_worker_memory(settings.data_dir, questions, out / "worker-memory-work", chosen)
    out.mkdir(parents=True, exist_ok=True)
    (out / "worker-memory.json").write_text(json.dumps(report, indent=2))
    for p in report["points"]:
        typer.echo(
            f"{p['size']:>9,} chunks: worker {p['rss_after_search_mb']:.0f} MiB "
            f"(lexical index {p['index_mb']:.0f} MiB, peak {p['peak_rss_mb']:.0f} MiB, "
            f"load {p['load_ms'] / 1000:.1f} s, BM25 search median "
            f"{p['search_median_ms']:.1f} ms); Chroma server vectors and graph "
            f"{p['chroma_side_mib_projected']:.0f} MiB (worked out)"
        )
