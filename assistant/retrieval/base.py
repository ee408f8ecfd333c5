"""The retrieval roles: a ``Retriever`` ranks chunks for a question; a ``Stage`` is one step of it.

Surfaces and the answering service only see ``Retriever``. The project's retriever is a
pipeline (``assistant/retrieval/pipeline.py``) that runs small stages in order over one
``RetrievalState``: embed the question, search dense and BM25, fuse, fetch the candidates,
re-rank, drop duplicates. A reranker or a date filter is a new ``Stage``, put into the list by
``make_retriever``, not an edit of the others (haystack composes retriever, ranker and joiner
components the same way).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Protocol, runtime_checkable

import numpy as np

from assistant.schemas import Filters, RetrievedChunk
from assistant.store.base import StoredChunk

DENSE = "dense"  # name of the vector-store ranking in RetrievalState.rankings and fusion weights
LEXICAL = "bm25"  # name of the BM25 ranking


@runtime_checkable
class Retriever(Protocol):
    """Ranks indexed chunks for a question; what surfaces and the answering service need.

    ``retrieve`` takes a question its caller has already passed through ``validate`` (the
    answering service cleans a question once, then retrieves and answers with it).
    """

    def validate(self, question: str) -> str:
        """The question cleaned for retrieval; raises InvalidInputError when empty or too long."""
        ...

    def retrieve(
        self,
        question: str,
        k: int | None = None,
        filters: Filters | None = None,
        timings_ms: dict[str, float] | None = None,
        as_of: date | None = None,
    ) -> list[RetrievedChunk]:
        """The top ``k`` chunks, best first; stage times (ms) are added to ``timings_ms``.
        ``as_of`` is the day "this year" and "current" are read against (default: today)."""
        ...

    def sync(self, force: bool = False) -> None:
        """Catch up with changes to the index (after an ingest or a removal: ``force=True``)."""
        ...


@runtime_checkable
class LexicalIndex(Protocol):
    """Exact-term search over every indexed chunk, rebuilt from the vector store when the
    store's ``generation`` moves on (``BM25Sync``).

    The project's is BM25 in each process (``assistant/retrieval/bm25.py``, bm25s), which holds
    the chunks' text in every API worker's memory. Past one machine's memory a server-side
    engine shared by the workers (PostgreSQL full-text search, OpenSearch) can take the role:
    the retrieval stages, the sync and the answerer's "is this word in the corpus at all" use
    only what is here.
    """

    generation: int  # the store generation it was built from; -1 before any build or load

    def __len__(self) -> int: ...

    def build(self, chunks: list[StoredChunk], generation: int) -> None:
        """Index ``chunks`` (every chunk of the store at ``generation``)."""
        ...

    def load(self) -> bool:
        """Pick up a saved index; False when there is none."""
        ...

    def knows(self, word: str) -> bool:
        """Whether any indexed chunk holds ``word``."""
        ...

    def search(self, query: str, k: int, filters: Filters | None = None) -> list[tuple[str, float]]:
        """The best ``k`` (chunk id, score) pairs for the query's terms, best first."""
        ...


@dataclass
class RetrievalState:
    """What the stages of one ``retrieve`` call read and write, in the order they run.

    The final ranking is ``candidates`` (best first), scored by ``scores``; each candidate found
    in ``chunks`` becomes a ``RetrievedChunk``, ``dense_scores`` and ``lexical_scores`` giving
    its per-search scores.
    """

    question: str  # already validated by the caller
    k: int  # chunks wanted
    filters: Filters | None = None
    as_of: date | None = None  # the day "this year" and "current" mean (None: today)
    vector: np.ndarray | None = None  # the question's embedding
    rankings: dict[str, list[str]] = field(default_factory=dict)  # chunk ids per search, best first
    dense_scores: dict[str, float] = field(default_factory=dict)  # cosine similarity to vector
    lexical_scores: dict[str, float] = field(default_factory=dict)  # BM25 score
    scores: dict[str, float] = field(default_factory=dict)  # the relevance candidates rank by
    candidates: list[str] = field(default_factory=list)  # chunk ids, best first
    chunks: dict[str, StoredChunk] = field(default_factory=dict)  # fetched text, metadata, vectors


class Stage(Protocol):
    """One step of a retrieval pipeline: reads and updates the state in place.

    ``name`` identifies the stage in a pipeline; ``timing`` is the ``timings_ms`` key its time
    is added to (several stages may share one; ``None`` leaves it untimed).

    >>> class Reverse:
    ...     name, timing = "reverse", "reverse"
    ...     def run(self, state: RetrievalState) -> None:
    ...         state.candidates.reverse()
    """

    @property
    def name(self) -> str: ...

    @property
    def timing(self) -> str | None: ...

    def run(self, state: RetrievalState) -> None: ...
