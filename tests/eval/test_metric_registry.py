"""The eval metric registry: one registered record is all a new metric needs.

Answers come from a scripted system and a word-overlap verifier stands in for the grounding
verifier, so every figure here is computed by hand.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Iterator

import pytest

from assistant.answer.verifier import Verdict
from assistant.errors import ConfigurationError
from assistant.schemas import Answer, AnswerSentence, Citation, RetrievedChunk
from eval.dataset import EvalItem, EvidenceResolver
from eval.gate import check_thresholds, gate, load_thresholds
from eval.metrics import REGISTRY, Metric, MetricRegistry, count, register
from eval.report import chart_metrics, markdown_table, write_html, write_json, write_markdown
from eval.runner import Evaluator, System, question_record, summarise
from tests.conftest import PROJECT_ROOT

QUOTE = "integrated care boards must publish a joint forward plan every year"


class WordsVerifier:
    """Supported when every word of the sentence is in the passages."""

    def verify(self, sentence: str, passages: list[str]) -> Verdict:
        words = set(" ".join(passages).split())
        ok = all(w in words for w in sentence.split())
        return Verdict(supported=ok, score=float(ok), coverage=float(ok), similarity=None)


def _chunk(n: int, text: str) -> RetrievedChunk:
    return RetrievedChunk(chunk_id=f"c{n}", doc_id="plan.md", title="Plan", text=text, rank=n)


def _answer(question: str, refused: bool, **extra: object) -> Answer:
    chunks = [_chunk(1, "filler about estates"), _chunk(2, QUOTE)] + [
        _chunk(n, f"filler {n}") for n in range(3, 11)
    ]
    if refused:
        return Answer(question=question, answer="I cannot answer.", refused=True, retrieved=chunks)
    sentence = AnswerSentence(text="boards must publish a joint forward plan", citations=[1])
    citation = Citation(
        n=1, doc_id="plan.md", title="Plan", quote=QUOTE, chunk_id="c2", chunk_text=QUOTE
    )
    return Answer(
        question=question,
        answer="Boards must publish a joint forward plan [1]. Also [4].",
        sentences=[sentence],
        citations=[citation],
        retrieved=chunks,
        **extra,
    )


ITEMS = [
    EvalItem(id="a1", question="What must boards publish?", answerable=True, evidence=[QUOTE],
             key_facts=["forward plan", "every year"]),
    EvalItem(id="a2", question="Who publishes the plan?", answerable=True, evidence=[QUOTE]),
    EvalItem(id="u1", question="What is the band 7 top pay point?", answerable=False),
]  # fmt: skip
REFUSED = {"Who publishes the plan?", "What is the band 7 top pay point?"}


def _system(**extra: object) -> System:
    return System("project", lambda q: _answer(q, q in REFUSED, **extra), k=2)


def _evaluator(mode: str = "extractive") -> Evaluator:
    return Evaluator(EvidenceResolver([]), WordsVerifier(), REGISTRY.for_mode(mode))


def test_summary_keys_keep_the_order_reports_and_report_json_rely_on():
    results = _evaluator().run(ITEMS, _system())
    assert list(summarise(results, REGISTRY.for_mode("extractive"))) == [
        "questions", "answerable", "unanswerable", "recall_at_k", "mrr_at_10", "ndcg_at_10",
        "citation_recall", "citation_precision", "invalid_citations", "key_fact_recall",
        "refusal_rate_unanswerable", "false_refusal_rate", "latency_median_ms", "latency_p95_ms",
        "readability_defect_rate", "garbled_rate", "dangling_rate", "cut_list_rate",
        "furniture_rate", "answer_words_median", "answer_words_max", "period_correct",
        "unwarned_citations",
    ]  # fmt: skip


def test_each_metric_is_taken_over_its_subset_of_questions():
    evaluator = _evaluator()
    summary = summarise(evaluator.run(ITEMS, _system()), evaluator.metrics)
    assert (summary["questions"], summary["answerable"], summary["unanswerable"]) == (3, 2, 1)
    assert summary["recall_at_k"] == 1.0  # the quote is the 2nd chunk, k = 2, both answerable
    assert summary["mrr_at_10"] == 0.5
    assert summary["citation_recall"] == 1.0  # answered questions only: a1
    assert summary["invalid_citations"] == 1.0  # "[4]" in a1; refusals have none
    assert summary["key_fact_recall"] == pytest.approx(0.25)  # a1: 1 of 2; a2 refused: 0
    assert summary["refusal_rate_unanswerable"] == 1.0
    assert summary["false_refusal_rate"] == 0.5


def test_per_question_records_write_unscored_metrics_as_zero():
    evaluator = _evaluator()
    results = evaluator.run(ITEMS, _system())
    a1, _, u1 = (question_record(r, evaluator.metrics) for r in results)
    assert (a1["recall_at_k"], a1["mrr_at_10"], a1["invalid_citations"]) == (1.0, 0.5, 1)
    assert a1["sentence_verdicts"][0]["supported"] is True
    assert (u1["recall_at_k"], u1["citation_recall"], u1["sentence_verdicts"]) == (0.0, 0.0, [])
    assert list(a1)[-3:] == ["sentence_verdicts", "latency_ms", "failed"]
    assert "refusal_rate_unanswerable" not in a1  # a figure over questions, not per question


def test_llm_metrics_are_measured_only_in_llm_mode():
    extra = {"mode": "llm", "draft": "draft", "removed": 2, "timings_ms": {"first_piece": 40.0}}
    removed = [AnswerSentence(text="boards hire pilots", citations=[2])]
    system = _system(removed_sentences=removed, **extra)
    extractive = summarise(_evaluator().run(ITEMS, system), REGISTRY.for_mode("extractive"))
    assert "citation_recall_draft" not in extractive
    llm = _evaluator("llm")
    summary = summarise(llm.run(ITEMS, system), llm.metrics)
    # a1's draft: its kept sentence (cites retrieved[0], which lacks its words) and the removed
    # one (cites retrieved[1], the quote, which lacks "hire pilots"): neither supported.
    assert summary["citation_recall_draft"] == 0.0
    assert summary["sentences_removed"] == 2.0  # answered a1; refusals carry no removals here
    assert summary["fallback_rate"] == 0.0
    assert summary["first_token_median_ms"] == 40.0
    rows = markdown_table({"project": summary})
    assert "| citation recall before check | 0.000 |" in rows
    assert "| sentences removed | 2 |" in rows
    assert "before check" not in markdown_table({"project": extractive})


@pytest.fixture
def answer_words() -> Iterator[Metric]:
    """A new metric, registered the way a contributor would, and removed afterwards."""
    metric = register(
        Metric(
            name="answer_words",
            label="answer words",
            score=lambda s: len(s.answer.answer.split()),
            over="answered",
            fmt=count,
            better="lower",
            per_question=True,
            chart=True,
            description="words in an answer to an answerable question",
        )
    )
    yield metric
    REGISTRY.unregister(metric.name)


def test_a_registered_metric_reaches_the_summary_the_reports_and_the_gate(answer_words, tmp_path):
    evaluator = _evaluator()
    results = evaluator.run(ITEMS, _system())
    summary = summarise(results, evaluator.metrics)
    assert summary["answer_words"] == 10.0  # a1 only: the other two were refused
    assert list(summary)[-1] == "answer_words"

    records = [question_record(r, evaluator.metrics) for r in results]
    assert [r["answer_words"] for r in records] == [10, 0.0, 0.0]

    thresholds = tmp_path / "thresholds.toml"
    thresholds.write_text("[project]\nanswer_words = { max = 8 }\n")
    bounds = load_thresholds(thresholds)
    check_thresholds(bounds, "extractive")
    checks = gate(summary, bounds)
    assert checks == [
        {"metric": "answer_words", "value": 10.0, "op": "<=", "threshold": 8, "ok": False}
    ]

    report = {
        "dataset": "dev.jsonl",
        "corpus": ["corpus"],
        "mode": "extractive",
        "k": 2,
        "summary": {"all": {"project": summary}},
        "gate": checks,
        "questions": {"project": records},
    }
    assert "| answer words | 10 |" in markdown_table({"project": summary})
    assert "| answer words | 10 |" in write_markdown(report, tmp_path).read_text()
    assert "<td>answer words</td><td>10</td>" in write_html(report, tmp_path).read_text()
    saved = json.loads(write_json(report, tmp_path).read_text())
    assert saved["summary"]["all"]["project"]["answer_words"] == 10.0
    assert answer_words in chart_metrics()


def test_an_unknown_metric_in_a_thresholds_file_is_an_error_naming_the_known_ones():
    with pytest.raises(ConfigurationError) as caught:
        check_thresholds({"recall_at_5": {"min": 0.9}})
    message = str(caught.value)
    assert "'recall_at_5'" in message
    assert "recall_at_k" in message and "false_refusal_rate" in message


def test_a_threshold_on_a_metric_the_mode_does_not_measure_is_an_error():
    with pytest.raises(ConfigurationError, match="only in llm mode"):
        check_thresholds({"fallback_rate": {"max": 0.5}}, "extractive")
    check_thresholds({"fallback_rate": {"max": 0.5}}, "llm")


@pytest.mark.parametrize("bound", [0.9, {}, {"minimum": 0.9}])
def test_a_threshold_must_be_a_min_or_max_table(bound):
    with pytest.raises(ConfigurationError, match="min and/or max"):
        check_thresholds({"recall_at_k": bound})


def test_gate_checks_min_and_max_bounds():
    checks = gate({"recall_at_k": 0.8, "false_refusal_rate": 0.1},
                  {"recall_at_k": {"min": 0.9}, "false_refusal_rate": {"max": 0.1}})  # fmt: skip
    assert [(c["metric"], c["op"], c["ok"]) for c in checks] == [
        ("recall_at_k", ">=", False),
        ("false_refusal_rate", "<=", True),
    ]


@pytest.mark.parametrize("name", ["thresholds.toml", "thresholds-ci.toml"])
def test_thresholds_files_name_registered_metrics_and_bound_their_worse_side(name):
    bounds = tomllib.loads((PROJECT_ROOT / "eval" / name).read_text())["project"]
    check_thresholds(bounds, "extractive")
    for metric, bound in bounds.items():
        expected = "min" if REGISTRY.get(metric).better == "higher" else "max"
        assert set(bound) == {expected}, metric


def test_a_registry_refuses_a_second_metric_of_the_same_name_and_count_names():
    registry = MetricRegistry([Metric("share", "share", lambda s: 1.0)])
    with pytest.raises(ValueError, match="already registered"):
        registry.register(Metric("share", "share again", lambda s: 0.0))
    with pytest.raises(ValueError, match="lower_snake_case"):
        Metric("questions", "questions", lambda s: 1.0)
    with pytest.raises(ValueError, match="subset"):
        Metric("share2", "share", lambda s: 1.0, over="everyone")  # type: ignore[arg-type]
