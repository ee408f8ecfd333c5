"""Formatting for the page: escaping, citation links, highlighted quotes, the refusal state."""

from __future__ import annotations

import re

from assistant.schemas import Answer, AnswerSentence, Citation, DocumentMeta, RetrievedChunk
from assistant.transcript import Exchange, conversation_markdown, page_link
from ui import render

HOSTILE = (
    '<script>alert(1)</script> <img src=x onerror="alert(2)"> ![t](https://evil.example/p.png)'
)


def _citation(n: int, text: str, spans: list[tuple[int, int]], **kw: object) -> Citation:
    quotes = [text[a:b] for a, b in spans]
    fields: dict = {
        "n": n,
        "doc_id": "doc",
        "title": "Plan",
        "section": "2 > Targets",
        "page": 4,
        "quote": " … ".join(quotes),
        "quotes": quotes,
        "spans": spans,
        "chunk_id": f"c{n}",
        "chunk_text": text,
        "source_url": "https://example.org/plan.pdf",
        "publisher": "NHS England",
    }
    fields.update(kw)
    return Citation(**fields)


def _answer(text: str, citations: list[Citation], **kw: object) -> Answer:
    return Answer(
        question="q",
        answer=text,
        sentences=[AnswerSentence(text=text, citations=[c.n for c in citations])],
        citations=citations,
        **kw,
    )


def test_markers_become_links_to_their_source_and_unknown_markers_stay_text():
    chunk = "Growth is 2% a year. Other text."
    answer = _answer("Growth is 2% a year [1]. See also [7].", [_citation(1, chunk, [(0, 20)])])
    md = render.answer_markdown(answer, turn=3)
    assert "[\\[1\\]](#cite-3-1)" in md
    assert "#cite-3-7" not in md and "\\[7\\]" in md


def test_source_text_with_html_and_markdown_tricks_is_shown_literally():
    answer = _answer(HOSTILE + " [1]", [_citation(1, HOSTILE, [(0, len(HOSTILE))])])
    md = render.answer_markdown(answer, turn=1)
    assert "<script>" not in md and "<img" not in md
    assert "](https://evil" not in md  # no Markdown image or link survives
    panel = render.citation_html(answer.citations[0], turn=1)
    assert "<script>" not in panel and "<img" not in panel
    assert "&lt;script&gt;" in panel


def test_numbered_steps_stay_a_list():
    answer = _answer("1. Agree the footprint [1]\n2. Name a lead [1]", [_citation(1, "x", [])])
    md = render.answer_markdown(answer, turn=1)
    assert re.search(r"^1\. Agree", md, re.M) and re.search(r"^2\. Name", md, re.M)


def test_the_quoted_spans_are_highlighted_within_the_whole_passage():
    text = "First sentence here. The quoted sentence. Last one."
    c = _citation(1, text, [(21, 41)])
    panel = render.citation_html(c, turn=2)
    assert 'id="cite-2-1"' in panel
    assert "<mark>The quoted sentence.</mark>" in panel
    assert "First sentence here." in panel and "Last one." in panel
    assert 'href="https://example.org/plan.pdf#page=4"' in panel
    assert 'rel="noopener noreferrer"' in panel


def test_only_web_addresses_become_links():
    assert page_link("javascript:alert(1)", 2) is None
    assert page_link("file:///etc/passwd", None) is None
    assert page_link("https://example.org/a.PDF?x=1", 3) == "https://example.org/a.PDF?x=1#page=3"


def test_a_refusal_is_labelled_not_covered_and_the_panel_lists_nearest_sources():
    c = _citation(1, "Nearby text.", [(0, 12)])
    answer = _answer("The documents do not cover this. [1] Plan", [c], refused=True)
    assert render.answer_markdown(answer, 1).startswith(f"**{render.REFUSAL_HEADING}.**")
    panel = render.sources_html([Exchange("q", answer=answer)])
    assert "Nearest sources" in panel and "does not answer" in panel


def test_the_panel_opens_the_latest_answer_and_folds_earlier_ones():
    c = _citation(1, "Some text.", [(0, 10)])
    retrieved = [
        RetrievedChunk(chunk_id="c1", doc_id="doc", title="Plan", text="Some text.", page_start=4)
    ]
    first = _answer("A [1]", [c])
    second = _answer("B [1]", [c], retrieved=retrieved)
    panel = render.sources_html([Exchange("q1", answer=first), Exchange("q2", answer=second)])
    assert panel.index("Sources for question 2") < panel.index("Sources for question 1")
    assert 'id="cite-2-1" open' in panel and 'id="cite-1-1">' in panel
    assert "All passages retrieved" in panel and "cited" in panel


def test_the_transcript_has_every_question_answer_and_source_with_identifiers_redacted():
    c = _citation(1, "Growth is 2% a year.", [(0, 20)])
    exchanges = [
        Exchange(
            "What is the target? My email is jo.bloggs@example.org", answer=_answer("2% [1]", [c])
        ),
        Exchange("And then?", error="the index is empty"),
    ]
    md = conversation_markdown(exchanges)
    assert "jo.bloggs" not in md
    assert "## 1. What is the target?" in md and "## 2. And then?" in md
    assert "[1] Plan — 2 > Targets, p. 4 (NHS England)" in md
    assert "<https://example.org/plan.pdf#page=4>" in md and "> Growth is 2% a year." in md
    assert "*No answer: the index is empty*" in md


def test_extractive_quotes_get_a_paragraph_each_but_literal_brackets_do_not_split():
    c = _citation(1, "x", [])
    answer = _answer("First quote (see annex) here [1] Second quote [1]", [c])
    md = render.answer_markdown(answer, turn=1)
    assert md.count("\n\n") == 1
    assert md.split("\n\n")[1].startswith("Second quote")


def test_a_checked_generated_answer_says_what_the_check_removed_and_how_it_read_the_question():
    c = _citation(1, "Plans are due in June.", [(0, 22)])
    answer = _answer(
        "Plans are due in June [1].",
        [c],
        mode="llm",
        removed=2,
        standalone_question="When are <b>ICB</b> plans due?",
    )
    md = render.answer_markdown(answer, turn=1)
    assert md.startswith("*Read as: When are &lt;b&gt;ICB&lt;/b&gt; plans due?*")
    assert md.endswith("*2 generated sentences removed: the cited sources did not support them.*")


def test_a_fallback_answer_says_it_is_quotes():
    answer = _answer("Quote [1]", [_citation(1, "Quote", [(0, 5)])], mode="extractive-fallback")
    assert "could not be used" in render.answer_markdown(answer, turn=1)


def test_the_section_line_never_just_repeats_the_title():
    assert render.section_within("Theatre list guide", "Theatre list guide > Scheduling") == (
        "Scheduling"
    )
    assert render.section_within("Theatre list guide", "Theatre  list guide") is None
    assert render.section_within("Guide", "Part 2 > Scheduling") == "Part 2 > Scheduling"


def test_the_header_says_what_the_index_holds():
    def meta(title: str, publisher: str, date: str) -> DocumentMeta:
        return DocumentMeta(
            doc_id=title.lower().replace(" ", "-"),
            title=title,
            file_name="x.md",
            publisher=publisher,
            date=date,
        )

    briefings = [meta(f"Briefing {i}", render.PROJECT_PUBLISHER, "2026-11-28") for i in range(5)]
    assert render.index_summary(briefings) == (
        "Answers from 5 briefings written by this project that summarise the national "
        "documents, with a citation for every sentence."
    )
    plan = meta("Plan", "NHS England", "2025-10-24")
    both = [plan, plan.model_copy(update={"doc_id": "plan-pdf"}), meta("Act", "DHSC", "2021-01-01")]
    assert render.index_summary(both).startswith(
        "Answers from 2 publications from DHSC and NHS England (2021–2025)"
    )
    assert "index is empty" in render.index_summary([])
    assert "<h1>" in render.header_html("T", both) and "Plan" in render.empty_chat_text(both)
