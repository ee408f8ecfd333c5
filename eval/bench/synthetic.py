"""Synthetic chunks for the scale test, recombined from the real corpus.

Embedding 200,000 passages with MiniLM would take hours on two cores, so larger indexes are
derived instead. Synthetic chunk ``i`` takes a run of sentences from each of ``PARENTS`` real
chunks chosen at random, and its vector is the normalised weighted mixture of those chunks'
vectors (weights drawn from a Dirichlet distribution, the heaviest parent first). It keeps the
first parent's metadata (document, title, section), so filters and BM25's title field behave as
on real data. Each chunk depends only on ``(seed, i)``: the same seed gives the same index.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from assistant.store.base import StoredChunk
from assistant.text.sentences import split_sentences

PARENTS = 3  # real chunks recombined into each synthetic one
DIRICHLET_ALPHA = (4.0, 2.0, 1.0)  # mixture weights: one dominant parent, two minor ones
SENTENCE_SHARE = 1 / PARENTS  # share of each parent's sentences taken, so lengths stay similar
SYNTHETIC_PREFIX = "syn"


def sentence_run(sentences: Sequence[str], rng: np.random.Generator) -> list[str]:
    """A contiguous run of about ``SENTENCE_SHARE`` of the sentences, at a random start."""
    if not sentences:
        return []
    length = max(1, round(len(sentences) * SENTENCE_SHARE))
    start = int(rng.integers(0, len(sentences) - length + 1))
    return list(sentences[start : start + length])


def mixture(vectors: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The unit-length weighted sum of ``vectors`` (rows), as float32."""
    mixed = weights @ vectors
    norm = float(np.linalg.norm(mixed))
    return (mixed / norm if norm > 0 else mixed).astype(np.float32)


def synthetic_chunk(
    index: int, seed: int, sources: Sequence[StoredChunk], sentences: Sequence[list[str]]
) -> StoredChunk:
    """Synthetic chunk number ``index``: recombined sentences and a mixed vector."""
    rng = np.random.default_rng([seed, index])
    parents = rng.choice(len(sources), size=min(PARENTS, len(sources)), replace=False)
    weights = np.sort(rng.dirichlet(DIRICHLET_ALPHA[: len(parents)]))[::-1]
    text = " ".join(s for p in parents for s in sentence_run(sentences[int(p)], rng))
    vectors = np.vstack([sources[int(p)].embedding for p in parents])  # type: ignore[misc]
    metadata = {**sources[int(parents[0])].metadata, "ordinal": index}
    chunk_id = f"{SYNTHETIC_PREFIX}:{seed}:{index:07d}"
    return StoredChunk(
        chunk_id, text or sources[int(parents[0])].text, metadata, mixture(vectors, weights)
    )


def synthetic_chunks(
    sources: Sequence[StoredChunk], count: int, seed: int, start: int = 0
) -> Iterator[StoredChunk]:
    """Synthetic chunks ``start .. start+count-1`` made from ``sources`` (which need vectors)."""
    if not sources or any(s.embedding is None for s in sources):
        raise ValueError("synthetic chunks need real chunks with their vectors")
    sentences = [split_sentences(s.text) for s in sources]
    for index in range(start, start + count):
        yield synthetic_chunk(index, seed, sources, sentences)


def index_plan(real: int, size: int) -> tuple[int, int]:
    """(real chunks kept, synthetic chunks added) for an index of ``size`` chunks."""
    kept = min(real, size)
    return kept, size - kept
