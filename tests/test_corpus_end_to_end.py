"""The whole pipeline on the 14 real NHS documents: real MiniLM, Chroma on disk, extractive answers.

The index is built once per session (see ``corpus_services`` in conftest.py).
"""

from __future__ import annotations

import re

import pytest

from assistant.schemas import Filters
from assistant.text import terms

pytestmark = [pytest.mark.slow, pytest.mark.corpus]

LIGATURE_DEFECT = re.compile(r"\b(?:wil|ful y|chal enge\w*|col aborat\w*|national y|overal)\b")


def test_every_document_is_indexed(corpus_services, shared_corpus):
    services, first, _ = corpus_services
    files = sorted(p.name for p in shared_corpus.iterdir() if p.is_file())
    assert len(files) == 14
    assert not first.failed, [(f.path, f.reason) for f in first.failed]
    assert sorted(r.meta.file_name for r in services.store.list_documents()) == files
    assert services.store.count() == first.chunks


def test_pdf_chunks_have_pages_and_markdown_chunks_have_heading_paths(corpus_services):
    services, _, _ = corpus_services
    for chunk in services.store.all_chunks():
        md = chunk.metadata
        if md["file_name"].endswith(".pdf"):
            assert isinstance(md.get("page_start"), int) and md["page_start"] >= 1, chunk.chunk_id
        if md["file_name"].endswith(".md"):
            assert md["section"].strip(), chunk.chunk_id


def test_no_nhs_england_chunk_keeps_ligature_defects_or_page_headers(corpus_services):
    services, _, _ = corpus_services
    nhse = [c for c in services.store.all_chunks() if c.metadata["doc_id"].startswith("nhse-")]
    assert nhse
    for chunk in nhse:
        assert not LIGATURE_DEFECT.search(chunk.text), (
            chunk.chunk_id,
            LIGATURE_DEFECT.search(chunk.text),
        )
    commons = [
        c for c in services.store.all_chunks() if c.metadata["doc_id"].startswith("commons-")
    ]
    assert not any("Commons Library Research Briefing, 23 July 2025" in c.text for c in commons)


def test_reingesting_the_unchanged_corpus_embeds_nothing_and_is_ten_times_faster(corpus_services):
    _, first, second = corpus_services
    assert second.embedded == 0
    assert second.count("unchanged") == 14
    assert second.seconds < first.seconds / 10


PARITY_QUESTIONS = [
    "What is the common platform operating pattern?",
    "What do the authors recommend national bodies do differently?",
    "Why do decentralised systems struggle to learn?",
    "How does the NHS learn as a system according to the operating patterns paper?",
    "What is NHS Notify an example of?",
]


def _overlap(a: str, b: str) -> float:
    x, y = set(terms(a)), set(terms(b))
    return len(x & y) / max(1, min(len(x), len(y)))


@pytest.mark.parametrize("question", PARITY_QUESTIONS)
def test_pdf_and_markdown_twins_give_the_same_passage(corpus_services, question):
    """The top passage from one twin is among the top three of the other."""
    services, _, _ = corpus_services
    pdf = services.retrieve(
        question, k=3, filters=Filters(doc_ids=["operating-patterns-dynamic-nhs-2026.pdf"])
    )
    md = services.retrieve(
        question, k=3, filters=Filters(doc_ids=["operating-patterns-dynamic-nhs-2026.md"])
    )
    best = max(
        max(_overlap(pdf[0].text, m.text) for m in md),
        max(_overlap(md[0].text, p.text) for p in pdf),
    )
    assert best >= 0.6, (pdf[0].text[:200], md[0].text[:200])


ANSWERABLE = {
    "How do I set up a neighbourhood health team?": "neighbourhood",
    "What must my ICB submit in the five-year plan, and by when?": "plan",
    "How is NHS productivity measured?": "productivity",
}


@pytest.mark.parametrize("question", list(ANSWERABLE))
def test_answers_are_cited_and_quotes_are_verbatim(corpus_services, question):
    services, _, _ = corpus_services
    answer = services.ask(question)
    assert not answer.refused, answer.answer
    assert ANSWERABLE[question] in answer.answer.lower()
    markers = {int(n) for n in re.findall(r"\[(\d+)\]", answer.answer)}
    assert markers == {c.n for c in answer.citations}
    for c in answer.citations:
        assert all(q in c.chunk_text for q in c.quotes)
    for sentence in answer.sentences:
        assert sentence.citations


@pytest.mark.parametrize(
    "question",
    [
        "What is the recommended dose of amoxicillin for a child with otitis media?",
        "Who won the FA Cup in 1996?",
        "How do I configure a VPN on a Cisco router?",
    ],
)
def test_questions_outside_the_corpus_are_refused_with_nearest_sources(corpus_services, question):
    services, _, _ = corpus_services
    answer = services.ask(question)
    assert answer.refused, answer.answer
    assert "not cover" in answer.answer
