"""The issue's targets (recorded, never fatal) and quick mode's ratio gates (fatal in CI).

A check compares one figure with a limit. The limit is either a fixed number (targets) or a
multiple of another figure measured in the same run plus a floor (gates), so a gate moves with
the machine: a busy CI runner slows the project and the recipe alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Op = Literal["<=", ">="]
GIB_IN_MIB = 1024

# Quick-mode gates: gross regressions only.
RETRIEVE_RATIO_MAX = 3.0  # project retrieve vs the recipe's similarity search
RETRIEVE_FLOOR_MS = 20.0
# project ask vs the recipe's search + the same answerer: 2-4x seen on the quick subset, where
# the recipe's long chunks often skip the refusal check's embeddings
ASK_RATIO_MAX = 6.0
ASK_FLOOR_MS = 60.0
REINGEST_RATIO_MAX = 0.2  # re-ingest of an unchanged corpus vs its cold ingest
EMBED_RATIO_MIN = 0.8  # batched throughput vs one-by-one
API_RATIO_MAX = 3.0  # /v1/ask at one client vs the in-process ask
# The server is timed minutes after the in-process ask, not in turn with it: under CI's parallel
# tests its median reached 132 ms against a 50 ms floor (8 December 2026). A broken HTTP path
# costs seconds, so 150 ms still catches what this gate is for.
API_FLOOR_MS = 150.0
SCALE_RATIO_MAX = 3.0  # retrieve p95 at the smallest scale point vs the benchmark index
SCALE_FLOOR_MS = 25.0
RECALL_MIN = 0.8  # HNSW recall@10 against exact search
# Issue 21 asked for ingest >= 0.9x the recipe and ask <= 2x the floor; neither holds yet (see the
# README's Performance section for what bounds them), so these gates catch gross regressions:
# on the quick subset (three short files) the parse child's start-up dominates the ingest.
INGEST_RATIO_MIN = 0.15  # project chunks/s vs the recipe's, cold, same files and model
ASK_FLOOR_RATIO_MAX = 4.0  # ask median vs the floor (question embedding + HNSW + BM25 medians)
ASK_FLOOR_EXTRA_MS = 10.0


@dataclass(frozen=True)
class Check:
    """``metric op limit``; limit = ``threshold`` or ``threshold * reference + floor``."""

    name: str
    metric: str
    op: Op
    threshold: float
    reference: str | None = None
    floor: float = 0.0

    def limit(self, figures: dict[str, float]) -> float | None:
        """The bound for this run, None when the reference figure was not measured."""
        if self.reference is None:
            return self.threshold
        ref = figures.get(self.reference)
        return None if ref is None else self.threshold * ref + self.floor

    def evaluate(self, figures: dict[str, float]) -> dict[str, Any]:
        """The check's outcome: ok is None when a figure it needs was not measured."""
        value, limit = figures.get(self.metric), self.limit(figures)
        ok = None
        if value is not None and limit is not None:
            ok = value <= limit if self.op == "<=" else value >= limit
        return {
            "name": self.name,
            "metric": self.metric,
            "value": value,
            "op": self.op,
            "limit": limit,
            "rule": self.rule(),
            "ok": ok,
        }

    def rule(self) -> str:
        """The check in words, for the report."""
        if self.reference is None:
            return f"{self.op} {self.threshold:g}"
        floor = f" + {self.floor:g}" if self.floor else ""
        return f"{self.op} {self.threshold:g} × {self.reference}{floor}"


TARGETS: tuple[Check, ...] = (
    Check("ask extractive median ≤ 60 ms", "query.ask.median_ms", "<=", 60.0),
    Check("ask extractive p95 ≤ 150 ms", "query.ask.p95_ms", "<=", 150.0),
    Check("retrieve median ≤ 25 ms", "query.retrieve.median_ms", "<=", 25.0),
    Check("/v1/ask ≥ 30 req/s at 10 clients", "api.c10.rps", ">=", 30.0),
    Check("/v1/ask p95 ≤ 400 ms at 10 clients", "api.c10.p95_ms", "<=", 400.0),
    Check("/v1/ask no errors at 10 clients", "api.c10.errors", "<=", 0.0),
    Check("200k chunks retrieve p95 ≤ 150 ms", "scale.200000.retrieve_p95_ms", "<=", 150.0),
    Check("200k chunks peak memory ≤ 3 GiB", "scale.200000.peak_rss_mb", "<=", 3 * GIB_IN_MIB),
    Check("batched embedding ≥ 1.5× one-by-one", "embed.speedup", ">=", 1.5),
    Check("batched and one-by-one vectors identical", "embed.identical", ">=", 1.0),
    Check("re-ingest of unchanged corpus < 5 s", "ingest.reingest_s", "<=", 5.0),
    Check("idle server RSS < 700 MB", "startup.idle_rss_mb", "<=", 700.0),
    Check("ready < 10 s", "startup.ready_s", "<=", 10.0),
    # Speed at the floor (issue 21): ratios within the run, and the ask path near the floor.
    Check(
        "ingest chunks/s ≥ 1.0× the recipe's",
        "ingest.chunks_per_s",
        ">=",
        1.0,
        "recipe.ingest.chunks_per_s",
    ),
    Check("ask extractive median ≤ 12 ms", "query.ask.median_ms", "<=", 12.0),
    Check("ask extractive p95 ≤ 40 ms", "query.ask.p95_ms", "<=", 40.0),
    Check(
        "retrieve median ≤ 1.2× the recipe's search",
        "query.retrieve.median_ms",
        "<=",
        1.2,
        "recipe.retrieve.median_ms",
    ),
    Check("/v1/ask ≥ 60 req/s at 10 clients", "api.c10.rps", ">=", 60.0),
)

QUICK_GATES: tuple[Check, ...] = (
    Check(
        "retrieve median vs recipe search",
        "query.retrieve.median_ms",
        "<=",
        RETRIEVE_RATIO_MAX,
        "recipe.retrieve.median_ms",
        RETRIEVE_FLOOR_MS,
    ),
    Check(
        "ask median vs recipe ask",
        "query.ask.median_ms",
        "<=",
        ASK_RATIO_MAX,
        "recipe.ask.median_ms",
        ASK_FLOOR_MS,
    ),
    Check(
        "re-ingest vs cold ingest",
        "ingest.reingest_s",
        "<=",
        REINGEST_RATIO_MAX,
        "ingest.cold_s",
    ),
    Check(
        "batched vs one-by-one embedding",
        "embed.batched_per_s",
        ">=",
        EMBED_RATIO_MIN,
        "embed.one_by_one_per_s",
    ),
    Check("batched and one-by-one vectors identical", "embed.identical", ">=", 1.0),
    Check(
        "/v1/ask median at 1 client vs in-process ask",
        "api.c1.median_ms",
        "<=",
        API_RATIO_MAX,
        "query.ask.median_ms",
        API_FLOOR_MS,
    ),
    Check("/v1/ask no errors", "api.errors", "<=", 0.0),
    Check(
        "retrieve p95 at 2k chunks vs benchmark index, in turn",
        "scale.2000.paired_retrieve_p95_ms",
        "<=",
        SCALE_RATIO_MAX,
        "scale.2000.baseline_retrieve_p95_ms",
        SCALE_FLOOR_MS,
    ),
    Check("HNSW recall@10 vs exact search", "hnsw.recall_at_10", ">=", RECALL_MIN),
    Check(
        "ingest chunks/s vs recipe",
        "ingest.chunks_per_s",
        ">=",
        INGEST_RATIO_MIN,
        "recipe.ingest.chunks_per_s",
    ),
    Check(
        "ask median vs the query floor",
        "query.ask.median_ms",
        "<=",
        ASK_FLOOR_RATIO_MAX,
        "query.floor.median_ms",
        ASK_FLOOR_EXTRA_MS,
    ),
)


def evaluate(checks: tuple[Check, ...], figures: dict[str, float]) -> list[dict[str, Any]]:
    """Every check's outcome, in order."""
    return [c.evaluate(figures) for c in checks]


def gates_pass(outcomes: list[dict[str, Any]]) -> bool:
    """Whether no gate failed; a gate whose figure is missing fails too (the stage broke)."""
    return all(o["ok"] is True for o in outcomes)
