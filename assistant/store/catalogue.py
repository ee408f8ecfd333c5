"""What the index says of each document, read once per index generation.

Several steps need every document's record on every question: which titles a question names,
which period each document governs, which document replaces which. Reading them from the store
each time would cost a round trip per question; the catalogue reads them again only when the
index generation moves on (an ingest, a removal, an admin's mark).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from assistant.schemas import DocumentMeta
from assistant.store.base import VectorStore

T = TypeVar("T")


class DocumentCatalogue:
    """Every indexed document's metadata by id, cached per index generation.

    ``generation`` says which generation the caller has seen: BM25's (kept in step with the
    store by the retriever's sync, so no store call per question), or the store's own.
    """

    def __init__(self, store: VectorStore, generation: Callable[[], int] | None = None) -> None:
        self.store = store
        self.generation = generation or store.generation
        self._lock = threading.Lock()  # API workers share one catalogue
        self._cached: tuple[int, dict[str, DocumentMeta]] = (-1, {})
        self._derived: dict[Callable[..., Any], tuple[int, Any]] = {}

    def _snapshot(self) -> tuple[int, dict[str, DocumentMeta]]:
        generation = self.generation()
        with self._lock:
            if self._cached[0] != generation:
                docs = {r.meta.doc_id: r.meta for r in self.store.list_documents()}
                self._cached = (generation, docs)
            return self._cached

    def documents(self) -> dict[str, DocumentMeta]:
        return self._snapshot()[1]

    def derived(self, compute: Callable[[dict[str, DocumentMeta]], T]) -> T:
        """``compute(documents)``, worked out again only when the documents were read again."""
        generation, documents = self._snapshot()
        with self._lock:
            seen = self._derived.get(compute)
        if seen is None or seen[0] != generation:
            seen = (generation, compute(documents))
            with self._lock:
                self._derived[compute] = seen
        return seen[1]
