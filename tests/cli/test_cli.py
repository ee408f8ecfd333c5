"""The `nhs-assistant` command line: ingest summary, stats, rm, retrieve, ask, batch ask, errors."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from assistant.cli import app
from tests.ingest.test_pipeline import write_corpus

runner = CliRunner()


@pytest.fixture
def env(tmp_path, monkeypatch):
    """Settings come from the environment, as for a user: fake embedder, Chroma on disk."""
    monkeypatch.setenv("NHS_ASSISTANT_EMBEDDING_BACKEND", "fake")
    monkeypatch.setenv("NHS_ASSISTANT_DATA_DIR", str(tmp_path / "data"))
    corpus = write_corpus(tmp_path / "corpus")
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.4 not really")
    return corpus


def run(*args: str):
    return runner.invoke(app, list(args), catch_exceptions=False)


def test_ingest_prints_a_summary_and_strict_fails_on_any_failure(env):
    result = run("ingest", str(env))
    assert result.exit_code == 0, result.output
    assert "indexed: 2" in result.output and "failed: 1" in result.output
    assert "broken.pdf" in result.output
    assert "reading (parse and screen" in result.output.split("time: ")[1]  # where time went
    again = run("ingest", str(env), "--strict")
    assert again.exit_code == 1
    assert "unchanged: 2" in again.output


def test_index_stats_and_rm(env):
    run("ingest", str(env))
    stats = json.loads(run("index", "stats", "--json").output)
    assert stats["documents"] == 2 and stats["chunks"] > 0
    assert run("index", "rm", "notes.txt").exit_code == 0
    assert json.loads(run("index", "stats", "--json").output)["documents"] == 1
    missing = run("index", "rm", "notes.txt")
    assert missing.exit_code == 1


def test_retrieve_json_gives_ranked_chunks(env):
    run("ingest", str(env))
    out = json.loads(run("retrieve", "When are draft plans due?", "--k", "3", "--json").output)
    assert [c["rank"] for c in out] == list(range(1, len(out) + 1))
    assert {"doc_id", "title", "section", "page", "chunk_id", "chunk_text", "score"} <= set(out[0])


def test_ask_json_has_answer_citations_and_retrieved(env):
    run("ingest", str(env))
    result = run("ask", "When are draft plans due?", "--json")
    assert result.exit_code == 0, result.output
    out = json.loads(result.output)
    assert {"answer", "refused", "citations", "retrieved"} <= set(out)
    for c in out["citations"]:
        assert c["quotes"] and all(q in c["chunk_text"] for q in c["quotes"])


def test_batch_ask_writes_one_json_line_per_question(env, tmp_path):
    run("ingest", str(env))
    qfile = tmp_path / "q.jsonl"
    qfile.write_text(
        json.dumps({"id": "a", "question": "Who signs off final plans?"})
        + "\n"
        + json.dumps({"id": "b", "question": "  "})
        + "\n"
        + "not json\n"
    )
    lines = [
        json.loads(x)
        for x in run("ask", "--questions", str(qfile), "--json").output.splitlines()
        if x.strip()
    ]
    assert lines[0]["id"] == "a" and "citations" in lines[0] and "retrieved" in lines[0]
    assert lines[1] == {
        "id": "b",
        "error": "question is empty: type a question about the NHS documents",
    }
    assert "error" in lines[2]


def test_empty_question_is_a_usage_error(env):
    run("ingest", str(env))
    result = run("ask", "   ")
    assert result.exit_code == 2
    assert "question is empty" in result.output


def test_a_wrong_model_for_the_index_is_refused_clearly(env, monkeypatch):
    run("ingest", str(env))
    monkeypatch.setenv("NHS_ASSISTANT_EMBEDDING_NAME", "another-model")
    result = run("ask", "When are plans due?")
    assert result.exit_code == 2
    assert "built with embedding model" in result.output


def test_tables_show_file_names_literally_with_control_characters_escaped():
    from assistant.cli.common import shown

    assert shown("minutes\u202etxt.md").plain == "minutes\\u202etxt.md"
    assert shown("two\nlines [red]x[/red].md").plain == "two\\nlines [red]x[/red].md"
    assert shown("Café plan – 2026.md").plain == "Café plan – 2026.md"


def test_text_that_is_not_unicode_is_a_usage_error_in_argv_and_a_line_error_in_a_batch(
    env, tmp_path
):
    run("ingest", str(env))
    # An argument with invalid UTF-8 bytes reaches Python as a lone surrogate.
    result = run("ask", "plan \udcff")
    assert result.exit_code == 2 and "invalid Unicode" in result.output
    qfile = tmp_path / "q.jsonl"
    qfile.write_text(
        json.dumps({"id": "s", "question": "plan \ud800"}) + "\n"
        + json.dumps({"id": "ok", "question": "Who signs off final plans?"}) + "\n",
        encoding="utf-8",
    )  # fmt: skip
    lines = [
        json.loads(x)
        for x in run("ask", "--questions", str(qfile), "--json").output.splitlines()
        if x.strip()
    ]
    assert "invalid Unicode" in lines[0]["error"] and "citations" in lines[1]


def test_stage_summary_names_where_the_time_went_largest_first():
    from assistant.cli.documents import stage_summary

    summary = stage_summary({"embed": 72.94, "read": 57.0, "read_wait": 17.02, "store": 0.04})
    assert summary == (
        "embedding 72.9 s, reading (parse and screen, beside embedding) 57.0 s, "
        "waiting for reading 17.0 s"
    )
    assert stage_summary({"unknown": 3.0}) == ""
