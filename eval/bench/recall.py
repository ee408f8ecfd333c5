"""HNSW recall@k: the vector index's top k against exact (brute-force numpy) search."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from assistant.store.base import StoredChunk, VectorStore

RECALL_K = 10
FETCH_BATCH = 500  # chunks read from the store per call

Search = Callable[[np.ndarray, int], list[str]]


def exact_top_k(matrix: np.ndarray, ids: Sequence[str], query: np.ndarray, k: int) -> list[str]:
    """The ``k`` ids whose rows have the highest cosine similarity (rows are unit length)."""
    k = min(k, len(ids))
    sims = matrix @ query
    top = np.argpartition(-sims, k - 1)[:k]
    return [ids[int(i)] for i in top[np.argsort(-sims[top], kind="stable")]]


def recall_at_k(
    matrix: np.ndarray, ids: Sequence[str], queries: np.ndarray, search: Search, k: int = RECALL_K
) -> dict[str, float]:
    """Mean and worst share of the exact top ``k`` that ``search`` also returns."""
    scores = []
    for query in queries:
        exact = set(exact_top_k(matrix, ids, query, k))
        found = set(search(query, k))
        scores.append(len(exact & found) / len(exact) if exact else 1.0)
    return {
        "recall": float(np.mean(scores)) if scores else 0.0,
        "worst": float(np.min(scores)) if scores else 0.0,
        "queries": float(len(scores)),
        "k": float(k),
    }


def stored_vectors(store: VectorStore) -> tuple[list[str], np.ndarray, list[StoredChunk]]:
    """Every chunk of the store with its vector: (ids, matrix of rows, chunks)."""
    ids = sorted(store.chunk_ids())
    chunks: list[StoredChunk] = []
    for start in range(0, len(ids), FETCH_BATCH):
        chunks.extend(store.get_chunks(ids[start : start + FETCH_BATCH], with_embeddings=True))
    matrix = np.vstack([c.embedding for c in chunks]).astype(np.float32)  # type: ignore[misc]
    return [c.chunk_id for c in chunks], matrix, chunks
