"""Commands and web pages from other packages, found through entry points.

The core never imports the evaluation harness or the web page; they register themselves in
``pyproject.toml``, and the one ``nhs-assistant`` command picks them up here:

* group ``nhs_assistant.cli``: ``register(app: typer.Typer) -> None`` adds commands
  (``eval run``, ``bench``, ``soak``, ``ui``);
* group ``nhs_assistant.web``: ``mount(api: FastAPI, services: Services) -> str`` serves a page
  inside the HTTP API (``serve --ui``) and returns its path.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any

import typer

if TYPE_CHECKING:
    from fastapi import FastAPI

    from assistant.services import Services

logger = logging.getLogger(__name__)

COMMANDS_GROUP = "nhs_assistant.cli"
WEB_GROUP = "nhs_assistant.web"

WebMount = Callable[["FastAPI", "Services"], str]


def _load(group: str) -> dict[str, Any]:
    loaded: dict[str, Any] = {}
    for ep in entry_points(group=group):
        try:
            loaded[ep.name] = ep.load()
        except ImportError as exc:  # a plugin whose extra is not installed
            logger.debug("plugin %s (%s) not loaded: %s", ep.name, ep.value, exc)
    return loaded


def register_plugins(app: typer.Typer) -> None:
    """Let every installed plugin add its commands."""
    for register in _load(COMMANDS_GROUP).values():
        register(app)


def web_mounts() -> dict[str, WebMount]:
    return _load(WEB_GROUP)
