"""The lifecycle metrics: period-correct answers and citations of stale documents without
their warning, computed by hand on scripted answers."""

from __future__ import annotations

from datetime import date

from assistant.schemas import Answer, Citation, DocumentMeta
from eval.dataset import Anchor, EvalItem, EvidenceResolver
from eval.metrics import REGISTRY
from eval.metrics.lifecycle import period_correct, unwarned_citations
from eval.runner import Evaluator, System, summarise
from tests.eval.test_metric_registry import WordsVerifier

OLD, NEW = "guidance-2025-26.md", "framework-2026-29.md"
DOCUMENTS = {
    OLD: DocumentMeta(
        doc_id=OLD,
        title="Guidance 2025/26",
        file_name=OLD,
        period="2025/26",
        status="superseded",
        superseded_by=NEW,
    ),
    NEW: DocumentMeta(
        doc_id=NEW, title="Framework", file_name=NEW, period="2026/27-2028/29", status="current"
    ),
}


def _citation(n: int, doc: str, warning: str | None = None) -> Citation:
    return Citation(
        n=n,
        doc_id=doc,
        title=doc,
        quote="q",
        chunk_id=f"{doc}-{n}",
        chunk_text="q",
        document_warning=warning,
    )


def _item(qid: str, kind: str, docs: list[str], evidence_docs: list[str] = ()) -> EvalItem:
    return EvalItem(
        id=qid,
        question=qid,
        answerable=True,
        docs=docs,
        kind="lifecycle",
        evidence=[Anchor(doc=d, start="a", end="b") for d in evidence_docs],
        lifecycle=kind,
        stale_docs=[],
        as_of="2026-12-07",
    )


def _sample(item: EvalItem, citations: list[Citation], refused: bool = False):
    from eval.metrics.registry import Sample

    answer = Answer(question=item.question, answer="a", citations=citations, refused=refused)
    return Sample(item, answer, [], 0, 6, 1.0, lambda s, p: True, DOCUMENTS)


def test_a_period_question_is_right_when_its_first_citation_governs_that_period():
    item = _item("target 2026/27", "period", [NEW])
    assert period_correct(_sample(item, [_citation(1, NEW), _citation(2, OLD, "w")])) == 1.0
    assert period_correct(_sample(item, [_citation(1, OLD, "w"), _citation(2, NEW)])) == 0.0
    assert period_correct(_sample(item, [], refused=True)) == 0.0


def test_a_what_changed_question_needs_each_side_with_evidence_cited():
    item = _item("what changed", "changed", [OLD, NEW], evidence_docs=[OLD, NEW])
    assert period_correct(_sample(item, [_citation(1, OLD, "w"), _citation(2, NEW)])) == 1.0
    assert period_correct(_sample(item, [_citation(1, NEW)])) == 0.0
    one_sided = _item("what changed", "changed", [OLD, NEW], evidence_docs=[NEW])
    assert period_correct(_sample(one_sided, [_citation(1, NEW)])) == 1.0


def test_other_rows_are_not_scored_for_period():
    plain = EvalItem(id="x", question="x", answerable=True, docs=[NEW])
    assert period_correct(_sample(plain, [_citation(1, OLD)])) is None


def test_a_stale_citation_without_its_warning_is_counted_as_of_the_rows_day():
    item = _item("q", "superseded-only", [OLD])
    assert unwarned_citations(_sample(item, [_citation(1, OLD), _citation(2, NEW)])) == 1.0
    assert unwarned_citations(_sample(item, [_citation(1, OLD, "Superseded ...")])) == 0.0


def test_the_runner_asks_as_of_the_rows_day_and_reads_the_index_documents():
    asked: list[date | None] = []

    def ask_as_of(question: str, day: date) -> Answer:
        asked.append(day)
        return Answer(question=question, answer="a", citations=[_citation(1, OLD)])

    system = System("project", lambda q: ask_as_of(q, None), k=6, ask_as_of=ask_as_of)
    evaluator = Evaluator(
        EvidenceResolver([]), WordsVerifier(), REGISTRY.for_mode("extractive"), lambda: DOCUMENTS
    )
    results = evaluator.run([_item("q", "superseded-only", [OLD])], system)
    assert asked == [date(2026, 12, 7)]
    summary = summarise(results, evaluator.metrics)
    assert summary["period_correct"] == 1.0 and summary["unwarned_citations"] == 1.0
