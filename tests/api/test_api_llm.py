"""Generated answers through the API: streamed drafts, checked finals, the OpenAI endpoint.

The LLM is the scripted fake from the same factory as the real clients; its reply holds one
sentence the passages support and one with a number they do not.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api.conftest import RunningApi, ingested_services, serve
from tests.api.test_api import MODEL_NAME, events, openai_client

# The fake LLM behind the API served by uvicorn on loopback.
pytestmark = pytest.mark.integration

QUESTION = "Who must agree a joint plan with partner trusts?"
SUPPORTED = "Every integrated care board must agree a joint plan with its partner trusts [1]."
INVENTED = "The plan covers the next 12 years [1]."


@pytest.fixture(scope="module")
def llm_api(tmp_path_factory) -> Iterator[RunningApi]:
    root = tmp_path_factory.mktemp("api-llm")
    services = ingested_services(
        root / "data",
        root / "corpus",
        answer__mode="llm",  # the server's default, so the OpenAI endpoint generates too
        llm__backend="fake",
        llm__fake_responses=[f"{SUPPORTED} {INVENTED}"],
    )
    with serve(services) as running:
        yield running


def test_the_stream_shows_the_draft_then_a_final_answer_without_the_invented_sentence(llm_api):
    with llm_api.client() as client:
        r = client.post("/v1/ask/stream", json={"question": QUESTION, "mode": "llm"})
    parsed = events(r.text)
    assert parsed[-1][0] == "final" and {name for name, _ in parsed[:-1]} == {"delta"}
    draft = "".join(d["text"] for _, d in parsed[:-1])
    assert "12 years" in draft  # tokens streamed as the model wrote them
    final = parsed[-1][1]
    assert final["mode"] == "llm"
    assert "12 years" not in final["answer"] and "integrated care board" in final["answer"]
    grounding = final["grounding"]
    assert grounding["removed"] == 1 and grounding["sentences"] == 1 and grounding["verified"]


def test_ask_reports_the_removal_and_extractive_mode_can_be_asked_for(llm_api):
    with llm_api.client() as client:
        generated = client.post("/v1/ask", json={"question": QUESTION}).json()
        quoted = client.post("/v1/ask", json={"question": QUESTION, "mode": "extractive"}).json()
    assert generated["mode"] == "llm" and generated["grounding"]["removed"] == 1
    assert quoted["mode"] == "extractive" and quoted["grounding"]["removed"] == 0


def test_an_unknown_mode_is_a_422_naming_the_field(llm_api):
    with llm_api.client() as client:
        r = client.post("/v1/ask", json={"question": QUESTION, "mode": "poetry"})
    assert r.status_code == 422 and r.json()["error"]["fields"][0]["field"] == "mode"


def test_openai_stream_sends_only_checked_text(llm_api):
    client = openai_client(llm_api)
    messages = [{"role": "user", "content": QUESTION}]
    text = "".join(
        chunk.choices[0].delta.content or ""
        for chunk in client.chat.completions.create(
            model=MODEL_NAME, messages=messages, stream=True
        )
        if chunk.choices
    )
    assert "integrated care board" in text and "12 years" not in text
