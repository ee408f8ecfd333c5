"""The API's own docs (/docs, /redoc) render in Chromium with every request beyond the
machine blocked: their scripts and styles come from the package, not a CDN."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.api.conftest import api_settings, serve

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.integration]


@pytest.fixture(scope="module")
def running_api(tmp_path_factory: pytest.TempPathFactory):
    from assistant.services import build_services

    services = build_services(api_settings(tmp_path_factory.mktemp("docs") / "data"))
    with serve(services) as running:
        yield running


def _offline_page(browser, base_url: str):
    context = browser.new_context()
    page = context.new_page()
    outside: list[str] = []

    def gate(route):
        host = urlparse(route.request.url).hostname
        if host in ("127.0.0.1", "localhost"):
            return route.continue_()
        outside.append(route.request.url)
        return route.abort()

    page.route("**/*", gate)
    return context, page, outside


def test_swagger_ui_renders_every_operation_offline(browser, running_api, artifacts: Path):
    context, page, outside = _offline_page(browser, running_api.base_url)
    page.goto(f"{running_api.base_url}/docs")
    page.wait_for_selector(".opblock", timeout=20_000)
    paths = running_api.client().get("/openapi.json").json()["paths"]
    operations = sum(len(methods) for methods in paths.values())
    assert page.locator(".opblock").count() == operations
    assert "/v1/ask" in page.locator("#swagger-ui").inner_text()
    page.screenshot(path=str(artifacts / "api-docs.png"), full_page=False)
    assert outside == [], outside
    context.close()


def test_redoc_renders_offline(browser, running_api):
    context, page, outside = _offline_page(browser, running_api.base_url)
    page.goto(f"{running_api.base_url}/redoc")
    page.wait_for_function(
        "() => document.body.innerText.includes('Answer a question from the indexed documents')",
        timeout=20_000,
    )
    assert outside == [], outside
    context.close()
