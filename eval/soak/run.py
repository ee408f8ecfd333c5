"""The soak run: a real ``nhs-assistant serve`` on loopback, a separate client process, the
server's memory sampled every second, the feedback store read back afterwards.

Two phases, each with a server of its own over the same index (embedded Chroma is never opened
by two processes at once):

1. **Mixed load**: ``clients`` clients for ``duration_s`` seconds over ask, ask/stream, chat
   completions (plain and streamed) and feedback, with a rate limit too high to be met, so every
   request should succeed. The server's VmRSS is read every second. First, unmeasured, every
   question is asked once: the first pass over the questions fills the server's bounded caches
   (about 105 MiB over the real corpus), so the growth from the first to the last window
   measures leaks, not caches filling; the report gives the warm-up's growth too.
2. **Rate limit**: ``limit_clients`` clients hammer one key whose limit is ``limit_per_minute``
   while a bystander key asks at half its own limit.

>>> report = run_soak(SoakConfig(data_dir=Path("data"), out=Path("artifacts/soak")))  # doctest: +SKIP
>>> report["ok"]                                                                      # doctest: +SKIP
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from assistant.feedback import FeedbackStore
from eval.bench.measure import PROJECT_ROOT, rss_mb
from eval.bench.server import (
    KEY_HEX_BYTES,
    LOG_TAIL_CHARS,
    UNTHROTTLED_PER_MINUTE,
    serve_command,
    start_server,
)
from eval.dataset import load_dataset
from eval.soak import report as rpt
from eval.soak.clients import GRACE_S, KEYS_ENV

logger = logging.getLogger(__name__)

DEFAULT_DATASET = PROJECT_ROOT / "eval" / "datasets" / "dev.jsonl"
RSS_EVERY_S = 1.0
MAX_RSS_GROWTH_PCT = 10.0
RSS_WINDOW_S = 10.0
CLIENT_START_MARGIN_S = 60.0  # interpreter start-up and the warm-up, on a busy machine
INGEST_TIMEOUT_S = 1800.0
HTTP_OK = 200

Say = Callable[[str], None]


@dataclass
class SoakConfig:
    """What to run. ``url`` targets a server already running instead of starting one: then
    memory is sampled only with ``pid``, feedback checked only with ``feedback_db``, and the
    rate-limit phase (which needs a server configured for it) is skipped."""

    data_dir: Path
    out: Path
    clients: int = 50
    duration_s: float = 60.0
    keys: int = 5  # ask keys shared round-robin by the clients, as several client apps would
    corpus: list[Path] = field(default_factory=list)  # ingested into data_dir first
    dataset: Path = DEFAULT_DATASET
    warmup_pass: bool = True  # every question once before the clock starts (fills the caches)
    rss_window_s: float = RSS_WINDOW_S
    max_rss_growth_pct: float = MAX_RSS_GROWTH_PCT
    limit_phase: bool = True
    limit_per_minute: int = 30
    limit_clients: int = 20
    limit_duration_s: float = 15.0
    url: str | None = None
    pid: int | None = None
    feedback_db: Path | None = None
    extra_env: dict[str, str] = field(default_factory=dict)  # for the server and the ingest


# -- the server ------------------------------------------------------------------------------


def server_5xx(url: str) -> int | None:
    """5xx responses the server counted (its /metrics), or None when it cannot be read."""
    try:
        with urllib.request.urlopen(f"{url}/metrics", timeout=10) as response:
            text = response.read().decode("utf-8")
    except (urllib.error.URLError, OSError):
        return None
    total = 0.0
    for line in text.splitlines():
        if line.startswith("nhs_assistant_http_requests_total{") and 'status="5' in line:
            total += float(line.rsplit(" ", 1)[1])
    return int(total)


def _new_keys(n: int) -> list[str]:
    return [secrets.token_hex(KEY_HEX_BYTES) for _ in range(n)]


# -- the client process and the memory sampler ----------------------------------------------


def run_clients(
    url: str,
    keys: Sequence[str],
    questions_file: Path,
    out_file: Path,
    args: Sequence[str],
    duration: float,
    pid: int | None,
) -> tuple[dict[str, Any], list[tuple[float, float]], bool]:
    """Run the client process to its end, reading ``pid``'s RSS every second meanwhile.

    Returns the clients' JSON, the (epoch s, MiB) samples, and whether ``pid`` was still alive
    at the end. The client process stops itself; it is killed if it overruns anyway.
    """
    cmd = [sys.executable, "-m", "eval.soak.clients", "--url", url]
    cmd += ["--questions", str(questions_file), "--out", str(out_file), *args]
    deadline = time.monotonic() + duration + GRACE_S + CLIENT_START_MARGIN_S
    rss: list[tuple[float, float]] = []
    alive = True
    with open(out_file.with_suffix(".log"), "wb") as log:
        process = subprocess.Popen(
            cmd,
            cwd=PROJECT_ROOT,
            env={**os.environ, KEYS_ENV: ",".join(keys)},
            stdout=log,
            stderr=log,
        )
        tick = time.monotonic()
        while process.poll() is None:
            if time.monotonic() > deadline:
                process.kill()
                process.wait()
                raise RuntimeError(f"the client process overran its {duration:g} s run")
            if pid is not None and alive:
                try:
                    rss.append((time.time(), rss_mb(pid)))
                except Exception:  # psutil.NoSuchProcess: the server died under load
                    alive = False
            tick += RSS_EVERY_S
            time.sleep(max(0.0, tick - time.monotonic()))
    if process.returncode != 0:
        tail = out_file.with_suffix(".log").read_text(errors="replace")[-LOG_TAIL_CHARS:]
        raise RuntimeError(f"the client process failed:\n{tail}")
    if pid is not None and alive:
        alive = _alive(pid)
    return json.loads(out_file.read_text(encoding="utf-8")), rss, alive


def _alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


# -- the store -------------------------------------------------------------------------------


def stored_feedback(db: Path) -> dict[str, str]:
    """feedback_id -> answer_id for every rating in the store (read after the server stopped)."""
    return {r.feedback_id: r.answer_id for r in FeedbackStore(db).records()}


def answers_summary(db: Path, received: Sequence[dict[str, str]]) -> dict[str, Any]:
    """The answer ids the clients received that the store does not hold."""
    store = FeedbackStore(db)
    missing = [a["answer_id"] for a in received if not store.has_answer(a["answer_id"])]
    return {
        "received": len(received),
        "found": len(received) - len(missing),
        "missing": len(missing),
        "missing_examples": missing[: rpt.MAX_EXAMPLES],
    }


# -- the phases ------------------------------------------------------------------------------


def questions_file(dataset: Path, work: Path) -> Path:
    """Every question of the dataset, answerable or not, as the JSON list the clients read."""
    path = work / "questions.json"
    path.write_text(json.dumps([i.question for i in load_dataset(dataset)]), encoding="utf-8")
    return path


def ingest(config: SoakConfig, work: Path) -> None:
    """Index ``config.corpus`` into the data dir (incremental: unchanged files cost nothing)."""
    cmd = [*serve_command(), "ingest", *map(str, config.corpus), "--data-dir", str(config.data_dir)]
    with open(work / "ingest.log", "wb") as log:
        done = subprocess.run(
            cmd,
            cwd=PROJECT_ROOT,
            env={**os.environ, **config.extra_env},
            stdout=log,
            stderr=log,
            timeout=INGEST_TIMEOUT_S,
        )
    if done.returncode != 0:
        tail = (work / "ingest.log").read_text(errors="replace")[-LOG_TAIL_CHARS:]
        raise RuntimeError(f"ingestion failed:\n{tail}")


def mixed_phase(config: SoakConfig, work: Path, questions: Path, say: Say) -> dict[str, Any]:
    """Phase 1: the mixed load; the load, memory, feedback and answer figures."""
    args = ["--mode", "mix", "--clients", str(config.clients)]
    args += ["--duration", str(config.duration_s)]
    args += ["--warmup-pass"] if config.warmup_pass else []
    out_file = work / "mix.json"
    if config.url is not None:
        keys = [k for k in os.environ.get(KEYS_ENV, "").split(",") if k]
        if not keys:
            raise RuntimeError(f"with --url, set {KEYS_ENV} to the server's ask keys")
        say(f"mixed load on {config.url}: {config.clients} clients for {config.duration_s:g} s")
        load, rss, alive = run_clients(
            config.url, keys, questions, out_file, args, config.duration_s, config.pid
        )
        return _mixed_figures(config, load, rss, alive, config.feedback_db, None)
    keys, db = _new_keys(config.keys), work / "soak-feedback.sqlite"
    db.unlink(missing_ok=True)
    with start_server(
        config.data_dir, work / "server.log", keys, UNTHROTTLED_PER_MINUTE, db, config.extra_env
    ) as server:
        say(
            f"server ready in {server.ready_s:.1f} s; {config.clients} clients for "
            f"{config.duration_s:g} s"
        )
        load, rss, alive = run_clients(
            server.url, keys, questions, out_file, args, config.duration_s, server.process.pid
        )
        errors_5xx = server_5xx(server.url) if alive else None
    return _mixed_figures(config, load, rss, alive, db, errors_5xx)


def _mixed_figures(
    config: SoakConfig,
    load: dict[str, Any],
    rss: list[tuple[float, float]],
    alive: bool,
    db: Path | None,
    errors_5xx: int | None,
) -> dict[str, Any]:
    figures: dict[str, Any] = {
        "load": rpt.load_summary(load),
        "rss": rpt.rss_summary(rss, load["t0"], config.duration_s, config.rss_window_s)
        if rss
        else None,
        "server_alive": alive,
        "server_5xx": errors_5xx,
        "feedback": None,
        "answers": None,
    }
    if db is not None:
        figures["feedback"] = rpt.feedback_summary(load["feedback"], stored_feedback(db))
        figures["answers"] = answers_summary(db, load["answers"])
    return figures


def limit_phase(config: SoakConfig, work: Path, questions: Path, say: Say) -> dict[str, Any]:
    """Phase 2: one key hammered past its limit, another asking beside it."""
    if config.url is not None:
        return {"skipped": "it starts a server with a small limit; not with --url"}
    keys, db = _new_keys(2), work / "limit-feedback.sqlite"
    paced = max(1, config.limit_per_minute // 2)
    args = ["--mode", "limit", "--clients", str(config.limit_clients)]
    args += ["--duration", str(config.limit_duration_s), "--bystander-requests", str(paced)]
    with start_server(
        config.data_dir,
        work / "limit-server.log",
        keys,
        config.limit_per_minute,
        db,
        config.extra_env,
    ) as server:
        say(
            f"rate limit: {config.limit_clients} clients on one key limited to "
            f"{config.limit_per_minute}/min for {config.limit_duration_s:g} s"
        )
        load, _, alive = run_clients(
            server.url, keys, questions, work / "limit.json", args, config.limit_duration_s, None
        )
    summary = rpt.limit_summary(
        load["samples"], config.limit_per_minute, config.limit_clients, config.limit_duration_s
    )
    summary["server_alive"] = alive
    return summary


def run_soak(config: SoakConfig, say: Say | None = None) -> dict[str, Any]:
    """Both phases; the report with its checks (``ok`` is False when any check failed)."""
    say = say or (lambda message: logger.info("%s", message))
    work = config.out / "work"
    work.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    loadavg_start = _loadavg()
    if config.corpus and config.url is None:
        say(f"indexing {', '.join(map(str, config.corpus))} into {config.data_dir}")
        ingest(config, work)
    questions = questions_file(config.dataset, work)
    report: dict[str, Any] = {
        "config": json.loads(json.dumps(asdict(config), default=str)),
        **mixed_phase(config, work, questions, say),
    }
    report["rate_limit"] = limit_phase(config, work, questions, say) if config.limit_phase else None
    report["machine"] = {
        "cpus": os.cpu_count(),
        "loadavg_start": loadavg_start,
        "loadavg_end": _loadavg(),
    }
    report["checks"] = rpt.checks(report, config.max_rss_growth_pct)
    report["ok"] = all(c["ok"] for c in report["checks"])
    report["seconds"] = time.perf_counter() - started
    return report


def _loadavg() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]
