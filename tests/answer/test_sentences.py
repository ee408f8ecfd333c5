"""Sentence splitting on the kinds of text ingestion produces (passages written for the tests)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from assistant.answer.sentences import (
    display_text,
    is_list_item,
    marker_length,
    split_sentences,
    strip_marker,
)


def sentences(text: str) -> list[str]:
    return [text[a:b] for a, b in split_sentences(text)]


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
    for a, b in split_sentences(text):
        assert text[a:b] == text[a:b].strip()
        assert text[a:b]


def test_display_text_strips_markers_bold_escapes_and_line_breaks() -> None:
    assert display_text("12. **Boards** should\n  act \\(now\\).") == "Boards should act (now)."
    assert display_text("• share records") == "share records"
    assert display_text("## Next steps") == "Next steps"
    assert display_text("2.8 million people wait.") == "2.8 million people wait."
    assert display_text("44 The wider economy grew.") == "The wider economy grew."
    assert display_text("18 ICBs have merged.") == "18 ICBs have merged."


def test_markers() -> None:
    assert marker_length("12. There is") == 4
    assert is_list_item("• item") and is_list_item("1) item") and is_list_item("(c) item")
    assert not is_list_item("2025 was a hard year.")
    assert not is_list_item("2.8 million people")
    assert strip_marker("2.3 Primary care") == "Primary care"


@given(st.text(alphabet=st.sampled_from(list("ab .,:;!?\n•-12()£%“”'*#|")), max_size=200))
def test_spans_are_ordered_disjoint_and_non_empty(text: str) -> None:
    last_end = 0
    for a, b in split_sentences(text):
        assert last_end <= a < b <= len(text)
        piece = text[a:b]
        assert piece == piece.strip()
        assert any(ch.isalnum() for ch in piece)
        last_end = b


def test_display_text_drops_source_reference_marks_and_bracketed_links():
    from assistant.answer.sentences import display_text

    shown = display_text(
        "Teams share one inbox [19] as set out in the guide (https://example.org/guide) [3, 4]."
    )
    assert shown == "Teams share one inbox as set out in the guide."


def test_display_text_drops_briefing_source_markers():
    from assistant.answer.sentences import display_text

    shown = display_text(
        "Boards sign off plans by March [src: nhse-planning-framework-2025, Annex A]."
    )
    assert shown == "Boards sign off plans by March."
