"""Each retrieval stage alone, on a hand-made state: one job each."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.retrieval.base import DENSE, LEXICAL, RetrievalState
from assistant.retrieval.bm25 import BM25Index
from assistant.retrieval.stages import (
    DenseSearch,
    DropNearDuplicates,
    EmbedQuery,
    FetchCandidates,
    LexicalSearch,
    MaximalMarginalRelevance,
    ScoreUnsearchedDense,
    WeightedRRF,
    mmr,
    rrf,
)
from assistant.schemas import Filters
from assistant.store.base import StoredChunk


def test_rrf_rewards_agreement_between_rankings():
    fused = rrf([(["a", "b", "c"], 1.0), (["b", "c", "a"], 1.0)], k=60)
    assert max(fused, key=fused.get) == "b"
    assert fused["b"] == pytest.approx(1 / 62 + 1 / 61)


def test_mmr_skips_a_near_duplicate():
    v = {"a": np.array([1.0, 0.0]), "a2": np.array([1.0, 0.0]), "b": np.array([0.0, 1.0])}
    assert mmr(["a", "a2", "b"], {"a": 1.0, "a2": 0.99, "b": 0.8}, v, k=2, lam=0.5) == ["a", "b"]


def test_embed_query_sets_the_vector(parts):
    emb, _, _ = parts
    state = RetrievalState("plan", k=3)
    EmbedQuery(emb).run(state)
    assert state.vector is not None and np.array_equal(state.vector, emb.embed_query("plan"))


def test_dense_search_ranks_by_similarity_and_asks_for_at_least_k(parts):
    emb, store, _ = parts
    state = RetrievalState("Core20PLUS5 deprived population", k=4, vector=None)
    state.vector = emb.embed_query(state.question)
    DenseSearch(store, depth=2).run(state)
    ranking = state.rankings[DENSE]
    assert len(ranking) == 4  # max(depth, k)
    sims = [state.dense_scores[c] for c in ranking]
    assert sims == sorted(sims, reverse=True)


def test_dense_search_needs_the_vector(parts):
    _, store, _ = parts
    with pytest.raises(ValueError, match="EmbedQuery"):
        DenseSearch(store, depth=2).run(RetrievalState("plan", k=3))


def test_lexical_search_ranks_by_bm25_and_applies_filters(parts, tmp_path):
    _, store, _ = parts
    bm25 = BM25Index(tmp_path / "bm25")
    bm25.build(store.all_chunks(), store.generation())
    state = RetrievalState("plan procurement", k=5)
    LexicalSearch(bm25, depth=10).run(state)
    assert set(state.rankings[LEXICAL]) == {"plan:1", "plan:2", "buy:1"}
    assert all(state.lexical_scores[c] > 0 for c in state.rankings[LEXICAL])
    only_buy = RetrievalState("plan procurement", k=5, filters=Filters(doc_ids=["buy"]))
    LexicalSearch(bm25, depth=10).run(only_buy)
    assert only_buy.rankings[LEXICAL] == ["buy:1"]


def test_fusion_sums_weighted_ranks_and_skips_a_zero_weight():
    state = RetrievalState("q", k=2, rankings={DENSE: ["a", "b"], LEXICAL: ["b", "c"]})
    WeightedRRF({DENSE: 1.0, LEXICAL: 3.0}, k=10).run(state)
    assert state.scores["b"] == 1.0 / 12 + 3.0 / 11
    assert state.candidates == ["b", "c", "a"]
    dense_off = RetrievalState("q", k=2, rankings={DENSE: ["a", "b"], LEXICAL: ["b", "c"]})
    WeightedRRF({DENSE: 1.0, LEXICAL: 3.0}, k=10).with_weights({DENSE: 0.0, LEXICAL: 1.0}).run(
        dense_off
    )
    assert dense_off.candidates == ["b", "c"]  # "a" came from the switched-off ranking


def test_fusion_breaks_ties_by_chunk_id():
    state = RetrievalState("q", k=2, rankings={DENSE: ["b"], LEXICAL: ["a"]})
    WeightedRRF({DENSE: 1.0, LEXICAL: 1.0}, k=10).run(state)
    assert state.candidates == ["a", "b"]


def test_fetch_cuts_to_factor_times_k_and_fetches_vectors(parts):
    _, store, _ = parts
    state = RetrievalState("q", k=1, candidates=["nbh:2", "plan:1", "buy:1", "gone:1"])
    FetchCandidates(store, factor=3).run(state)
    assert state.candidates == ["nbh:2", "plan:1", "buy:1"]
    assert set(state.chunks) == {"nbh:2", "plan:1", "buy:1"}
    assert all(ch.embedding is not None for ch in state.chunks.values())


def test_fetched_candidates_are_kept_until_the_generation_moves_on(parts):
    """A question whose candidates were fetched before costs no store round trip; a new
    generation (an upload, a removal) empties what was kept."""
    _, store, _ = parts
    asked: list[list[str]] = []
    real_get = store.get_chunks

    def get_chunks(ids, with_embeddings=False):
        asked.append(list(ids))
        return real_get(ids, with_embeddings=with_embeddings)

    store.get_chunks = get_chunks  # type: ignore[method-assign]
    generation = [1]
    fetch = FetchCandidates(store, factor=1, generation=lambda: generation[0])
    first = RetrievalState("q", k=3, candidates=["plan:1", "nbh:2", "gone:1"])
    fetch.run(first)
    again = RetrievalState("q2", k=3, candidates=["nbh:2", "plan:1", "buy:1"])
    fetch.run(again)
    assert asked == [["plan:1", "nbh:2", "gone:1"], ["buy:1"]]  # only the one not seen
    assert list(again.chunks) == ["nbh:2", "plan:1", "buy:1"]  # in ranking order
    assert again.chunks["nbh:2"] is first.chunks["nbh:2"]
    with pytest.raises(ValueError):  # shared between questions: nobody may change a vector
        again.chunks["nbh:2"].embedding[0] = 1.0  # type: ignore[index]
    generation[0] = 2
    fetch.run(RetrievalState("q3", k=3, candidates=["nbh:2"]))
    assert asked[-1] == ["nbh:2"]


def test_fetch_without_a_generation_keeps_nothing(parts):
    _, store, _ = parts
    fetch = FetchCandidates(store, factor=1)
    state = RetrievalState("q", k=1, candidates=["nbh:2"])
    fetch.run(state)
    assert not fetch._kept and state.chunks["nbh:2"].embedding.flags.writeable  # type: ignore[union-attr]


def test_dense_scores_are_filled_for_chunks_dense_search_missed():
    vec = np.array([1.0, 0.0], dtype=np.float32)
    chunks = {
        "a": StoredChunk("a", "t", {}, np.array([0.5, 0.5], dtype=np.float32)),
        "b": StoredChunk("b", "t", {}, np.array([0.0, 1.0], dtype=np.float32)),
    }
    state = RetrievalState(
        "q", k=2, vector=vec, candidates=["a", "b"], chunks=chunks, dense_scores={"b": 0.9}
    )
    ScoreUnsearchedDense().run(state)
    assert state.dense_scores == {"a": 0.5, "b": 0.9}  # a searched score is kept as it was


def test_mmr_stage_reorders_for_diversity():
    chunks = {
        c: StoredChunk(c, c, {}, np.array(v, dtype=np.float32))
        for c, v in {"a": [1.0, 0.0], "a2": [1.0, 0.0], "b": [0.0, 1.0]}.items()
    }
    state = RetrievalState(
        "q",
        k=2,
        candidates=["a", "a2", "b"],
        scores={"a": 1.0, "a2": 0.99, "b": 0.8},
        chunks=chunks,
    )
    MaximalMarginalRelevance(lam=0.5).run(state)
    assert state.candidates == ["a", "b", "a2"]


def test_near_duplicates_and_missing_chunks_are_dropped_up_to_k():
    text = "Neighbourhood teams bring together GPs, community nurses and social care staff."
    chunks = {
        "pdf": StoredChunk("pdf", text, {}),
        "md": StoredChunk("md", text + " ", {}),  # the same passage from the Markdown twin
        "other": StoredChunk("other", "Trusts should cut procurement costs.", {}),
        "third": StoredChunk("third", "Boards review the draft plans.", {}),
    }
    state = RetrievalState("q", k=2, candidates=["gone", "pdf", "md", "other", "third"])
    state.chunks = chunks
    DropNearDuplicates().run(state)
    assert state.candidates == ["pdf", "other"]
