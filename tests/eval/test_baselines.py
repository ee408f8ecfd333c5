"""The bm25-only and dense-only baselines: the project's retriever with its fusion re-weighted."""

from __future__ import annotations

import pytest

from assistant.retrieval.base import DENSE, LEXICAL
from assistant.retrieval.stages import NAMED, WeightedRRF
from eval.baselines import ablated_retriever
from tests.retrieval.conftest import parts  # noqa: F401  (the small index the tests share)

QUESTION = "five-year plan Core20PLUS5 procurement"


def test_bm25_only_ranks_by_bm25_and_keeps_dense_scores(parts):  # noqa: F811
    _, _, retriever = parts
    got = ablated_retriever(retriever, dense=False, bm25=True).retrieve(QUESTION, k=5)
    lexical = [c.bm25_score for c in got]
    assert all(lexical) and lexical == sorted(lexical, reverse=True)
    assert all(c.dense_score is not None for c in got)  # the dense search still ran


def test_dense_only_ranks_by_similarity(parts):  # noqa: F811
    _, _, retriever = parts
    got = ablated_retriever(retriever, dense=True, bm25=False).retrieve(QUESTION, k=5)
    dense = [c.dense_score for c in got]
    assert len(got) == 5 and dense == sorted(dense, reverse=True)


def test_only_the_fusion_stage_changes(parts):  # noqa: F811
    _, _, retriever = parts
    ablated = ablated_retriever(retriever, dense=False, bm25=True)
    assert ablated.stage(WeightedRRF).weights == {DENSE: 0.0, LEXICAL: 1.0}
    untouched = {DENSE: 1.0, LEXICAL: 3.0, NAMED: 2.0}
    assert retriever.stage(WeightedRRF).weights == untouched
    kept = [s for s in ablated.stages if not isinstance(s, WeightedRRF)]
    assert kept == [s for s in retriever.stages if not isinstance(s, WeightedRRF)]
    assert ablated.index is retriever.index


def test_only_a_pipeline_can_be_ablated():
    with pytest.raises(TypeError, match="RetrievalPipeline"):
        ablated_retriever(object(), dense=True, bm25=False)  # type: ignore[arg-type]
