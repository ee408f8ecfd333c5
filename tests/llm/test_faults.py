"""The LLM path against a loopback server that misbehaves on purpose, through the real openai
client: retries with backoff where they can help, bounded time always, then a clear
BackendUnavailableError or the extractive answer (``llm.on_failure``), never a hang."""

from __future__ import annotations

import time

import pytest

from assistant.answer.extractive import ExtractiveAnswerer
from assistant.answer.generative import LLMAnswerer
from assistant.config import AnswerSettings, LLMSettings
from assistant.errors import BackendUnavailableError
from assistant.llm.factory import make_chat_model
from assistant.schemas import Answer, DeltaEvent, FinalEvent
from tests.answer.test_generative import CHUNKS, GOOD, QUESTION
from tests.conftest import free_port
from tests.llm.conftest import BadLLM

pytestmark = pytest.mark.integration


def answerer(url: str, sleeps: list[float], **llm: object) -> LLMAnswerer:
    options: dict[str, object] = {
        "base_url": url,
        "model": "bad",
        "timeout_s": 2.0,
        "max_retries": 2,
        "backoff_s": 0.01,
        **llm,
    }
    settings = LLMSettings(**options)
    extractive = ExtractiveAnswerer(AnswerSettings())
    return LLMAnswerer(settings, make_chat_model(settings), extractive, sleep=sleeps.append)


def ask(a: LLMAnswerer) -> tuple[str, Answer]:
    streamed, final = "", None
    for event in a.stream(QUESTION, CHUNKS):
        if isinstance(event, DeltaEvent):
            streamed += event.text
        elif isinstance(event, FinalEvent):
            final = event.answer
    assert final is not None
    return streamed, final


def test_a_good_server_answers_through_the_openai_client(bad_llm: BadLLM):
    bad_llm.reply = GOOD
    sleeps: list[float] = []
    streamed, answer = ask(answerer(bad_llm.url, sleeps))
    assert streamed.strip() == GOOD and answer.mode == "llm" and answer.removed == 0
    request = bad_llm.requests[0]
    assert request["stream"] is True and request["max_tokens"] == 400
    assert request["messages"][0]["role"] == "system"
    assert sleeps == []


def test_429_is_retried_after_the_servers_retry_after(bad_llm: BadLLM):
    bad_llm.script, bad_llm.reply = ["429"], GOOD
    sleeps: list[float] = []
    _, answer = ask(answerer(bad_llm.url, sleeps))
    assert answer.mode == "llm"
    assert len(bad_llm.requests) == 2
    assert sleeps == [0.2]  # Retry-After beats the 0.01 s backoff


def test_5xx_is_retried_with_doubling_backoff_then_reported(bad_llm: BadLLM):
    bad_llm.script = ["500", "503", "500"]
    sleeps: list[float] = []
    with pytest.raises(BackendUnavailableError, match=r"HTTP 500 after 3 attempts"):
        ask(answerer(bad_llm.url, sleeps, on_failure="error"))
    assert len(bad_llm.requests) == 3
    assert sleeps == [0.01, 0.02]


def test_5xx_falls_back_to_the_extractive_answer_flagged_as_such(bad_llm: BadLLM):
    bad_llm.script = ["500"] * 3
    streamed, answer = ask(answerer(bad_llm.url, []))
    assert answer.mode == "extractive-fallback"
    assert "HTTP 500" in (answer.fallback_reason or "")
    assert streamed == answer.answer  # the fallback is streamed like any answer
    assert "27 March 2025" in answer.answer


def test_client_errors_are_not_retried(bad_llm: BadLLM):
    bad_llm.script = ["401"]
    with pytest.raises(BackendUnavailableError, match=r"refused the request \(HTTP 401"):
        ask(answerer(bad_llm.url, [], on_failure="error"))
    assert len(bad_llm.requests) == 1


def test_a_server_slower_than_the_timeout_is_given_up_in_bounded_time(bad_llm: BadLLM):
    bad_llm.script, bad_llm.slow_s = ["slow", "slow"], 5.0
    started = time.monotonic()
    with pytest.raises(BackendUnavailableError, match=r"did not answer within 0.5 s"):
        ask(answerer(bad_llm.url, [], timeout_s=0.5, max_retries=1, on_failure="error"))
    assert time.monotonic() - started < 3.0  # 2 attempts x 0.5 s + backoff, not 2 x 5 s
    assert len(bad_llm.requests) == 2


def test_a_stream_that_never_ends_is_cut_at_the_total_timeout(bad_llm: BadLLM):
    bad_llm.script = ["trickle"]
    started = time.monotonic()
    streamed, answer = ask(answerer(bad_llm.url, [], total_timeout_s=1.0))
    assert time.monotonic() - started < 4.0
    assert streamed.startswith("word ")  # tokens reached the user while they came
    assert answer.mode == "extractive-fallback"
    assert "still writing after 1 s" in (answer.fallback_reason or "")
    assert len(bad_llm.requests) == 1  # not retried once text was shown


@pytest.mark.parametrize("behaviour", ["garbage", "html"])
def test_malformed_output_is_reported_not_retried(bad_llm: BadLLM, behaviour: str):
    bad_llm.script = [behaviour] * 3
    with pytest.raises(BackendUnavailableError) as err:
        ask(answerer(bad_llm.url, [], on_failure="error"))
    assert "LLM bad at http://127.0.0.1" in str(err.value)
    assert "malformed" in str(err.value) or "could not be read" in str(err.value)
    assert len(bad_llm.requests) == 1  # asking again would get the same garbage


def test_a_stream_cut_off_mid_answer_falls_back(bad_llm: BadLLM):
    bad_llm.script = ["truncated"]
    streamed, answer = ask(answerer(bad_llm.url, []))
    assert streamed == "Integrated care "
    assert answer.mode == "extractive-fallback"
    assert "stopped mid-answer" in (answer.fallback_reason or "")


def test_connection_refused_is_retried_then_reported_quickly():
    url = f"http://127.0.0.1:{free_port()}/v1"
    sleeps: list[float] = []
    started = time.monotonic()
    with pytest.raises(BackendUnavailableError, match="cannot be reached") as err:
        ask(answerer(url, sleeps, on_failure="error"))
    assert time.monotonic() - started < 2.0
    assert sleeps == [0.01, 0.02]
    assert "Traceback" not in str(err.value) and "\n" not in str(err.value)


def test_an_llm_address_with_credentials_in_it_is_never_shown_with_them():
    from assistant.config import LLMSettings
    from assistant.llm.factory import describe

    settings = LLMSettings(
        backend="openai", base_url="http://bob:hunter2@127.0.0.1:9/v1?key=abc", model="m"
    )
    shown = describe(settings)
    assert "hunter2" not in shown and "bob" not in shown and "abc" not in shown
    assert shown == "LLM m at http://***@127.0.0.1:9/v1?key=***"
