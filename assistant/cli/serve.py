"""`serve` (the HTTP API) and `feedback export`."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

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
from assistant.config import Settings
from assistant.errors import AssistantError, ConfigurationError

if TYPE_CHECKING:
    from assistant.services import Services

SERVE_UI_ENV = "NHS_ASSISTANT_SERVE_UI"  # tells each worker to mount the web page

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
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="Worker processes. More than 1 needs shared engines: a `chroma run` server "
            "(NHS_ASSISTANT_CHROMA_HOST), and for feedback, the audit log and rate limits "
            "NHS_ASSISTANT_DATABASE_URL (PostgreSQL) and NHS_ASSISTANT_API_RATE_LIMIT_STORAGE "
            "(Redis).",
        ),
    ] = 1,
) -> None:
    """Serve the HTTP API (FastAPI on uvicorn); API keys from NHS_ASSISTANT_API_KEYS."""
    import uvicorn

    from assistant.api.auth import ApiKeyring
    from assistant.api.request_context import install_request_id_logging

    settings = settings_for(data_dir)
    install_request_id_logging(json_lines=settings.log_format == "json")
    try:
        ApiKeyring.from_settings(settings.api)  # refuse before loading the model, not after
        if workers > 1:
            check_shared_engines(settings)
    except ConfigurationError as exc:
        raise fail(exc, 2) from exc
    if workers > 1:
        # Each worker builds its own services from the environment (assistant/cli/worker.py).
        os.environ["NHS_ASSISTANT_DATA_DIR"] = str(settings.data_dir)
        os.environ[SERVE_UI_ENV] = "1" if with_ui else ""
        console.print(f"{workers} workers on http://{host}:{port}")
        uvicorn.run(
            "assistant.cli.worker:app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_config=None,
            access_log=False,
        )
        return
    services = services_for(settings)
    try:
        api = build_api(services, with_ui)
    except ConfigurationError as exc:
        raise fail(exc, 2) from exc
    # log_config=None keeps the logging set up above (request ids on every line); the API
    # writes its own access log, without query strings or headers.
    uvicorn.run(api, host=host, port=port, log_config=None, access_log=False)


def check_shared_engines(settings: Settings) -> None:
    """Several workers must share the index, not each open the files under DATA_DIR."""
    if settings.chroma.backend != "chroma" or not settings.chroma.host:
        raise ConfigurationError(
            "--workers above 1 needs a Chroma server: set NHS_ASSISTANT_CHROMA_HOST (and _PORT) "
            "to a `chroma run` server every worker shares"
        )


def build_api(services: Services, with_ui: bool) -> Any:
    """The API over ``services``, with the web page mounted at /ui when asked."""
    from assistant.api import create_app

    api = create_app(services)
    if with_ui:
        mount = web_mounts().get("ui")
        if mount is None:
            raise ConfigurationError("the web page (package `ui`) is not installed")
        path = mount(api, services)
        console.print(f"web page at {path}")
    return api


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
