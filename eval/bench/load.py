"""A closed-loop load generator for ``POST /v1/ask``, run as its own process.

``concurrency`` clients each send one question, wait for the answer and send the next, for
``warmup + duration`` seconds; only requests started after the warm-up count. The API key comes
from the environment variable ``NHS_BENCH_API_KEY`` so it never shows in a process list.

Every request is a question the server has not seen: the server keeps recent question vectors,
so repeating a small list would measure the cache, not the assistant. The questions are
rephrased (:func:`phrasings`: the same question behind different openings, such as "Quick
question:"), and all clients draw from one shared queue starting at ``--start``; a run that
needs more requests than there are phrasings wraps round and reports how many were repeats.
Several runs against one server take disjoint slices by passing different ``--start`` values.

    NHS_BENCH_API_KEY=... python -m eval.bench.load --url http://127.0.0.1:8000 \\
        --questions questions.json --concurrency 10 --duration 10 --start 0

prints one JSON object: requests, errors, requests/s, latency median/p95/p99 (ms), statuses,
the number of phrasings used (``next_start`` for the next run) and repeats.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

KEY_ENV = "NHS_BENCH_API_KEY"
ASK_PATH = "/v1/ask"
REQUEST_TIMEOUT_S = 60.0
HTTP_OK = 200


# Openings and endings that leave a question's meaning as it was; a manager types them.
OPENINGS = (
    "{q}",
    "Quick question: {q}",
    "Please tell me: {q}",
    "Could you check: {q}",
    "{q} Thanks.",
    "I need to know: {q}",
    "For our board paper: {q}",
    "Briefly, {q}",
    "{q} Please cite the source.",
    "Can you help? {q}",
    "From the documents: {q}",
    "Our ICB asks: {q}",
    "{q} (for a team briefing)",
    "Question from a PCN lead: {q}",
    "Help me understand: {q}",
    "{q} Keep it short.",
)


def phrasings(questions: list[str]) -> list[str]:
    """Each question behind every opening, all openings of the first before the second's."""
    seen: dict[str, None] = {}
    for opening in OPENINGS:
        for q in questions:
            seen.setdefault(opening.format(q=q.strip()), None)
    return list(seen)


class QuestionQueue:
    """A shared supply of phrasings from ``start`` on, counting those that wrap round."""

    def __init__(self, pool: list[str], start: int = 0) -> None:
        self.pool = pool
        self.next = start
        self.start = start
        self.repeats = 0

    def take(self) -> str:
        if self.next - self.start >= len(self.pool):
            self.repeats += 1
        question = self.pool[self.next % len(self.pool)]
        self.next += 1
        return question


@dataclass(frozen=True)
class Sample:
    """One request: when it started (s since the run began), how long it took, its status."""

    started: float
    latency_ms: float
    status: int  # 0 when no response came (connection error, timeout)


def summarise(samples: list[Sample], measured_s: float) -> dict[str, Any]:
    """Throughput, errors and latency percentiles of the measured requests."""
    from eval.bench.measure import latency_summary, per_second

    latencies = [s.latency_ms for s in samples]
    summary = latency_summary(latencies)
    errors = sum(1 for s in samples if s.status != HTTP_OK)
    return {
        "requests": len(samples),
        "errors": errors,
        "seconds": measured_s,
        "rps": per_second(len(samples) - errors, measured_s),
        "median_ms": summary["median"],
        "p95_ms": summary["p95"],
        "p99_ms": summary["p99"],
        "mean_ms": summary["mean"],
        "statuses": {str(k): v for k, v in sorted(Counter(s.status for s in samples).items())},
    }


async def _client(
    http: Any, queue: QuestionQueue, t0: float, stop_at: float, samples: list[Sample]
) -> None:
    """One client: ask, wait, ask again until ``stop_at``."""
    import httpx

    while time.perf_counter() < stop_at:
        question = queue.take()
        started = time.perf_counter()
        try:
            response = await http.post(ASK_PATH, json={"question": question})
            status = response.status_code
        except httpx.HTTPError:
            status = 0
        samples.append(Sample(started - t0, (time.perf_counter() - started) * 1000, status))


async def run_load(
    url: str,
    key: str,
    questions: list[str],
    concurrency: int,
    duration: float,
    warmup: float,
    start: int = 0,
) -> dict[str, Any]:
    """Drive ``concurrency`` clients for ``warmup + duration`` s; summarise the measured part."""
    import httpx

    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    headers = {"Authorization": f"Bearer {key}"}
    samples: list[Sample] = []
    queue = QuestionQueue(phrasings(questions), start)
    async with httpx.AsyncClient(
        base_url=url, headers=headers, limits=limits, timeout=REQUEST_TIMEOUT_S
    ) as http:
        t0 = time.perf_counter()
        stop_at = t0 + warmup + duration
        await asyncio.gather(
            *(_client(http, queue, t0, stop_at, samples) for _ in range(concurrency))
        )
        finished = time.perf_counter() - t0
    measured = [s for s in samples if s.started >= warmup]
    result = summarise(measured, max(finished - warmup, 1e-9))
    return {
        "concurrency": concurrency,
        "warmup_s": warmup,
        "distinct_questions": len(set(questions)),
        "phrasings": len(queue.pool),
        "sent": queue.next - start,
        "repeats": queue.repeats,
        "next_start": queue.next,
        **result,
    }


def main(argv: list[str] | None = None) -> None:
    """Command-line entry point: print the summary as JSON on stdout."""
    parser = argparse.ArgumentParser(prog="python -m eval.bench.load", description=__doc__)
    parser.add_argument("--url", required=True, help="Base URL, e.g. http://127.0.0.1:8000")
    parser.add_argument("--questions", type=Path, required=True, help="JSON list of questions.")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--duration", type=float, default=10.0, help="Measured seconds.")
    parser.add_argument("--warmup", type=float, default=2.0, help="Unmeasured seconds first.")
    parser.add_argument(
        "--start", type=int, default=0, help="First phrasing to send (a previous run's next_start)."
    )
    args = parser.parse_args(argv)
    key = os.environ.get(KEY_ENV, "")
    if not key:
        parser.error(f"set {KEY_ENV} to an API key with the 'ask' scope")
    questions = json.loads(args.questions.read_text(encoding="utf-8"))
    result = asyncio.run(
        run_load(args.url, key, questions, args.concurrency, args.duration, args.warmup, args.start)
    )
    json.dump(result, sys.stdout)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
