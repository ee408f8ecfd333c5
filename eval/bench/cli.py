"""The `bench` command: a Typer function for `nhs-assistant bench`, and a standalone app.

``eval/cli.py`` registers it into ``nhs-assistant``; alone, run
``python -m eval.bench.cli --quick --out artifacts/bench``.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
TABLE_WIDTH = 150  # columns when printing to a file or pipe (rich assumes 80)
NOISY_LOGGERS = ("chromadb", "httpx", "bm25s", "assistant")


def bench(
    out: Annotated[Path, typer.Option(help="Folder for bench.json, bench.md and the plot.")] = Path(
        "artifacts/bench"
    ),
    quick: Annotated[
        bool,
        typer.Option(
            "--quick",
            help="CI mode: 3 small documents, 20 questions, API at 1 and 10 clients, 2k "
            "chunks; exit 1 when a gate (a ratio within the run) fails.",
        ),
    ] = False,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            "--data-dir",
            help="Benchmark index: reused when it holds chunks, else the cold ingest builds it "
            "(default: a scratch index under OUT/work).",
        ),
    ] = None,
    corpus: Annotated[
        Path | None, typer.Option(help="Corpus folder (default ../shared/corpus).")
    ] = None,
    dataset: Annotated[
        Path | None, typer.Option(help="Questions, JSONL (default eval/datasets/dev.jsonl).")
    ] = None,
    work_dir: Annotated[
        Path | None,
        typer.Option(help="Scratch folder; synthetic indexes kept here are reused (OUT/work)."),
    ] = None,
) -> None:
    """Benchmark ingestion, queries, the API, scale and start-up beside the LangChain recipe."""
    from rich.console import Console
    from rich.table import Table

    from assistant.config import Settings
    from eval.bench.gates import gates_pass
    from eval.bench.report import TABLE_HEADER, table, write_reports
    from eval.bench.run import config_for, run_bench

    err = Console(stderr=True)
    settings = Settings()
    _logging(settings.log_level)
    config = config_for(
        quick, out=out, data_dir=data_dir, corpus=corpus, dataset=dataset, work_dir=work_dir
    )
    report = run_bench(settings, config, say=lambda m: err.print(f"[bold]bench:[/bold] {m}"))
    paths = write_reports(report, out)
    grid = Table(*TABLE_HEADER, title=f"Benchmark ({report['mode']})")
    for row in table(report):
        grid.add_row(*row)
    out_console = Console()
    if not out_console.is_terminal:
        out_console = Console(width=TABLE_WIDTH)
    out_console.print(grid)
    for check in report["gates"]:
        if not check["ok"]:
            err.print(f"[red]gate failed:[/red] {check['name']}: {check['value']} {check['rule']}")
    err.print(f"reports: {', '.join(str(p) for p in paths)} ({report['seconds']:.0f} s)")
    if config.quick and not gates_pass(report["gates"]):
        raise typer.Exit(1)


def _logging(level: str) -> None:
    """Progress on stderr; the libraries' chatter only when it matters."""
    logging.basicConfig(
        level=getattr(logging, level.upper(), logging.INFO), format=LOG_FORMAT, stream=sys.stderr
    )
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


bench_app = typer.Typer(pretty_exceptions_enable=False)
bench_app.command()(bench)

if __name__ == "__main__":
    bench_app()
