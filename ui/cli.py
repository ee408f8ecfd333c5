"""The web page's command (``nhs-assistant ui``) and its mount inside the HTTP API
(``nhs-assistant serve --ui``), registered by entry points (see ``pyproject.toml``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from assistant.cli.common import DataDir, Host, Port, console, services_for, settings_for

if TYPE_CHECKING:
    from fastapi import FastAPI

    from assistant.services import Services


def register(app: typer.Typer) -> None:
    """Add ``ui`` to the ``nhs-assistant`` app."""
    app.command("ui")(ui)


def ui(
    host: Host = "127.0.0.1",
    port: Port = 7860,
    data_dir: DataDir = None,
) -> None:
    """Serve the managers' web page (Gradio): chat with cited answers and their sources."""
    from ui.app import build_ui, launch_ui
    from ui.render import index_summary

    services = services_for(settings_for(data_dir))
    docs = [d.meta for d in services.store.list_documents()]
    demo = build_ui(services)
    console.print(
        f"{index_summary(docs)} ({len(docs)} files, {services.store.count()} passages indexed)",
        markup=False,
    )
    console.print(f"NHS leaders' assistant on http://{host}:{port}/ (Ctrl+C to stop)")
    launch_ui(demo, host, port)


def mount(api: FastAPI, services: Services) -> str:
    """Serve the page inside the API app; returns its path."""
    from ui.app import UI_PATH, build_ui, mount_ui

    mount_ui(api, build_ui(services), UI_PATH)
    return UI_PATH
