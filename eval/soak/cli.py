"""The `soak` command: a Typer function for `nhs-assistant soak`, and a standalone app
(``python -m eval.soak``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from eval.bench.cli import TABLE_WIDTH, _logging

soak_app = typer.Typer(pretty_exceptions_enable=False)


@soak_app.command()
def soak(
    data_dir: Annotated[
        Path,
        typer.Option(
            "--data-dir",
            help="The index to serve (built or updated from --corpus first when given).",
        ),
    ] = Path("data"),
    corpus: Annotated[
        list[Path] | None,
        typer.Option(
            metavar="PATH", help="Files or folders to ingest into --data-dir first (incremental)."
        ),
    ] = None,
    out: Annotated[Path, typer.Option(help="Folder for soak.json and the logs.")] = Path(
        "artifacts/soak"
    ),
    clients: Annotated[int, typer.Option(min=1, help="Concurrent clients.")] = 50,
    duration: Annotated[float, typer.Option(min=1, help="Seconds of mixed load.")] = 60.0,
    warmup_pass: Annotated[
        bool,
        typer.Option(
            "--warmup-pass/--no-warmup-pass",
            help="Ask every question once before the clock starts (fills the server's caches).",
        ),
    ] = True,
    max_rss_growth: Annotated[
        float, typer.Option(help="Largest RSS growth (%) from the first to the last window.")
    ] = 10.0,
    rss_window: Annotated[float, typer.Option(help="Seconds in each RSS window.")] = 10.0,
    limit_per_minute: Annotated[
        int, typer.Option(min=1, help="Rate limit of the rate-limit phase, per key.")
    ] = 30,
    limit_clients: Annotated[int, typer.Option(min=1, help="Clients hammering one key.")] = 20,
    limit_duration: Annotated[float, typer.Option(min=1, help="Rate-limit phase seconds.")] = 15.0,
    limit_phase: Annotated[
        bool, typer.Option("--limit-phase/--no-limit-phase", help="Run the rate-limit phase.")
    ] = True,
    url: Annotated[
        str | None,
        typer.Option(
            help="Load a server already running (keys in NHS_SOAK_API_KEYS) instead of "
            "starting one."
        ),
    ] = None,
    pid: Annotated[int | None, typer.Option(help="With --url: the server's pid, for RSS.")] = None,
    feedback_db: Annotated[
        Path | None,
        typer.Option(help="With --url: the server's feedback database, to check feedback."),
    ] = None,
) -> None:
    """Mixed load on a real API server (ask, stream, chat, feedback), then its rate limit.

    Exit 1 on any 5xx or failed request, lost feedback, RSS growth at or over the bound, or a
    rate limit that does not hold.
    """
    from rich.console import Console
    from rich.table import Table

    from assistant.config import Settings
    from eval.soak.report import KIND_HEADER, kind_rows, summary_rows, write_report
    from eval.soak.run import SoakConfig, run_soak

    _logging(Settings().log_level)
    err = Console(stderr=True)
    config = SoakConfig(
        data_dir=data_dir,
        out=out,
        clients=clients,
        duration_s=duration,
        corpus=list(corpus or []),
        warmup_pass=warmup_pass,
        rss_window_s=rss_window,
        max_rss_growth_pct=max_rss_growth,
        limit_phase=limit_phase,
        limit_per_minute=limit_per_minute,
        limit_clients=limit_clients,
        limit_duration_s=limit_duration,
        url=url,
        pid=pid,
        feedback_db=feedback_db,
    )
    report = run_soak(config, say=lambda m: err.print(f"[bold]soak:[/bold] {m}"))
    path = write_report(report, out)
    console = Console()
    if not console.is_terminal:
        console = Console(width=TABLE_WIDTH)
    kinds = Table(*KIND_HEADER, title=f"Soak: {clients} clients, {duration:g} s")
    for row in kind_rows(report):
        kinds.add_row(*row)
    console.print(kinds)
    figures = Table("figure", "value")
    for row in summary_rows(report):
        figures.add_row(*row)
    console.print(figures)
    checks = Table("check", "value", "rule", "")
    for c in report["checks"]:
        checks.add_row(c["name"], str(c["value"]), c["rule"], "ok" if c["ok"] else "FAILED")
    console.print(checks)
    err.print(f"report: {path} ({report['seconds']:.0f} s)")
    if not report["ok"]:
        raise typer.Exit(1)
