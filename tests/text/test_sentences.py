"""The one sentence splitter on the kinds of text ingestion produces (passages written for the
tests): the spans the answerers quote, and the cautious split chunking packs."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from assistant.text.sentences import (
    is_list_item,
    marker_length,
    sentence_spans,
    split_sentences,
    strip_marker,
)


def sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in sentence_spans(text)]


def test_plain_sentences_split_on_full_stops() -> None:
    text = "Boards should review the plan. ICBs must publish it! Is it ready? It is."
    assert sentences(text) == [
        "Boards should review the plan.",
        "ICBs must publish it!",
        "Is it ready?",
        "It is.",
    ]


def test_abbreviations_do_not_end_sentences() -> None:
    text = (
        "Some costs, e.g. estates and i.e. backlog repairs, are excluded. "
        "Dr. Shah chaired the panel vs. last year. "
        "See para. 4 and No. 10 guidance, approx. 30 pages. "
        "Staffing, estates etc. are covered elsewhere."
    )
    assert sentences(text) == [
        "Some costs, e.g. estates and i.e. backlog repairs, are excluded.",
        "Dr. Shah chaired the panel vs. last year.",
        "See para. 4 and No. 10 guidance, approx. 30 pages.",
        "Staffing, estates etc. are covered elsewhere.",
    ]


def test_decimals_money_and_percentages_stay_whole() -> None:
    text = "Funding rises by £1.5bn to 2.8% of spend in 2026/27. The rest is held back."
    assert sentences(text) == [
        "Funding rises by £1.5bn to 2.8% of spend in 2026/27.",
        "The rest is held back.",
    ]


def test_numbered_paragraph_number_is_not_a_sentence() -> None:
    text = "12. There is a clear case for change. Teams are ready.\n\n13. Boards agree."
    got = sentences(text)
    assert got == ["12. There is a clear case for change.", "Teams are ready.", "13. Boards agree."]
    assert strip_marker(got[0]) == "There is a clear case for change."


def test_bullets_and_list_items_are_their_own_units() -> None:
    text = (
        "Providers should:\n"
        "• share records with practices\n"
        "• appoint a lead by Q1\n"
        "- publish a plan\n"
        "1) agree a footprint\n"
        "(b) report each quarter"
    )
    assert sentences(text) == [
        "Providers should:",
        "• share records with practices",
        "• appoint a lead by Q1",
        "- publish a plan",
        "1) agree a footprint",
        "(b) report each quarter",
    ]


def test_wrapped_bullet_continues_on_the_next_line() -> None:
    text = "• ICBs should agree a footprint with\n  their local authority partners\n• next item"
    assert sentences(text) == [
        "• ICBs should agree a footprint with\n  their local authority partners",
        "• next item",
    ]


def test_heading_without_full_stop_stands_alone() -> None:
    text = "Summary of requirements\nICBs must agree plans by March 2026. Trusts should help."
    assert sentences(text) == [
        "Summary of requirements",
        "ICBs must agree plans by March 2026.",
        "Trusts should help.",
    ]


def test_markdown_heading_and_bold_heading() -> None:
    text = "## Next steps\nBoards should act.\n\n**Making a start**\n\nTeams meet weekly."
    assert sentences(text) == [
        "## Next steps",
        "Boards should act.",
        "**Making a start**",
        "Teams meet weekly.",
    ]


def test_wrapped_lines_inside_a_paragraph_do_not_split() -> None:
    text = "The plan was set out in the\nMedium Term Framework and it\nwill be refreshed. Next."
    assert sentences(text) == [
        "The plan was set out in the\nMedium Term Framework and it\nwill be refreshed.",
        "Next.",
    ]


def test_blank_line_inside_a_sentence_from_pdf_is_joined() -> None:
    text = "Waiting times have fallen in\n\nmost areas this year. Good."
    assert sentences(text) == ["Waiting times have fallen in\n\nmost areas this year.", "Good."]


def test_closing_quotes_and_brackets_stay_with_their_sentence() -> None:
    text = "The board said “we will deliver.” Then it agreed. (This was noted.) Done."
    assert sentences(text) == [
        "The board said “we will deliver.”",
        "Then it agreed.",
        "(This was noted.)",
        "Done.",
    ]


def test_urls_are_not_split() -> None:
    text = "Read https://www.example.org/plans/2025.pdf for details. Then plan."
    assert sentences(text) == [
        "Read https://www.example.org/plans/2025.pdf for details.",
        "Then plan.",
    ]


def test_lower_case_after_full_stop_continues() -> None:
    assert sentences("The cap is 5 p.c. of pay. Next.") == ["The cap is 5 p.c. of pay.", "Next."]


def test_table_rows_are_separate_units() -> None:
    text = "| Metric | Target |\n| Access | 75% |"
    assert sentences(text) == ["| Metric | Target |", "| Access | 75% |"]


def test_spans_are_exact_and_trimmed() -> None:
    text = "  12. First point here.   \n\n  • second point  \n"
    for a, b in sentence_spans(text):
        assert text[a:b] == text[a:b].strip()
        assert text[a:b]


def test_markers() -> None:
    assert marker_length("12. There is") == 4
    assert is_list_item("• item") and is_list_item("1) item") and is_list_item("(c) item")
    assert not is_list_item("2025 was a hard year.")
    assert not is_list_item("2.8 million people")
    assert strip_marker("2.3 Primary care") == "Primary care"


@given(st.text(alphabet=st.sampled_from(list("ab .,:;!?\n•-12()£%“”'*#|")), max_size=200))
def test_spans_are_ordered_disjoint_and_non_empty(text: str) -> None:
    last_end = 0
    for a, b in sentence_spans(text):
        assert last_end <= a < b <= len(text)
        piece = text[a:b]
        assert piece == piece.strip()
        assert any(ch.isalnum() for ch in piece)
        last_end = b


# --- the one splitter for every caller: each former splitter's special cases --------------------


@pytest.mark.parametrize("cautious", [False, True])
def test_abbreviations_initials_and_numbers_stay_in_their_sentence(cautious: bool) -> None:
    # Chunking's former splitter pinned exactly this.
    text = (
        "3. Waits fell in 2024. See e.g. the review by Smith et al. and Dr. Jones. "
        "J. Smith led it. Costs rose 2.5% to £1.5bn. Why? Because demand grew!"
    )
    assert split_sentences(text, cautious=cautious) == [
        "3. Waits fell in 2024.",
        "See e.g. the review by Smith et al. and Dr. Jones.",
        "J. Smith led it.",
        "Costs rose 2.5% to £1.5bn.",
        "Why?",
        "Because demand grew!",
    ]


@pytest.mark.parametrize("cautious", [False, True])
def test_number_abbreviations_hold_only_before_a_number(cautious: bool) -> None:
    text = "See No. 10 and para. 4 of the plan. Fig. 2 shows it. We said no. Then we agreed."
    assert split_sentences(text, cautious=cautious) == [
        "See No. 10 and para. 4 of the plan.",
        "Fig. 2 shows it.",
        "We said no.",
        "Then we agreed.",
    ]


@pytest.mark.parametrize("cautious", [False, True])
def test_month_abbreviations_and_titles_never_end_a_sentence(cautious: bool) -> None:
    text = "Plans are due by Sept. 2026 and reviewed in Jan. Boards meet Rt. Hon. ministers."
    assert split_sentences(text, cautious=cautious) == [text]


@pytest.mark.parametrize("cautious", [False, True])
def test_etc_ends_a_sentence_before_a_capital(cautious: bool) -> None:
    # Unlike "e.g.", "etc." closes many sentences of the corpus ("... cloud, etc. The adoption").
    text = "It covers cloud, storage, etc. The adoption follows."
    assert split_sentences(text, cautious=cautious) == [
        "It covers cloud, storage, etc.",
        "The adoption follows.",
    ]


@pytest.mark.parametrize("cautious", [False, True])
def test_numbered_paragraph_and_list_letter_are_not_sentences(cautious: bool) -> None:
    text = "12. Boards agree. 13. Trusts report. B. Regions help."
    assert split_sentences(text, cautious=cautious) == [
        "12. Boards agree.",
        "13. Trusts report.",
        "B. Regions help.",
    ]


def test_quotes_split_at_lower_case_list_letters_and_inline_bullets_chunks_do_not() -> None:
    # Quoting wants the smallest self-contained units; a chunk boundary inside a sentence costs
    # more, so the cautious split reads any lone letter ending a word as an initial and leaves
    # bullets inside a line alone (the rules chunking always had: its chunk ids depend on them).
    text = (
        "Focus areas include: a. Agency spend. Spending fell in the 2020s. Then it rose. "
        "Revenue • Improve cancer standards"
    )
    assert split_sentences(text) == [
        "Focus areas include: a.",
        "Agency spend.",
        "Spending fell in the 2020s.",
        "Then it rose.",
        "Revenue",
        "• Improve cancer standards",
    ]
    assert split_sentences(text, cautious=True) == [
        "Focus areas include: a. Agency spend.",
        "Spending fell in the 2020s. Then it rose.",
        "Revenue • Improve cancer standards",
    ]


def test_split_sentences_keeps_what_spans_drop() -> None:
    # A lone bracket or an orphan bold marker is no sentence to quote, but a chunk keeps it.
    assert sentence_spans("]") == [] and split_sentences("]") == ["]"]
    text = "We **agreed.** ** Then we met."
    assert sentences(text) == ["We **agreed.**", "Then we met."]
    assert split_sentences(text) == ["We **agreed.**", "** Then we met."]


def test_lines_without_a_full_stop_end_at_a_segment_break() -> None:
    # The bench's former splitter cut at every line break; the shared one cuts where a unit ends.
    text = "First point. Second point! A question?\nA line without stop"
    assert split_sentences(text) == [
        "First point.",
        "Second point!",
        "A question?",
        "A line without stop",
    ]


@given(st.text(alphabet=st.sampled_from(list("ab AB.,:;!?\n•-12()£%“”'*#|]")), max_size=200))
def test_split_sentences_loses_nothing_but_white_space(text: str) -> None:
    for cautious in (False, True):
        pieces = split_sentences(text, cautious=cautious)
        assert "".join("".join(pieces).split()) == "".join(text.split())
        assert all(p == p.strip() and p for p in pieces)
