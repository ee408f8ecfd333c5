"""Small measuring tools shared by the benchmark stages: latency summaries, ratios, memory."""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from assistant.embeddings.base import Embedder
from eval.metrics import mean, percentile

KIB_PER_MIB = 1024
BYTES_PER_MIB = 1024 * 1024
MS_PER_S = 1000.0
RETRIEVAL_STAGES = ("embed_query", "dense_search", "bm25", "fusion")  # retriever timings_ms
WARMUP_QUESTIONS = (  # asked before timing starts, none of them in the dataset
    "What is a neighbourhood health team?",
    "What must integrated care boards submit in their plans?",
    "How will the NHS move from analogue to digital?",
)
SPECIAL_TOKENS = 2  # [CLS] and [SEP] around every passage


def latency_summary(values_ms: Sequence[float]) -> dict[str, float]:
    """Median, p95, p99 and mean of latencies in ms, with their count (zeros when empty)."""
    values = list(values_ms)
    return {
        "n": float(len(values)),
        "median": percentile(values, 50),
        "p95": percentile(values, 95),
        "p99": percentile(values, 99),
        "mean": mean(values),
    }


def ratio(value: float | None, baseline: float | None) -> float | None:
    """``value / baseline``, or None when either is missing or the baseline is not positive."""
    if value is None or baseline is None or baseline <= 0:
        return None
    return value / baseline


def per_second(count: float, seconds: float) -> float:
    """A rate, 0 when no time passed (nothing measured)."""
    return count / seconds if seconds > 0 else 0.0


def peak_rss_mb() -> float:
    """This process's peak resident memory in MiB.

    On Linux it is VmHWM from /proc/self/status: ru_maxrss would carry over the RSS of the
    parent a child process was forked from (the benchmark, with its model loaded), which hides
    the peak of a small index's query process.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / KIB_PER_MIB
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / BYTES_PER_MIB if sys.platform == "darwin" else peak / KIB_PER_MIB


def rss_mb(pid: int) -> float:
    """Current resident memory of process ``pid`` in MiB."""
    import psutil

    return psutil.Process(pid).memory_info().rss / BYTES_PER_MIB


def elapsed_ms(start: float) -> float:
    """Milliseconds since ``start`` (a ``time.perf_counter()`` value)."""
    return (time.perf_counter() - start) * MS_PER_S


class TimingEmbedder:
    """An Embedder that passes every call through and adds up the time and texts it saw.

    The benchmark wraps the model with it to split the embedder's share out of a larger step
    (ingestion, the answerer's refusal check) without touching the project's code.

    >>> from assistant.embeddings.fake import HashingEmbedder
    >>> timed = TimingEmbedder(HashingEmbedder(dimension=8))
    >>> _ = timed.embed_documents(["a plan", "a framework"])
    >>> timed.texts
    ['a plan', 'a framework']
    """

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name, self.dimension, self.max_tokens = inner.name, inner.dimension, inner.max_tokens
        self.seconds = 0.0
        self.texts: list[str] = []

    def reset(self) -> None:
        """Forget the time and texts counted so far."""
        self.seconds = 0.0
        self.texts = []

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        t0 = time.perf_counter()
        try:
            return self.inner.embed_documents(texts)
        finally:
            self.seconds += time.perf_counter() - t0
            self.texts.extend(texts)

    def embed_query(self, text: str) -> np.ndarray:
        t0 = time.perf_counter()
        try:
            return self.inner.embed_query(text)
        finally:
            self.seconds += time.perf_counter() - t0
            self.texts.append(text)


def model_tokens(embedder: Any, texts: Sequence[str]) -> int:
    """Word pieces the model reads for ``texts``: with [CLS]/[SEP], truncated at max_tokens."""
    return sum(min(embedder.count_tokens(t) + SPECIAL_TOKENS, embedder.max_tokens) for t in texts)


def forget_questions(embedder: Any) -> None:
    """Empty the embedder's cache of recent question vectors, so the next question is new.

    ``OnnxMiniLMEmbedder`` keeps recent question vectors (retrieval and the refusal check share
    one). The benchmark times every question as asked for the first time: without this the
    recipe, timed after the project on the same question, and the ask pass, after the retrieve
    pass, would find every question already embedded.
    """
    inner = getattr(embedder, "inner", embedder)
    clear = getattr(inner, "clear_query_cache", None)
    if callable(clear):
        clear()


PROJECT_ROOT = Path(__file__).resolve().parents[2]


def run_child(module: str, args: list[str], out: Path, timeout_s: float) -> dict[str, Any]:
    """Run ``python -m MODULE ARGS --out OUT`` from the project root and read the JSON it wrote:
    a figure measured in a process of its own (peak memory, a cold start)."""
    cmd = [sys.executable, "-m", module, *args, "--out", str(out)]
    done = subprocess.run(cmd, cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=timeout_s)
    if done.returncode != 0:
        raise RuntimeError(f"{module} {args[0]} child failed:\n{done.stderr[-3000:]}")
    return dict(json.loads(out.read_text()))


def timed_retrieve(services: Any, question: str) -> dict[str, float]:
    """One retrieval of ``question`` asked as new: its total and each stage's milliseconds."""
    forget_questions(services.embedder)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    retriever = services.retriever
    retriever.retrieve(retriever.validate(question), timings_ms=timings)
    return {"total": elapsed_ms(t0), **{s: timings.get(s, 0.0) for s in RETRIEVAL_STAGES}}
