"""The LLM endpoint dead, slow or returning garbage, seen through the HTTP API.

``tests/llm/test_faults.py`` pins each fault at the answerer (retries, backoff, time limits);
here the same misbehaving loopback server sits behind ``/v1/ask``, its stream and the OpenAI
endpoint: with ``llm.on_failure = "extractive"`` the client gets a 200 with the quoted answer
flagged ``extractive-fallback`` and the reason; with ``"error"`` a 503 whose body names the LLM;
in bounded time either way; and the next question after the endpoint recovers is generated
again, without a restart.
"""

from __future__ import annotations

import time
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from assistant.services import build_services
from tests.api.conftest import RunningApi, api_settings, ingested_services, serve
from tests.api.test_api import events
from tests.conftest import free_port
from tests.llm.conftest import BadLLM, bad_llm  # noqa: F401 - the fixture, shared

pytestmark = pytest.mark.integration

QUESTION = "Who must agree a joint plan with partner trusts?"
SUPPORTED = "Every integrated care board must agree a joint plan with its partner trusts [1]."
TIMEOUT_S = 0.5  # each wait for the LLM
BOUND_S = 6.0  # the longest a faulty answer may take: 2 attempts x 0.5 s, plus answering
FAULTS = {  # behaviour scripted on the server -> words the reason must contain
    "dead": "cannot be reached",
    "slow": f"did not answer within {TIMEOUT_S:g} s",
    "garbage": "malformed",
}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One small index, ingested once; each test opens it with its own LLM settings."""
    root = tmp_path_factory.mktemp("llm-outage")
    ingested_services(root / "data", root / "corpus")
    return root / "data"


def llm_api(data_dir: Path, url: str, on_failure: str) -> AbstractContextManager[RunningApi]:
    settings = api_settings(
        data_dir,
        answer__mode="llm",
        llm__base_url=url,
        llm__model="bad",
        llm__timeout_s=TIMEOUT_S,
        llm__max_retries=1,
        llm__backoff_s=0.01,
        llm__on_failure=on_failure,
    )
    return serve(build_services(settings))


def misbehave(bad: BadLLM, fault: str) -> str:
    """Script ``fault`` for the next requests; the URL the assistant should use."""
    bad.reply, bad.slow_s = SUPPORTED, 3.0
    if fault == "dead":
        return f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    bad.script = [fault] * 2  # every attempt of the next question (slow is retried once)
    return bad.url


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_faulty_llm_gives_the_flagged_extractive_answer_under_the_fallback_policy(
    bad_llm: BadLLM,  # noqa: F811 - the fixture
    data_dir: Path,
    fault: str,
) -> None:
    url = misbehave(bad_llm, fault)
    with llm_api(data_dir, url, "extractive") as api, api.client() as client:
        started = time.monotonic()
        r = client.post("/v1/ask", json={"question": QUESTION})
        took = time.monotonic() - started
    print(f"\n{fault} LLM, fallback policy: {r.status_code} in {took:.2f} s")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["mode"] == "extractive-fallback" and not body["refused"]
    assert body["citations"] and "integrated care board" in body["answer"]
    assert FAULTS[fault] in body["grounding"]["fallback_reason"]
    assert took < BOUND_S


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_a_faulty_llm_is_a_503_naming_it_under_the_error_policy_then_recovers(
    bad_llm: BadLLM,  # noqa: F811 - the fixture
    data_dir: Path,
    fault: str,
) -> None:
    url = misbehave(bad_llm, fault)
    with llm_api(data_dir, url, "error") as api, api.client() as client:
        started = time.monotonic()
        ask = client.post("/v1/ask", json={"question": QUESTION})
        took = time.monotonic() - started
        bad_llm.script = [fault] * 2
        stream = client.post("/v1/ask/stream", json={"question": QUESTION})
        bad_llm.script = [fault] * 2
        chat = client.post(
            "/v1/chat/completions",
            json={"model": "nhs-assistant", "messages": [{"role": "user", "content": QUESTION}]},
        )
        bad_llm.script = []  # the endpoint is healthy again (for "dead": still dead)
        recovered = client.post("/v1/ask", json={"question": QUESTION}) if fault != "dead" else None
    print(f"\n{fault} LLM, error policy: {ask.status_code} in {took:.2f} s: {ask.text[:160]}")
    for response in (ask, chat):
        assert response.status_code == 503, response.text
        error = response.json()["error"]
        assert error["code"] == "backend_unavailable"
        assert "LLM" in error["message"] and FAULTS[fault] in error["message"]
        assert "Traceback" not in response.text and response.headers["Retry-After"].isdigit()
    assert took < BOUND_S
    name, data = events(stream.text)[-1]
    assert name == "error" and data["error"]["code"] == "backend_unavailable"
    if recovered is not None:
        assert recovered.status_code == 200 and recovered.json()["mode"] == "llm"
