""" "What changed?" questions: the two documents found, each side answered from its own."""

from __future__ import annotations

from datetime import date

from assistant.answer.compare import comparison, references, side_by_side
from assistant.schemas import Answer, AnswerSentence, AskRequest, Citation, DocumentMeta

OLD = DocumentMeta(
    doc_id="pog.md",
    file_name="pog.md",
    title="2025/26 priorities and operational planning guidance",
    period="2025/26",
    status="superseded",
    superseded_by="mtpf",  # a manifest id: the file is mtpf.md
)
NEW = DocumentMeta(
    doc_id="mtpf.md",
    file_name="mtpf.md",
    title="Medium term planning framework: delivering change together 2026/27 to 2028/29",
    period="2026/27-2028/29",
    status="current",
)
NH = DocumentMeta(
    doc_id="nh.md",
    file_name="nh.md",
    title="Neighbourhood health guidelines 2025/26",
    period="2025/26",
)
DOCS = {d.doc_id: d for d in (OLD, NEW, NH)}


def test_documents_are_named_by_a_run_of_their_title_words_in_any_order():
    q = "How did the 2025/26 guidelines differ from the medium term framework on access?"
    assert [r.doc_ids for r in references(q, DOCS)] == [("nh.md",), ("mtpf.md",)]
    assert references("How do I set up a neighbourhood health team?", DOCS) == []


def test_a_what_changed_question_compares_two_documents_older_first():
    q = "What changed between the medium term planning framework and the 2025/26 planning guidance on agency staff?"
    assert comparison(q, DOCS) == (["pog.md", "mtpf.md"], "What on agency staff?")
    # Too little left once the names are out: each side is asked the question itself.
    bare = "How does the 2025/26 planning guidance compare with the medium term framework?"
    assert comparison(bare, DOCS) == (["pog.md", "mtpf.md"], bare)


def test_one_document_named_is_compared_with_its_successor_or_predecessor():
    assert comparison("Since the 2025/26 planning guidance, has the cancer target changed?", DOCS)[
        0
    ] == ["pog.md", "mtpf.md"]
    assert comparison("What has the medium term planning framework changed on bank staff?", DOCS)[
        0
    ] == ["pog.md", "mtpf.md"]


def test_other_questions_are_not_comparisons():
    for question in (
        "What does the medium term planning framework say about change management?",
        "How do we replace agency staff under the medium term planning framework?",
        "What is the difference between agency and bank limits in 2026/27 to 2028/29?",
        "What's new in operational planning guidance?",
    ):
        assert comparison(question, DOCS) is None, question
    assert (
        comparison("What is in the medium term planning framework on agency staff?", DOCS) is None
    )
    assert comparison("How has neighbourhood working changed in England?", DOCS) is None


def _answer(doc: str, text: str, refused: bool = False) -> Answer:
    if refused:
        return Answer(
            question="q",
            answer="The documents in the corpus do not cover this question well enough.",
            refused=True,
        )
    c = Citation(n=1, doc_id=doc, title=doc, quote=text, chunk_id=f"{doc}-1", chunk_text=text)
    s = AnswerSentence(text=text, citations=[1])
    return Answer(question="q", answer=f"{text} [1]", citations=[c], sentences=[s])


def test_side_by_side_numbers_citations_on_and_says_when_a_side_is_silent():
    both = side_by_side("q", [(OLD, _answer("pog.md", "Cut agency by 30%.")),
                              (NEW, _answer("mtpf.md", "End agency use."))])  # fmt: skip
    assert both.answer.split("\n\n") == [
        "Side by side, each from its own document:",
        "2025/26 priorities and operational planning guidance (2025/26):\nCut agency by 30%. [1]",
        "Medium term planning framework: delivering change together 2026/27 to 2028/29 "
        "(2026/27-2028/29):\nEnd agency use. [2]",
    ]
    assert [(c.n, c.doc_id) for c in both.citations] == [(1, "pog.md"), (2, "mtpf.md")]
    assert [s.citations for s in both.sentences] == [[1], [2]]
    silent = side_by_side("q", [(OLD, _answer("pog.md", "x", refused=True)),
                                (NEW, _answer("mtpf.md", "End agency use."))])  # fmt: skip
    assert silent.answer.split("\n\n")[1].endswith(
        "\nThis document does not cover this question well enough."
    )
    assert not silent.refused and [c.n for c in silent.citations] == [1]
    neither = side_by_side("q", [(OLD, _answer("pog.md", "x", refused=True)),
                                 (NEW, _answer("mtpf.md", "x", refused=True))])  # fmt: skip
    assert neither.refused


def test_the_asker_answers_a_what_changed_question_side_by_side(tmp_path):
    from tests.test_lifecycle import _two_guides

    services = _two_guides(tmp_path)

    def ask(question: str) -> Answer:
        request = AskRequest(question=question, as_of=date(2026, 12, 7))
        return services.asker.ask(request, record=False).answer

    got = ask(
        "What changed between the planning guidance 2025/26 and the medium term framework on "
        "agency staff spending?"
    )
    parts = got.answer.split("\n\n")
    assert parts[0] == "Side by side, each from its own document:"
    assert parts[1].startswith("Planning guidance 2025/26 (2025/26):")
    assert parts[2].startswith("Medium term framework (2026/27-2028/29):")
    cited = {c.n: c.doc_id for c in got.citations}
    assert "[1]" in parts[1] and cited[1] == "old.md"
    assert all(cited[n] == "new.md" for n in cited if f"[{n}]" in parts[2])
    assert got.citations[0].document_warning.startswith("Superseded by Medium term framework")
    # One side silent: it says so, the other answers.
    silent = ask("Since the planning guidance 2025/26, what changed on e-rostering of bank staff?")
    assert "This document does not cover this" in silent.answer.split("\n\n")[2], silent.answer
    # A filter leaving out one side: an ordinary answer from the other.
    from assistant.schemas import Filters

    filtered = services.asker.ask(
        AskRequest(
            question="What changed between the planning guidance 2025/26 and the medium term "
            "framework on agency staff spending?",
            filters=Filters(doc_ids=["new.md"]),
        ),
        record=False,
    ).answer
    assert not filtered.answer.startswith("Side by side")
