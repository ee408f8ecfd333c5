"""A small in-memory index (fake embedder, memory store, BM25 on disk) shared by retrieval tests."""

from __future__ import annotations

import pytest

from assistant.config import RetrievalSettings
from assistant.embeddings.fake import HashingEmbedder
from assistant.retrieval.bm25 import BM25Index
from assistant.retrieval.pipeline import RetrievalPipeline, make_retriever
from assistant.store.base import StoredChunk
from assistant.store.memory import InMemoryStore

TEXTS = {
    "plan:1": (
        "plan",
        "NHS England",
        "Each ICB must submit its five-year integrated plan to the region by March.",
    ),
    "plan:2": (
        "plan",
        "NHS England",
        "Boards should review draft plans and challenge assumptions before sign-off.",
    ),
    "nbh:1": (
        "nbh",
        "DHSC",
        "Neighbourhood teams bring together GPs, community nurses and social care staff.",
    ),
    "nbh:2": (
        "nbh",
        "DHSC",
        "Core20PLUS5 focuses on the most deprived 20 per cent of the population.",
    ),
    "buy:1": (
        "buy",
        "NHS England",
        "Trusts should use national frameworks to cut procurement costs.",
    ),
}


@pytest.fixture
def parts(tmp_path) -> tuple[HashingEmbedder, InMemoryStore, RetrievalPipeline]:
    """The embedder, the store holding TEXTS, and the project's retriever over them (top_k 3)."""
    emb = HashingEmbedder(dimension=256)
    store = InMemoryStore(emb.name, emb.dimension)
    vecs = emb.embed_documents([t for _, _, t in TEXTS.values()])
    store.upsert_chunks(
        [
            StoredChunk(
                cid,
                text,
                {"doc_id": doc, "title": doc.upper(), "publisher": pub, "section": "S"},
                vecs[i],
            )
            for i, (cid, (doc, pub, text)) in enumerate(TEXTS.items())
        ]
    )
    store.bump_generation()
    retriever = make_retriever(RetrievalSettings(top_k=3), emb, store, BM25Index(tmp_path / "bm25"))
    return emb, store, retriever
