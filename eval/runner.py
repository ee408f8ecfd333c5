"""Runs a dataset through the project's pipeline (and baselines) and scores every answer.

The runner builds nothing of its own: it takes the same ``Services`` as the CLI and API, plus
the verifier that answering uses, so the numbers describe what users get.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from assistant.answer.verifier import Verifier
from assistant.schemas import Answer, RetrievedChunk
from eval import metrics
from eval.dataset import (
    RELEVANT_SHARE,
    EvalItem,
    EvidenceResolver,
    in_order_coverage,
    normalise_words,
)

logger = logging.getLogger(__name__)

TOP_N_REPORTED = 10


@dataclass
class System:
    """Something that answers: ``ask(question) -> Answer`` with at least 10 ranked chunks in
    ``Answer.retrieved``; ``k`` is how many of them the answerer reads (recall@k uses it)."""

    name: str
    ask: Callable[[str], Answer]
    k: int


@dataclass
class QuestionResult:
    item: EvalItem
    answer: Answer
    relevance: list[set[int]]
    n_quotes: int
    latency_ms: float
    citation_recall: float = 0.0
    citation_precision: float = 0.0
    invalid_citations: int = 0
    key_fact_recall: float = 0.0
    verdicts: list[dict[str, Any]] = field(default_factory=list)
    recall_at_k: float = 0.0
    mrr: float = 0.0
    ndcg: float = 0.0

    @property
    def failed(self) -> bool:
        if not self.item.answerable:
            return not self.answer.refused
        return self.answer.refused or self.recall_at_k == 0 or self.citation_recall < 1


def relevance_of(chunks: list[RetrievedChunk], quotes: list[list[str]]) -> list[set[int]]:
    """For each chunk, the gold quotes it covers (at least half their words, in order)."""
    out = []
    for chunk in chunks:
        words = normalise_words(chunk.text)
        out.append(
            {i for i, q in enumerate(quotes) if in_order_coverage(words, q) >= RELEVANT_SHARE}
        )
    return out


class Evaluator:
    def __init__(self, resolver: EvidenceResolver, verifier: Verifier) -> None:
        self.resolver = resolver
        self.verifier = verifier

    def supports(self, sentence: str, passages: list[str]) -> bool:
        return self.verifier.verify(sentence, passages).supported

    def run(
        self, items: list[EvalItem], system: System, on_item: Callable[[], None] = lambda: None
    ) -> list[QuestionResult]:
        results = []
        for item in items:
            results.append(self.score(item, system))
            on_item()
        return results

    def score(self, item: EvalItem, system: System) -> QuestionResult:
        quotes = [self.resolver.quote_words(e) for e in item.evidence]
        t0 = time.perf_counter()
        answer = system.ask(item.question)
        latency = (time.perf_counter() - t0) * 1000
        ranked = answer.retrieved[:TOP_N_REPORTED]
        rel = relevance_of(ranked, quotes)
        r = QuestionResult(item, answer, rel, len(quotes), latency)
        if item.answerable:
            r.recall_at_k = metrics.recall_at_k(rel, len(quotes), system.k)
            r.mrr = metrics.mrr_at_k(rel, 10)
            r.ndcg = metrics.ndcg_at_k(rel, len(quotes), 10)
            r.key_fact_recall = (
                0.0 if answer.refused else metrics.key_fact_recall(answer.answer, item.key_facts)
            )
        by_n = {c.n: c.chunk_text for c in answer.citations}
        r.invalid_citations = metrics.invalid_markers(answer.answer, set(by_n))
        if not answer.refused:
            sentences = [
                (s.text, [by_n[n] for n in s.citations if n in by_n]) for s in answer.sentences
            ]
            r.citation_recall, r.citation_precision, r.verdicts = metrics.citation_scores(
                sentences, self.supports
            )
        return r


def summarise(results: list[QuestionResult]) -> dict[str, float]:
    """Aggregate metrics over a set of question results."""
    answerable = [r for r in results if r.item.answerable]
    unanswerable = [r for r in results if not r.item.answerable]
    answered = [r for r in answerable if not r.answer.refused]
    latencies = [r.latency_ms for r in results]
    return {
        "questions": len(results),
        "answerable": len(answerable),
        "unanswerable": len(unanswerable),
        "recall_at_k": metrics.mean([r.recall_at_k for r in answerable]),
        "mrr_at_10": metrics.mean([r.mrr for r in answerable]),
        "ndcg_at_10": metrics.mean([r.ndcg for r in answerable]),
        "citation_recall": metrics.mean([r.citation_recall for r in answered]),
        "citation_precision": metrics.mean([r.citation_precision for r in answered]),
        "invalid_citations": float(sum(r.invalid_citations for r in results)),
        "key_fact_recall": metrics.mean([r.key_fact_recall for r in answerable]),
        "refusal_rate_unanswerable": metrics.mean([float(r.answer.refused) for r in unanswerable]),
        "false_refusal_rate": metrics.mean([float(r.answer.refused) for r in answerable]),
        "latency_median_ms": metrics.percentile(latencies, 50),
        "latency_p95_ms": metrics.percentile(latencies, 95),
    }


def question_record(r: QuestionResult) -> dict[str, Any]:
    """Per-question details for report.json."""
    return {
        "id": r.item.id,
        "question": r.item.question,
        "kind": r.item.kind,
        "split": r.item.split,
        "answerable": r.item.answerable,
        "refused": r.answer.refused,
        "answer": r.answer.answer,
        "evidence_score": round(r.answer.evidence_score, 4),
        "retrieved": [
            {
                "rank": c.rank,
                "chunk_id": c.chunk_id,
                "doc_id": c.doc_id,
                "section": c.section,
                "page": c.page_start,
            }
            for c in r.answer.retrieved[:TOP_N_REPORTED]
        ],
        "relevant_ranks": [i + 1 for i, q in enumerate(r.relevance) if q],
        "recall_at_k": r.recall_at_k,
        "mrr_at_10": r.mrr,
        "ndcg_at_10": round(r.ndcg, 4),
        "citation_recall": r.citation_recall,
        "citation_precision": r.citation_precision,
        "invalid_citations": r.invalid_citations,
        "key_fact_recall": r.key_fact_recall,
        "sentence_verdicts": r.verdicts,
        "latency_ms": round(r.latency_ms, 2),
        "failed": r.failed,
    }
