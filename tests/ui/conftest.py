"""Browser fixtures: the UI mounted in the API on loopback, and Debian's Chromium under Playwright.

Chromium comes from Debian (``make install-browser``), axe-core from npm (``npm ci``); without
them the browser tests skip with the reason, except where ``NHS_ASSISTANT_REQUIRE_BROWSER=1``
(CI), where they fail instead. Screenshots go to ``artifacts/ui/`` (or
``$NHS_ASSISTANT_ARTIFACTS/ui``).
"""

from __future__ import annotations

import dataclasses
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from pydantic import SecretStr

from assistant.api import create_app
from assistant.feedback import FeedbackStore
from assistant.services import Services
from tests.conftest import PROJECT_ROOT, free_port

CHROMIUM = Path(os.environ.get("NHS_ASSISTANT_CHROMIUM", "/usr/bin/chromium"))
AXE_JS = PROJECT_ROOT / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = Path(os.environ.get("NHS_ASSISTANT_ARTIFACTS", PROJECT_ROOT / "artifacts")) / "ui"
# The flags this machine needs: no sandbox as root, and no background calls to Google.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
START_TIMEOUT_S = 60
ASK_KEY = "ui-test-ask-key-0123456789"


def _require(present: bool, what: str, how: str) -> None:
    if present:
        return
    message = f"{what} is not installed ({how})"
    if os.environ.get("NHS_ASSISTANT_REQUIRE_BROWSER") == "1":
        pytest.fail(f"CI requires it: {message}")
    pytest.skip(message)


@pytest.fixture(scope="session")
def chromium_path() -> Path:
    _require(CHROMIUM.exists(), f"Chromium at {CHROMIUM}", "run `make install-browser`")
    try:
        import playwright  # noqa: F401
    except ImportError:
        _require(False, "Playwright for Python", "run `make install`")
    return CHROMIUM


@pytest.fixture(scope="session")
def axe_source() -> str:
    _require(AXE_JS.exists(), f"axe-core at {AXE_JS}", "run `npm ci` in the project folder")
    return AXE_JS.read_text(encoding="utf-8")


@pytest.fixture(scope="session")
def artifacts() -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@dataclass
class RunningUi:
    """The API with the UI at /ui, served on loopback."""

    base_url: str
    services: Services
    feedback: FeedbackStore

    @property
    def ui_url(self) -> str:
        return f"{self.base_url}/ui/"


@contextmanager
def serve_ui(services: Services, feedback_path: Path) -> Iterator[RunningUi]:
    """create_app(services) with the UI mounted, under uvicorn on a free port."""
    from ui import build_ui, mount_ui

    settings = services.settings.model_copy(deep=True)
    settings.api.keys = SecretStr(f"ask:{ASK_KEY}")
    feedback = FeedbackStore(feedback_path)
    services = dataclasses.replace(services, settings=settings, feedback_store=feedback)
    app = create_app(services)
    mount_ui(app, build_ui(services))
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"ui-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start the UI")
        time.sleep(0.05)
    try:
        yield RunningUi(f"http://127.0.0.1:{port}", services, feedback)
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture(scope="module")
def browser(chromium_path: Path) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
