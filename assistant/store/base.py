"""The vector store role: chunks with vectors, plus the record of which documents are indexed.

The store is the single source of truth. Chunks (text, metadata, vector) and document records
(content hash, chunk ids) both live in it, so several API processes sharing one `chroma run`
server see the same index, and the local BM25 index can always be rebuilt from it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from assistant.schemas import DocumentMeta, Filters


@dataclass
class StoredChunk:
    chunk_id: str
    text: str
    metadata: dict[str, Any]
    embedding: np.ndarray | None = None


@dataclass
class DocumentRecord:
    """What was indexed for one file: enough to skip it, replace it or remove it."""

    meta: DocumentMeta
    chunk_ids: list[str]
    source_path: str
    indexed_at: str = ""
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass
class DenseHit:
    chunk_id: str
    similarity: float  # cosine similarity in [-1, 1]


@runtime_checkable
class VectorStore(Protocol):
    """Chunks with vectors and metadata, searchable by vector with metadata filters."""

    model_name: str
    dimension: int

    def upsert_chunks(self, chunks: list[StoredChunk]) -> None: ...

    def delete_chunks(self, chunk_ids: list[str]) -> None: ...

    def chunk_ids(self, doc_id: str | None = None) -> set[str]: ...

    def get_chunks(
        self, chunk_ids: list[str], with_embeddings: bool = False
    ) -> list[StoredChunk]: ...

    def all_chunks(self, batch_size: int = 5000) -> list[StoredChunk]: ...

    def count(self) -> int: ...

    def search(
        self, vector: np.ndarray, k: int, filters: Filters | None = None
    ) -> list[DenseHit]: ...

    def put_document(self, record: DocumentRecord) -> None: ...

    def get_document(self, doc_id: str) -> DocumentRecord | None: ...

    def list_documents(self) -> list[DocumentRecord]: ...

    def delete_document(self, doc_id: str) -> None: ...

    def generation(self) -> int:
        """A counter bumped by every change, so caches (BM25) know when to rebuild."""
        ...

    def bump_generation(self) -> int: ...

    def ping(self) -> None:
        """Raise BackendUnavailableError when the store cannot be reached."""
        ...

    def put_lease(self, doc_id: str, until: float) -> None:
        """Mark ``doc_id`` as being written until ``until`` (epoch seconds): its chunks that no
        record lists yet are work in progress, which a sweep in another process leaves alone."""
        ...

    def leases(self) -> dict[str, float]:
        """Documents being written, with the time each lease runs out (expired ones too)."""
        ...

    def delete_lease(self, doc_id: str) -> None: ...


def chunk_metadata(meta: DocumentMeta, chunk: Any) -> dict[str, Any]:
    """Flat metadata stored with a chunk (Chroma takes no None values)."""
    md: dict[str, Any] = {
        "doc_id": meta.doc_id,
        "title": meta.title,
        "file_name": meta.file_name,
        "ordinal": chunk.ordinal,
        "section": chunk.section,
    }
    optional = {
        "publisher": meta.publisher,
        "source_url": meta.source_url,
        "page_start": chunk.page_start,
        "page_end": chunk.page_end,
    }
    md.update({k: v for k, v in optional.items() if v is not None})
    if meta.themes:
        md["themes"] = list(meta.themes)
    kind = getattr(chunk, "kind", "text")
    if kind != "text":  # absent means prose: the metadata of prose chunks stays as it was
        md["kind"] = kind
    breaks = getattr(chunk, "page_breaks", None)
    if breaks:  # absent means one page (or none)
        md["page_breaks"] = encode_spans(breaks)
    sections = getattr(chunk, "section_breaks", None)
    if sections:  # absent means the whole text stands under ``section``
        md["section_breaks"] = json.dumps([[a, path] for a, path in sections])
    spans = getattr(chunk, "garbled_spans", None)
    if spans:  # absent means clean: the metadata of clean chunks stays as it was
        md["garbled"] = bool(getattr(chunk, "garbled", False))
        md["garbled_spans"] = encode_spans(spans)
    return md


def decode_section_breaks(value: object) -> list[tuple[int, str]]:
    """The (offset, heading path) pairs :func:`chunk_metadata` wrote; [] for anything else."""
    if not isinstance(value, str) or not value:
        return []
    try:
        pairs = json.loads(value)
    except ValueError:
        return []
    out = []
    for pair in pairs if isinstance(pairs, list) else []:
        if isinstance(pair, list) and len(pair) == 2:
            offset, path = pair
            if isinstance(offset, int) and isinstance(path, str):
                out.append((offset, path))
    return out


def encode_spans(spans: list[tuple[int, int]]) -> str:
    """Character spans as metadata a store takes (scalars only): "0-120,300-480"."""
    return ",".join(f"{a}-{b}" for a, b in spans)


def decode_spans(value: object) -> list[tuple[int, int]]:
    """The spans :func:`encode_spans` wrote; [] for anything else."""
    if not isinstance(value, str) or not value:
        return []
    out = []
    for part in value.split(","):
        a, _, b = part.partition("-")
        if a.isdigit() and b.isdigit():
            out.append((int(a), int(b)))
    return out


def matches(metadata: dict[str, Any], filters: Filters | None) -> bool:
    """Whether chunk metadata passes the filters (used by the fake store and BM25)."""
    if filters is None or filters.is_empty():
        return True
    if filters.doc_ids and metadata.get("doc_id") not in filters.doc_ids:
        return False
    if filters.publishers and metadata.get("publisher") not in filters.publishers:
        return False
    return not (filters.themes and not set(filters.themes) & set(metadata.get("themes") or []))
