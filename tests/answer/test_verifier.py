"""The grounding verifier: quantities, coverage, negation, optional similarity."""

from __future__ import annotations

import pytest

from assistant.answer.verifier import GroundingVerifier, quantities

PASSAGE = (
    "Integrated care boards must publish a five-year plan by 31 March 2026. "
    "Trusts will cut agency spending by 30% and save £1.5 billion over two years. "
    "Plans are reviewed by the regional team within 14 days."
)


@pytest.fixture
def verifier():
    return GroundingVerifier()


@pytest.mark.parametrize(
    "sentence",
    [
        "Integrated care boards must publish a five-year plan by 31 March 2026.",
        "Trusts will save £1.5bn over two years.",
        "Agency spending will be cut by 30 per cent.",
        "The regional team reviews plans within two weeks.",
    ],
)
def test_supported_sentences_pass(verifier, sentence):
    verdict = verifier.verify(sentence, [PASSAGE])
    assert verdict.supported, verdict


@pytest.mark.parametrize(
    ("sentence", "why"),
    [
        ("Integrated care boards must publish a five-year plan by 31 March 2027.", "missing"),
        ("Trusts will cut agency spending by 40%.", "missing"),
        ("Trusts will save £2.5 billion over two years.", "missing"),
        ("Integrated care boards must not publish a five-year plan.", "negation"),
        ("GP practices should recruit pharmacists for urgent dental care rotas.", "coverage"),
    ],
)
def test_corrupted_sentences_fail_for_the_right_reason(verifier, sentence, why):
    verdict = verifier.verify(sentence, [PASSAGE])
    assert not verdict.supported
    if why == "missing":
        assert verdict.missing_quantities
    elif why == "negation":
        assert verdict.negation_mismatch
    else:
        assert verdict.coverage < 0.6


def test_quantities_are_normalised_across_spellings():
    kinds = {q for _, q in quantities("£1.5bn, 30 per cent, two weeks, 2026/27")}
    assert kinds == {q for _, q in quantities("£1,500 million, 30%, 14 days, 2026/27")}


def test_support_can_come_from_the_second_of_two_passages(verifier):
    verdict = verifier.verify(
        "Plans are reviewed within 14 days.", ["Unrelated text about estates.", PASSAGE]
    )
    assert verdict.supported


def test_swapping_who_must_act_is_not_supported(verifier):
    verdict = verifier.verify("Trusts must publish a five-year plan by 31 March 2026.", [PASSAGE])
    assert not verdict.supported and verdict.missing_actors == ["trust"]


def test_the_plan_s_name_is_not_read_as_a_duration(verifier):
    passage = "The government's 10-year plan moves care from hospital to community."
    verdict = verifier.verify(
        "The 10 Year Health Plan moves care from hospital to community.", [passage]
    )
    assert verdict.supported and not verdict.missing_quantities


def test_a_bulleted_item_is_checked_with_its_lead_in_and_not_with_the_sentence_before() -> None:
    """Chunks mark list items with bullets. A claim naming who must act (said in the lead-in)
    is supported by an item; an item after a finished sentence is not read with it, so that
    sentence's "not" does not turn a plain claim into a contradiction."""
    passage = (
        "Boards have not resolved these issues before.\n"
        "• a full analysis of all staff survey comments\n"
        "Providers must:\n"
        "• fully implement the rota plan for resident doctors\n"
        "• reduce agency spend by 30%"
    )
    v = GroundingVerifier()
    assert v.verify(
        "Providers must fully implement the rota plan for resident doctors.", [passage]
    ).supported
    plain = v.verify("The plan asks for a full analysis of all staff survey comments.", [passage])
    assert plain.supported and not plain.negation_mismatch
