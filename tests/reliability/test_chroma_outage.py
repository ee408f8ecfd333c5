"""The API over a `chroma run` server that is killed with SIGKILL mid-query and mid-upload, then
started again on the same port and data path.

While Chroma is down every route that needs it answers 503 with a JSON body naming the vector
store (never a 500 or a traceback); once Chroma is back the same API process answers again
without a restart, and the index is consistent: an interrupted upload, sent again, finishes the
document without embedding again what was already stored.
"""

from __future__ import annotations

import shutil
import signal
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import pytest

from assistant.embeddings.fake import HashingEmbedder
from assistant.retrieval.bm25 import FRESHNESS_CHECK_S
from assistant.services import Services, build_services
from assistant.store.chroma import ChromaStore
from tests.api.conftest import ADMIN_KEY, RunningApi, api_settings, serve
from tests.reliability.chroma_process import ChromaProcess
from tests.reliability.index_checks import (
    answer_sources,
    code_question,
    index_problems,
    note_text,
    write_note,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

LOAD_WORKERS = 4
RECOVERY_LIMIT_S = 30.0  # from relaunching Chroma to the API's first 200
HUNG_TIMEOUT_S = 1.0  # the store's time limit in the hung-server test
BIG_NOTE_PARAGRAPHS = 2000  # about 175 passages: three embedding batches


@pytest.fixture
def chroma(tmp_path: Path) -> Iterator[ChromaProcess]:
    server = ChromaProcess(tmp_path / "chroma")
    server.start()
    yield server
    server.stop()


def server_services(chroma: ChromaProcess, data_dir: Path, **kw: object) -> Services:
    settings = api_settings(data_dir, chroma__host=chroma.host, chroma__port=chroma.port)
    return build_services(settings, **kw)  # type: ignore[arg-type]


def assert_store_unavailable(response: httpx.Response, chroma: ChromaProcess) -> None:
    """503, the one error shape, a message naming the vector store, nothing internal."""
    assert response.status_code == 503, response.text
    error = response.json()["error"]
    assert error["code"] == "backend_unavailable"
    assert f"Chroma server at {chroma.host}:{chroma.port} cannot be reached" in error["message"]
    assert error["request_id"] == response.headers["X-Request-ID"]
    assert "Traceback" not in response.text and 'File "' not in response.text
    assert response.headers["Retry-After"].isdigit()


@dataclass
class Outcome:
    started: float
    ended: float
    status: int
    body: str


@dataclass
class AskLoad:
    """Threads asking questions back to back until stopped, keeping every outcome."""

    api: RunningApi
    outcomes: list[Outcome] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _threads: list[threading.Thread] = field(default_factory=list)

    def _run(self, worker: int) -> None:
        with self.api.client() as client:
            n = worker
            while not self._stop.is_set():
                started = time.monotonic()
                r = client.post("/v1/ask", json={"question": code_question(n % 3)})
                self.outcomes.append(Outcome(started, time.monotonic(), r.status_code, r.text))
                n += 1

    def start(self) -> None:
        self._threads = [
            threading.Thread(target=self._run, args=(i,), daemon=True) for i in range(LOAD_WORKERS)
        ]
        for t in self._threads:
            t.start()

    def wait_for(self, ok: int, timeout_s: float = 30) -> None:
        deadline = time.monotonic() + timeout_s
        while sum(o.status == 200 for o in self.outcomes) < ok:
            assert time.monotonic() < deadline, [o.status for o in self.outcomes]
            time.sleep(0.02)

    def stop(self) -> None:
        self._stop.set()
        for t in self._threads:
            t.join(30)


def wait_for_recovery(api: RunningApi, chroma: ChromaProcess, launched: float) -> dict:
    """Ask until the answer is 200 again; every answer before it must be a clean 503."""
    heartbeat_at = None
    statuses: list[int] = []
    with api.client() as client:
        while True:
            now = time.monotonic()
            assert now - launched < RECOVERY_LIMIT_S, statuses[-5:]
            if heartbeat_at is None:
                try:
                    urllib.request.urlopen(chroma.heartbeat_url, timeout=1)
                    heartbeat_at = time.monotonic()
                except OSError:
                    pass
            r = client.post("/v1/ask", json={"question": code_question(0)})
            statuses.append(r.status_code)
            if r.status_code == 200:
                ok_at = time.monotonic()
                break
            assert_store_unavailable(r, chroma)
            time.sleep(0.05)
    if heartbeat_at is None:  # Chroma came up between the last failed heartbeat and this ask
        heartbeat_at = ok_at
    return {
        "chroma_serving_s": heartbeat_at - launched,
        "first_200_s": ok_at - launched,
        "after_chroma_s": ok_at - heartbeat_at,
        "503s_meanwhile": len(statuses) - 1,
    }


def test_queries_in_flight_when_chroma_is_killed_get_503_and_the_api_recovers_unrestarted(
    chroma: ChromaProcess, tmp_path: Path
) -> None:
    services = server_services(chroma, tmp_path / "data")
    corpus = tmp_path / "corpus"
    for n in range(3):
        write_note(corpus, n)
    assert not services.ingest([corpus]).failed
    with serve(services) as api:
        load = AskLoad(api)
        load.start()
        load.wait_for(ok=8)
        chroma.kill()
        killed_at = time.monotonic()
        time.sleep(0.5)  # let the in-flight requests finish against a dead server
        with api.client(ADMIN_KEY) as client:
            down = {
                "ask": client.post("/v1/ask", json={"question": code_question(1)}),
                "readyz": client.get("/readyz"),
                "documents": client.get("/v1/documents"),
                "upload": client.post(
                    "/v1/documents",
                    files={"file": ("note-07.md", note_text(7, 20).encode(), "text/markdown")},
                ),
                "chat": client.post(
                    "/v1/chat/completions",
                    json={
                        "model": "nhs-assistant",
                        "messages": [{"role": "user", "content": code_question(2)}],
                    },
                ),
            }
            stream = client.post("/v1/ask/stream", json={"question": code_question(2)})
        load.stop()

        in_flight = [o for o in load.outcomes if o.started < killed_at < o.ended]
        after = [o for o in load.outcomes if o.started > killed_at]
        print(
            f"\nload: {len(load.outcomes)} asks, {len(in_flight)} in flight at the kill "
            f"(statuses {sorted(o.status for o in in_flight)}), {len(after)} after it"
        )
        assert {o.status for o in load.outcomes} <= {200, 503}, "no 500, no hang"
        assert after and {o.status for o in after} == {503}
        assert all("backend_unavailable" in o.body for o in load.outcomes if o.status == 503)
        for name, response in down.items():
            if name == "readyz":
                assert response.status_code == 503
                body = response.json()
                assert body["status"] == "not_ready"
                assert f"Chroma server at {chroma.host}:{chroma.port}" in body["message"]
            else:
                assert_store_unavailable(response, chroma)
        assert stream.status_code == 200 and "event: error" in stream.text
        assert "backend_unavailable" in stream.text and "Chroma server" in stream.text

        launched = chroma.launch()
        recovery = wait_for_recovery(api, chroma, launched)
        print(
            f"recovery: chroma serving {recovery['chroma_serving_s']:.2f} s after relaunch; "
            f"API first 200 {recovery['first_200_s']:.2f} s after relaunch "
            f"({recovery['after_chroma_s']:.3f} s after Chroma answered; "
            f"{recovery['503s_meanwhile']} clean 503s meanwhile)"
        )
        with api.client(ADMIN_KEY) as client:
            assert client.get("/readyz").status_code == 200
            docs = client.get("/v1/documents").json()["documents"]
        assert sorted(d["doc_id"] for d in docs) == ["note-00.md", "note-01.md", "note-02.md"]
    services.retriever.sync(force=False)
    assert index_problems(services) == []
    for n in range(3):
        assert answer_sources(services, n) == (False, [f"note-{n:02d}.md"])


class KillingEmbedder(HashingEmbedder):
    """The hashing embedder, calling ``on_batch`` before each batch of passages it embeds
    (questions, embedded one at a time, are not counted)."""

    def __init__(self) -> None:
        super().__init__()
        self.batches = 0
        self.on_batch: Callable[[int], None] = lambda n: None

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        if len(texts) > 1:
            self.batches += 1
            self.on_batch(self.batches)
        return super().embed_documents(texts)


def test_an_upload_cut_off_by_chroma_dying_is_503_and_sending_it_again_finishes_it(
    chroma: ChromaProcess, tmp_path: Path
) -> None:
    embedder = KillingEmbedder()
    services = server_services(chroma, tmp_path / "data", embedder=embedder)
    corpus = tmp_path / "corpus"
    for n in range(2):
        write_note(corpus, n)
    assert not services.ingest([corpus]).failed
    big = note_text(5, BIG_NOTE_PARAGRAPHS).encode()
    upload = {"file": ("note-05.md", big, "text/markdown")}

    def kill_at_third_batch(n: int) -> None:
        if n == 3:  # two batches of the big note are stored, the rest is not
            chroma.kill()

    with serve(services) as api, api.client(ADMIN_KEY) as client:
        embedder.batches, embedder.on_batch = 0, kill_at_third_batch
        cut = client.post("/v1/documents", files=upload)
        embedder.on_batch = lambda n: None
        assert_store_unavailable(cut, chroma)
        assert_store_unavailable(
            client.post("/v1/ask", json={"question": code_question(0)}), chroma
        )
        assert client.get("/readyz").status_code == 503

        chroma.start()
        partial = services.store.chunk_ids("note-05.md")
        assert partial and services.store.get_document("note-05.md") is None  # really cut off

        again = client.post("/v1/documents", files=upload)
        assert again.status_code == 201, again.text
        done = again.json()
        print(f"\nretried upload: {done['chunks']} passages, {done['embedded']} embedded now, "
              f"{len(partial)} kept from the cut-off attempt")  # fmt: skip
        assert done["status"] == "indexed"
        assert done["embedded"] == done["chunks"] - len(partial)
        docs = {d["doc_id"]: d["chunks"] for d in client.get("/v1/documents").json()["documents"]}
        assert sorted(docs) == ["note-00.md", "note-01.md", "note-05.md"]
        assert docs["note-05.md"] == done["chunks"]
        answered = client.post("/v1/ask", json={"question": code_question(5)}).json()
        assert answered["citations"][0]["doc_id"] == "note-05.md"
    services.retriever.sync(force=False)
    assert index_problems(services) == []
    for n in (0, 1, 5):
        assert answer_sources(services, n) == (False, [f"note-{n:02d}.md"])


def test_the_api_starts_while_chroma_is_down_and_serves_once_chroma_is_up(tmp_path: Path) -> None:
    chroma = ChromaProcess(tmp_path / "chroma")  # not started yet
    services = server_services(chroma, tmp_path / "data")
    try:
        with serve(services) as api, api.client(ADMIN_KEY) as client:
            assert_store_unavailable(
                client.post("/v1/ask", json={"question": code_question(0)}), chroma
            )
            ready = client.get("/readyz")
            assert ready.status_code == 503 and "Chroma server at" in ready.json()["message"]

            chroma.start()
            empty = client.get("/readyz")
            assert empty.status_code == 503 and "empty" in empty.json()["message"]
            upload = {"file": ("note-03.md", note_text(3, 30).encode(), "text/markdown")}
            assert client.post("/v1/documents", files=upload).status_code == 201
            assert client.get("/readyz").status_code == 200
            answered = client.post("/v1/ask", json={"question": code_question(3)})
            assert answered.status_code == 200
            assert answered.json()["citations"][0]["doc_id"] == "note-03.md"
    finally:
        chroma.stop()


def test_chroma_restarted_without_its_data_is_a_503_then_an_empty_index_not_a_500(
    chroma: ChromaProcess, tmp_path: Path
) -> None:
    services = server_services(chroma, tmp_path / "data")
    write_note(tmp_path / "corpus", 4)
    assert not services.ingest([tmp_path / "corpus"]).failed
    with serve(services) as api, api.client(ADMIN_KEY) as client:
        assert client.post("/v1/ask", json={"question": code_question(4)}).status_code == 200
        chroma.kill()
        shutil.rmtree(chroma.folder / "db")  # the volume was lost with the server
        chroma.start()
        gone = client.post("/v1/ask", json={"question": code_question(4)})
        assert gone.status_code == 503, gone.text
        assert "no longer has the collection" in gone.json()["error"]["message"]
        empty = client.get("/readyz")
        assert empty.status_code == 503 and "empty" in empty.json()["message"]
        time.sleep(FRESHNESS_CHECK_S)  # BM25 notices the store's new generation by then
        ask_empty = client.post("/v1/ask", json={"question": code_question(4)})
        assert ask_empty.status_code == 503 and "index is empty" in ask_empty.text
        assert client.get("/v1/documents").json()["documents"] == []
        upload = {"file": ("note-04.md", note_text(4, 30).encode(), "text/markdown")}
        assert client.post("/v1/documents", files=upload).status_code == 201
        assert client.post("/v1/ask", json={"question": code_question(4)}).status_code == 200
    services.retriever.sync(force=False)
    assert index_problems(services) == []


def test_a_hung_chroma_server_is_a_503_within_the_time_limit_not_a_hung_request(
    chroma: ChromaProcess, tmp_path: Path
) -> None:
    settings = api_settings(tmp_path / "data", chroma__host=chroma.host, chroma__port=chroma.port)
    embedder = HashingEmbedder()
    store = ChromaStore(embedder.name, embedder.dimension, host=chroma.host, port=chroma.port,
                        timeout_s=HUNG_TIMEOUT_S)  # fmt: skip
    services = build_services(settings, embedder=embedder, store=store)
    write_note(tmp_path / "corpus", 6)
    assert not services.ingest([tmp_path / "corpus"]).failed
    assert chroma.proc is not None
    with serve(services) as api, api.client(ADMIN_KEY) as client:
        chroma.proc.send_signal(signal.SIGSTOP)  # the process is there, but answers nothing
        try:
            started = time.monotonic()
            hung = client.post("/v1/ask", json={"question": code_question(6)})
            waited = time.monotonic() - started
            ready = client.get("/readyz")
        finally:
            chroma.proc.send_signal(signal.SIGCONT)
        print(f"\nhung Chroma: 503 after {waited:.2f} s (limit {HUNG_TIMEOUT_S} s)")
        assert hung.status_code == 503
        assert f"did not answer within {HUNG_TIMEOUT_S:g} s" in hung.json()["error"]["message"]
        assert waited < HUNG_TIMEOUT_S * 2 + 2  # the sync's check and the search, at most
        assert ready.status_code == 503
        assert client.post("/v1/ask", json={"question": code_question(6)}).status_code == 200
