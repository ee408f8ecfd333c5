"""The stages of the project's retriever, each one small job over a ``RetrievalState``.

Dense search finds paraphrases ("set up" ~ "establish"); BM25 finds exact terms the embedder
blurs (acronyms, "2026/27", "Core20PLUS5"). Reciprocal rank fusion merges the two without
calibrating one score against the other. The fused candidates are fetched (text, metadata and
vectors in one store round trip); optional MMR then trades a little relevance for diversity, so
one long section does not fill every slot; near-duplicates (a PDF and its Markdown twin) go last.

Timing keys: the bench and reports read ``embed_query``, ``dense_search``, ``bm25`` and
``fusion``; fetching, scoring and MMR have always counted as part of ``fusion``, and duplicate
removal is left untimed (the bench reports it in ``retrieve_other``).
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from datetime import date

import numpy as np

from assistant.embeddings.base import Embedder
from assistant.lifecycle import preference, question_periods
from assistant.retrieval.base import DENSE, LEXICAL, LexicalIndex, RetrievalState
from assistant.schemas import DocumentMeta, Filters
from assistant.store.base import StoredChunk, VectorStore
from assistant.store.catalogue import DocumentCatalogue
from assistant.text import terms

NAMED = "named_document"  # name of the ranking within the documents a question names
CANDIDATE_FACTOR = 3  # fused candidates fetched per requested chunk, to replace duplicates
# Candidates kept with their text and vectors between questions (about 2.5 KB each): popular
# passages come back for many questions, and a store round trip costs 3-5 ms.
CANDIDATE_CACHE = 4096
DUPLICATE_JACCARD = 0.8  # term-set overlap above which two chunks count as the same passage


def rrf(rankings: list[tuple[list[str], float]], k: int) -> dict[str, float]:
    """Weighted reciprocal rank fusion: sum of weight / (k + rank) over the rankings."""
    fused: dict[str, float] = {}
    for ids, weight in rankings:
        if weight <= 0:
            continue  # a ranking switched off adds no candidates
        for rank, cid in enumerate(ids, start=1):
            fused[cid] = fused.get(cid, 0.0) + weight / (k + rank)
    return fused


def mmr(
    candidates: list[str],
    relevance: dict[str, float],
    vectors: dict[str, np.ndarray],
    k: int,
    lam: float,
) -> list[str]:
    """Maximal marginal relevance over candidates that have vectors (others keep their order)."""
    if not candidates:
        return []
    top = max(relevance.values()) or 1.0
    chosen: list[str] = []
    pool = list(candidates)
    while pool and len(chosen) < k:

        def gain(cid: str) -> float:
            rel = relevance[cid] / top
            if not chosen or cid not in vectors:
                return rel
            sim = (
                max(float(vectors[cid] @ vectors[c]) for c in chosen if c in vectors)
                if any(c in vectors for c in chosen)
                else 0.0
            )
            return lam * rel - (1 - lam) * sim

        best = max(pool, key=gain)
        chosen.append(best)
        pool.remove(best)
    return chosen


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


class EmbedQuery:
    """Embeds the question into ``state.vector``."""

    name = "embed_query"
    timing = "embed_query"

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def run(self, state: RetrievalState) -> None:
        state.vector = self.embedder.embed_query(state.question)


class DenseSearch:
    """The vector store's nearest chunks to ``state.vector``: the ``dense`` ranking and scores."""

    name = "dense_search"
    timing = "dense_search"

    def __init__(self, store: VectorStore, depth: int) -> None:
        self.store = store
        self.depth = depth  # candidates asked for (at least k)

    def run(self, state: RetrievalState) -> None:
        if state.vector is None:
            raise ValueError("dense search needs the question's vector: run EmbedQuery first")
        hits = self.store.search(state.vector, max(self.depth, state.k), state.filters)
        state.rankings[DENSE] = [h.chunk_id for h in hits]
        state.dense_scores.update({h.chunk_id: h.similarity for h in hits})


class LexicalSearch:
    """BM25's best chunks for the question's terms: the ``bm25`` ranking and scores."""

    name = "bm25"
    timing = "bm25"

    def __init__(self, bm25: LexicalIndex, depth: int) -> None:
        self.bm25 = bm25
        self.depth = depth  # candidates asked for (at least k)

    def run(self, state: RetrievalState) -> None:
        hits = self.bm25.search(state.question, max(self.depth, state.k), state.filters)
        state.rankings[LEXICAL] = [cid for cid, _ in hits]
        state.lexical_scores.update(hits)


class NamedDocumentSearch:
    """BM25 within the documents the question names ("the three shifts in the 10 Year Health
    Plan", "what the Neighbourhood health guidelines say"): the ``named_document`` ranking.

    Many documents restate a plan at second hand; a manager who names the plan wants the plan.
    Fused with the other rankings, this lifts the named document's passages without excluding
    the rest (a filter would). A document is named when the question holds the first words
    (at least ``MIN_NAME_WORDS``) of a part of its title, the parts split at ":", "–" and "(".
    """

    name = NAMED
    timing = "bm25"
    MIN_NAME_WORDS = 3

    def __init__(self, store: VectorStore, bm25: LexicalIndex, depth: int) -> None:
        self.store = store
        self.bm25 = bm25
        self.depth = depth
        # BM25's generation, kept in step with the store by the pipeline's sync: no store
        # round trip per question.
        self.catalogue = DocumentCatalogue(store, lambda: bm25.generation)

    def run(self, state: RetrievalState) -> None:
        named = named_documents(state.question, self._document_names())
        if state.filters and state.filters.doc_ids:
            named = [d for d in named if d in state.filters.doc_ids]
        if not named:
            return
        within = (state.filters or Filters()).model_copy(update={"doc_ids": named})
        hits = self.bm25.search(state.question, max(self.depth, state.k), within)
        state.rankings[NAMED] = [cid for cid, _ in hits]

    def _document_names(self) -> dict[str, list[str]]:
        return self.catalogue.derived(self._names_of)

    def _names_of(self, documents: dict[str, DocumentMeta]) -> dict[str, list[str]]:
        return {d: title_names(m.title, self.MIN_NAME_WORDS) for d, m in documents.items()}


def title_names(title: str, min_words: int = NamedDocumentSearch.MIN_NAME_WORDS) -> list[str]:
    """The names a title goes by: each part of it (split at ":", "–", "(") of at least
    ``min_words`` words, lower-cased, as word strings.

    >>> title_names("Fit for the future: 10 Year Health Plan for England – executive summary")
    ['fit for the future', '10 year health plan for england']
    """
    parts = re.split(r"[:–—(]|\s-\s", title)
    out = []
    for part in parts:
        w = _name_words(part)
        if len(w.split()) >= min_words:
            out.append(w)
    return out


def named_documents(question: str, names: dict[str, list[str]], min_words: int = 3) -> list[str]:
    """The documents whose name's first ``min_words`` words (or more) the question holds.

    >>> names = {"plan": ["10 year health plan for england"], "nh": ["neighbourhood health guidelines 2025 26"]}
    >>> named_documents("What are the three shifts in the 10 Year Health Plan?", names)
    ['plan']
    >>> named_documents("How do I run a neighbourhood health team?", names)
    []
    """
    q = f" {_name_words(question)} "
    return [
        doc
        for doc, doc_names in names.items()
        if any(f" {' '.join(n.split()[:min_words])} " in q for n in doc_names)
    ]


def _name_words(text: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


class WeightedRRF:
    """Fuses the rankings by weighted reciprocal rank fusion into ``scores`` and ``candidates``.

    ``weights`` names the rankings to fuse, in the order their terms are summed; a weight of 0
    leaves that ranking out (its search still runs and still reports its scores).
    """

    name = "fusion"
    timing = "fusion"

    def __init__(self, weights: dict[str, float], k: int) -> None:
        self.weights = dict(weights)
        self.k = k  # the RRF constant

    def with_weights(self, weights: dict[str, float]) -> WeightedRRF:
        """The same fusion with other weights (the bm25-only and dense-only baselines)."""
        return WeightedRRF(weights, self.k)

    def run(self, state: RetrievalState) -> None:
        fused = rrf(
            [(state.rankings.get(name, []), weight) for name, weight in self.weights.items()],
            self.k,
        )
        state.scores = fused
        # Ties broken by chunk id, so the ranking does not depend on dictionary order.
        state.candidates = sorted(fused, key=lambda c: (-fused[c], c))


class FetchCandidates:
    """Cuts the ranking to ``factor * k`` candidates and fetches their text, metadata and vectors.

    A few more than ``k``, so candidates dropped later (duplicates, chunks removed since BM25
    was built) can be replaced; one store round trip for all of them. With ``generation`` (the
    lexical index's, which follows the store's), the chunks fetched are kept for later questions
    (``cache_size`` of them, least recently used dropped) until the generation moves on, so only
    the candidates not seen since are fetched. Kept chunks are shared: their vectors read-only.
    """

    name = "fetch"
    timing = "fusion"

    def __init__(
        self,
        store: VectorStore,
        factor: int = CANDIDATE_FACTOR,
        generation: Callable[[], int] | None = None,
        cache_size: int = CANDIDATE_CACHE,
    ) -> None:
        self.store = store
        self.factor = factor
        self.generation = generation
        self.cache_size = cache_size if generation is not None else 0
        self._kept: OrderedDict[str, StoredChunk] = OrderedDict()
        self._kept_at: int | None = None
        self._lock = threading.Lock()

    def run(self, state: RetrievalState) -> None:
        state.candidates = state.candidates[: state.k * self.factor]
        if not self.cache_size or self.generation is None:
            fetched = self.store.get_chunks(state.candidates, with_embeddings=True)
            state.chunks = {c.chunk_id: c for c in fetched}
            return
        generation = self.generation()
        with self._lock:
            if generation != self._kept_at:
                self._kept.clear()
                self._kept_at = generation
            found = {c: self._kept[c] for c in state.candidates if c in self._kept}
            for c in found:
                self._kept.move_to_end(c)
        missing = [c for c in state.candidates if c not in found]
        fetched = self.store.get_chunks(missing, with_embeddings=True) if missing else []
        for ch in fetched:
            if ch.embedding is not None:
                ch.embedding.setflags(write=False)
            found[ch.chunk_id] = ch
        with self._lock:
            if generation == self._kept_at:
                self._kept.update((ch.chunk_id, ch) for ch in fetched)
                while len(self._kept) > self.cache_size:
                    self._kept.popitem(last=False)
        state.chunks = {c: found[c] for c in state.candidates if c in found}


class PreferPeriod:
    """Re-scores the fetched candidates by how well their document suits the question in time
    (:func:`assistant.lifecycle.preference`): each fused score times ``1 + weight x
    preference``.

    A question naming a period ("in 2026/27", "by March 2027", "next year") prefers documents
    governing it; one naming none prefers what stands as of ``state.as_of`` over superseded,
    withdrawn, historical or lapsed documents. Only the candidates already fetched are re-ordered,
    so a document is never brought in for its dates alone, and a superseded one that is all
    there is still answers (its citations carry the warning).
    """

    name = "period"
    timing = "fusion"

    def __init__(self, catalogue: DocumentCatalogue, weight: float) -> None:
        self.catalogue = catalogue  # each document's period and status
        self.weight = weight

    def run(self, state: RetrievalState) -> None:
        as_of = state.as_of or date.today()
        asked = question_periods(state.question, as_of)
        documents = self.catalogue.documents()  # read again when an admin marks one
        factor: dict[str, float] = {}
        moved = False
        for cid in state.candidates:
            ch = state.chunks.get(cid)
            meta = documents.get(ch.metadata.get("doc_id", "")) if ch is not None else None
            if ch is None or meta is None:
                continue
            doc = meta.doc_id
            if doc not in factor:
                factor[doc] = 1 + self.weight * preference(meta, asked, as_of)
            if factor[doc] > 1 and ch.metadata.get("garbled"):
                continue  # text that cannot be quoted is not lifted over text that can
            if factor[doc] != 1:
                state.scores[cid] *= factor[doc]
                moved = True
        if moved:
            state.candidates.sort(key=lambda c: (-state.scores[c], c))


class ScoreUnsearchedDense:
    """Gives a dense score to candidates dense search did not return (BM25 found them alone),
    from their stored vectors, so every result carries one for the answerer's evidence."""

    name = "dense_fill"
    timing = "fusion"

    def run(self, state: RetrievalState) -> None:
        if state.vector is None:
            return
        for cid in state.candidates:
            ch = state.chunks.get(cid)
            if cid not in state.dense_scores and ch is not None and ch.embedding is not None:
                state.dense_scores[cid] = float(ch.embedding @ state.vector)


class MaximalMarginalRelevance:
    """Re-orders the candidates for diversity (MMR over their vectors, relevance from scores)."""

    name = "mmr"
    timing = "fusion"

    def __init__(self, lam: float) -> None:
        self.lam = lam  # 1 = relevance only, 0 = diversity only

    def run(self, state: RetrievalState) -> None:
        vectors = {c: ch.embedding for c, ch in state.chunks.items() if ch.embedding is not None}
        state.candidates = mmr(
            state.candidates, state.scores, vectors, len(state.candidates), self.lam
        )


class DropNearDuplicates:
    """Keeps the first ``k`` fetched candidates whose terms do not mostly repeat a kept one.

    A PDF and its Markdown twin carry the same passage; showing both wastes a slot. Candidates
    missing from the store (removed since BM25 was built) are dropped too.
    """

    name = "dedupe"
    timing = None  # untimed: the bench counts it in retrieve_other

    def __init__(self, threshold: float = DUPLICATE_JACCARD) -> None:
        self.threshold = threshold  # Jaccard overlap of term sets that counts as the same

    def run(self, state: RetrievalState) -> None:
        kept: list[str] = []
        kept_terms: list[set[str]] = []
        for cid in state.candidates:
            ch = state.chunks.get(cid)
            if ch is None:
                continue
            words = set(terms(ch.text))
            if any(_jaccard(words, seen) >= self.threshold for seen in kept_terms):
                continue
            kept_terms.append(words)
            kept.append(cid)
            if len(kept) == state.k:
                break  # later candidates cannot change the first k
        state.candidates = kept
