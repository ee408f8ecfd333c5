"""BM25 over the indexed chunks (bm25s), persisted beside the vector index and kept in step.

The store is the source of truth. The BM25 folder records the store's generation it was built
from; when the store has moved on (an ingest, a removal, another process), the index is rebuilt
from the store's chunks. A rebuild writes a new folder and renames it into place, so a reader
never sees half an index.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from assistant.retrieval.base import LexicalIndex
from assistant.schemas import Filters
from assistant.store.base import StoredChunk, VectorStore, matches
from assistant.text import terms

logger = logging.getLogger(__name__)

STATE_FILE = "state.json"
CHUNKS_FILE = "chunks.jsonl"
# Filter masks kept (one float32 per chunk each): filters come from requests, so without a bound
# every new combination a client sends would stay in memory for good.
MASK_CACHE_SIZE = 64
FRESHNESS_CHECK_S = 1.0  # how often to ask the store whether BM25 is behind


def index_text(chunk: StoredChunk) -> str:
    """What BM25 matches: the passage plus where it sits (section path and document title),
    so "what does the planning framework say about…" finds the framework's passages."""
    md = chunk.metadata
    return f"{chunk.text} {md.get('section', '')} {md.get('title', '')}"


class BM25Index:
    """Lexical search with the same chunk ids as the vector store.

    >>> idx = BM25Index(folder)                            # doctest: +SKIP
    >>> idx.build(store.all_chunks(), store.generation())  # doctest: +SKIP
    >>> idx.search("neighbourhood health teams", k=5)      # doctest: +SKIP
    [('doc:abc', 7.1), ...]
    """

    def __init__(self, folder: Path, k1: float = 1.5, b: float = 0.75) -> None:
        self.folder = folder
        self.k1, self.b = k1, b
        self.generation = -1
        self._retriever: Any = None
        self._ids: list[str] = []
        self._chunks: dict[str, StoredChunk] = {}
        self._mask_cache: dict[str, np.ndarray] = {}
        self._vocabulary: frozenset[str] | None = None
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._ids)

    def chunk(self, chunk_id: str) -> StoredChunk | None:
        return self._chunks.get(chunk_id)

    def build(self, chunks: list[StoredChunk], generation: int) -> None:
        """Index ``chunks`` and save them; ``generation`` is the store's counter they came from."""
        import bm25s

        chunks = sorted(chunks, key=lambda c: c.chunk_id)
        retriever = None
        if chunks:
            retriever = bm25s.BM25(k1=self.k1, b=self.b)
            retriever.index([terms(index_text(c)) or ["∅"] for c in chunks], show_progress=False)
        # A folder of this process's own: several API workers may rebuild at the same moment.
        tag = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"
        tmp = self.folder.with_name(f"{self.folder.name}.tmp-{tag}")
        tmp.mkdir(parents=True)
        if retriever is not None:
            retriever.save(str(tmp / "bm25"), show_progress=False)
        with open(tmp / CHUNKS_FILE, "w", encoding="utf-8") as f:
            for c in chunks:
                f.write(
                    json.dumps({"id": c.chunk_id, "text": c.text, "metadata": c.metadata}) + "\n"
                )
        (tmp / STATE_FILE).write_text(json.dumps({"generation": generation, "chunks": len(chunks)}))
        old = self.folder.with_name(f"{self.folder.name}.old-{tag}")
        try:
            if self.folder.exists():
                self.folder.rename(old)
            tmp.rename(self.folder)
        except OSError:
            # Another worker swapped its copy in at the same moment: its copy (of the same
            # store generation, or a newer one) stays on disk; this one is used from memory.
            logger.info("BM25: another process saved its index at the same time; keeping it")
        shutil.rmtree(old, ignore_errors=True)
        shutil.rmtree(tmp, ignore_errors=True)
        self._install(retriever, chunks, generation)
        logger.info("BM25 index built: %d chunks (generation %d)", len(chunks), generation)

    def load(self) -> bool:
        """Load the saved index; False when there is none or it is unreadable."""
        import bm25s

        try:
            state = json.loads((self.folder / STATE_FILE).read_text())
            chunks = []
            with open(self.folder / CHUNKS_FILE, encoding="utf-8") as f:
                for line in f:
                    row = json.loads(line)
                    chunks.append(StoredChunk(row["id"], row["text"], row["metadata"]))
            retriever = (
                bm25s.BM25.load(str(self.folder / "bm25"), show_progress=False) if chunks else None
            )
        except FileNotFoundError:
            logger.debug("no BM25 index at %s yet: it is built from the store", self.folder)
            return False
        except (OSError, ValueError, KeyError) as exc:
            logger.warning(
                "the BM25 index at %s could not be read (%s): rebuilding it from the store",
                self.folder,
                exc.__class__.__name__,
            )
            return False
        self._install(retriever, chunks, int(state["generation"]))
        return True

    def _install(self, retriever: Any, chunks: list[StoredChunk], generation: int) -> None:
        with self._lock:
            self._retriever = retriever
            self._ids = [c.chunk_id for c in chunks]
            self._chunks = {c.chunk_id: c for c in chunks}
            self._mask_cache = {}
            self._vocabulary = None
            self.generation = generation

    def knows(self, word: str) -> bool:
        """Whether ``word`` (any form: "Frimley", "UDA", "2031/32") occurs in any indexed passage,
        its section or its document's title. Built on first use after each rebuild."""
        vocabulary = self._vocabulary
        if vocabulary is None:
            with self._lock:
                vocabulary = frozenset(
                    t for c in self._chunks.values() for t in terms(index_text(c))
                )
                self._vocabulary = vocabulary
        found = terms(word)
        return bool(found) and all(t in vocabulary for t in found)

    def _mask(self, filters: Filters | None) -> np.ndarray | None:
        if filters is None or filters.is_empty():
            return None
        key = filters.model_dump_json()
        mask = self._mask_cache.get(key)
        if mask is None:
            mask = np.array(
                [matches(self._chunks[cid].metadata, filters) for cid in self._ids],
                dtype=np.float32,
            )
            if len(self._mask_cache) >= MASK_CACHE_SIZE:
                del self._mask_cache[next(iter(self._mask_cache))]  # the oldest
            self._mask_cache[key] = mask
        return mask

    def search(self, query: str, k: int, filters: Filters | None = None) -> list[tuple[str, float]]:
        """Top ``k`` (chunk id, BM25 score) pairs with a positive score."""
        with self._lock:
            retriever, ids = self._retriever, self._ids
            mask = self._mask(filters)
        if retriever is None or not ids:
            return []
        q = [t for t in terms(query) if t in retriever.vocab_dict]
        if not q:
            return []
        k = min(k, len(ids))
        docs, scores = retriever.retrieve(
            [q], k=k, show_progress=False, n_threads=1, weight_mask=mask
        )
        return [(ids[int(d)], float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]


class BM25Sync:
    """Keeps a BM25 index in step with the store it was built from.

    At most once a second (or at once when forced, after an ingest or a removal) it asks the
    store for its generation counter and rebuilds BM25 when the store has moved on, so a change
    made by another process is seen too.

    >>> sync = BM25Sync(store, BM25Index(folder))  # doctest: +SKIP
    >>> sync.sync(force=True)                      # doctest: +SKIP
    """

    def __init__(self, store: VectorStore, bm25: LexicalIndex) -> None:
        self.store = store
        self.bm25 = bm25
        self._checked_at = 0.0
        self._lock = threading.Lock()
        if bm25.generation < 0 and not bm25.load():
            logger.info("BM25 index missing; it will be built from the store on first use")

    def sync(self, force: bool = False) -> None:
        """Rebuild BM25 from the store if the store changed since it was built."""
        now = time.monotonic()
        if not force and now - self._checked_at < FRESHNESS_CHECK_S:
            return
        with self._lock:
            self._checked_at = now
            generation = self.store.generation()
            if force or generation != self.bm25.generation:
                self.bm25.build(self.store.all_chunks(), generation)

    @property
    def empty(self) -> bool:
        """True when nothing is indexed (BM25 holds every chunk the store had)."""
        return len(self.bm25) == 0
