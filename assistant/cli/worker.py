"""One API worker's app, built from the environment: ``nhs-assistant serve --workers N`` runs
``uvicorn assistant.cli.worker:app --factory`` so that every worker process builds its own
services (its own embedder, BM25 copy and database pool) over the shared engines."""

from __future__ import annotations

import os

from fastapi import FastAPI


def app() -> FastAPI:
    from assistant.api.request_context import install_request_id_logging
    from assistant.cli.common import services_for, settings_for
    from assistant.cli.serve import SERVE_UI_ENV, build_api

    settings = settings_for(None)
    install_request_id_logging(json_lines=settings.log_format == "json")
    api: FastAPI = build_api(services_for(settings), with_ui=os.environ.get(SERVE_UI_ENV) == "1")
    return api
