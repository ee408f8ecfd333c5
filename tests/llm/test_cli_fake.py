"""`nhs-assistant ask --mode llm` with the scripted fake model: the draft streams, then the
checked answer with what the check removed; without an LLM the mode is refused plainly."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from assistant.cli import app
from assistant.config import LLMSettings
from assistant.llm.factory import make_chat_model
from tests.answer.test_generative import FALSE_NUMBER, GOOD, PLANS, QUESTION, TEAMS

runner = CliRunner()


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("NHS_ASSISTANT_EMBEDDING_BACKEND", "fake")
    monkeypatch.setenv("NHS_ASSISTANT_DATA_DIR", str(tmp_path / "data"))
    docs = tmp_path / "docs"
    docs.mkdir()
    (docs / "plans.md").write_text(f"# Planning\n\n## Plans\n\n{PLANS}\n", encoding="utf-8")
    (docs / "teams.md").write_text(f"# Teams\n\n## Teams\n\n{TEAMS}\n", encoding="utf-8")
    assert runner.invoke(app, ["ingest", str(docs)]).exit_code == 0
    return monkeypatch


def test_ask_mode_llm_streams_the_draft_then_the_checked_answer(env):
    env.setenv("NHS_ASSISTANT_LLM_BACKEND", "fake")
    env.setenv("NHS_ASSISTANT_LLM_FAKE_RESPONSES", json.dumps([f"{GOOD} {FALSE_NUMBER}"]))
    result = runner.invoke(app, ["ask", "--mode", "llm", QUESTION])
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.index("14 April 2025") < out.index("checked against the sources")
    checked = out[out.index("checked against the sources") :]
    assert "14 April" not in checked and "27 March 2025" in checked
    assert "1 sentence removed: not supported by the cited passages." in checked
    assert "Sources" in checked and "[1] Planning" in checked


def test_ask_mode_llm_json_reports_removed_sentences(env):
    env.setenv("NHS_ASSISTANT_LLM_BACKEND", "fake")
    env.setenv("NHS_ASSISTANT_LLM_FAKE_RESPONSES", json.dumps([f"{GOOD} {FALSE_NUMBER}"]))
    payload = json.loads(runner.invoke(app, ["ask", "--mode", "llm", "--json", QUESTION]).output)
    assert payload["mode"] == "llm" and payload["removed"] == 1
    assert [s["supported"] for s in payload["sentences"]] == [True]
    assert "14 April" in payload["removed_sentences"][0]["text"]


def test_ask_mode_llm_without_a_model_says_what_is_available(env):
    result = runner.invoke(app, ["ask", "--mode", "llm", QUESTION])
    assert result.exit_code == 2
    assert "not available here; available: extractive" in result.output
    assert "Traceback" not in result.output


def test_ask_mode_llm_with_the_model_down_gives_the_extractive_answer(env):
    from tests.conftest import free_port

    env.setenv("NHS_ASSISTANT_LLM_BASE_URL", f"http://127.0.0.1:{free_port()}/v1")
    env.setenv("NHS_ASSISTANT_LLM_MAX_RETRIES", "0")
    result = runner.invoke(app, ["ask", "--mode", "llm", QUESTION])
    assert result.exit_code == 0, result.output
    assert "cannot be reached" in result.output and "extractive answer" in result.output
    env.setenv("NHS_ASSISTANT_LLM_ON_FAILURE", "error")
    failed = runner.invoke(app, ["ask", "--mode", "llm", QUESTION])
    assert failed.exit_code == 1 and "error:" in failed.output
    assert "cannot be reached" in failed.output and "Traceback" not in failed.output


def test_real_clients_are_built_without_their_own_retries():
    openai = make_chat_model(LLMSettings(base_url="http://127.0.0.1:9/v1", model="m"))
    azure = make_chat_model(
        LLMSettings(
            backend="azure",
            base_url="https://example.openai.azure.com",
            azure_deployment="d",
            api_key="k",
        )
    )
    for model in (openai, azure):
        assert model.max_retries == 0  # type: ignore[attr-defined]
        assert model.request_timeout == 30.0  # type: ignore[attr-defined]
