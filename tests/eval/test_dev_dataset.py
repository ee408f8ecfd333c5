"""The development evaluation set (eval/datasets/dev.jsonl): format, coverage and gold evidence.

The file stores anchors, not quotes; the tests that rebuild quotes need the real corpus at
../shared/corpus (the ``shared_corpus`` fixture skips without it) and take ~20 s (PDF loading).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from eval.dataset import (
    MAX_QUOTE_WORDS,
    MIN_QUOTE_WORDS,
    Anchor,
    EvalItem,
    EvidenceResolver,
    load_dataset,
    normalise_words,
)

DEV = Path(__file__).resolve().parents[2] / "eval" / "datasets" / "dev.jsonl"
KINDS = {"how-to", "factual", "numeric", "multi-doc", "unanswerable", "lifecycle"}
COPY_RUN = 8  # a question may not share this many consecutive words with its evidence


@pytest.fixture(scope="module")
def items() -> list[EvalItem]:
    return load_dataset(DEV)


@pytest.fixture(scope="module")
def quotes(items: list[EvalItem], shared_corpus: Path) -> dict[str, list[list[str]]]:
    """Each item's evidence rebuilt from the documents, as normalised word lists."""
    resolver = EvidenceResolver([shared_corpus])
    return {item.id: [resolver.quote_words(e) for e in item.evidence] for item in items}


def _anchors(item: EvalItem) -> list[Anchor]:
    return [e for e in item.evidence if isinstance(e, Anchor)]


def _ngrams(words: list[str], n: int = COPY_RUN) -> set[tuple[str, ...]]:
    return {tuple(words[i : i + n]) for i in range(len(words) - n + 1)}


def test_dataset_loads_with_unique_ids(items: list[EvalItem]) -> None:
    ids = [item.id for item in items]
    assert len(ids) == len(set(ids))
    assert all(item.kind in KINDS for item in items)
    assert {item.split for item in items} == {"dev", "heldout"}


def test_counts_meet_the_minimums(items: list[EvalItem]) -> None:
    kinds = Counter(item.kind for item in items)
    assert len(items) >= 80
    assert kinds["unanswerable"] >= 15
    assert kinds["numeric"] >= 10
    assert kinds["multi-doc"] >= 8
    heldout = [item for item in items if item.split == "heldout"]
    assert len(heldout) >= 25
    assert sum(item.kind == "unanswerable" for item in heldout) >= 5


def test_lifecycle_questions_say_which_documents_are_right_for_their_period(
    items: list[EvalItem], shared_corpus: Path
) -> None:
    """At least 25, of the three sorts the lifecycle metrics score, each asked on a stated day,
    naming documents of the corpus (the right ones, and those of the wrong period)."""
    lifecycle = [item for item in items if item.kind == "lifecycle"]
    assert len(lifecycle) >= 25
    extra = [item.model_extra or {} for item in lifecycle]
    assert {e["lifecycle"] for e in extra} == {"period", "changed", "superseded-only"}
    files = {p.name for p in shared_corpus.iterdir()}
    for item, e in zip(lifecycle, extra, strict=True):
        assert item.answerable and e["as_of"], item.id
        assert set(item.docs) <= files and set(e["stale_docs"]) <= files, item.id
        assert not set(item.docs) & set(e["stale_docs"]), item.id


def test_evidence_is_stored_as_anchors_not_quotes(items: list[EvalItem]) -> None:
    for item in items:
        assert len(_anchors(item)) == len(item.evidence), item.id


def test_unanswerable_items_have_no_evidence_or_key_facts(items: list[EvalItem]) -> None:
    for item in items:
        if item.kind == "unanswerable":
            assert not item.answerable and not item.evidence and not item.key_facts, item.id
        else:
            assert item.answerable and 1 <= len(item.evidence) <= 3, item.id
            assert item.key_facts, item.id


def test_key_facts_are_short(items: list[EvalItem]) -> None:
    for item in items:
        for fact in item.key_facts:
            assert fact.strip() and len(fact.split()) <= 5, (item.id, fact)


def test_docs_list_every_evidence_document(items: list[EvalItem]) -> None:
    for item in items:
        assert {a.doc for a in _anchors(item)} <= set(item.docs), item.id


def test_multi_doc_items_draw_on_two_or_more_documents(items: list[EvalItem]) -> None:
    for item in items:
        if item.kind == "multi-doc":
            assert len({a.doc for a in _anchors(item)}) >= 2, item.id


@pytest.mark.slow
@pytest.mark.corpus
def test_every_anchor_resolves_to_a_quote_of_allowed_length(
    items: list[EvalItem], quotes: dict[str, list[list[str]]]
) -> None:
    for item in items:
        for words in quotes[item.id]:
            assert MIN_QUOTE_WORDS <= len(words) <= MAX_QUOTE_WORDS, (item.id, len(words))


@pytest.mark.slow
@pytest.mark.corpus
def test_no_question_copies_its_evidence(
    items: list[EvalItem], quotes: dict[str, list[list[str]]]
) -> None:
    for item in items:
        question = _ngrams(normalise_words(item.question))
        for words in quotes[item.id]:
            shared = question & _ngrams(words)
            assert not shared, (item.id, [" ".join(s) for s in shared])


@pytest.mark.slow
@pytest.mark.corpus
def test_every_corpus_document_is_covered(items: list[EvalItem], shared_corpus: Path) -> None:
    per_doc = Counter(doc for item in items if item.answerable for doc in set(item.docs))
    for path in sorted(shared_corpus.iterdir()):
        assert per_doc[path.name] >= 3, f"{path.name}: {per_doc[path.name]} questions"
