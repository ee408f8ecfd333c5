"""Every metric against values computed by hand."""

from __future__ import annotations

import math

import pytest

from eval.metrics import (
    citation_scores,
    invalid_markers,
    key_fact_recall,
    mrr_at_k,
    ndcg_at_k,
    percentile,
    recall_at_k,
)

# Five ranked chunks; sets say which gold quotes (0 or 1) each covers.
RANKED = [set(), {1}, set(), {0, 1}, set()]


def test_recall_at_k_counts_quotes_covered_in_the_top_k():
    assert recall_at_k(RANKED, n_quotes=2, k=1) == 0.0
    assert recall_at_k(RANKED, n_quotes=2, k=2) == 0.5
    assert recall_at_k(RANKED, n_quotes=2, k=4) == 1.0
    assert recall_at_k(RANKED, n_quotes=0, k=4) == 0.0


def test_mrr_is_the_reciprocal_rank_of_the_first_relevant_chunk():
    assert mrr_at_k(RANKED) == 0.5
    assert mrr_at_k([set(), set()]) == 0.0
    assert mrr_at_k([set()] * 10 + [{0}], k=10) == 0.0


def test_ndcg_rewards_new_quotes_at_high_ranks():
    # gains at ranks 2 (quote 1) and 4 (quote 0 is new): 1/log2(3) + 1/log2(5)
    dcg = 1 / math.log2(3) + 1 / math.log2(5)
    ideal = 1 / math.log2(2) + 1 / math.log2(3)
    assert ndcg_at_k(RANKED, n_quotes=2) == pytest.approx(dcg / ideal)
    assert ndcg_at_k([{0}, {1}], n_quotes=2) == pytest.approx(1.0)


def test_invalid_markers_are_those_without_a_citation():
    assert invalid_markers("A [1]. B [2]. C [7].", {1, 2}) == 1
    assert invalid_markers("No markers.", set()) == 0


def supports_if_all_words_present(sentence: str, passages: list[str]) -> bool:
    text = " ".join(passages)
    return all(w in text for w in sentence.split())


def test_alce_citation_recall_and_precision():
    sentences = [
        ("red green", ["red green blue"]),  # supported, one precise citation
        ("red green", ["red", "green"]),  # supported jointly; each citation is needed
        ("red", ["red", "blue"]),  # supported; "blue" neither supports nor is needed
        ("pink", ["red"]),  # unsupported: its citation is not precise
        ("no citation", []),  # unsupported, no citation
    ]
    recall, precision, details = citation_scores(sentences, supports_if_all_words_present)
    assert recall == pytest.approx(3 / 5)
    assert precision == pytest.approx(4 / 6)
    assert [d["supported"] for d in details] == [True, True, True, False, False]
    assert details[2]["citations_precise"] == [True, False]


def test_key_fact_recall_is_case_insensitive_substring():
    assert key_fact_recall(
        "ICBs submit plans by March 2026.", ["icbs", "March 2026", "boards"]
    ) == pytest.approx(2 / 3)
    assert key_fact_recall("anything", []) == 0.0


def test_percentile_interpolates():
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([10], 95) == 10
    assert percentile([], 50) == 0.0
    assert percentile(list(range(101)), 95) == 95


def test_the_refusal_confusion_matrix_counts_each_label_and_decision():
    from eval.report import confusion_table, refusal_confusion

    questions = [
        {"answerable": True, "refused": False},
        {"answerable": True, "refused": False},
        {"answerable": True, "refused": True},
        {"answerable": False, "refused": True},
    ]
    counts = refusal_confusion(questions)
    assert counts == {
        "answerable_answered": 2,
        "answerable_refused": 1,
        "unanswerable_answered": 0,
        "unanswerable_refused": 1,
    }
    assert "| answerable | 2 | 1 |" in confusion_table(counts)


def test_key_facts_match_as_words_whatever_the_punctuation_or_case():
    from eval.metrics.formulas import key_fact_recall

    answer = "Systems need a **High support** high-challenge\napproach; 1,500 staff by 2026/27."
    assert key_fact_recall(answer, ["high-support, high-challenge"]) == 1.0
    assert key_fact_recall(answer, ["1,500", "2026/27"]) == 1.0
    # Words, not fragments of words: "port" is not in "support", "150" not in "1,500".
    assert key_fact_recall(answer, ["port", "150"]) == 0.0


def test_the_refusal_threshold_is_fitted_on_one_split_and_reported_unchanged_on_another():
    from eval.refusal import calibrate, decide

    fit = [
        {"answerable": True, "refused": False, "evidence_score": s} for s in (0.5, 0.6, 0.8)
    ] + [{"answerable": False, "refused": False, "evidence_score": s} for s in (0.2, 0.3)]
    threshold = calibrate(fit)
    assert 0.3 < threshold <= 0.5  # refuses both unanswerable, answers all answerable
    held = [
        {"answerable": True, "refused": False, "evidence_score": 0.31},
        {"answerable": False, "refused": True, "evidence_score": 0.9},  # another signal
    ]
    outcome = decide(held, threshold)
    assert outcome.counts["answerable_refused"] == 1
    assert outcome.counts["unanswerable_refused"] == 1
    assert outcome.false_refusal_rate == 1.0 and outcome.refusal_rate == 1.0
