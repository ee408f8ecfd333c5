"""Chroma as the vector store: embedded on disk (PersistentClient) or a `chroma run` server.

Two collections: ``<name>`` holds chunks (text, metadata, vector; cosine space) and
``<name>-documents`` holds one record per indexed document, the generation counter, and a
lease for each document being written. The chunk
collection's metadata records the embedding model and dimension; opening it with another model
is refused, because vectors from two models cannot be compared.

A server is a dependency that comes and goes, so in server mode nothing here assumes it is up:
the connection is made on first use (the API starts while Chroma is still starting, and says
so in /readyz), every call has a time limit (a hung server is a 503, not a hung request), and a
collection that vanished (a server restarted without its data) is opened afresh on the next
call. Each failure is a :class:`BackendUnavailableError` naming the server.
"""

from __future__ import annotations

import functools
import json
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from assistant.errors import BackendUnavailableError, IndexMismatchError
from assistant.schemas import DocumentMeta, Filters
from assistant.store.base import DenseHit, DocumentRecord, StoredChunk

logger = logging.getLogger(__name__)

STATE_ID = "__state__"
LEASE_PREFIX = "__lease__:"  # doc ids are slugs of [a-z0-9.-], so never clash with these
WRITE_BATCH = 1000
SERVER_TIMEOUT_S = 15.0  # longest wait for one answer from a Chroma server (none by default)
SERVER_CONNECT_TIMEOUT_S = 3.0
HEARTBEAT_PATH = "/api/v2/heartbeat"
T = TypeVar("T")


def _unavailable(exc: Exception) -> bool:
    """Whether an exception from the Chroma client means the server cannot be reached."""
    import httpx

    if isinstance(
        exc, httpx.TransportError | httpx.HTTPStatusError | ConnectionError | TimeoutError
    ):
        return True  # HTTPStatusError: the heartbeat answered, but not with 200
    text = str(exc).lower()
    return any(s in text for s in ("could not connect", "connection refused", "connect error"))


def _collection_gone(exc: Exception) -> bool:
    """Whether the server no longer has a collection this store had opened."""
    from chromadb.errors import NotFoundError

    return isinstance(exc, NotFoundError) and "collection" in str(exc).lower()


def _guard(fn: Callable[..., T]) -> Callable[..., T]:
    """Open the collections if need be, and turn "the server is not there" into a 503."""

    @functools.wraps(fn)
    def wrapper(self: ChromaStore, *args: Any, **kwargs: Any) -> T:
        try:
            self._ensure_open()
            return fn(self, *args, **kwargs)
        except (IndexMismatchError, BackendUnavailableError):
            raise
        except Exception as exc:
            if _unavailable(exc):
                raise BackendUnavailableError(self._unreachable(exc)) from exc
            if self._server and _collection_gone(exc):
                # Not retried here: a write half done in the old collection must not carry on
                # in a new one. The next call opens the collection again.
                self._forget_collections()
                raise BackendUnavailableError(
                    f"the Chroma server at {self.location} no longer has the collection "
                    f"{self._collection_name!r} (restarted without its data?); it is opened "
                    "afresh on the next request"
                ) from exc
            raise

    return wrapper


def chroma_where(filters: Filters | None) -> dict[str, Any] | None:
    """Translate Filters into a Chroma ``where`` clause."""
    if filters is None or filters.is_empty():
        return None
    clauses: list[dict[str, Any]] = []
    if filters.doc_ids:
        clauses.append({"doc_id": {"$in": list(filters.doc_ids)}})
    if filters.publishers:
        clauses.append({"publisher": {"$in": list(filters.publishers)}})
    if filters.themes:
        themes = [{"themes": {"$contains": t}} for t in filters.themes]
        clauses.append(themes[0] if len(themes) == 1 else {"$or": themes})
    return clauses[0] if len(clauses) == 1 else {"$and": clauses}


class ChromaStore:
    """The production store. ``path`` for embedded mode, or ``host``/``port`` for a server.

    >>> store = ChromaStore("all-MiniLM-L6-v2", 384, host="127.0.0.1", port=8000)  # doctest: +SKIP
    >>> store.ping()  # BackendUnavailableError while the server is down          # doctest: +SKIP
    """

    def __init__(
        self,
        model_name: str,
        dimension: int,
        collection: str = "nhs-assistant",
        path: Path | None = None,
        host: str | None = None,
        port: int = 8000,
        ssl: bool = False,
        ef_search: int = 100,
        timeout_s: float = SERVER_TIMEOUT_S,
    ) -> None:
        import chromadb

        self.model_name = model_name
        self.dimension = dimension
        self._collection_name = collection
        self._ef_search = ef_search
        self._server = bool(host)
        self._timeout_s = timeout_s
        self._client: Any = None
        self._chunks_col: Any = None
        self._docs_col: Any = None
        self._open_lock = threading.Lock()
        settings = chromadb.Settings(anonymized_telemetry=False, allow_reset=False)
        if host:
            self.location = f"{host}:{port}"
            self._connect: Callable[[], Any] = lambda: _http_client(
                host, port, ssl, settings, timeout_s
            )
        else:
            if path is None:
                raise ValueError("ChromaStore needs a path (embedded) or a host (server)")
            path.mkdir(parents=True, exist_ok=True)
            self.location = str(path)
            self._connect = lambda: chromadb.PersistentClient(path=str(path), settings=settings)
        try:
            self._ensure_open()
        except BackendUnavailableError as exc:
            if not self._server:
                raise
            logger.warning("%s; the API starts anyway and connects on the first request", exc)

    def _ensure_open(self) -> None:
        """Connect and open both collections, unless that is done already."""
        if self._docs_col is not None:
            return
        with self._open_lock:
            if self._docs_col is not None:
                return
            try:
                self._open()
            except (IndexMismatchError, BackendUnavailableError):
                raise
            except Exception as exc:
                if _unavailable(exc):
                    raise BackendUnavailableError(self._unreachable(exc)) from exc
                raise

    def _unreachable(self, exc: Exception) -> str:
        """One line for a client: which server, and whether it refused or did not answer."""
        import httpx

        if isinstance(exc, httpx.TimeoutException | TimeoutError):
            return (
                f"the Chroma server at {self.location} did not answer within {self._timeout_s:g} s"
            )
        return f"the Chroma server at {self.location} cannot be reached: {exc.__class__.__name__}"

    def _open(self) -> None:
        if self._client is None:
            self._client = self._connect()
        chunks_col = self._client.get_or_create_collection(
            self._collection_name,
            configuration={"hnsw": {"space": "cosine", "ef_search": self._ef_search}},
            metadata={"embedding_model": self.model_name, "dimension": self.dimension},
            embedding_function=None,
        )
        found = chunks_col.metadata or {}
        if (found.get("embedding_model"), found.get("dimension")) != (
            self.model_name,
            self.dimension,
        ):
            raise IndexMismatchError(
                f"the index at {self.location} was built with embedding model "
                f"{found.get('embedding_model')!r} (dimension {found.get('dimension')}), but the "
                f"settings use {self.model_name!r} (dimension {self.dimension}); use the same "
                "model, or build a new index in another --data-dir"
            )
        docs_col = self._client.get_or_create_collection(
            f"{self._collection_name}-documents", embedding_function=None
        )
        self._chunks_col, self._docs_col = chunks_col, docs_col
        if self._server:
            logger.info("opened collection %r on the Chroma server at %s", self._collection_name,
                        self.location)  # fmt: skip

    def _forget_collections(self) -> None:
        with self._open_lock:
            self._chunks_col = self._docs_col = None

    def close(self) -> None:
        """Release the client (embedded: the SQLite file and the in-memory index), so another
        process may open the same folder; a later call opens it again."""
        with self._open_lock:
            client, self._client = self._client, None
            self._chunks_col = self._docs_col = None
        if client is not None and hasattr(client, "close"):
            client.close()

    # -- chunks ---------------------------------------------------------------------------

    @_guard
    def upsert_chunks(self, chunks: list[StoredChunk]) -> None:
        for start in range(0, len(chunks), WRITE_BATCH):
            batch = chunks[start : start + WRITE_BATCH]
            self._chunks_col.upsert(
                ids=[c.chunk_id for c in batch],
                embeddings=np.vstack([c.embedding for c in batch]).astype(np.float32),  # type: ignore[misc]
                documents=[c.text for c in batch],
                metadatas=[c.metadata for c in batch],
            )

    @_guard
    def delete_chunks(self, chunk_ids: list[str]) -> None:
        for start in range(0, len(chunk_ids), WRITE_BATCH):
            self._chunks_col.delete(ids=list(chunk_ids[start : start + WRITE_BATCH]))

    @_guard
    def chunk_ids(self, doc_id: str | None = None) -> set[str]:
        where = {"doc_id": doc_id} if doc_id is not None else None
        ids: set[str] = set()
        offset = 0
        while True:
            got = self._chunks_col.get(
                where=where, include=[], limit=WRITE_BATCH * 5, offset=offset
            )
            ids.update(got["ids"])
            if len(got["ids"]) < WRITE_BATCH * 5:
                return ids
            offset += len(got["ids"])

    @_guard
    def get_chunks(self, chunk_ids: list[str], with_embeddings: bool = False) -> list[StoredChunk]:
        if not chunk_ids:
            return []
        include = ["documents", "metadatas"] + (["embeddings"] if with_embeddings else [])
        got = self._chunks_col.get(ids=list(chunk_ids), include=include)
        by_id = {}
        for i, cid in enumerate(got["ids"]):
            emb = np.asarray(got["embeddings"][i], dtype=np.float32) if with_embeddings else None
            by_id[cid] = StoredChunk(cid, got["documents"][i], dict(got["metadatas"][i]), emb)
        return [by_id[c] for c in chunk_ids if c in by_id]

    @_guard
    def all_chunks(self, batch_size: int = 5000) -> list[StoredChunk]:
        out: list[StoredChunk] = []
        offset = 0
        while True:
            got = self._chunks_col.get(
                include=["documents", "metadatas"], limit=batch_size, offset=offset
            )
            out.extend(
                StoredChunk(cid, got["documents"][i], dict(got["metadatas"][i]))
                for i, cid in enumerate(got["ids"])
            )
            if len(got["ids"]) < batch_size:
                return out
            offset += batch_size

    @_guard
    def count(self) -> int:
        return int(self._chunks_col.count())

    @_guard
    def search(self, vector: np.ndarray, k: int, filters: Filters | None = None) -> list[DenseHit]:
        res = self._chunks_col.query(
            query_embeddings=[np.asarray(vector, dtype=np.float32)],
            n_results=k,
            where=chroma_where(filters),
            include=["distances"],
        )
        ids, dists = res["ids"][0], res["distances"][0]
        return [DenseHit(cid, 1.0 - float(d)) for cid, d in zip(ids, dists, strict=True)]

    # -- document records -----------------------------------------------------------------

    @_guard
    def put_document(self, record: DocumentRecord) -> None:
        self._docs_col.upsert(
            ids=[record.meta.doc_id],
            embeddings=[[1.0]],
            documents=[record.meta.model_dump_json()],
            metadatas=[
                {
                    "kind": "document",
                    "chunk_ids": json.dumps(record.chunk_ids),
                    "source_path": record.source_path,
                    "indexed_at": record.indexed_at,
                    "extra": json.dumps(record.extra),
                }
            ],
        )

    @staticmethod
    def _record(doc_json: str, md: dict[str, Any]) -> DocumentRecord:
        return DocumentRecord(
            meta=DocumentMeta.model_validate_json(doc_json),
            chunk_ids=json.loads(md["chunk_ids"]),
            source_path=md.get("source_path", ""),
            indexed_at=md.get("indexed_at", ""),
            extra=json.loads(md.get("extra") or "{}"),
        )

    @_guard
    def get_document(self, doc_id: str) -> DocumentRecord | None:
        got = self._docs_col.get(ids=[doc_id], include=["documents", "metadatas"])
        if not got["ids"] or doc_id == STATE_ID:
            return None
        return self._record(got["documents"][0], got["metadatas"][0])

    @_guard
    def list_documents(self) -> list[DocumentRecord]:
        got = self._docs_col.get(where={"kind": "document"}, include=["documents", "metadatas"])
        recs = [self._record(d, m) for d, m in zip(got["documents"], got["metadatas"], strict=True)]
        return sorted(recs, key=lambda r: r.meta.doc_id)

    @_guard
    def delete_document(self, doc_id: str) -> None:
        self._docs_col.delete(ids=[doc_id])

    @_guard
    def generation(self) -> int:
        got = self._docs_col.get(ids=[STATE_ID], include=["metadatas"])
        return int(got["metadatas"][0]["generation"]) if got["ids"] else 0

    @_guard
    def bump_generation(self) -> int:
        gen = self.generation() + 1
        self._docs_col.upsert(
            ids=[STATE_ID],
            embeddings=[[1.0]],
            documents=["state"],
            metadatas=[{"kind": "state", "generation": gen}],
        )
        return gen

    @_guard
    def ping(self) -> None:
        self._client.heartbeat()

    # -- leases ---------------------------------------------------------------------------

    @_guard
    def put_lease(self, doc_id: str, until: float) -> None:
        self._docs_col.upsert(
            ids=[LEASE_PREFIX + doc_id],
            embeddings=[[1.0]],
            documents=["lease"],
            metadatas=[{"kind": "lease", "doc_id": doc_id, "until": float(until)}],
        )

    @_guard
    def leases(self) -> dict[str, float]:
        got = self._docs_col.get(where={"kind": "lease"}, include=["metadatas"])
        return {str(md["doc_id"]): float(md["until"]) for md in got["metadatas"]}

    @_guard
    def delete_lease(self, doc_id: str) -> None:
        self._docs_col.delete(ids=[LEASE_PREFIX + doc_id])


def _http_client(host: str, port: int, ssl: bool, settings: Any, timeout_s: float) -> Any:
    """A Chroma HttpClient whose requests give up after ``timeout_s``.

    The client has no time limit of its own, so a server that stops answering would hang every
    request for ever; and its constructor already talks to the server, so a heartbeat with a
    time limit goes first.
    """
    import chromadb
    import httpx

    timeout = httpx.Timeout(timeout_s, connect=min(timeout_s, SERVER_CONNECT_TIMEOUT_S))
    scheme = "https" if ssl else "http"
    httpx.get(f"{scheme}://{host}:{port}{HEARTBEAT_PATH}", timeout=timeout).raise_for_status()
    client = chromadb.HttpClient(host=host, port=port, ssl=ssl, settings=settings)
    session = getattr(getattr(client, "_server", None), "_session", None)
    if isinstance(session, httpx.Client):
        session.timeout = timeout
    else:  # a chromadb release that keeps its HTTP session elsewhere
        logger.warning("cannot set a time limit on Chroma requests (chromadb changed)")
    return client
