"""Baselines run beside the project's pipeline on the same questions, corpus and embedder.

* ``bm25-only`` and ``dense-only``: the project's retriever with one of the two rankings
  switched off in its fusion stage (same chunks, same answerer), to show what fusion adds.
* ``langchain-recipe``: the common tutorial recipe: RecursiveCharacterTextSplitter(1000, 200)
  over the documents' text, Chroma similarity search, top 4. It reads the same repaired text
  the project's loaders produce, so the comparison is about chunking and retrieval only.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import tempfile
import time
from pathlib import Path

import numpy as np

from assistant.embeddings.base import Embedder
from assistant.embeddings.langchain_adapter import LangChainEmbeddings
from assistant.ingest.loaders import load_document
from assistant.ingest.pipeline import doc_id_for
from assistant.retrieval.base import DENSE, LEXICAL, Retriever
from assistant.retrieval.pipeline import RetrievalPipeline
from assistant.retrieval.stages import WeightedRRF
from assistant.schemas import RetrievedChunk

logger = logging.getLogger(__name__)

RECIPE_CHUNK_SIZE = 1000
RECIPE_CHUNK_OVERLAP = 200
RECIPE_TOP_K = 4


class CachingEmbedder:
    """Remembers passage vectors on disk by text hash, so repeated eval runs embed nothing new."""

    def __init__(self, inner: Embedder, path: Path) -> None:
        self.inner = inner
        self.name, self.dimension, self.max_tokens = inner.name, inner.dimension, inner.max_tokens
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path))
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS v (model TEXT, sha TEXT, vec BLOB, PRIMARY KEY(model, sha))"
        )

    def count_tokens(self, text: str) -> int:
        return self.inner.count_tokens(text)

    def embed_query(self, text: str) -> np.ndarray:
        return self.inner.embed_query(text)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        keys = [hashlib.sha1(t.encode()).hexdigest() for t in texts]
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(keys), 500):
            batch = keys[start : start + 500]
            rows = self._db.execute(
                f"SELECT sha, vec FROM v WHERE model=? AND sha IN ({','.join('?' * len(batch))})",
                [self.name, *batch],
            )
            found.update({sha: np.frombuffer(vec, dtype=np.float32) for sha, vec in rows})
        missing = [i for i, k in enumerate(keys) if k not in found]
        if missing:
            vecs = self.inner.embed_documents([texts[i] for i in missing])
            self._db.executemany(
                "INSERT OR REPLACE INTO v VALUES (?, ?, ?)",
                [
                    (self.name, keys[i], vecs[j].astype(np.float32).tobytes())
                    for j, i in enumerate(missing)
                ],
            )
            self._db.commit()
            for j, i in enumerate(missing):
                found[keys[i]] = vecs[j]
        return (
            np.vstack([found[k] for k in keys])
            if keys
            else np.zeros((0, self.dimension), np.float32)
        )


def ablated_retriever(base: Retriever, dense: bool, bm25: bool) -> RetrievalPipeline:
    """The project's retriever over the same index with one ranking switched off.

    Only the fusion stage changes (weight 1 for a kept ranking, 0 for the other); both searches
    still run, so every chunk keeps its dense and BM25 scores for the answerer and the report.
    """
    if not isinstance(base, RetrievalPipeline):
        raise TypeError(f"baselines are derived from a RetrievalPipeline, not {type(base)!r}")
    weights = {DENSE: 1.0 if dense else 0.0, LEXICAL: 1.0 if bm25 else 0.0}
    return base.replaced(WeightedRRF, base.stage(WeightedRRF).with_weights(weights))


class LangChainRecipe:
    """RecursiveCharacterTextSplitter(1000, 200) + Chroma similarity search, top 4."""

    def __init__(self, embedder: Embedder, files: list[Path], workdir: Path | None = None) -> None:
        from langchain_chroma import Chroma
        from langchain_core.documents import Document
        from langchain_text_splitters import RecursiveCharacterTextSplitter

        self.embedder = embedder
        splitter = RecursiveCharacterTextSplitter(
            chunk_size=RECIPE_CHUNK_SIZE, chunk_overlap=RECIPE_CHUNK_OVERLAP
        )
        docs: list[Document] = []
        t0 = time.perf_counter()
        for path in files:
            try:
                parsed = load_document(path, path.name, {})
            except Exception as exc:  # the recipe skips what it cannot read, like the project
                logger.info("baseline skips %s: %s", path.name, exc)
                continue
            text = "\n\n".join(b.text for b in parsed.blocks)
            meta = {"doc_id": doc_id_for(path), "title": parsed.meta.title, "file_name": path.name}
            docs.extend(splitter.create_documents([text], metadatas=[meta]))
        self._dir = tempfile.mkdtemp(prefix="recipe-", dir=workdir)
        import chromadb

        client = chromadb.PersistentClient(
            path=self._dir, settings=chromadb.Settings(anonymized_telemetry=False)
        )
        self.store = Chroma(
            collection_name="recipe",
            embedding_function=LangChainEmbeddings(embedder),
            client=client,
            collection_configuration={"hnsw": {"space": "cosine"}},
        )
        ids = [f"r{i}" for i in range(len(docs))]
        for start in range(0, len(docs), 500):
            self.store.add_documents(docs[start : start + 500], ids=ids[start : start + 500])
        self.chunks = len(docs)
        self.build_seconds = time.perf_counter() - t0

    def retrieve(self, question: str, k: int = 10) -> list[RetrievedChunk]:
        hits = self.store.similarity_search_with_score(question, k=k)
        out = []
        for rank, (doc, distance) in enumerate(hits, start=1):
            sim = 1.0 - float(distance)
            out.append(
                RetrievedChunk(
                    chunk_id=f"recipe:{hashlib.sha1(doc.page_content.encode()).hexdigest()[:12]}",
                    doc_id=doc.metadata.get("doc_id", ""),
                    title=doc.metadata.get("title", ""),
                    text=doc.page_content,
                    file_name=doc.metadata.get("file_name"),
                    rank=rank,
                    score=sim,
                    dense_score=sim,
                )
            )
        return out
