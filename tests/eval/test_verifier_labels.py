"""The verifier's labelled pairs (eval/datasets/verifier_labels.jsonl) against the real corpus.

Every anchor must resolve, every edit must apply, and the labels must be usable for calibration:
both splits hold both labels and every kind, and the supported share is neither tiny nor huge.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from eval.dataset import Anchor, DatasetError, EvidenceResolver, normalise_words
from eval.verifier_labels import (
    DEFAULT_PATH,
    MAX_PASSAGE_SPAN,
    MIN_PASSAGE_WORDS,
    LabelledPair,
    apply_edits,
    load_verifier_labels,
    read_verifier_labels,
)

LABELS = DEFAULT_PATH
KINDS = {
    "real",
    "paraphrase",
    "number_swap",
    "negation",
    "wrong_passage",
    "unsupported_addition",
    "entity_swap",
}


@pytest.fixture(scope="module")
def resolver(shared_corpus: Path) -> EvidenceResolver:
    return EvidenceResolver([shared_corpus])


@pytest.fixture(scope="module")
def pairs(resolver: EvidenceResolver) -> list[LabelledPair]:
    return load_verifier_labels(LABELS, resolver)


def test_the_file_loads_with_enough_lines_and_unique_ids():
    labels = read_verifier_labels(LABELS)
    assert len(labels) >= 200
    ids = [label.id for label in labels]
    assert len(ids) == len(set(ids))
    assert {label.kind for label in labels} == KINDS


@pytest.mark.corpus
@pytest.mark.slow
def test_every_anchor_resolves(resolver: EvidenceResolver):
    for label in read_verifier_labels(LABELS):
        for passage in label.passages:
            words = resolver.quote_words(passage, max_span=MAX_PASSAGE_SPAN)
            assert MIN_PASSAGE_WORDS <= len(words) <= MAX_PASSAGE_SPAN, label.id
        if isinstance(label.sentence, Anchor):
            assert resolver.quote_words(label.sentence, max_span=MAX_PASSAGE_SPAN), label.id


@pytest.mark.corpus
@pytest.mark.slow
def test_every_edit_applies(resolver: EvidenceResolver):
    edited = 0
    for label in read_verifier_labels(LABELS):
        sentence = (
            resolver.quote_text(label.sentence, max_span=MAX_PASSAGE_SPAN)
            if isinstance(label.sentence, Anchor)
            else label.sentence
        )
        for old, new in label.edits:
            assert old in sentence, (label.id, old, sentence)
            sentence = sentence.replace(old, new, 1)
            edited += 1
    assert edited >= 50


@pytest.mark.corpus
@pytest.mark.slow
def test_both_splits_hold_both_labels_and_every_kind(pairs: list[LabelledPair]):
    for split in ("calib", "test"):
        half = [p for p in pairs if p.split == split]
        assert {p.supported for p in half} == {True, False}, split
        assert {p.kind for p in half} == KINDS, split
    counts = Counter(p.split for p in pairs)
    assert abs(counts["calib"] - counts["test"]) <= 0.1 * len(pairs)


@pytest.mark.corpus
@pytest.mark.slow
def test_the_supported_share_is_between_30_and_70_percent(pairs: list[LabelledPair]):
    share = sum(p.supported for p in pairs) / len(pairs)
    assert 0.3 <= share <= 0.7


@pytest.mark.corpus
@pytest.mark.slow
def test_real_pairs_quote_their_passage_and_corruptions_change_the_sentence(
    pairs: list[LabelledPair], resolver: EvidenceResolver
):
    by_id = {label.id: label for label in read_verifier_labels(LABELS)}
    for pair in pairs:
        label = by_id[pair.id]
        if pair.kind == "real":
            assert any(pair.sentence in p for p in pair.passages), pair.id
        if label.edits and isinstance(label.sentence, Anchor):
            original = resolver.quote_text(label.sentence, max_span=MAX_PASSAGE_SPAN)
            assert pair.sentence != original, pair.id


@pytest.mark.corpus
@pytest.mark.slow
def test_raw_text_has_the_same_words_as_the_normalised_text(
    pairs: list[LabelledPair], resolver: EvidenceResolver
):
    raw = load_verifier_labels(LABELS, resolver, raw=True)
    assert [p.id for p in raw] == [p.id for p in pairs]
    for r, n in zip(raw, pairs, strict=True):
        assert normalise_words(r.sentence) == normalise_words(n.sentence), r.id
        assert [normalise_words(p) for p in r.passages] == [
            normalise_words(p) for p in n.passages
        ], r.id
    assert any("%" in p.sentence and "." in p.sentence for p in raw)  # "0.5%" kept whole


def test_an_edit_whose_text_is_missing_is_an_error():
    assert apply_edits("plans are due by 2026", [("2026", "2027")]) == "plans are due by 2027"
    with pytest.raises(DatasetError):
        apply_edits("plans are due by 2026", [("2025", "2027")])
