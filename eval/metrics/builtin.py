"""The metrics every evaluation reports, in either answer mode, in the order reports list them.

Retrieval is judged on answerable questions, citations on answers to answerable questions that
were not refused (ALCE), abstention on both kinds; ``eval.metrics.formulas`` has the formulas.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eval.metrics.formulas import (
    citation_scores,
    invalid_markers,
    key_fact_recall,
    mrr_at_k,
    ndcg_at_k,
    recall_at_k,
)
from eval.metrics.registry import (
    Metric,
    Sample,
    count,
    max_of,
    median,
    milliseconds,
    p95,
    register,
    total,
)
from eval.readability import Defects, defects, words_in

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


# --- readability of the answers given (eval/readability.py) ---------------------------------
# Taken over every answer not refused (answerable or not): a defect reads as badly either way.


def _given_defects(sample: Sample) -> Defects | None:
    return None if sample.answer.refused else defects(sample.answer)


def _defect(name: str) -> Callable[[Sample], float | None]:
    def score(sample: Sample) -> float | None:
        found = sample.shared(_given_defects)
        return None if found is None else float(getattr(found, name))

    return score


def _answer_words(sample: Sample) -> float | None:
    return None if sample.answer.refused else float(words_in(sample.answer))


register(
    Metric(
        name="readability_defect_rate",
        label="readability defects",
        score=_defect("any"),
        better="lower",
        per_question=True,
        chart=True,
        description="share of answers given with any defect below, or over 250 words",
    )
)
for _name, _label, _what in (
    ("garbled", "garbled text", "quoting text scrambled by a two-column conversion"),
    ("dangling", "dangling references", "with a sentence pointing back ('This ...') to nothing"),
    ("cut_list", "cut lists", "announcing a list ('the following:') without giving it"),
    ("furniture", "page furniture", "quoting page furniture or a scrap of under 3 words"),
):
    register(
        Metric(
            name=f"{_name}_rate",
            label=_label,
            score=_defect(_name),
            better="lower",
            description=f"share of answers given {_what}",
        )
    )
register(
    Metric(
        name="answer_words_median",
        label="answer words (median)",
        score=_answer_words,
        aggregate=median,
        fmt=count,
        better="lower",
        description="median words in an answer given",
    )
)
register(
    Metric(
        name="answer_words_max",
        label="answer words (max)",
        score=_answer_words,
        aggregate=max_of,
        fmt=count,
        better="lower",
        description="the longest answer given, in words",
    )
)
