"""`nhs-assistant ui` as a user starts it: a real process, a real browser, an empty index."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.conftest import free_port, wait_until_serving
from tests.ui.conftest import CHROMIUM_ARGS

pytestmark = [pytest.mark.browser, pytest.mark.integration, pytest.mark.slow]

START_TIMEOUT_S = 90


@pytest.fixture(scope="module")
def ui_process(tmp_path_factory) -> Iterator[str]:
    """The command on a free port over an empty data folder (fake embedder: no model to load)."""
    data = tmp_path_factory.mktemp("ui-cmd")
    port = free_port()
    env = {**os.environ, "NHS_ASSISTANT_EMBEDDING_BACKEND": "fake"}
    env.pop("GRADIO_ANALYTICS_ENABLED", None)  # the command must switch analytics off itself
    log = (data / "ui.log").open("w")
    cmd = [
        sys.executable,
        "-m",
        "assistant.cli",
        "ui",
        "--port",
        str(port),
        "--data-dir",
        str(data),
    ]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    url = f"http://127.0.0.1:{port}/"
    wait_until_serving(proc, url, START_TIMEOUT_S, data / "ui.log", "`nhs-assistant ui`")
    yield url
    proc.terminate()
    proc.wait(15)
    log.close()
    assert "Traceback" not in Path(data / "ui.log").read_text()


def test_asking_with_an_empty_index_shows_a_readable_message_and_no_traceback(
    ui_process, chromium_path
):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(chromium_path), args=CHROMIUM_ARGS)
        page = browser.new_page()
        requests: list[str] = []
        page.on("request", lambda r: requests.append(r.url))
        page.goto(ui_process)
        page.fill("#question textarea", "How do I set up a neighbourhood health team?")
        page.click("#ask")
        page.wait_for_selector("#chat [data-testid='bot']:has-text('the index is empty')")
        text = page.locator("#chat [data-testid='bot']").inner_text()
        browser.close()
    assert "Sorry, no answer this time" in text and "Traceback" not in text
    hosts = {urlparse(u).netloc for u in requests if urlparse(u).scheme in ("http", "https")}
    assert hosts == {urlparse(ui_process).netloc}, "the page reached beyond the machine"
