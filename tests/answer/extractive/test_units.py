"""Answer units a manager can read: a referring sentence with what it refers to, a list with its
items, steps for how-to questions, and honest refusals for near misses and outcomes.

Passages are made up for the tests (the corpus tests ask the real documents)."""

from __future__ import annotations

import re
from dataclasses import replace

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


def test_a_list_whose_bullets_were_lost_is_still_brought_by_its_lead_in() -> None:
    """A web page copied as text: "... the following topics." then one short line per item,
    with the bullets gone; the prose after the list is not taken for an item."""
    text = (
        "The network supports local teams in three ways.\n"
        "We will run workshops on the following topics.\n"
        "Planning rotas for neighbourhood teams.\n"
        "Sharing records safely between services.\n"
        "Measuring what patients say about their care.\n"
        "Alongside these workshops, we will publish case studies from sites that have already "
        "brought community nurses, therapists and social workers into one team.\n"
    )
    got = answer("What topics will the network's workshops cover?", chunk(0, text))
    assert "the following topics.\n- Planning rotas" in got.answer
    assert got.answer.count("\n- ") == 3 and "- Alongside" not in got.answer


def test_a_lead_in_in_running_text_does_not_take_the_next_sentences_as_items() -> None:
    text = (
        "Boards should agree the following priorities. Recruitment comes first this year. "
        "Retention follows in the spring."
    )
    got = answer("Which priorities should boards agree?", chunk(0, text))
    assert "\n- " not in got.answer


def test_the_short_tail_of_a_sentence_the_chunk_cut_is_never_quoted() -> None:
    text = (
        "the neighbourhood staffing plan trusts publish. Each trust should agree its plan "
        "with the integrated care board by June."
    )
    got = answer("When should trusts publish the neighbourhood staffing plan?", chunk(0, text))
    assert got.answer.startswith("Each trust should agree")
    assert "trusts publish" not in got.answer


def test_a_roster_of_names_and_job_titles_is_not_an_answer() -> None:
    roster = (
        "The digital services team Jo Baker – Director of Digital Services Sam Patel – Head "
        "of Data Sam Lee – Chief Clinical Information Officer supported neighbourhood teams."
    )
    advice = "Digital services teams should support neighbourhood teams with shared records."
    got = answer(
        "How should digital services support neighbourhood teams?",
        chunk(0, roster),
        chunk(1, advice),
    )
    assert "Director of Digital" not in got.answer and got.answer.startswith("Digital services")


def test_a_quoted_direction_to_send_personal_data_carries_a_caution() -> None:
    text = (
        "Ward clerks send the weekly discharge list with NHS numbers to referrals.team@nhs.net "
        "every Friday. The list is checked by the discharge coordinator."
    )
    got = answer("Where do ward clerks send the weekly discharge list?", chunk(0, text))
    assert "`referrals.team@nhs.net`" in got.answer
    assert "Caution: this sentence asks for personal or sensitive data" in got.answer
    plain = answer("Who checks the list?", chunk(0, "The list is checked by the coordinator."))
    assert "Caution" not in plain.answer


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


def test_a_list_run_into_one_long_sentence_is_not_taken_for_run_on_column_text() -> None:
    inline = (
        "Commissioners and providers can settle shared planning assumptions by: agreeing the "
        "demand and capacity model together before any figures are drafted, sharing the data, "
        "forecasts and risk registers behind each assumption so that both sides see the same "
        "evidence, jointly testing scenarios where money, staff or beds are short, and recording "
        "every assumption that is still disputed with the name of the person who will settle it."
    )
    other = "Shared planning assumptions are reviewed by the board each quarter."
    got = answer(
        "How should commissioners and providers settle shared planning assumptions?",
        chunk(0, f"{other} {inline}"),
    )
    assert not got.refused and "sharing the data" in got.answer
    # Its items, run into one line by the conversion, are shown as bullets again.
    assert "by:\n- agreeing the demand" in got.answer and "\n- sharing the data" in got.answer
    assert got.citations[0].quote.startswith("Commissioners and providers can settle")


def test_a_question_asking_for_an_enumeration_prefers_the_sentence_that_lists() -> None:
    mentions = (
        "Every local plan should reflect the four pillars of the workforce strategy. "
        "Boards will be asked how their plans deliver the four pillars of the workforce strategy."
    )
    lists = (
        "The four pillars of the workforce strategy are: retaining staff, training more of "
        "them, reforming roles, and improving wellbeing."
    )
    got = answer(
        "What are the four pillars of the workforce strategy?",
        chunk(0, mentions),
        chunk(1, lists),
    )
    assert got.answer.startswith("The four pillars of the workforce strategy are: retaining")


def test_a_series_in_running_text_answers_an_enumeration_over_a_pointer_to_it() -> None:
    """No colon, no bullets: "from A to B, C to D, and E to F" still lists; a sentence naming
    "the three aims set out in the strategy" only points to where they are."""
    points = (
        "Every local plan should support the delivery of the three aims set out in the "
        "regional workforce strategy, with quarterly progress reports to the board."
    )
    lists = (
        "The regional workforce strategy aims to move training from wards to classrooms, "
        "paper to apps, and agency to bank staffing over the next three years."
    )
    got = answer(
        "What are the three aims of the regional workforce strategy?",
        chunk(0, points),
        chunk(1, lists),
    )
    assert got.answer.startswith("The regional workforce strategy aims to move training")


def test_a_footnote_number_before_a_sentence_is_neither_shown_nor_a_figure() -> None:
    from assistant.answer.display import display_text

    assert display_text("10 At the heart of the strategy are four pillars.").startswith("At the")
    assert display_text("12 ICBs have set up neighbourhood teams.").startswith("12 ICBs")


def test_identifiers_in_a_question_are_not_taken_for_what_is_asked() -> None:
    from assistant.answer.extractive.question import distinctive_words

    asked = "When does the lounge open for my patient 943 476 5919? Ref 9434765918."
    assert distinctive_words(asked) == []
    assert distinctive_words("What is the 2031/32 target for 1,500 beds?") == ["2031/32", "1,500"]


def test_a_sentence_stating_another_figure_is_not_a_near_duplicate() -> None:
    text = (
        "Supply of digital staff will grow by 31 per cent to 60,250 staff by 2030. "
        "By 2030 there will be a shortfall of 17,750 staff."
    )
    got = answer("How big is the shortfall of digital staff by 2030?", chunk(0, text))
    assert "17,750" in got.answer


GARBLED = (
    "Waiting list validation every twelve weeks Trusts should write to each at least once a "
    "quarter patient on the list and record the reply in the patient administration system."
)


def test_text_the_conversion_garbled_is_never_quoted_but_pointed_to() -> None:
    clean = "Trusts publish their waiting list figures every month. Validation is a local task."
    text = f"{clean} {GARBLED}"
    start = text.index(GARBLED)
    spoiled = chunk(0, text).model_copy(
        update={
            "garbled_spans": [(start, start + len(GARBLED))],
            "garbled": False,
            "page_start": 12,
            "source_url": "https://example.org/guide.pdf",
        }
    )
    got = answer("How often should trusts validate the waiting list with each patient?", spoiled)
    quoted = " ".join(q for c in got.citations for q in c.quotes)
    assert "twelve weeks" not in quoted and "twelve weeks" not in got.answer
    assert "garbled in this copy" in got.answer
    assert "page 12" in got.answer and "https://example.org/guide.pdf" in got.answer


def test_scraps_barely_touching_the_question_are_not_quoted_beside_a_garbled_match() -> None:
    """Only a sentence sharing one word with the question is readable; the garbled passage is
    the real match, so the answer points to it and quotes nothing."""
    scrap = "Every patient matters to the whole team here."
    text = f"{scrap} {GARBLED}"
    start = text.index(GARBLED)
    spoiled = chunk(0, text).model_copy(
        update={"garbled_spans": [(start, start + len(GARBLED))], "garbled": False}
    )
    got = answer("How often should trusts validate the waiting list with each patient?", spoiled)
    assert "garbled in this copy" in got.answer
    assert "matters" not in got.answer and got.refused


def test_when_every_passage_found_is_garbled_the_refusal_says_where_not_nothing_found() -> None:
    spoiled = chunk(0, GARBLED).model_copy(
        update={"garbled_spans": [(0, len(GARBLED))], "garbled": True, "page_start": 7}
    )
    got = answer("What do the rules say about outpatient follow-up reduction?", spoiled)
    assert got.refused and "garbled in this copy" in got.answer and "page 7" in got.answer
    assert "no related passage" not in got.answer


def test_a_clean_copy_of_the_same_text_is_quoted_as_usual() -> None:
    got = answer(
        "How often should trusts validate the waiting list with each patient?",
        chunk(0, "Trusts should write to each patient on the list at least once a quarter."),
    )
    assert not got.refused and "once a quarter" in got.answer
    assert "garbled" not in got.answer


def test_a_table_row_is_quoted_as_a_row_with_its_caption() -> None:
    table = (
        "Table 2 – bed days by ward type, 2024/25\n"
        "Ward type | Bed days | Change\n"
        "Surgical wards | 41,200 | -3%\n"
        "Medical wards | 58,900 | +6%\n"
        "Paediatric wards | 9,100 | +1%"
    )
    rows = chunk(0, table).model_copy(update={"kind": "table"})
    got = answer("How many bed days did medical wards use in 2024/25?", rows)
    assert not got.refused
    assert got.answer.startswith("Table 2 – bed days by ward type, 2024/25: Medical wards | 58,900")
    assert got.citations[0].quote == "Medical wards | 58,900 | +6%"


def test_a_lead_in_that_refers_back_brings_its_antecedent_and_its_list() -> None:
    text = (
        "Trusts should cut avoidable outpatient follow-up appointments by a quarter.\n"
        "This includes:\n"
        "- patient-initiated follow-up for stable conditions\n"
        "- advice and guidance before referral"
    )
    got = answer("How should trusts cut outpatient follow-up appointments?", chunk(0, text))
    assert not got.refused
    assert got.answer.startswith("Trusts should cut avoidable outpatient follow-up")
    assert "This includes:\n- patient-initiated follow-up" in got.answer


def test_a_number_that_labels_something_is_not_the_figure_asked_for() -> None:
    from assistant.answer.extractive.features import _has_quantity

    assert not _has_quantity("Phase 2 of the review looked at demand up to 2030.")
    assert not _has_quantity("Table 3 sets out the regional returns.")
    assert _has_quantity("By 2030 there will be a shortfall of 17,750 staff.")


# A lead-in whose items each go on for a sentence on their own line (text of this project's own).
GOES_ON = (
    "To cut temporary staffing spend, every system must:\n"
    "• fill planned core rotas before booking premium shifts\n"
    "• cut agency spending where it can. Each system is expected to spend at least 25% less "
    "than last year on agency staff.\n"
    "• reduce bank use, with a cut of at least 5% in every system.\n"
    "Bank rates should be agreed across neighbouring systems."
)


def test_an_item_that_goes_on_for_a_sentence_is_quoted_whole_not_run_into_the_next() -> None:
    got = answer("How much must each system cut agency and bank spending?", chunk(0, GOES_ON))
    assert not got.refused
    text = got.answer
    assert "every system must:\n- fill planned core rotas" in text
    # The item's second sentence stays with it, on its bullet; the next item keeps its own.
    assert "- cut agency spending where it can. Each system is expected to spend at least 25%" in (
        text
    )
    assert "\n- reduce bank use, with a cut of at least 5%" in text
    assert "- Bank rates" not in text  # prose after the list is not an item


def test_only_an_items_first_sentence_counts_when_scoring_a_list() -> None:
    """A list does not outscore the sentence that answers by carrying more words: the sentences
    an item goes on with are quoted, not scored."""
    units = sentences_of(0, chunk(0, GOES_ON))
    listed = next(u for u in units if u.items)
    assert listed.items == 3
    assert "25%" in listed.text  # quoted ...
    assert "expected" not in listed.terms and "year" not in listed.terms  # ... not scored


def test_an_item_goes_on_only_on_its_own_line_and_not_into_a_lead_in() -> None:
    text = (
        "Boards should:\n"
        "• agree the plan by June\n"
        "• review the risks each quarter. To support this the region will:\n"
        "• publish a template\n"
    )
    units = sentences_of(0, chunk(0, text))
    listed = next(u for u in units if u.items)
    assert listed.items == 2 and "To support this" not in listed.text


def test_a_long_list_stops_before_it_fills_the_answer() -> None:
    item = (
        "arrange a named lead for the service and publish their contact details on the "
        "practice website and in the waiting room for every patient"
    )
    text = "Each practice must:\n" + "".join(f"• {item} ({n})\n" for n in range(1, 8))
    listed = next(u for u in sentences_of(0, chunk(0, text)) if u.items)
    assert 1 <= listed.items < 7
    assert len(listed.text.split()) <= 120 + len(item.split()) + 3


def test_what_an_items_further_sentences_say_counts_as_evidence() -> None:
    """A list is chosen on its items' first sentences, but the evidence for answering is judged
    on everything it quotes: the question's words in an item's second sentence count there."""
    from assistant.answer.extractive.question import analyse_question
    from assistant.answer.extractive.scoring import evidence_score, idf, score_all

    q = analyse_question("How much less than last year must each system spend on agency?")
    chunks = [chunk(0, GOES_ON)]
    units = sentences_of(0, chunks[0])
    weights = idf(q.terms, units)
    listed = next(x for x in score_all(q, units, chunks, weights) if x.sentence.items)
    assert "year" in listed.sentence.quoted_terms and "year" not in listed.sentence.terms
    assert listed.covers > listed.lex  # chosen on less than it quotes ...
    assert evidence_score(weights, [listed], chunks) > evidence_score(
        weights, [replace(listed, quoted_lex=0.0)], chunks
    )  # ... judged on all of it


def test_a_list_does_not_end_on_an_item_whose_own_items_are_cut_off() -> None:
    text = (
        "Systems should cut handover delays by:\n"
        "• meeting a 15 minute handover target\n"
        "• improving hear and treat rates\n"
        "• Improve care at the front door by: 1 excluding agreed cases"
    )
    listed = next(u for u in sentences_of(0, chunk(0, text)) if u.items)
    assert listed.items == 2 and "front door" not in listed.text


def test_a_labelled_last_item_stays() -> None:
    text = "The plan has three parts:\n• Workforce: more staff in the community\n• Estates: fewer sites"
    listed = next(u for u in sentences_of(0, chunk(0, text)) if u.items)
    assert listed.items == 2
