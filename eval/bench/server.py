"""The API under load: `nhs-assistant serve` as a subprocess, driven by ``load.py`` processes.

The server gets a fresh 32-character ``ask`` key, a rate limit high enough not to throttle the
benchmark, and its own feedback database (so a benchmark over a real index never writes
benchmark questions into that index's feedback store).
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eval.bench.load import KEY_ENV
from eval.bench.measure import PROJECT_ROOT, rss_mb

logger = logging.getLogger(__name__)

KEY_HEX_BYTES = 16  # 32 hexadecimal characters
UNTHROTTLED_PER_MINUTE = 10_000_000
READY_TIMEOUT_S = 120.0
READY_POLL_S = 0.05
IDLE_SETTLE_S = 1.0  # let start-up work finish before reading the idle RSS
STOP_TIMEOUT_S = 10.0
LOG_TAIL_CHARS = 3000  # of the server's log, in the error when it does not start
LOAD_TIMEOUT_MARGIN_S = 60.0
HTTP_OK = 200


@dataclass
class RunningServer:
    """A started API: where it listens, its key, its process and how long it took to be ready."""

    url: str
    key: str
    process: subprocess.Popen[bytes]
    ready_s: float


def free_port() -> int:
    """A TCP port on loopback that nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve_command() -> list[str]:
    """``nhs-assistant serve`` from this interpreter's environment."""
    script = Path(sys.executable).parent / "nhs-assistant"
    return [str(script)] if script.exists() else [sys.executable, "-m", "assistant.cli"]


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and its children, in MiB."""
    import psutil

    proc = psutil.Process(pid)
    return rss_mb(pid) + sum(rss_mb(c.pid) for c in proc.children(recursive=True))


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=1) as response:
            return int(response.status) == HTTP_OK
    except (urllib.error.URLError, OSError):
        return False


@contextmanager
def start_server(
    data_dir: Path,
    log_path: Path,
    keys: Sequence[str],
    per_minute: int,
    feedback_db: Path,
    extra_env: Mapping[str, str] | None = None,
    workers: int = 1,
) -> Iterator[RunningServer]:
    """``nhs-assistant serve`` on a free loopback port with these ``ask`` keys, rate limit and
    feedback database (and ``workers`` processes); waits until /readyz says 200 and stops the
    server after the block."""
    port = free_port()
    env = {
        **os.environ,
        **(extra_env or {}),
        "NHS_ASSISTANT_API_KEYS": ",".join(f"ask:{k}" for k in keys),
        "NHS_ASSISTANT_API_RATE_LIMIT_PER_MINUTE": str(per_minute),
        "NHS_ASSISTANT_API_FEEDBACK_DB": str(feedback_db),
    }
    cmd = [*serve_command(), "serve", "--host", "127.0.0.1", "--port", str(port)]
    cmd += ["--data-dir", str(data_dir)]
    if workers > 1:
        cmd += ["--workers", str(workers)]
    url = f"http://127.0.0.1:{port}"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log:
        t0 = time.perf_counter()
        process = subprocess.Popen(cmd, cwd=PROJECT_ROOT, env=env, stdout=log, stderr=log)
        try:
            while not _ready(url):
                if process.poll() is not None or time.perf_counter() - t0 > READY_TIMEOUT_S:
                    tail = log_path.read_text(errors="replace")[-LOG_TAIL_CHARS:]
                    raise RuntimeError(f"the API did not become ready:\n{tail}")
                time.sleep(READY_POLL_S)
            yield RunningServer(url, keys[0], process, time.perf_counter() - t0)
        finally:
            process.terminate()
            try:
                process.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def running_server(data_dir: Path, workdir: Path) -> AbstractContextManager[RunningServer]:
    """The benchmark's server: one fresh key, no throttling, its own feedback database."""
    return start_server(
        data_dir,
        workdir / "server.log",
        [secrets.token_hex(KEY_HEX_BYTES)],
        UNTHROTTLED_PER_MINUTE,
        workdir / "bench-feedback.sqlite",
    )


def run_load_process(
    server: RunningServer,
    questions_file: Path,
    concurrency: int,
    duration: float,
    warmup: float,
    start: int = 0,
) -> dict[str, Any]:
    """One load generator process at ``concurrency`` clients, sending phrasings from ``start``
    on; its JSON summary."""
    cmd = [sys.executable, "-m", "eval.bench.load", "--url", server.url]
    cmd += ["--questions", str(questions_file), "--concurrency", str(concurrency)]
    cmd += ["--duration", str(duration), "--warmup", str(warmup), "--start", str(start)]
    done = subprocess.run(
        cmd,
        cwd=PROJECT_ROOT,
        env={**os.environ, KEY_ENV: server.key},
        capture_output=True,
        text=True,
        timeout=warmup + duration + LOAD_TIMEOUT_MARGIN_S,
    )
    if done.returncode != 0:
        raise RuntimeError(f"the load generator failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(done.stdout))


def bench_api(
    data_dir: Path,
    workdir: Path,
    questions_file: Path,
    levels: tuple[int, ...],
    duration: float,
    warmup: float,
) -> dict[str, Any]:
    """Start-up time, idle RSS, and /v1/ask under each concurrency level."""
    with running_server(data_dir, workdir) as server:
        time.sleep(IDLE_SETTLE_S)
        idle = tree_rss_mb(server.process.pid)
        results: dict[str, dict[str, Any]] = {}
        start = 0  # each level sends phrasings the server has not seen in an earlier level
        for c in levels:
            results[str(c)] = run_load_process(server, questions_file, c, duration, warmup, start)
            start = int(results[str(c)]["next_start"])
        after = tree_rss_mb(server.process.pid)
    return {
        "startup": {"ready_s": server.ready_s, "idle_rss_mb": idle, "rss_after_load_mb": after},
        "levels": results,
        "duration_s": duration,
        "warmup_s": warmup,
    }
