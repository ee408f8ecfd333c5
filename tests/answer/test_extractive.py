"""The extractive answerer, on short made-up passages about NHS planning."""

from __future__ import annotations

import re

import pytest

from assistant.answer.extractive import ExtractiveAnswerer, content_terms
from assistant.config import AnswerSettings
from assistant.schemas import Answer, RetrievedChunk

TEAMS = (
    "Neighbourhood teams bring together community nurses, social workers and GPs around a "
    "shared local population. Many areas have run such teams for several years.\n\n"
    "ICBs must agree a neighbourhood footprint with their local authority partners by March "
    "2026. Trusts should second community staff into each neighbourhood team and report "
    "progress to their boards every quarter."
)
STEPS = (
    "Getting started\n"
    "Each system is expected to take the following steps to set up neighbourhood teams:\n"
    "• appoint a named clinical lead for every neighbourhood team\n"
    "• publish a joint delivery plan with the local authority by Q1 2026/27\n"
    "• share care records across practices, community services and social care"
)
WAITING = (
    "People waiting for community care often wait longer than people waiting for hospital "
    "care. Around 1.2 million people were waiting for community care in March 2025, 14% more "
    "than a year earlier. Children and young people make up a growing share of the list."
)
# The same paper converted from PDF: the same sentences, broken across lines.
WAITING_PDF = (
    "People waiting for community care often wait longer than people\nwaiting for hospital "
    "care. Around 1.2 million people were waiting for\ncommunity care in March 2025, 14% more "
    "than a year earlier. Children and\nyoung people make up a growing share of the list."
)
FINANCE = (
    "Systems must deliver a balanced financial position in 2026/27. The guidance sets a 2.8% "
    "efficiency requirement for all providers, e.g. through lower agency spend.\n\n"
    "12 Institute of Health Studies, Neighbourhood team funding review, March 2024"
)


def chunk(
    n: int,
    text: str,
    *,
    dense: float | None = 0.6,
    title: str = "Neighbourhood health guide",
    section: str = "Delivery",
    doc: str | None = None,
) -> RetrievedChunk:
    return RetrievedChunk(
        chunk_id=f"chunk-{n}",
        doc_id=doc or f"doc-{n}",
        title=title,
        section=section,
        text=text,
        page_start=n + 2,
        rank=n + 1,
        score=1 / (61 + n),
        dense_score=dense,
        bm25_score=None if n % 2 else 3.0,
        source_url=f"https://example.org/{n}",
        publisher="NHS England",
    )


@pytest.fixture
def answerer() -> ExtractiveAnswerer:
    return ExtractiveAnswerer(AnswerSettings())


@pytest.fixture
def chunks() -> list[RetrievedChunk]:
    return [
        chunk(0, TEAMS),
        chunk(1, STEPS, section="Getting started"),
        chunk(2, WAITING, title="Community waiting lists"),
        chunk(3, FINANCE, title="Financial planning", dense=0.4),
    ]


QUESTIONS = [
    "How should ICBs set up neighbourhood teams?",
    "What are neighbourhood teams?",
    "How many people were waiting for community care?",
    "What efficiency requirement applies to providers?",
]


def markers(answer: Answer) -> list[int]:
    return [int(n) for n in re.findall(r"\[(\d+)\]", answer.answer)]


@pytest.mark.parametrize("question", QUESTIONS)
def test_quotes_are_exact_substrings_of_the_chunk(
    answerer: ExtractiveAnswerer, chunks: list[RetrievedChunk], question: str
) -> None:
    answer = answerer.answer(question, chunks)
    assert not answer.refused
    by_id = {c.chunk_id: c for c in chunks}
    for citation in answer.citations:
        assert citation.chunk_text == by_id[citation.chunk_id].text
        assert citation.quotes and citation.quote == " … ".join(citation.quotes)
        for quote, (start, end) in zip(citation.quotes, citation.spans, strict=True):
            assert quote and citation.chunk_text[start:end] == quote


@pytest.mark.parametrize("question", QUESTIONS)
def test_citations_are_numbered_in_order_of_first_use_without_gaps(
    answerer: ExtractiveAnswerer, chunks: list[RetrievedChunk], question: str
) -> None:
    answer = answerer.answer(question, chunks)
    ns = [c.n for c in answer.citations]
    assert ns == list(range(1, len(ns) + 1))
    used = markers(answer)
    assert used and set(used) == set(ns)
    first_use = list(dict.fromkeys(used))
    assert first_use == ns
    assert len(answer.sentences) <= AnswerSettings().max_sentences
    for sentence in answer.sentences:
        assert sentence.citations and all(1 <= n <= len(ns) for n in sentence.citations)
        assert f"{sentence.text} [{sentence.citations[0]}]" in answer.answer


def test_citation_carries_the_chunk_details(
    answerer: ExtractiveAnswerer, chunks: list[RetrievedChunk]
) -> None:
    answer = answerer.answer("How many people were waiting for community care?", chunks)
    first = answer.citations[0]
    source = next(c for c in chunks if c.chunk_id == first.chunk_id)
    assert (first.title, first.section, first.page) == (source.title, source.section, 4)
    assert (first.source_url, first.publisher, first.doc_id) == (
        source.source_url,
        "NHS England",
        source.doc_id,
    )


def test_how_to_question_gives_numbered_actionable_steps_first(
    answerer: ExtractiveAnswerer, chunks: list[RetrievedChunk]
) -> None:
    answer = answerer.answer("How should ICBs set up neighbourhood teams?", chunks)
    lines = [line for line in answer.answer.splitlines() if not line.startswith(" ")]  # not bullets
    assert [line.split(".")[0] for line in lines] == [str(i) for i in range(1, len(lines) + 1)]
    actionable = re.compile(r"\b(must|should|expected to)\b|^(Appoint|Publish|Share)")
    flags = [bool(actionable.search(s.text)) for s in answer.sentences]
    assert flags[0]
    assert flags == sorted(flags, reverse=True)  # no step after a background sentence
    assert any("ICBs must agree a neighbourhood footprint" in s.text for s in answer.sentences)


def test_actionable_sentences_outrank_background_only_for_how_to(
    chunks: list[RetrievedChunk],
) -> None:
    one = ExtractiveAnswerer(AnswerSettings(max_sentences=1))
    how = one.answer("How should trusts staff neighbourhood teams?", chunks)
    what = one.answer("What are neighbourhood teams?", chunks)
    assert how.sentences[0].text.startswith("Trusts should second community staff")
    assert what.sentences[0].text.startswith("Neighbourhood teams bring together")
    assert not what.answer.startswith("1. ")


def test_lead_in_is_quoted_with_its_list(
    answerer: ExtractiveAnswerer, chunks: list[RetrievedChunk]
) -> None:
    answer = answerer.answer("What steps should each system take to set up teams?", chunks)
    steps = next(s for s in answer.sentences if s.text.startswith("Each system is expected"))
    assert "appoint a named clinical lead" in steps.text
    assert "share care records" in steps.text
    citation = answer.citations[steps.citations[0] - 1]
    assert citation.quote.startswith("Each system is expected")
    assert citation.quote.endswith("community services and social care")


def test_numeric_question_prefers_the_sentence_with_the_figure(
    chunks: list[RetrievedChunk],
) -> None:
    one = ExtractiveAnswerer(AnswerSettings(max_sentences=1))
    answer = one.answer("How many people were waiting for community care?", chunks)
    assert "1.2 million" in answer.sentences[0].text
    # Without the figure cue, the sentence with the same words and no number would do as well.
    plain = one.answer("Are people waiting for community care?", chunks)
    assert "1.2 million" not in plain.sentences[0].text


def test_duplicates_from_twin_chunks_are_collapsed(answerer: ExtractiveAnswerer) -> None:
    twins = [
        chunk(0, WAITING, doc="waiting-md"),
        chunk(1, WAITING_PDF, doc="waiting-pdf"),
    ]
    answer = answerer.answer("How many people were waiting for community care?", twins)
    texts = [s.text for s in answer.sentences]
    assert sum("1.2 million" in t for t in texts) == 1
    assert len(texts) == len(set(texts))
    assert [c.doc_id for c in answer.citations] == ["waiting-md"]


def test_weak_evidence_refuses_and_lists_nearest_sources() -> None:
    # The evidence threshold alone (no embedder check), set where it refuses this question.
    settings = AnswerSettings(min_evidence=0.4)
    answerer = ExtractiveAnswerer(settings)
    weak = [
        chunk(0, TEAMS, dense=0.28),
        chunk(1, WAITING, dense=0.22, title="Community waiting lists"),
        chunk(2, FINANCE, dense=0.2, title="Financial planning"),
        chunk(3, STEPS, dense=0.18, title="Getting started guide"),
    ]
    answer = answerer.answer("What is the neighbourhood team policy on space tourism?", weak)
    assert answer.refused
    assert "do not cover" in answer.answer
    assert answer.sentences == []
    assert [c.n for c in answer.citations] == [1, 2, 3]
    for c, source in zip(answer.citations, weak, strict=False):
        assert c.chunk_id == source.chunk_id
        assert f"[{c.n}] {source.title} — {source.section}" in answer.answer
        assert c.quote in c.chunk_text
    assert answer.evidence_score < settings.min_evidence


def test_answerable_question_scores_clearly_above_one_sharing_a_few_words(
    answerer: ExtractiveAnswerer,
) -> None:
    def ask(question: str, dense: float) -> float:
        chunks = [chunk(0, TEAMS, dense=dense), chunk(1, WAITING, dense=dense - 0.1)]
        return answerer.answer(question, chunks).evidence_score

    good = ask("What must ICBs agree with their local authority partners?", 0.62)
    bad = ask("What is the neighbourhood team budget for staff parking permits?", 0.35)
    assert 0.0 <= bad < good <= 1.0
    assert good - bad > 0.3


def test_no_chunks_refuses(answerer: ExtractiveAnswerer) -> None:
    answer = answerer.answer("What are neighbourhood teams?", [])
    assert answer.refused and answer.citations == [] and answer.evidence_score == 0.0


def test_bm25_only_chunks_use_coverage_alone(answerer: ExtractiveAnswerer) -> None:
    answer = answerer.answer("What must ICBs agree?", [chunk(0, TEAMS, dense=None)])
    assert not answer.refused
    assert 0.0 < answer.evidence_score <= 1.0


def test_headings_and_footnotes_are_not_quoted(answerer: ExtractiveAnswerer) -> None:
    text = (
        "Neighbourhood team funding\n"
        "Neighbourhood teams receive funding through the ICB allocation each year.\n\n"
        "12 Institute of Health Studies, Neighbourhood team funding review, March 2024"
    )
    answer = answerer.answer("How is neighbourhood team funding given?", [chunk(0, text)])
    assert [s.text for s in answer.sentences] == [
        "Neighbourhood teams receive funding through the ICB allocation each year."
    ]


def test_acronyms_match_their_long_form() -> None:
    assert content_terms("integrated care boards") == content_terms("ICBs")
    assert content_terms("three shifts") == content_terms("3 shift")
    assert set(content_terms("organising plans")) == set(content_terms("organizing planned"))


def test_answer_is_deterministic(
    answerer: ExtractiveAnswerer, chunks: list[RetrievedChunk]
) -> None:
    first = answerer.answer("How should ICBs set up neighbourhood teams?", chunks)
    again = ExtractiveAnswerer(AnswerSettings()).answer(
        "How should ICBs set up neighbourhood teams?", list(chunks)
    )
    assert first.model_dump(exclude={"timings_ms"}) == again.model_dump(exclude={"timings_ms"})


def test_answer_metadata(answerer: ExtractiveAnswerer, chunks: list[RetrievedChunk]) -> None:
    timings = {"retrieve": 12.5}
    answer = answerer.answer("What are neighbourhood teams?", chunks, timings_ms=timings)
    assert answer.question == "What are neighbourhood teams?"
    assert answer.mode == "extractive"
    assert answer.retrieved == chunks
    assert answer.timings_ms["retrieve"] == 12.5 and answer.timings_ms["answer"] >= 0
    assert timings == {"retrieve": 12.5}  # the caller's dict is not changed
    assert 0.0 <= answer.evidence_score <= 1.0


def test_answer_step_is_fast(answerer: ExtractiveAnswerer) -> None:
    # Six distinct chunks of realistic size (parsing is cached per text, so vary them).
    body = " ".join([TEAMS, WAITING, FINANCE, STEPS.replace("\n", " ")])
    six = [chunk(i, f"Part {i}. {body}") for i in range(6)]
    answer = answerer.answer("How should ICBs set up neighbourhood teams?", six)
    assert answer.timings_ms["answer"] < 100


def test_sentence_vectors_for_the_refusal_check_are_embedded_once() -> None:
    from assistant.config import AnswerSettings
    from assistant.embeddings.fake import HashingEmbedder

    embedder = HashingEmbedder(dimension=16)
    answerer = ExtractiveAnswerer(AnswerSettings(), embedder)
    vectors = answerer.evidence_check.vectors
    assert vectors is not None
    first = vectors(["Boards sign off plans.", "ICBs submit plans."])
    again = vectors(["ICBs submit plans.", "Boards sign off plans."])
    assert embedder.calls == 2
    assert (first[0] == again[1]).all()


BAND_TEXT = (
    "Integrated care boards publish a workforce plan each spring. Trusts report staffing "
    "figures to the board every quarter."
)


@pytest.mark.parametrize(
    ("question", "dense", "refused", "embeds"),
    [
        ("What about the workforce plan and parking fines?", 0.9, False, False),  # accept
        ("What about the workforce plan and parking fines?", 0.5, True, True),  # ask sentences
        ("What about the workforce plan and parking fines?", 0.1, True, False),  # refuse
        # words and sentence agree strongly: answered without the similarity checks
        ("When do boards publish the workforce plan?", 0.1, False, False),
    ],
)
def test_passage_similarity_settles_the_refusal_check_and_sentences_are_embedded_only_between(
    question, dense, refused, embeds
):
    from assistant.config import AnswerSettings
    from assistant.embeddings.fake import HashingEmbedder

    embedder = HashingEmbedder()
    answerer = ExtractiveAnswerer(AnswerSettings(), embedder)
    chunk = RetrievedChunk(chunk_id="c1", doc_id="d", title="T", text=BAND_TEXT, dense_score=dense)
    answer = answerer.answer(question, [chunk])
    assert answer.refused is refused
    assert (embedder.calls > 0) is embeds
