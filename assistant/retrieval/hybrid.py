"""Hybrid retrieval: dense (vector store) plus BM25, fused by reciprocal rank fusion.

Dense search finds paraphrases ("set up" ~ "establish"); BM25 finds exact terms the embedder
blurs (acronyms, "2026/27", "Core20PLUS5"). RRF needs no score calibration between the two.
Optional MMR then trades a little relevance for diversity, so one long section does not fill
every slot.
"""

from __future__ import annotations

import logging
import threading
import time

import numpy as np

from assistant.config import RetrievalSettings
from assistant.embeddings.base import Embedder
from assistant.errors import EmptyIndexError
from assistant.retrieval.bm25 import BM25Index
from assistant.schemas import Filters, RetrievedChunk
from assistant.store.base import StoredChunk, VectorStore
from assistant.text import clean_question, terms

logger = logging.getLogger(__name__)

FRESHNESS_CHECK_S = 1.0  # how often to ask the store whether BM25 is behind
CANDIDATE_FACTOR = 3  # fused candidates fetched per requested chunk, to replace duplicates
DUPLICATE_JACCARD = 0.8  # term-set overlap above which two chunks count as the same passage


def _jaccard(a: set[str], b: set[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


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


class HybridRetriever:
    """Ranks chunks for a question.

    >>> retriever = HybridRetriever(embedder, store, BM25Index(path), RetrievalSettings())  # doctest: +SKIP
    >>> [c.title for c in retriever.retrieve("How do I set up a neighbourhood team?", k=3)]  # doctest: +SKIP
    """

    def __init__(
        self,
        embedder: Embedder,
        store: VectorStore,
        bm25: BM25Index,
        settings: RetrievalSettings,
        max_question_chars: int = 2000,
    ) -> None:
        self.embedder = embedder
        self.store = store
        self.bm25 = bm25
        self.settings = settings
        self.max_question_chars = max_question_chars
        self._checked_at = 0.0
        self._sync_lock = threading.Lock()
        if bm25.generation < 0 and not bm25.load():
            logger.info("BM25 index missing; it will be built from the store on first use")

    def sync(self, force: bool = False) -> None:
        """Rebuild BM25 from the store if the store changed since it was built."""
        now = time.monotonic()
        if not force and now - self._checked_at < FRESHNESS_CHECK_S:
            return
        with self._sync_lock:
            self._checked_at = now
            generation = self.store.generation()
            if force or generation != self.bm25.generation:
                self.bm25.build(self.store.all_chunks(), generation)

    def validate(self, question: str) -> str:
        return clean_question(question, self.max_question_chars)

    def retrieve(
        self,
        question: str,
        k: int | None = None,
        filters: Filters | None = None,
        timings_ms: dict[str, float] | None = None,
    ) -> list[RetrievedChunk]:
        """The top ``k`` chunks for ``question``, best first, with dense and BM25 scores."""
        q = self.validate(question)
        s = self.settings
        k = k or s.top_k
        timings = timings_ms if timings_ms is not None else {}
        self.sync()
        if len(self.bm25) == 0:
            raise EmptyIndexError()

        t0 = time.perf_counter()
        qvec = self.embedder.embed_query(q)
        t1 = time.perf_counter()
        dense = self.store.search(qvec, max(s.dense_k, k), filters)
        t2 = time.perf_counter()
        lexical = self.bm25.search(q, max(s.bm25_k, k), filters)
        t3 = time.perf_counter()

        dense_sim = {h.chunk_id: h.similarity for h in dense}
        bm25_score = dict(lexical)
        fused = rrf(
            [
                ([h.chunk_id for h in dense], s.dense_weight),
                ([c for c, _ in lexical], s.bm25_weight),
            ],
            s.rrf_k,
        )
        ranked = sorted(fused, key=lambda c: (-fused[c], c))
        # Fetch a few more than k: near-duplicates (a PDF and its Markdown twin) are skipped.
        candidates = ranked[: k * CANDIDATE_FACTOR]
        chunks = self._fetch(candidates, with_vectors=True)
        for cid in candidates:
            ch = chunks.get(cid)
            if cid not in dense_sim and ch is not None and ch.embedding is not None:
                dense_sim[cid] = float(ch.embedding @ qvec)
        if s.mmr:
            vectors = {c: ch.embedding for c, ch in chunks.items() if ch.embedding is not None}
            candidates = mmr(candidates, fused, vectors, len(candidates), s.mmr_lambda)
        t4 = time.perf_counter()

        out: list[RetrievedChunk] = []
        kept_terms: list[set[str]] = []
        for cid in candidates:
            ch = chunks.get(cid)
            if ch is None:
                continue  # removed since the BM25 index was built
            words = set(terms(ch.text))
            if any(_jaccard(words, seen) >= DUPLICATE_JACCARD for seen in kept_terms):
                continue
            kept_terms.append(words)
            out.append(
                self._to_retrieved(
                    ch, len(out) + 1, fused[cid], dense_sim.get(cid), bm25_score.get(cid)
                )
            )
            if len(out) == k:
                break
        timings.update(
            {
                "embed_query": (t1 - t0) * 1000,
                "dense_search": (t2 - t1) * 1000,
                "bm25": (t3 - t2) * 1000,
                "fusion": (t4 - t3) * 1000,
            }
        )
        return out

    def _fetch(self, chunk_ids: list[str], with_vectors: bool) -> dict[str, StoredChunk]:
        # One store round trip for text, metadata and vectors of the few chunks we return.
        return {
            c.chunk_id: c for c in self.store.get_chunks(chunk_ids, with_embeddings=with_vectors)
        }

    @staticmethod
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
        )
