"""The project's retriever: stages run in order over one state, composed from settings.

``make_retriever`` lists the stages ``RetrievalSettings`` asks for; ``RetrievalPipeline`` runs
them, times each, and turns the final candidates into ``RetrievedChunk``s. To add a step (a
reranker, a date filter), write a ``Stage`` and add it to ``default_stages`` under its setting,
or derive a pipeline with ``inserted``/``replaced``/``without`` (the eval baselines do).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from datetime import date
from typing import TypeVar

from assistant.config import RetrievalSettings
from assistant.embeddings.base import Embedder
from assistant.errors import EmptyIndexError
from assistant.retrieval.base import DENSE, LEXICAL, LexicalIndex, RetrievalState, Stage
from assistant.retrieval.bm25 import BM25Sync
from assistant.retrieval.stages import (
    NAMED,
    DenseSearch,
    DropNearDuplicates,
    EmbedQuery,
    FetchCandidates,
    LexicalSearch,
    MaximalMarginalRelevance,
    NamedDocumentSearch,
    PreferPeriod,
    ScoreUnsearchedDense,
    WeightedRRF,
)
from assistant.schemas import Filters, RetrievedChunk
from assistant.store.base import StoredChunk, VectorStore, decode_section_breaks, decode_spans
from assistant.store.catalogue import DocumentCatalogue
from assistant.text import clean_question

S = TypeVar("S")

DEFAULT_MAX_QUESTION_CHARS = 2000


class RetrievalPipeline:
    """A ``Retriever`` made of stages; built by ``make_retriever``.

    >>> retriever = make_retriever(settings.retrieval, embedder, store, bm25)  # doctest: +SKIP
    >>> q = retriever.validate("How do I set up a neighbourhood team?")        # doctest: +SKIP
    >>> [c.title for c in retriever.retrieve(q, k=3)]                          # doctest: +SKIP
    """

    def __init__(
        self,
        stages: Sequence[Stage],
        index: BM25Sync,
        top_k: int,
        max_question_chars: int = DEFAULT_MAX_QUESTION_CHARS,
    ) -> None:
        self.stages: tuple[Stage, ...] = tuple(stages)
        self.index = index  # BM25 kept in step with the store; shared by derived pipelines
        self.top_k = top_k
        self.max_question_chars = max_question_chars

    @property
    def bm25(self) -> LexicalIndex:
        """The lexical index this pipeline keeps fresh (for consistency checks)."""
        return self.index.bm25

    def validate(self, question: str) -> str:
        """The question without surrounding white space; raises when empty or too long."""
        return clean_question(question, self.max_question_chars)

    def sync(self, force: bool = False) -> None:
        """Rebuild BM25 from the store if the store changed since it was built."""
        self.index.sync(force)

    def retrieve(
        self,
        question: str,
        k: int | None = None,
        filters: Filters | None = None,
        timings_ms: dict[str, float] | None = None,
        as_of: date | None = None,
    ) -> list[RetrievedChunk]:
        """The top ``k`` chunks for a validated ``question``, best first, with their scores."""
        k = k or self.top_k
        self.sync()
        if self.index.empty:
            raise EmptyIndexError()
        state = RetrievalState(question=question, k=k, filters=filters, as_of=as_of)
        spent: dict[str, float] = {}
        for stage in self.stages:
            t0 = time.perf_counter()
            stage.run(state)
            if stage.timing is not None:
                elapsed = (time.perf_counter() - t0) * 1000
                spent[stage.timing] = spent.get(stage.timing, 0.0) + elapsed
        if timings_ms is not None:
            timings_ms.update(spent)
        return _results(state)

    # -- deriving pipelines (composition instead of flags) ----------------------------------

    def stage(self, kind: type[S]) -> S:
        """The first stage of type ``kind``; LookupError when there is none."""
        for stage in self.stages:
            if isinstance(stage, kind):
                return stage
        raise LookupError(f"no {kind.__name__} stage in this retriever")

    def _derived(self, stages: Sequence[Stage]) -> RetrievalPipeline:
        return RetrievalPipeline(stages, self.index, self.top_k, self.max_question_chars)

    def replaced(self, kind: type[Stage], stage: Stage) -> RetrievalPipeline:
        """A pipeline with the stage of type ``kind`` swapped for ``stage``."""
        old: Stage = self.stage(kind)
        return self._derived([stage if s is old else s for s in self.stages])

    def inserted(self, stage: Stage, before: type[Stage] | None = None) -> RetrievalPipeline:
        """A pipeline with ``stage`` added before the stage of type ``before`` (else last)."""
        if before is None:
            return self._derived([*self.stages, stage])
        at = self.stages.index(self.stage(before))
        return self._derived([*self.stages[:at], stage, *self.stages[at:]])

    def without(self, kind: type[Stage]) -> RetrievalPipeline:
        """A pipeline without the stage of type ``kind``."""
        old: Stage = self.stage(kind)
        return self._derived([s for s in self.stages if s is not old])


def _results(state: RetrievalState) -> list[RetrievedChunk]:
    """The first ``k`` candidates still in the store, ranked from 1, with their scores."""
    out: list[RetrievedChunk] = []
    for cid in state.candidates:
        ch = state.chunks.get(cid)
        if ch is None:
            continue  # removed since the BM25 index was built
        rank = len(out) + 1
        dense, lexical = state.dense_scores.get(cid), state.lexical_scores.get(cid)
        out.append(_to_retrieved(ch, rank, state.scores[cid], dense, lexical))
        if len(out) == state.k:
            break
    return out


def _to_retrieved(
    ch: StoredChunk, rank: int, score: float, dense: float | None, bm25: float | None
) -> RetrievedChunk:
    md = ch.metadata
    return RetrievedChunk(
        chunk_id=ch.chunk_id,
        doc_id=md.get("doc_id", ""),
        title=md.get("title", ""),
        section=md.get("section", ""),
        page_start=md.get("page_start"),
        page_end=md.get("page_end"),
        text=ch.text,
        publisher=md.get("publisher"),
        source_url=md.get("source_url"),
        file_name=md.get("file_name"),
        rank=rank,
        score=score,
        dense_score=dense,
        bm25_score=bm25,
        kind=md.get("kind", "text"),
        garbled=bool(md.get("garbled", False)),
        garbled_spans=decode_spans(md.get("garbled_spans")),
        page_breaks=decode_spans(md.get("page_breaks")),
        section_breaks=decode_section_breaks(md.get("section_breaks")),
    )


def default_stages(
    settings: RetrievalSettings, embedder: Embedder, store: VectorStore, bm25: LexicalIndex
) -> list[Stage]:
    """The stages ``settings`` asks for, in order: hybrid search, fusion, fetch, the period
    preference, MMR, dedupe."""
    stages: list[Stage] = [
        EmbedQuery(embedder),
        DenseSearch(store, settings.dense_k),
        LexicalSearch(bm25, settings.bm25_k),
    ]
    if settings.named_document_weight > 0:
        stages.append(NamedDocumentSearch(store, bm25, settings.bm25_k))
    stages += [
        # Dense first: RRF sums the rankings in this order, and float sums depend on it.
        WeightedRRF(
            {
                DENSE: settings.dense_weight,
                LEXICAL: settings.bm25_weight,
                NAMED: settings.named_document_weight,
            },
            settings.rrf_k,
        ),
        # Chunks kept between questions until BM25's generation (the store's) moves on.
        FetchCandidates(store, generation=lambda: bm25.generation),
    ]
    if settings.period_weight > 0:
        # BM25's generation, kept in step with the store by the pipeline's sync: no store
        # round trip per question.
        catalogue = DocumentCatalogue(store, lambda: bm25.generation)
        stages.append(PreferPeriod(catalogue, settings.period_weight))
    stages += [
        ScoreUnsearchedDense(),
    ]
    if settings.mmr:
        stages.append(MaximalMarginalRelevance(settings.mmr_lambda))
    stages.append(DropNearDuplicates())
    return stages


def make_retriever(
    settings: RetrievalSettings,
    embedder: Embedder,
    store: VectorStore,
    bm25: LexicalIndex,
    max_question_chars: int = DEFAULT_MAX_QUESTION_CHARS,
) -> RetrievalPipeline:
    """The project's retriever over ``store`` and ``bm25``, as ``settings`` configure it."""
    return RetrievalPipeline(
        default_stages(settings, embedder, store, bm25),
        BM25Sync(store, bm25),
        settings.top_k,
        max_question_chars,
    )
