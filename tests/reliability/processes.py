"""The assistant's own commands as real processes, configured from the environment only (as an
operator would), for tests that kill them."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.api.conftest import ADMIN_KEY, ASK_KEY

BIN = Path(sys.executable).parent
SERVE_START_TIMEOUT_S = 120.0


def cli_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """Hashing embedder, embedded Chroma under ``data_dir``, one ask and one admin key."""
    return {
        **os.environ,
        "NHS_ASSISTANT_EMBEDDING_BACKEND": "fake",
        "NHS_ASSISTANT_DATA_DIR": str(data_dir),
        "NHS_ASSISTANT_API_KEYS": f"ask:{ASK_KEY},admin:{ADMIN_KEY}",
        "NHS_ASSISTANT_API_RATE_LIMIT_PER_MINUTE": "100000",
        **extra,
    }


@contextmanager
def serve_process(
    data_dir: Path, port: int, log: Path, **extra_env: str
) -> Iterator[subprocess.Popen]:
    """``nhs-assistant serve`` on loopback until the block ends (or the test kills it)."""
    cmd = [str(BIN / "nhs-assistant"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    with open(log, "a") as out:
        proc = subprocess.Popen(
            cmd, env=cli_env(data_dir, **extra_env), stdout=out, stderr=subprocess.STDOUT
        )
    try:
        deadline = time.monotonic() + SERVE_START_TIMEOUT_S
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
                break
            except httpx.TransportError:
                assert proc.poll() is None, log.read_text()[-2000:]
                assert time.monotonic() < deadline, "serve did not start"
                time.sleep(0.1)
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(30)
