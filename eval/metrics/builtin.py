"""The metrics every evaluation reports, in either answer mode, in the order reports list them.

Retrieval is judged on answerable questions, citations on answers to answerable questions that
were not refused (ALCE), abstention on both kinds; ``eval.metrics.formulas`` has the formulas.
"""

from __future__ import annotations

from typing import Any

from eval.metrics.formulas import (
    citation_scores,
    invalid_markers,
    key_fact_recall,
    mrr_at_k,
    ndcg_at_k,
    recall_at_k,
)
from eval.metrics.registry import Metric, Sample, count, median, milliseconds, p95, register, total

RANKS_JUDGED = 10  # MRR and nDCG look at the top 10 chunks


def citations(sample: Sample) -> tuple[float, float, list[dict[str, Any]]]:
    """ALCE citation recall, precision and per-sentence verdicts of the answer as given.

    Shared by both citation metrics and the per-question record, so the verifier reads each
    sentence once. A refusal cites nothing and scores 0.
    """
    answer = sample.answer
    if answer.refused:
        return 0.0, 0.0, []
    by_n = {c.n: c.chunk_text for c in answer.citations}
    sentences = [(s.text, [by_n[n] for n in s.citations if n in by_n]) for s in answer.sentences]
    return citation_scores(sentences, sample.supports)


def _invalid_citations(sample: Sample) -> int:
    return invalid_markers(sample.answer.answer, {c.n for c in sample.answer.citations})


def _key_fact_recall(sample: Sample) -> float:
    if sample.answer.refused:
        return 0.0
    return key_fact_recall(sample.answer.answer, sample.item.key_facts)


def _refused(sample: Sample) -> float:
    return float(sample.answer.refused)


def _latency(sample: Sample) -> float:
    return sample.latency_ms


register(
    Metric(
        name="recall_at_k",
        label="recall@k",
        score=lambda s: recall_at_k(s.relevance, s.n_quotes, s.k),
        over="answerable",
        per_question=True,
        chart=True,
        description="share of gold quotes covered by the k chunks the answerer read",
    )
)
register(
    Metric(
        name="mrr_at_10",
        label="MRR@10",
        score=lambda s: mrr_at_k(s.relevance, RANKS_JUDGED),
        over="answerable",
        per_question=True,
        chart=True,
        description="1 / rank of the first relevant chunk in the top 10",
    )
)
register(
    Metric(
        name="ndcg_at_10",
        label="nDCG@10",
        score=lambda s: ndcg_at_k(s.relevance, s.n_quotes, RANKS_JUDGED),
        over="answerable",
        per_question=True,
        record_digits=4,
        chart=True,
        description="discounted gain of chunks covering new gold quotes in the top 10",
    )
)
# The citation scores are taken over answered questions, but every answer given is scored (and
# recorded per question), so an answer to an unanswerable question shows its verdicts too.
register(
    Metric(
        name="citation_recall",
        label="citation recall",
        score=lambda s: s.shared(citations)[0],
        over="answered",
        scored_on="all",
        per_question=True,
        chart=True,
        description="share of answer sentences their cited passages support (ALCE)",
    )
)
register(
    Metric(
        name="citation_precision",
        label="citation precision",
        score=lambda s: s.shared(citations)[1],
        over="answered",
        scored_on="all",
        per_question=True,
        chart=True,
        description="share of citations that support their sentence or are needed (ALCE)",
    )
)
register(
    Metric(
        name="invalid_citations",
        label="invalid citations",
        score=_invalid_citations,
        aggregate=total,
        fmt=count,
        better="lower",
        per_question=True,
        description="[n] markers in answers that point to no citation",
    )
)
register(
    Metric(
        name="key_fact_recall",
        label="key-fact recall",
        score=_key_fact_recall,
        over="answerable",
        per_question=True,
        chart=True,
        description="share of a question's key facts the answer states (0 when refused)",
    )
)
register(
    Metric(
        name="refusal_rate_unanswerable",
        label="refusal (unanswerable)",
        score=_refused,
        over="unanswerable",
        chart=True,
        description="share of unanswerable questions refused",
    )
)
register(
    Metric(
        name="false_refusal_rate",
        label="false refusal",
        score=_refused,
        over="answerable",
        better="lower",
        description="share of answerable questions refused",
    )
)
register(
    Metric(
        name="latency_median_ms",
        label="latency median ms",
        score=_latency,
        aggregate=median,
        fmt=milliseconds,
        better="lower",
        description="median time to a whole answer",
    )
)
register(
    Metric(
        name="latency_p95_ms",
        label="latency p95 ms",
        score=_latency,
        aggregate=p95,
        fmt=milliseconds,
        better="lower",
        description="95th percentile of the time to a whole answer",
    )
)
