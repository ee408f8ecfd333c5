"""The soak's load generator, run as its own process: closed-loop clients over every kind of request.

``mix`` mode: ``--clients`` clients, each cycling through ask, ask/stream (read to its final
event), chat completion, streamed chat completion and feedback on an answer it received (client
``i`` starts at kind ``i``), for ``--duration`` seconds. Before the clock starts, one request of
each kind and, with ``--warmup-pass``, every question once (``/v1/ask``, all clients at once):
the server's bounded caches (question and sentence vectors, parsed passages) fill on the first
pass over the questions, and that is start-up, not a leak. Clients share the keys round-robin. ``limit`` mode: ``--clients`` clients hammer ``/v1/ask`` with
the first key while one bystander asks with the second key, ``--bystander-requests`` times spread
over the run.

Keys come from ``NHS_SOAK_API_KEYS`` (comma-separated) so they never show in a process list.

    NHS_SOAK_API_KEYS=k1,k2 python -m eval.soak.clients --url http://127.0.0.1:8000 \\
        --questions questions.json --clients 50 --duration 60 --out load.json

writes one JSON object: ``t0`` (epoch seconds when the measured run began), ``seconds``, every
request as a sample, and the answer and feedback ids received.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import httpx

KEYS_ENV = "NHS_SOAK_API_KEYS"
KINDS = ("ask", "ask_stream", "chat", "chat_stream", "feedback")
LIMITED, BYSTANDER = "limited", "bystander"
MODEL = "nhs-assistant"
REQUEST_TIMEOUT_S = 60.0
# Past the run's end, requests still in flight get this long before they are cancelled and
# counted as timed out: the process always stops by itself.
GRACE_S = 60.0
WARMUP_LIMIT_S = 300.0  # the warm-up pass gives up (and its requests count as timed out) after this
HTTP_OK, HTTP_CREATED = 200, 201
ERROR_TEXT_CHARS = 200
DONE = "[DONE]"


@dataclass
class Sample:
    """One request: its kind, when it started (s from t0), how long it took and how it ended.

    ``outcome`` is ``ok``; ``http`` (a status other than the expected one); ``stream_error``
    (an ``event: error`` in a stream); ``incomplete`` (a stream that ended without its final
    event); ``no_response`` (connection error); ``timeout`` (cancelled at the hard stop).
    """

    kind: str
    started: float
    ms: float
    status: int
    outcome: str
    key: int = 0
    first_ms: float | None = None  # streams: time to the first event
    retry_after: str | None = None
    error_code: str | None = None
    detail: str = ""
    warmup: bool = False


@dataclass
class Result:
    """What one request returned that the run keeps: its sample and any ids."""

    sample: Sample
    answer_id: str | None = None
    feedback_id: str | None = None


@dataclass
class Recorder:
    """Everything the clients saw, shared by all of them (one event loop, no locks needed)."""

    t0: float = 0.0  # perf_counter at the start of the measured run
    warmup_s: float = 0.0
    samples: list[Sample] = field(default_factory=list)
    answers: list[dict[str, str]] = field(default_factory=list)
    feedback: list[dict[str, str]] = field(default_factory=list)


def _auth(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _error_code(response: httpx.Response) -> str | None:
    try:
        return str(response.json()["error"]["code"])
    except (ValueError, KeyError, TypeError):
        return None


def _failed(kind: str, response: httpx.Response) -> Sample:
    return Sample(
        kind,
        0.0,
        0.0,
        response.status_code,
        "http",
        retry_after=response.headers.get("retry-after"),
        error_code=_error_code(response),
        detail=response.text[:ERROR_TEXT_CHARS],
    )


async def _events(response: httpx.Response) -> AsyncIterator[tuple[str, str]]:
    """Server-Sent Events as (event name, data); the name is ``message`` when none was given."""
    name, data = "message", list[str]()
    async for line in response.aiter_lines():
        if not line:
            if data:
                yield name, "\n".join(data)
            name, data = "message", []
        elif line.startswith("event:"):
            name = line[len("event:") :].strip()
        elif line.startswith("data:"):
            data.append(line[len("data:") :].removeprefix(" "))
    if data:
        yield name, "\n".join(data)


# -- one request of each kind ---------------------------------------------------------------


async def ask(http: httpx.AsyncClient, key: str, question: str) -> Result:
    response = await http.post("/v1/ask", json={"question": question}, headers=_auth(key))
    if response.status_code != HTTP_OK:
        return Result(_failed("ask", response))
    return Result(Sample("ask", 0, 0, HTTP_OK, "ok"), answer_id=response.json()["answer_id"])


async def ask_stream(http: httpx.AsyncClient, key: str, question: str) -> Result:
    """``/v1/ask/stream`` read to its ``final`` event."""
    started = time.perf_counter()
    body = {"question": question}
    async with http.stream("POST", "/v1/ask/stream", json=body, headers=_auth(key)) as response:
        if response.status_code != HTTP_OK:
            await response.aread()
            return Result(_failed("ask_stream", response))
        first_ms: float | None = None
        async for name, data in _events(response):
            first_ms = first_ms if first_ms is not None else (time.perf_counter() - started) * 1e3
            if name == "error":
                code = json.loads(data).get("error", {}).get("code")
                sample = Sample("ask_stream", 0, 0, HTTP_OK, "stream_error", error_code=code)
                sample.detail, sample.first_ms = data[:ERROR_TEXT_CHARS], first_ms
                return Result(sample)
            if name == "final":
                sample = Sample("ask_stream", 0, 0, HTTP_OK, "ok", first_ms=first_ms)
                return Result(sample, answer_id=json.loads(data)["answer_id"])
    return Result(Sample("ask_stream", 0, 0, HTTP_OK, "incomplete", first_ms=first_ms))


def _messages(question: str, earlier: str | None) -> list[dict[str, str]]:
    """The question, after one earlier turn when there was one (a follow-up conversation)."""
    if earlier is None:
        return [{"role": "user", "content": question}]
    return [
        {"role": "user", "content": earlier},
        {"role": "assistant", "content": "Here is what the documents say."},
        {"role": "user", "content": question},
    ]


async def chat(
    http: httpx.AsyncClient, key: str, question: str, earlier: str | None = None
) -> Result:
    body = {"model": MODEL, "messages": _messages(question, earlier)}
    response = await http.post("/v1/chat/completions", json=body, headers=_auth(key))
    if response.status_code != HTTP_OK:
        return Result(_failed("chat", response))
    return Result(Sample("chat", 0, 0, HTTP_OK, "ok"), answer_id=response.json()["answer_id"])


async def chat_stream(
    http: httpx.AsyncClient, key: str, question: str, earlier: str | None = None
) -> Result:
    """A streamed chat completion read to ``data: [DONE]``; the last chunk names the answer."""
    started = time.perf_counter()
    body = {"model": MODEL, "messages": _messages(question, earlier), "stream": True}
    async with http.stream(
        "POST", "/v1/chat/completions", json=body, headers=_auth(key)
    ) as response:
        if response.status_code != HTTP_OK:
            await response.aread()
            return Result(_failed("chat_stream", response))
        first_ms: float | None = None
        answer_id: str | None = None
        async for name, data in _events(response):
            first_ms = first_ms if first_ms is not None else (time.perf_counter() - started) * 1e3
            if name == "error":
                sample = Sample("chat_stream", 0, 0, HTTP_OK, "stream_error", first_ms=first_ms)
                sample.detail = data[:ERROR_TEXT_CHARS]
                return Result(sample)
            if data == DONE:
                outcome = "ok" if answer_id else "incomplete"
                sample = Sample("chat_stream", 0, 0, HTTP_OK, outcome, first_ms=first_ms)
                return Result(sample, answer_id=answer_id)
            answer_id = json.loads(data).get("answer_id") or answer_id
    return Result(Sample("chat_stream", 0, 0, HTTP_OK, "incomplete", first_ms=first_ms))


async def feedback(http: httpx.AsyncClient, key: str, answer_id: str, n: int) -> Result:
    """Rate an answer: up or down in turn, with a comment every other time."""
    body: dict[str, Any] = {"answer_id": answer_id, "rating": "up" if n % 2 else "down"}
    if n % 4 < 2:
        body["comment"] = f"soak run comment {n}"
    response = await http.post("/v1/feedback", json=body, headers=_auth(key))
    if response.status_code != HTTP_CREATED:
        return Result(_failed("feedback", response))
    return Result(
        Sample("feedback", 0, 0, HTTP_CREATED, "ok"), feedback_id=response.json()["feedback_id"]
    )


async def timed(
    kind: str,
    call: Callable[[], Awaitable[Result]],
    rec: Recorder,
    key: int,
    warmup: bool = False,
    rated: str | None = None,
) -> Result:
    """Run one request and record its sample (even when cancelled at the hard stop) and ids;
    ``rated`` is the answer a feedback request rates."""
    started = time.perf_counter()
    try:
        result = await call()
    except httpx.HTTPError as exc:
        result = Result(Sample(kind, 0, 0, 0, "no_response", detail=repr(exc)[:ERROR_TEXT_CHARS]))
    except asyncio.CancelledError:
        rec.samples.append(
            Sample(kind, started - rec.t0, _ms(started), 0, "timeout", key=key, warmup=warmup)
        )
        raise
    sample = result.sample
    sample.kind, sample.started, sample.ms = kind, started - rec.t0, _ms(started)
    sample.key, sample.warmup = key, warmup
    rec.samples.append(sample)
    if result.answer_id:
        rec.answers.append({"answer_id": result.answer_id, "kind": kind})
    if result.feedback_id:
        rec.feedback.append({"feedback_id": result.feedback_id, "answer_id": rated or ""})
    return result


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1e3


# -- the clients ----------------------------------------------------------------------------


@dataclass
class MixClient:
    """One closed-loop client: one request of the next kind as soon as the last one ended."""

    index: int
    http: httpx.AsyncClient
    keys: list[str]
    questions: list[str]
    rec: Recorder
    unrated: list[str] = field(default_factory=list)
    count: int = 0

    @property
    def key_index(self) -> int:
        return self.index % len(self.keys)

    def question(self) -> str:
        return self.questions[(self.index + self.count * 7) % len(self.questions)]

    async def once(self, kind: str, warmup: bool = False) -> None:
        """One request of ``kind`` (an ask instead of feedback when nothing is left to rate)."""
        key, q = self.keys[self.key_index], self.question()
        earlier = self.questions[(self.index + self.count) % len(self.questions)]
        follow_up = earlier if self.count % 2 else None
        self.count += 1
        if kind == "feedback" and not self.unrated:
            kind = "ask"
        rated = self.unrated.pop() if kind == "feedback" else None
        call: Callable[[], Awaitable[Result]] = {
            "ask": partial(ask, self.http, key, q),
            "ask_stream": partial(ask_stream, self.http, key, q),
            "chat": partial(chat, self.http, key, q, follow_up),
            "chat_stream": partial(chat_stream, self.http, key, q, follow_up),
            "feedback": partial(feedback, self.http, key, rated or "", self.count),
        }[kind]
        result = await timed(kind, call, self.rec, self.key_index, warmup, rated)
        if result.answer_id:
            self.unrated.append(result.answer_id)

    async def run(self, stop_at: float) -> None:
        n = self.index
        while time.perf_counter() < stop_at:
            await self.once(KINDS[n % len(KINDS)])
            n += 1


async def run_mix(
    url: str,
    keys: list[str],
    questions: list[str],
    clients: int,
    duration: float,
    warmup_pass: bool = False,
) -> Recorder:
    """The warm-up, then ``clients`` closed-loop clients for ``duration`` s."""
    rec = Recorder()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=REQUEST_TIMEOUT_S) as http:
        mix = [MixClient(i, http, keys, questions, rec) for i in range(clients)]
        rec.t0 = time.perf_counter()
        # Loads what the server loads lazily; none of it is in the latency figures.
        for kind in KINDS:
            await mix[0].once(kind, warmup=True)
        if warmup_pass:
            pending = list(dict.fromkeys(questions))

            async def warm(client: MixClient) -> None:
                while pending:
                    call = partial(ask, http, keys[client.key_index], pending.pop())
                    await timed("ask", call, rec, client.key_index, warmup=True)

            await _bounded([warm(c) for c in mix], WARMUP_LIMIT_S)
        rec.warmup_s = time.perf_counter() - rec.t0
        rec.t0 = time.perf_counter()
        stop_at = rec.t0 + duration
        await _bounded([c.run(stop_at) for c in mix], duration + GRACE_S)
    return rec


async def run_limit(
    url: str, keys: list[str], questions: list[str], clients: int, duration: float, paced: int
) -> Recorder:
    """``clients`` clients ask as fast as they can with key 0; a bystander asks ``paced`` times
    with key 1, evenly spread over ``duration`` s."""
    rec = Recorder()
    limits = httpx.Limits(max_connections=clients + 1, max_keepalive_connections=clients + 1)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=REQUEST_TIMEOUT_S) as http:
        rec.t0 = time.perf_counter()
        stop_at = rec.t0 + duration

        async def hammer(i: int) -> None:
            n = i
            while time.perf_counter() < stop_at:
                q = questions[n % len(questions)]
                n += 1
                await timed(LIMITED, partial(ask, http, keys[0], q), rec, 0)

        async def bystander() -> None:
            for n in range(paced):
                await asyncio.sleep(max(0.0, rec.t0 + n * duration / paced - time.perf_counter()))
                q = questions[n % len(questions)]
                await timed(BYSTANDER, partial(ask, http, keys[1], q), rec, 1)

        await _bounded([*(hammer(i) for i in range(clients)), bystander()], duration + GRACE_S)
    return rec


async def _bounded(jobs: list[Awaitable[None]], seconds: float) -> None:
    """Run the jobs together; cancel whatever is still running after ``seconds``."""
    tasks = [asyncio.ensure_future(j) for j in jobs]
    _done, pending = await asyncio.wait(tasks, timeout=seconds)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    for task in _done:
        task.result()  # a bug in a client surfaces here, not as a silent short run


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m eval.soak.clients", description=__doc__)
    parser.add_argument("--url", required=True, help="Base URL, e.g. http://127.0.0.1:8000")
    parser.add_argument("--questions", type=Path, required=True, help="JSON list of questions.")
    parser.add_argument("--mode", choices=("mix", "limit"), default="mix")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0, help="Seconds.")
    parser.add_argument("--bystander-requests", type=int, default=10, help="limit mode only")
    parser.add_argument(
        "--warmup-pass", action="store_true", help="mix mode: ask every question once first"
    )
    parser.add_argument("--out", type=Path, required=True, help="Where to write the JSON.")
    args = parser.parse_args(argv)
    keys = [k for k in os.environ.get(KEYS_ENV, "").split(",") if k]
    if not keys or (args.mode == "limit" and len(keys) < 2):
        parser.error(f"set {KEYS_ENV} to ask-scope keys (two in limit mode), comma-separated")
    questions = json.loads(args.questions.read_text(encoding="utf-8"))
    wall0 = time.time() - time.perf_counter()  # epoch = wall0 + perf_counter()
    if args.mode == "mix":
        rec = asyncio.run(
            run_mix(args.url, keys, questions, args.clients, args.duration, args.warmup_pass)
        )
    else:
        rec = asyncio.run(
            run_limit(
                args.url, keys, questions, args.clients, args.duration, args.bystander_requests
            )
        )
    ended = time.perf_counter()
    report = {
        "mode": args.mode,
        "clients": args.clients,
        "duration_s": args.duration,
        "t0": wall0 + rec.t0,
        "warmup_s": rec.warmup_s,
        "seconds": ended - rec.t0,
        "samples": [asdict(s) for s in rec.samples],
        "answers": rec.answers,
        "feedback": rec.feedback,
    }
    args.out.write_text(json.dumps(report), encoding="utf-8")


if __name__ == "__main__":
    main()
