"""Runs a dataset through the project's pipeline (and baselines) and scores every answer.

Each answer is scored on the registered metrics of the run's mode (``eval.metrics``);
``summarise`` aggregates them per system and split, and ``question_record`` writes the ones
marked ``per_question`` into report.json.

The runner builds nothing of its own: it takes the same ``Services`` as the CLI and API, plus
the verifier that answering uses, so the numbers describe what users get.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from assistant.answer.verifier import Verifier
from assistant.schemas import Answer, DocumentMeta, RetrievedChunk
from eval.dataset import (
    RELEVANT_SHARE,
    EvalItem,
    EvidenceResolver,
    asked_on,
    in_order_coverage,
    normalise_words,
)
from eval.metrics import REGISTRY, Metric, Sample
from eval.metrics.builtin import citations

logger = logging.getLogger(__name__)

TOP_N_REPORTED = 10


@dataclass
class System:
    """Something that answers: ``ask(question) -> Answer`` with at least 10 ranked chunks in
    ``Answer.retrieved``; ``k`` is how many of them the answerer reads (recall@k uses it).

    ``ask_as_of(question, day)`` answers as of a day, for a question whose row gives one
    (``"as_of": "2026-12-07"``: what "this year" and "current" mean); a system without it
    answers such questions as of today.
    """

    name: str
    ask: Callable[[str], Answer]
    k: int
    ask_as_of: Callable[[str, date], Answer] | None = None

    def answer(self, item: EvalItem) -> Answer:
        day = asked_on(item)
        if day is not None and self.ask_as_of is not None:
            return self.ask_as_of(item.question, day)
        return self.ask(item.question)


@dataclass
class QuestionResult:
    """One question answered by one system: what a metric reads, and every metric's score."""

    sample: Sample
    scores: dict[str, float | None] = field(default_factory=dict)

    @property
    def item(self) -> EvalItem:
        return self.sample.item

    @property
    def answer(self) -> Answer:
        return self.sample.answer

    @property
    def relevance(self) -> list[set[int]]:
        return self.sample.relevance

    @property
    def latency_ms(self) -> float:
        return self.sample.latency_ms

    def value(self, name: str) -> float:
        """A metric's score for this question; 0 where the metric does not score it."""
        return self.scores.get(name) or 0.0

    @property
    def failed(self) -> bool:
        if not self.item.answerable:
            return not self.answer.refused
        return (
            self.answer.refused
            or self.value("recall_at_k") == 0
            or self.value("citation_recall") < 1
        )


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
    """Answers each question with a system and scores it on ``metrics`` (default: every
    registered metric of extractive mode; ``REGISTRY.for_mode(mode)`` for another mode)."""

    def __init__(
        self,
        resolver: EvidenceResolver,
        verifier: Verifier,
        metrics: Sequence[Metric] | None = None,
        documents: Callable[[], Mapping[str, DocumentMeta]] = dict,
    ) -> None:
        self.resolver = resolver
        self.verifier = verifier
        self.documents = documents  # the index's documents, read once per run
        self._documents: Mapping[str, DocumentMeta] | None = None
        self.metrics = list(REGISTRY.for_mode("extractive") if metrics is None else metrics)

    def supports(self, sentence: str, passages: list[str]) -> bool:
        return self.verifier.verify(sentence, passages).supported

    def run(
        self, items: list[EvalItem], system: System, on_item: Callable[[], None] = lambda: None
    ) -> list[QuestionResult]:
        results = []
        self._documents = None  # read again: the index may have changed between runs
        for item in items:
            results.append(self.score(item, system))
            on_item()
        return results

    def _index_documents(self) -> Mapping[str, DocumentMeta]:
        if self._documents is None:
            self._documents = self.documents()
        return self._documents

    def score(self, item: EvalItem, system: System) -> QuestionResult:
        quotes = [self.resolver.quote_words(e) for e in item.evidence]
        t0 = time.perf_counter()
        answer = system.answer(item)
        latency = (time.perf_counter() - t0) * 1000
        relevance = relevance_of(answer.retrieved[:TOP_N_REPORTED], quotes)
        sample = Sample(
            item,
            answer,
            relevance,
            len(quotes),
            system.k,
            latency,
            self.supports,
            self._index_documents(),
        )
        return QuestionResult(sample, {m.name: m.score_question(sample) for m in self.metrics})


def summarise(results: list[QuestionResult], metrics: Sequence[Metric]) -> dict[str, float]:
    """The question counts, then each metric aggregated over its subset of ``results``."""
    summary: dict[str, float] = {
        "questions": len(results),
        "answerable": sum(r.item.answerable for r in results),
        "unanswerable": sum(not r.item.answerable for r in results),
    }
    for metric in metrics:
        summary[metric.name] = metric.summarise(
            [(r.sample, r.scores.get(metric.name)) for r in results]
        )
    return summary


def question_record(r: QuestionResult, metrics: Sequence[Metric]) -> dict[str, Any]:
    """Per-question details for report.json: the answer, what was retrieved, the scores."""
    record: dict[str, Any] = {
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
        "citations": [
            {
                "n": c.n,
                "doc_id": c.doc_id,
                "section": c.section,
                "page": c.page,
                "document_warning": c.document_warning,
            }
            for c in r.answer.citations
        ],
    }
    for metric in metrics:
        if metric.per_question:
            record[metric.name] = metric.record(r.scores.get(metric.name))
    record["sentence_verdicts"] = r.sample.shared(citations)[2]
    record["latency_ms"] = round(r.latency_ms, 2)
    record["failed"] = r.failed
    return record
