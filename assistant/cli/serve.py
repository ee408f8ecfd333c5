"""`serve` (the HTTP API) and `feedback export`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from assistant.cli.common import (
    DataDir,
    Host,
    Port,
    console,
    err_console,
    fail,
    services_for,
    settings_for,
)
from assistant.cli.plugins import web_mounts
from assistant.errors import AssistantError, ConfigurationError

feedback_app = typer.Typer(help="Ratings given to answers through the API.", no_args_is_help=True)


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

    settings = settings_for(data_dir)
    install_request_id_logging(json_lines=settings.log_format == "json")
    try:
        ApiKeyring.from_settings(settings.api)  # refuse before loading the model, not after
    except ConfigurationError as exc:
        raise fail(exc, 2) from exc
    services = services_for(settings)
    try:
        api = create_app(services)
    except ConfigurationError as exc:
        raise fail(exc, 2) from exc
    if with_ui:
        mount = web_mounts().get("ui")
        if mount is None:
            err_console.print("[red]error:[/red] the web page (package `ui`) is not installed")
            raise typer.Exit(2)
        path = mount(api, services)
        console.print(f"web page on http://{host}:{port}{path}")
    # log_config=None keeps the logging set up above (request ids on every line); the API
    # writes its own access log, without query strings or headers.
    uvicorn.run(api, host=host, port=port, log_config=None, access_log=False)


@feedback_app.command("export")
def feedback_export(
    out: Annotated[
        Path | None, typer.Option("--out", help="JSONL file to write (default: standard output).")
    ] = None,
    data_dir: DataDir = None,
) -> None:
    """Write every rating with its (redacted) question and answer as JSON lines."""
    from assistant.feedback import FeedbackStore, feedback_db_path
    from assistant.records.database import open_database

    settings = settings_for(data_dir)
    path = feedback_db_path(settings)
    if settings.database.url is None and not path.exists():
        err_console.print(f"[red]error:[/red] no feedback database at {path}")
        raise typer.Exit(1)
    try:
        store = FeedbackStore(open_database(settings.database_url(), path))
    except AssistantError as exc:
        raise fail(exc) from exc
    if out is None:
        store.export_jsonl(sys.stdout)
        return
    with out.open("w", encoding="utf-8") as f:
        count = store.export_jsonl(f)
    err_console.print(f"wrote {count} ratings to {out}")
