"""Shared fixtures: the real corpus at ../shared/corpus, and a guard against network calls."""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.records.postgres_process import PostgresProcess

# Every test's markers are checked against what it does (servers, subprocesses, the real model);
# under pytest-xdist, tests that share a costly fixture run on one worker.
pytest_plugins = ("tests.marker_guard", "tests.xdist_groups", "pytester")

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED_CORPUS = Path(
    os.environ.get("NHS_ASSISTANT_SHARED_CORPUS", PROJECT_ROOT.parent / "shared" / "corpus")
)


@pytest.fixture(scope="session")
def shared_corpus() -> Path:
    """The 14 real NHS documents; tests that need them skip on a clone without ../shared."""
    if not SHARED_CORPUS.is_dir():
        if os.environ.get("NHS_ASSISTANT_REQUIRE_SHARED_CORPUS") == "1":
            pytest.fail(f"CI requires the real corpus at {SHARED_CORPUS}")
        pytest.skip(
            f"real corpus not found at {SHARED_CORPUS} (only CI and developers have ../shared)"
        )
    return SHARED_CORPUS


_LOOPBACK = ("127.", "::1", "localhost", "0.0.0.0")


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any connection outside loopback: the product must work offline."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else str(address)
        if (
            isinstance(host, str)
            and not host.startswith(_LOOPBACK)
            and self.family != socket.AF_UNIX
        ):
            raise RuntimeError(f"test tried to reach the network: {address!r}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)


@pytest.fixture(autouse=True)
def _restore_logger_levels():
    """Put every logger's level back after a test: CLIs run in process (bench, soak, ingest)
    quieten loggers for their console, which would hide later tests' log records."""
    manager = logging.Logger.manager
    levels = {
        name: logger.level
        for name, logger in manager.loggerDict.items()
        if isinstance(logger, logging.Logger)
    }
    root_level = logging.getLogger().level
    yield
    for name, logger in list(manager.loggerDict.items()):
        if isinstance(logger, logging.Logger):
            logger.setLevel(levels.get(name, logging.NOTSET))
    logging.getLogger().setLevel(root_level)


def wait_until_serving(
    proc: subprocess.Popen, url: str, timeout_s: float, log: Path, what: str
) -> None:
    """Poll ``url`` until it answers; kill ``proc`` and raise with its log tail if it dies or
    takes longer than ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except OSError as exc:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"{what} did not start: {log.read_text()[-2000:]}") from exc
            time.sleep(0.2)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory: pytest.TempPathFactory):
    """A real `chroma run` server on loopback, started for the test session."""
    from tests.reliability.chroma_process import ChromaProcess

    chroma = ChromaProcess(tmp_path_factory.mktemp("chroma-server"))
    chroma.start()
    yield {"host": chroma.host, "port": chroma.port, "process": chroma.proc}
    chroma.stop()


def fake_settings(data_dir: Path, **overrides: object):
    """Settings for fast tests: hashing embedder, in-memory or on-disk store under data_dir."""
    from assistant.config import Settings

    settings = Settings(data_dir=data_dir)
    settings.embedding.backend = "fake"
    for key, value in overrides.items():
        group, _, field = key.partition("__")
        setattr(getattr(settings, group), field, value)
    return settings


@pytest.fixture(scope="session")
def corpus_services(shared_corpus: Path, tmp_path_factory: pytest.TempPathFactory):
    """The real pipeline (MiniLM, Chroma on disk) with ../shared/corpus ingested once per session.

    Yields (services, first_report, second_report): the second is the re-ingest of the unchanged
    corpus.
    """
    from assistant.config import Settings
    from assistant.services import build_services

    settings = Settings(data_dir=tmp_path_factory.mktemp("corpus-index"))
    services = build_services(settings)
    first = services.ingest([shared_corpus])
    second = services.ingest([shared_corpus])
    return services, first, second


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresProcess]:
    """A real PostgreSQL server for the session; skips where PostgreSQL is not installed
    (CI sets NHS_ASSISTANT_REQUIRE_SERVICES=1: it fails instead)."""
    from tests.records.postgres_process import postgres_bin

    if postgres_bin() is None:
        if os.environ.get("NHS_ASSISTANT_REQUIRE_SERVICES") == "1":
            pytest.fail("CI requires PostgreSQL (make test installs Debian's postgresql)")
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql)")
    from tests.records.postgres_process import PostgresProcess

    server = PostgresProcess()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def redis_server() -> Iterator[str]:
    """A real Redis server (Debian's redis-server) on a free loopback port: its URL. Skips where
    Redis is not installed (CI sets NHS_ASSISTANT_REQUIRE_SERVICES=1: it fails instead)."""
    import shutil
    import subprocess
    import time

    binary = shutil.which("redis-server")
    if binary is None:
        if os.environ.get("NHS_ASSISTANT_REQUIRE_SERVICES") == "1":
            pytest.fail("CI requires redis-server (make test installs Debian's redis-server)")
        pytest.skip("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while True:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                break
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise
            time.sleep(0.1)
    yield f"redis://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(10)
