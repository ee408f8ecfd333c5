"""The API over real HTTP: uvicorn on loopback in a background thread, clients over sockets.

Services come from ``fake_settings`` (hashing embedder, Chroma on disk) with a small corpus
ingested, exactly as ``nhs-assistant serve`` builds them from real settings.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import uvicorn
from pydantic import SecretStr

from assistant.api import create_app
from assistant.config import Settings
from assistant.services import Services, build_services
from assistant.store.base import VectorStore
from tests.conftest import fake_settings, free_port
from tests.ingest.test_pipeline import write_corpus

ASK_KEY = "ask-key-for-the-tests-0123456789"
ADMIN_KEY = "admin-key-for-the-tests-0123456789"
GENEROUS_RATE = 100_000  # per minute: only the rate-limit test meets the limit
SERVER_START_TIMEOUT_S = 20.0


def api_settings(data_dir: Path, **overrides: object) -> Settings:
    """Fake-embedder settings with one ask key and one admin key."""
    settings = fake_settings(data_dir, **{"api__rate_limit_per_minute": GENEROUS_RATE, **overrides})
    if "api__keys" not in overrides:
        settings.api.keys = SecretStr(f"ask:{ASK_KEY},admin:{ADMIN_KEY}")
    return settings


def services_with_store(settings: Settings, store: VectorStore) -> Services:
    """Services from the composition root around a given store (a fake that fails)."""
    return build_services(settings, store=store)


@dataclass
class RunningApi:
    """A served app: its base URL and the services behind it."""

    base_url: str
    services: Services

    def client(self, key: str | None = ASK_KEY, **headers: str) -> httpx.Client:
        if key is not None:
            headers["Authorization"] = f"Bearer {key}"
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=60)


@contextmanager
def serve(services: Services) -> Iterator[RunningApi]:
    """Run create_app(services) under uvicorn on a free loopback port until the block ends."""
    port = free_port()
    config = uvicorn.Config(
        create_app(services),
        host="127.0.0.1",
        port=port,
        log_config=None,
        access_log=False,
        lifespan="off",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"uvicorn-{port}", daemon=True)
    thread.start()
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield RunningApi(f"http://127.0.0.1:{port}", services)
    finally:
        server.should_exit = True
        thread.join(10)


def ingested_services(data_dir: Path, corpus: Path, **overrides: object) -> Services:
    services = build_services(api_settings(data_dir, **overrides))
    report = services.ingest([write_corpus(corpus)])
    assert not report.failed, report.failed
    return services


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningApi]:
    """One server for the read-only tests of a module (documents are not changed)."""
    root = tmp_path_factory.mktemp("api")
    with serve(ingested_services(root / "data", root / "corpus")) as running:
        yield running


@pytest.fixture
def fresh_api(tmp_path: Path) -> Iterator[RunningApi]:
    """A server of its own, for tests that add or remove documents."""
    with serve(ingested_services(tmp_path / "data", tmp_path / "corpus")) as running:
        yield running
