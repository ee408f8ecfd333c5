"""Shared fixtures: the real corpus at ../shared/corpus, and a guard against network calls."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parent.parent
SHARED_CORPUS = Path(os.environ.get("NHS_ASSISTANT_SHARED_CORPUS", PROJECT_ROOT.parent / "shared" / "corpus"))


@pytest.fixture(scope="session")
def shared_corpus() -> Path:
    """The 14 real NHS documents; tests that need them skip on a clone without ../shared."""
    if not SHARED_CORPUS.is_dir():
        if os.environ.get("NHS_ASSISTANT_REQUIRE_SHARED_CORPUS") == "1":
            pytest.fail(f"CI requires the real corpus at {SHARED_CORPUS}")
        pytest.skip(f"real corpus not found at {SHARED_CORPUS} (only CI and developers have ../shared)")
    return SHARED_CORPUS


_LOOPBACK = ("127.", "::1", "localhost", "0.0.0.0")


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail any connection outside loopback: the product must work offline."""
    real_connect = socket.socket.connect

    def guarded(self: socket.socket, address: object) -> object:
        host = address[0] if isinstance(address, tuple) else str(address)
        if isinstance(host, str) and not host.startswith(_LOOPBACK) and self.family != socket.AF_UNIX:
            raise RuntimeError(f"test tried to reach the network: {address!r}")
        return real_connect(self, address)

    monkeypatch.setattr(socket.socket, "connect", guarded)
