"""BM25 persistence and freshness, reciprocal rank fusion, MMR and filters in hybrid retrieval."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.config import RetrievalSettings
from assistant.embeddings.fake import HashingEmbedder
from assistant.errors import InvalidInputError
from assistant.retrieval.bm25 import BM25Index
from assistant.retrieval.hybrid import HybridRetriever, mmr, rrf
from assistant.schemas import Filters
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
def parts(tmp_path):
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
    retriever = HybridRetriever(
        emb, store, BM25Index(tmp_path / "bm25"), RetrievalSettings(top_k=3)
    )
    return emb, store, retriever


def test_rrf_rewards_agreement_between_rankings():
    fused = rrf([(["a", "b", "c"], 1.0), (["b", "c", "a"], 1.0)], k=60)
    assert max(fused, key=fused.get) == "b"
    assert fused["b"] == pytest.approx(1 / 62 + 1 / 61)


def test_mmr_skips_a_near_duplicate():
    v = {"a": np.array([1.0, 0.0]), "a2": np.array([1.0, 0.0]), "b": np.array([0.0, 1.0])}
    assert mmr(["a", "a2", "b"], {"a": 1.0, "a2": 0.99, "b": 0.8}, v, k=2, lam=0.5) == ["a", "b"]


def test_exact_terms_reach_the_top_through_bm25(parts):
    _, _, retriever = parts
    top = retriever.retrieve("What is Core20PLUS5?", k=3)
    assert top[0].chunk_id == "nbh:2"
    assert top[0].bm25_score and top[0].bm25_score > 0
    assert top[0].dense_score is not None  # filled in even for chunks only BM25 found
    assert [c.rank for c in top] == [1, 2, 3]


def test_filters_apply_to_both_dense_and_lexical_search(parts):
    _, _, retriever = parts
    got = retriever.retrieve(
        "five-year plan procurement", k=5, filters=Filters(publishers=["DHSC"])
    )
    assert got and {c.doc_id for c in got} == {"nbh"}


def test_bm25_is_persisted_and_reloaded(parts, tmp_path):
    _emb, store, retriever = parts
    retriever.retrieve("plan", k=1)
    again = BM25Index(tmp_path / "bm25")
    assert again.load() and len(again) == len(TEXTS)
    assert again.generation == store.generation()


def test_bm25_follows_changes_in_the_store(parts):
    _emb, store, retriever = parts
    assert retriever.retrieve("procurement frameworks", k=1)[0].chunk_id == "buy:1"
    store.delete_chunks(["buy:1"])
    store.bump_generation()
    retriever.sync(force=True)
    assert all(c.chunk_id != "buy:1" for c in retriever.retrieve("procurement frameworks", k=5))


def test_empty_and_overlong_questions_are_refused(parts):
    _, _, retriever = parts
    with pytest.raises(InvalidInputError, match="empty"):
        retriever.retrieve("   ")
    with pytest.raises(InvalidInputError, match="too long"):
        retriever.retrieve("x" * 5000)


def test_timings_are_reported_per_stage(parts):
    _, _, retriever = parts
    timings: dict[str, float] = {}
    retriever.retrieve("neighbourhood teams", timings_ms=timings)
    assert set(timings) >= {"embed_query", "dense_search", "bm25", "fusion"}
