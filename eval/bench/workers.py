"""Several API workers on a Chroma server, measured beside one in the same run.

``nhs-assistant bench-workers`` indexes a corpus into a `chroma run` server it starts, then
serves it with 1 and with 2 workers (``serve --workers N``) and drives /v1/ask with the
benchmark's load generator (a separate process, first-time questions only): throughput, median
and p95 latency, CPU seconds per request (every process of the server, user and system, over the
load), and resident memory per worker. The projection in the README is worked from these.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path
from typing import Any

from eval.bench.server import (
    IDLE_SETTLE_S,
    KEY_HEX_BYTES,
    UNTHROTTLED_PER_MINUTE,
    free_port,
    run_load_process,
    serve_command,
    start_server,
    tree_rss_mb,
)
from eval.dataset import load_dataset

CHROMA_READY_S = 60.0
WARM_REQUESTS = 20  # over new connections, so every worker has loaded before the load starts


def tree_cpu_s(pid: int) -> float:
    """User plus system CPU seconds of a process and its children."""
    import psutil

    procs = [psutil.Process(pid), *psutil.Process(pid).children(recursive=True)]
    total = 0.0
    for p in procs:
        try:
            t = p.cpu_times()
            total += t.user + t.system
        except psutil.NoSuchProcess:
            continue
    return total


def _start_chroma(path: Path) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    chroma = Path(sys.executable).parent / "chroma"
    proc = subprocess.Popen(
        [str(chroma), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + CHROMA_READY_S
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1)
            return proc, port
        except OSError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError("the Chroma server did not start") from None
            time.sleep(0.2)


def _warm(url: str, key: str) -> None:
    import httpx

    with httpx.Client(
        base_url=url,
        headers={"Authorization": f"Bearer {key}"},
        limits=httpx.Limits(max_keepalive_connections=0),
        timeout=60,
    ) as client:
        for i in range(WARM_REQUESTS):
            client.post("/v1/ask", json={"question": f"Warm-up question {i} about planning"})


def bench_workers(
    corpus: Path,
    dataset: Path,
    work: Path,
    levels: tuple[int, ...] = (1, 2),
    clients: int = 10,
    duration: float = 20.0,
    warmup: float = 3.0,
) -> dict[str, Any]:
    work.mkdir(parents=True, exist_ok=True)
    chroma, port = _start_chroma(work / f"chroma-{uuid.uuid4().hex[:6]}")
    env = {
        "NHS_ASSISTANT_CHROMA_HOST": "127.0.0.1",
        "NHS_ASSISTANT_CHROMA_PORT": str(port),
    }
    try:
        data = work / "data"
        t0 = time.perf_counter()
        done = subprocess.run(
            [*serve_command(), "ingest", str(corpus), "--data-dir", str(data)],
            env={**os.environ, **env},
            capture_output=True,
            text=True,
        )
        if done.returncode != 0:
            raise RuntimeError(f"ingest failed:\n{done.stderr[-3000:]}")
        ingest_s = time.perf_counter() - t0
        questions = [i.question for i in load_dataset(dataset) if i.answerable]
        questions_file = work / "questions.json"
        questions_file.write_text(json.dumps(questions))
        results: dict[str, Any] = {}
        start = 0
        for n in levels:
            key = secrets.token_hex(KEY_HEX_BYTES)
            with start_server(
                data,
                work / f"server-{n}.log",
                [key],
                UNTHROTTLED_PER_MINUTE,
                work / f"feedback-{n}.sqlite",
                extra_env=env,
                workers=n,
            ) as server:
                _warm(server.url, key)
                time.sleep(IDLE_SETTLE_S)
                idle_rss = tree_rss_mb(server.process.pid)
                cpu0 = tree_cpu_s(server.process.pid)
                load = run_load_process(server, questions_file, clients, duration, warmup, start)
                cpu = tree_cpu_s(server.process.pid) - cpu0
                start = int(load["next_start"])
                busy_rss = tree_rss_mb(server.process.pid)
            sent = max(1, int(load["sent"]))
            results[str(n)] = {
                "workers": n,
                "rps": load["rps"],
                "median_ms": load["median_ms"],
                "p95_ms": load["p95_ms"],
                "errors": load["errors"],
                "cpu_s_per_request": cpu / sent,
                "server_rss_mb": busy_rss,
                "rss_per_worker_mb": busy_rss / n,
                "idle_rss_mb": idle_rss,
            }
    finally:
        chroma.terminate()
        chroma.wait(30)
    return {
        "corpus": str(corpus),
        "ingest_s": ingest_s,
        "clients": clients,
        "duration_s": duration,
        "cores": os.cpu_count(),
        "levels": results,
    }
