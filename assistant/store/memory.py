"""An in-memory store with exact search: the fake for tests, and the exact-search reference."""

from __future__ import annotations

import copy

import numpy as np

from assistant.schemas import Filters
from assistant.store.base import DenseHit, DocumentRecord, StoredChunk, matches


class InMemoryStore:
    """Brute-force cosine search over a dict; same behaviour as the Chroma store."""

    def __init__(self, model_name: str, dimension: int) -> None:
        self.model_name = model_name
        self.dimension = dimension
        self._chunks: dict[str, StoredChunk] = {}
        self._docs: dict[str, DocumentRecord] = {}
        self._leases: dict[str, float] = {}
        self._generation = 0

    def upsert_chunks(self, chunks: list[StoredChunk]) -> None:
        for c in chunks:
            if c.embedding is None or len(c.embedding) != self.dimension:
                raise ValueError(f"chunk {c.chunk_id} needs a {self.dimension}-d embedding")
            self._chunks[c.chunk_id] = copy.deepcopy(c)

    def delete_chunks(self, chunk_ids: list[str]) -> None:
        for cid in chunk_ids:
            self._chunks.pop(cid, None)

    def chunk_ids(self, doc_id: str | None = None) -> set[str]:
        return {
            cid
            for cid, c in self._chunks.items()
            if doc_id is None or c.metadata.get("doc_id") == doc_id
        }

    def get_chunks(self, chunk_ids: list[str], with_embeddings: bool = False) -> list[StoredChunk]:
        out = []
        for cid in chunk_ids:
            c = self._chunks.get(cid)
            if c is not None:
                out.append(
                    StoredChunk(
                        c.chunk_id,
                        c.text,
                        dict(c.metadata),
                        c.embedding if with_embeddings else None,
                    )
                )
        return out

    def all_chunks(self, batch_size: int = 5000) -> list[StoredChunk]:
        return self.get_chunks(sorted(self._chunks))

    def count(self) -> int:
        return len(self._chunks)

    def search(self, vector: np.ndarray, k: int, filters: Filters | None = None) -> list[DenseHit]:
        ids = [cid for cid, c in self._chunks.items() if matches(c.metadata, filters)]
        if not ids:
            return []
        matrix = np.vstack([self._chunks[cid].embedding for cid in ids])  # type: ignore[misc]
        sims = matrix @ np.asarray(vector, dtype=np.float32)
        top = np.argsort(-sims, kind="stable")[:k]
        return [DenseHit(ids[i], float(sims[i])) for i in top]

    def put_document(self, record: DocumentRecord) -> None:
        self._docs[record.meta.doc_id] = copy.deepcopy(record)

    def get_document(self, doc_id: str) -> DocumentRecord | None:
        rec = self._docs.get(doc_id)
        return copy.deepcopy(rec) if rec else None

    def list_documents(self) -> list[DocumentRecord]:
        return [copy.deepcopy(self._docs[d]) for d in sorted(self._docs)]

    def delete_document(self, doc_id: str) -> None:
        self._docs.pop(doc_id, None)

    def generation(self) -> int:
        return self._generation

    def bump_generation(self) -> int:
        self._generation += 1
        return self._generation

    def ping(self) -> None:
        return None

    def put_lease(self, doc_id: str, until: float) -> None:
        self._leases[doc_id] = until

    def leases(self) -> dict[str, float]:
        return dict(self._leases)

    def delete_lease(self, doc_id: str) -> None:
        self._leases.pop(doc_id, None)
