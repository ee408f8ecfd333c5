"""Metrics of generated answers (llm mode): what the grounding check changed, and how fast.

Registered after the built-in metrics, so their rows follow them in the summary and reports; an
extractive run neither measures nor shows them.
"""

from __future__ import annotations

from eval.metrics.formulas import draft_citation_scores
from eval.metrics.registry import Metric, Sample, count, median, milliseconds, p95, register, total

LLM = frozenset({"llm"})


def draft_citations(sample: Sample) -> tuple[float, float] | None:
    """ALCE recall and precision of the draft before the check (kept and removed sentences);
    None when no draft was generated. Shared by the two draft metrics."""
    if sample.answer.draft is None:
        return None
    return draft_citation_scores(sample.answer, sample.supports)


def _draft_recall(sample: Sample) -> float | None:
    scores = sample.shared(draft_citations)
    return None if scores is None else scores[0]


def _draft_precision(sample: Sample) -> float | None:
    scores = sample.shared(draft_citations)
    return None if scores is None else scores[1]


def _first_token_ms(sample: Sample) -> float | None:
    return sample.answer.timings_ms.get("first_piece")


register(
    Metric(
        name="citation_recall_draft",
        label="citation recall before check",
        score=_draft_recall,
        over="answered",
        modes=LLM,
        description="citation recall of the generated draft, before the grounding check",
    )
)
register(
    Metric(
        name="citation_precision_draft",
        label="citation precision before check",
        score=_draft_precision,
        over="answered",
        modes=LLM,
        description="citation precision of the generated draft, before the grounding check",
    )
)
register(
    Metric(
        name="sentences_removed",
        label="sentences removed",
        score=lambda s: s.answer.removed,
        aggregate=total,
        fmt=count,
        better="lower",
        modes=LLM,
        description="generated sentences the check removed as unsupported",
    )
)
register(
    Metric(
        name="fallback_rate",
        label="extractive fallback",
        score=lambda s: float(s.answer.mode == "extractive-fallback"),
        better="lower",
        modes=LLM,
        description="share of answers replaced by the extractive answer",
    )
)
register(
    Metric(
        name="first_token_median_ms",
        label="first token median ms",
        score=_first_token_ms,
        aggregate=median,
        fmt=milliseconds,
        better="lower",
        modes=LLM,
        description="median time from the question to the first piece of answer text",
    )
)
register(
    Metric(
        name="first_token_p95_ms",
        label="first token p95 ms",
        score=_first_token_ms,
        aggregate=p95,
        fmt=milliseconds,
        better="lower",
        modes=LLM,
        description="95th percentile of the time to the first piece of answer text",
    )
)
