"""The one answering service: every surface asks through it and gets the same answer."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from assistant.api import create_app
from assistant.asking import AskService
from assistant.cli import app as cli_app
from assistant.errors import FieldInputError, InvalidInputError
from assistant.schemas import AskRequest
from assistant.services import Services, build_services
from eval.run import _project_system
from tests.api.conftest import ASK_KEY, api_settings
from tests.ingest.test_pipeline import write_corpus
from ui.app import ChatSession, UiHandlers

QUESTION = "Who must agree a joint plan with partner trusts?"


@pytest.fixture
def services(tmp_path: Path) -> Services:
    """Fake embedder, Chroma on disk (so a CLI process can open the same index)."""
    services = build_services(api_settings(tmp_path / "data"))
    services.ingest([write_corpus(tmp_path / "corpus")])
    return services


def _count_streams(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Record every question that goes through AskService.stream (the real method runs)."""
    seen: list[str] = []
    real = AskService.stream

    def counted(self, request, **kw):
        seen.append(request.question)
        yield from real(self, request, **kw)

    monkeypatch.setattr(AskService, "stream", counted)
    return seen


def test_cli_api_page_and_eval_give_the_same_answer_through_one_service(
    services: Services, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = _count_streams(monkeypatch)

    # The command line, on the same index (it builds its own services from the same settings).
    env = {
        "NHS_ASSISTANT_EMBEDDING_BACKEND": "fake",
        "NHS_ASSISTANT_DATA_DIR": str(services.settings.data_dir),
    }
    result = CliRunner().invoke(cli_app, ["ask", QUESTION, "--json"], env=env)
    assert result.exit_code == 0, result.output
    cli = json.loads(result.stdout)

    # The HTTP API.
    with TestClient(create_app(services)) as client:
        response = client.post(
            "/v1/ask", json={"question": QUESTION}, headers={"Authorization": f"Bearer {ASK_KEY}"}
        )
    assert response.status_code == 200
    api = response.json()

    # The page's callback.
    session = ChatSession()
    args = {"doc_ids": None, "publishers": None, "mode": None}
    list(UiHandlers(services).respond(QUESTION, [], session, **args))
    page = session.exchanges[0].answer
    assert page is not None

    # The evaluation harness's project system.
    evaluated = _project_system(services, "extractive").ask(QUESTION)

    assert seen == [QUESTION] * 4  # one service, once per surface
    assert not cli["refused"] and cli["citations"]
    for answer, citations in (
        (api["answer"], [(c["doc_id"], c["quotes"]) for c in api["citations"]]),
        (page.answer, [(c.doc_id, c.quotes) for c in page.citations]),
        (evaluated.answer, [(c.doc_id, c.quotes) for c in evaluated.citations]),
    ):
        assert answer == cli["answer"]
        assert citations == [(c["doc_id"], c["quotes"]) for c in cli["citations"]]


def test_the_detailed_response_extends_the_api_response(services: Services) -> None:
    result = services.asker.ask(AskRequest(question=QUESTION), report_k=10, record=False)
    plain = result.to_response().model_dump()
    detail = result.to_response(detail=True).model_dump()
    for key, value in plain.items():
        if key == "citations":
            for short, long in zip(value, detail["citations"], strict=True):
                assert short.items() <= long.items()
                assert long["chunk_text"] and short["quote"] in long["chunk_text"]
        else:
            assert detail[key] == value
    assert detail["question"] == QUESTION
    assert len(detail["retrieved"]) >= len(plain["citations"])


def test_a_question_is_cleaned_once_and_bad_ones_name_the_field(services: Services) -> None:
    asker = services.asker
    result = asker.ask(AskRequest(question=f"  {QUESTION}\n"), record=False)
    assert result.answer.question == QUESTION
    for question in ("", "   \n\t"):
        with pytest.raises(FieldInputError, match="question is empty") as empty:
            asker.ask(AskRequest(question=question))
        assert empty.value.field == "question"
    too_long = "neighbourhood " * 200
    with pytest.raises(FieldInputError, match=f"{services.settings.answer.max_question_chars:,}"):
        asker.ask(AskRequest(question=too_long))
    with pytest.raises(InvalidInputError, match="not available"):
        asker.ask(AskRequest(question=QUESTION, mode="llm"))


def test_only_answers_served_to_a_user_are_recorded_and_counted(services: Services) -> None:
    served = services.asker.ask(AskRequest(question=QUESTION))
    quiet = services.asker.ask(AskRequest(question=QUESTION), record=False)
    assert services.feedback.has_answer(served.answer_id)
    assert not services.feedback.has_answer(quiet.answer_id)
    assert b'nhs_assistant_answers_total{mode="extractive"} 1.0' in services.metrics.render()
