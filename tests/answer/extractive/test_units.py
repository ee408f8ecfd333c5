"""Answer units a manager can read: a referring sentence with what it refers to, a list with its
items, steps for how-to questions, and honest refusals for near misses and outcomes.

Passages are made up for the tests (the corpus tests ask the real documents)."""

from __future__ import annotations

import re

from assistant.answer.extractive import ExtractiveAnswerer
from assistant.answer.extractive.features import refers_back, sentences_of
from assistant.config import AnswerSettings
from assistant.schemas import RetrievedChunk


def chunk(n: int, text: str, *, doc: str = "guide", section: str = "Delivery") -> RetrievedChunk:
    return RetrievedChunk(
        chunk_id=f"{doc}:{n}",
        doc_id=doc,
        title=f"{doc.title()} guidance",
        section=section,
        text=text,
        rank=n + 1,
        dense_score=0.62,
    )


def answer(question: str, *chunks: RetrievedChunk, known=None):
    return ExtractiveAnswerer(AnswerSettings(), known=known).answer(question, list(chunks))


REPORTING = (
    "Trusts should second community nurses into every neighbourhood team from April. They must "
    "report staffing gaps to the integrated care board each quarter, using the national return. "
    "Recruitment of therapists is a separate programme."
)
LIST = (
    "Neighbourhood teams work best with a shared dataset.\n"
    "The linked dataset should cover the following services:\n"
    "• general practice and community pharmacy\n"
    "• community health services\n"
    "• adult social care\n"
    "Data sharing agreements must be signed before any record is linked."
)
CUT = (
    "Boards must approve the neighbourhood plan before submission. Boards must confirm three "
    "things about the neighbourhood plan:"
)
TARGET = (
    "Trusts must see 78% of patients attending A&E within 4 hours by March 2026. The ambition "
    "rises to 82% by March 2027, on the way to the constitutional standard."
)


def test_a_sentence_that_refers_back_is_quoted_with_the_sentence_it_refers_to() -> None:
    got = answer("How often must staffing gaps be reported to the ICB?", chunk(0, REPORTING))
    assert not got.refused
    first = got.sentences[0].text
    assert first.startswith("Trusts should second community nurses")
    assert "They must report staffing gaps" in first
    # One quote: the two sentences are contiguous in the source.
    assert got.citations[0].quotes == [REPORTING[: REPORTING.index("return.") + 7]]


def test_a_referring_sentence_without_its_antecedent_is_marked_dangling() -> None:
    opening = "They must report staffing gaps each quarter. Boards review them."
    units = sentences_of(0, chunk(0, opening))
    assert units[0].dangling and refers_back(units[0].shown)
    assert not refers_back("This document sets out the guidance.")
    assert not refers_back("It is essential that boards agree the plan.")


def test_a_lead_in_brings_its_list_as_bullets() -> None:
    got = answer("Which services should the linked dataset cover?", chunk(0, LIST))
    assert not got.refused
    text = got.answer
    assert "The linked dataset should cover the following services:\n- general practice" in text
    assert text.count("\n- ") == 3
    # Blank lines around the list, so Markdown renders it and keeps the next sentence apart.
    assert re.search(r"\n- adult social care \[1\](\n\n|$)", text)


def test_a_list_announced_but_not_given_is_never_quoted_alone() -> None:
    got = answer("What must boards confirm about the neighbourhood plan?", chunk(0, CUT))
    assert all(not s.text.rstrip().endswith(":") for s in got.sentences)


def test_a_figure_question_leads_with_the_sentence_that_holds_the_figure() -> None:
    background = chunk(
        1,
        "Waiting times in A&E matter to patients and to staff. Boards discuss A&E performance "
        "every month.",
    )
    got = answer("What is the 4 hour A&E target for March 2026?", background, chunk(0, TARGET))
    assert not got.refused
    assert "78%" in got.sentences[0].text


def test_an_outcome_asked_where_only_the_target_is_written_is_said_plainly() -> None:
    got = answer("Did the NHS actually hit the 4 hour A&E target in March 2026?", chunk(0, TARGET))
    assert got.refused
    assert "do not report the outcome" in got.answer
    assert "78%" in got.answer and got.citations[0].quotes  # the target, quoted and cited


def test_a_year_the_passages_do_not_mention_is_named_with_the_closest_they_come() -> None:
    got = answer("What is the A&E 4 hour target for 2031/32?", chunk(0, TARGET))
    assert got.refused
    assert "“2031/32”" in got.answer and "The closest they come" in got.answer
    assert got.citations and got.citations[0].quotes


def test_a_financial_year_matches_the_march_that_ends_it() -> None:
    got = answer("What is the A&E 4 hour target for 2026/27?", chunk(0, TARGET))
    assert not got.refused and "82%" in got.answer


def test_a_name_the_corpus_never_mentions_is_said_so() -> None:
    def known(word: str) -> bool:
        return word.lower() != "frimley"

    got = answer("What is Frimley's A&E target for March 2026?", chunk(0, TARGET), known=known)
    assert got.refused and "do not mention “Frimley”" in got.answer


def test_an_answer_stays_in_its_document_and_is_short() -> None:
    other = chunk(
        0,
        "Trusts report many things to their boards. Staffing gaps appear in annual reports.",
        doc="other",
    )
    got = answer("How often must staffing gaps be reported to the ICB?", chunk(0, REPORTING), other)
    assert {c.doc_id for c in got.citations} == {"guide"}
    assert len(got.answer.split()) <= 250
