"""What the index says of each document, read once per index generation.

Several steps need every document's record on every question: which titles a question names,
which period each document governs, which document replaces which. Reading them from the store
each time would cost a round trip per question; the catalogue reads them again only when the
index generation moves on (an ingest, a removal, an admin's mark).
"""

from __future__ import annotations

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
        self._cached: tuple[int, dict[str, DocumentMeta]] = (-1, {})
        self._derived: dict[Callable[..., Any], tuple[int, Any]] = {}

    def documents(self) -> dict[str, DocumentMeta]:
        generation = self.generation()
        if self._cached[0] != generation:
            docs = {r.meta.doc_id: r.meta for r in self.store.list_documents()}
            self._cached = (generation, docs)
        return self._cached[1]

    def derived(self, compute: Callable[[dict[str, DocumentMeta]], T]) -> T:
        """``compute(documents)``, worked out again only when the documents were read again."""
        documents = self.documents()
        seen = self._derived.get(compute)
        if seen is None or seen[0] != self._cached[0]:
            seen = (self._cached[0], compute(documents))
            self._derived[compute] = seen
        return seen[1]
