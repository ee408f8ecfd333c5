"""Authentication over real HTTP: every route, every way a key can be wrong, limits, and logs.

The routes are read from the app itself (``app.routes``), so an endpoint added later is either
in the public allowlist below, with its reason, or in ``KEYED`` with the scope it needs; a
route in neither fails the test. Every keyed route refuses a missing key, a wrong key, a key
sent where it is not read (query string, ``Basic``, no scheme), a disabled key (commented out
of the keys file) and, on admin routes, an ask key; every refusal is the JSON error shape.
Under concurrent load one key gets its budget and then 429 with ``Retry-After``; refused
attempts are limited per client address too. No key, and no LLM key, ever reaches the logs:
all records at DEBUG in-process, and the stderr of a real ``nhs-assistant serve``.
"""

from __future__ import annotations

import base64
import json
import logging
import math
import os
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from starlette.routing import Mount

from assistant.api import create_app
from assistant.api.auth import KEYED_PREFIX
from assistant.errors import ConfigurationError
from assistant.services import build_services
from tests.api.conftest import ADMIN_KEY, ASK_KEY, RunningApi, api_settings, serve
from tests.conftest import PROJECT_ROOT, free_port, wait_until_serving
from tests.security.conftest import PlantedIndex

# Open without a key, and why.
PUBLIC = {
    ("GET", "/healthz"): "liveness probe for load balancers",
    ("GET", "/readyz"): "readiness probe; says only whether the index is usable",
    ("GET", "/metrics"): "Prometheus scrape: counts only (README: keep it off the internet)",
    ("GET", "/openapi.json"): "the API's schema",
    ("GET", "/docs"): "Swagger UI over the schema",
    ("GET", "/redoc"): "ReDoc over the schema",
    ("MOUNT", "/docs-assets"): "Swagger UI's and ReDoc's scripts and styles, served locally",
    ("GET", "/redoc-assets/redoc.standalone.js"): "ReDoc's script, its CDN logo made local",
}
PUBLIC_FILE_IN_MOUNT = {"/docs-assets": "/docs-assets/swagger-ui.css"}
# Every other route and the scope it needs.
KEYED = {
    ("POST", "/v1/ask"): "ask",
    ("POST", "/v1/retrieve"): "ask",
    ("POST", "/v1/ask/stream"): "ask",
    ("POST", "/v1/chat/completions"): "ask",
    ("GET", "/v1/models"): "ask",
    ("POST", "/v1/feedback"): "ask",
    ("GET", "/v1/documents"): "admin",
    ("POST", "/v1/documents"): "admin",
    ("DELETE", "/v1/documents/{doc_id}"): "admin",
    ("PATCH", "/v1/documents/{doc_id}"): "admin",
    ("POST", "/v1/documents/{doc_id}/release"): "admin",
}
WRONG_KEY = "not-a-key-of-this-server-0123456789"
DISABLED_KEY = "ask-key-that-was-disabled-0123456789"
LLM_KEY = "sk-llm-secret-for-the-tests-0123456789"
RATE = 20  # requests per minute for the limit tests


def routes(app) -> list[tuple[str, str]]:
    """(method, path template) for every route of the app, routers flattened (HEAD is GET's
    twin); a mounted app is ("MOUNT", path)."""
    try:  # FastAPI 0.16x keeps included routers as branches; this walks them
        from fastapi.routing import iter_route_contexts

        flat = [(ctx.route, ctx.path, ctx.methods) for ctx in iter_route_contexts(app.routes)]
    except ImportError:
        flat = [(r, getattr(r, "path", ""), getattr(r, "methods", None)) for r in app.routes]
    found: list[tuple[str, str]] = []
    for route, path, methods in flat:
        path = path or ""
        if isinstance(route, Mount):
            found.append(("MOUNT", path))
            continue
        found += [(method, path) for method in sorted(methods or ()) if method != "HEAD"]
    return found


def call(client: httpx.Client, method: str, path: str, **kw) -> httpx.Response:
    """One request with a harmless body of the right kind."""
    url = path.replace("{doc_id}", "no-such-document.md")
    if method == "POST" and url == "/v1/documents":
        kw.setdefault("files", {"file": ("note.txt", b"Plans are due in May.", "text/plain")})
    elif method == "POST":
        kw.setdefault("json", {})
    elif method == "PATCH":
        kw.setdefault("json", {"status": "superseded"})
    return client.request(method, url, **kw)


def assert_refused(r: httpx.Response, status: int, code: str, where: str) -> None:
    assert r.status_code == status, f"{where}: {r.status_code} {r.text}"
    assert r.headers["content-type"].startswith("application/json"), where
    error = r.json()["error"]
    assert error["code"] == code and error["message"] and error["request_id"], where
    assert r.headers["X-Request-ID"] == error["request_id"]
    if status == 401:
        assert r.headers["WWW-Authenticate"] == "Bearer"


@pytest.fixture(scope="module")
def keyed_api(tmp_path_factory) -> Iterator[RunningApi]:
    """An API with an ask key, an admin key and a disabled (commented-out) key in its file."""
    root = tmp_path_factory.mktemp("auth")
    keys_file = root / "keys.txt"
    keys_file.write_text(f"admin:{ADMIN_KEY}\n# ask:{DISABLED_KEY}   (disabled)\n")
    settings = api_settings(root / "data", api__keys_file=keys_file)
    settings.api.keys = SecretStr(f"ask:{ASK_KEY}")
    with serve(build_services(settings)) as running:
        yield running


# --- every route --------------------------------------------------------------------------------


@pytest.mark.integration
def test_every_route_is_either_public_with_a_reason_or_keyed_with_a_scope(keyed_api):
    from ui import build_ui, mount_ui

    app = create_app(keyed_api.services)
    found = set(routes(app))
    assert found == set(PUBLIC) | set(KEYED), (
        f"new routes to classify: {found - set(PUBLIC) - set(KEYED)}; "
        f"gone: {(set(PUBLIC) | set(KEYED)) - found}"
    )
    # The key gate refuses anonymous requests before their body is read by path prefix: every
    # keyed route must sit under it, and no public one.
    assert all(path.startswith(KEYED_PREFIX) for _, path in KEYED)
    assert not any(path.startswith(KEYED_PREFIX) for _, path in PUBLIC)
    # The page, when mounted, is the one documented exception: it has no login of its own.
    mount_ui(app, build_ui(keyed_api.services))
    assert set(routes(app)) - found == {("MOUNT", "/ui")}


@pytest.mark.integration
@pytest.mark.parametrize("route", sorted(KEYED), ids=lambda r: f"{r[0]} {r[1]}")
def test_every_keyed_route_refuses_missing_wrong_misplaced_and_disabled_keys(keyed_api, route):
    method, path = route
    basic = base64.b64encode(f"user:{ASK_KEY}".encode()).decode()
    refusals = {
        "no key": {},
        "wrong bearer key": {"headers": {"Authorization": f"Bearer {WRONG_KEY}"}},
        "wrong X-API-Key": {"headers": {"X-API-Key": WRONG_KEY}},
        "bearer without a key": {"headers": {"Authorization": "Bearer"}},
        "key without a scheme": {"headers": {"Authorization": ASK_KEY}},
        "key as Basic credentials": {"headers": {"Authorization": f"Basic {basic}"}},
        "key in the query string": {"params": {"api_key": ASK_KEY, "key": ASK_KEY}},
        "disabled key": {"headers": {"Authorization": f"Bearer {DISABLED_KEY}"}},
        "admin key in the wrong header": {"headers": {"X-Api-Token": ADMIN_KEY}},
    }
    with keyed_api.client(key=None) as client:
        for what, kw in refusals.items():
            assert_refused(call(client, method, path, **kw), 401, "unauthorized", what)
        # Malformed JSON without a key is still refused for the key, not parsed first.
        if method == "POST" and path != "/v1/documents":
            r = client.post(
                path, content=b"{not json", headers={"Content-Type": "application/json"}
            )
            assert_refused(r, 401, "unauthorized", "malformed body, no key")


@pytest.mark.integration
@pytest.mark.parametrize("route", sorted(KEYED), ids=lambda r: f"{r[0]} {r[1]}")
def test_each_key_reaches_exactly_the_routes_of_its_scope(keyed_api, route):
    method, path = route
    for key, scope in ((ASK_KEY, "ask"), (ADMIN_KEY, "admin")):
        for header in ({"Authorization": f"Bearer {key}"}, {"X-API-Key": key}):
            with keyed_api.client(key=None, **header) as client:
                r = call(client, method, path)
            if KEYED[route] == "admin" and scope == "ask":
                assert_refused(r, 403, "forbidden", f"ask key on {method} {path}")
                assert "'admin' needed" in r.json()["error"]["message"]
            else:  # admitted: whatever the route then says, it is not about the key
                assert r.status_code not in (401, 403), f"{scope} key on {path}: {r.text}"


@pytest.mark.integration
def test_public_routes_answer_without_a_key(keyed_api):
    with keyed_api.client(key=None) as client:
        for method, path in PUBLIC:
            if method == "MOUNT":
                method, path = "GET", PUBLIC_FILE_IN_MOUNT[path]
            r = client.request(method, path)
            assert r.status_code in (200, 503), f"{path}: {r.status_code}"  # readyz: empty index


# --- the documented configurations ---------------------------------------------------------------


def test_no_key_and_auth_not_disabled_refuses_to_start(tmp_path):
    settings = api_settings(tmp_path, api__keys=SecretStr(""))
    with pytest.raises(ConfigurationError, match="no API keys configured"):
        create_app(build_services(settings))


@pytest.mark.integration
def test_auth_disabled_without_keys_admits_everyone_as_admin(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    settings = api_settings(tmp_path, api__keys=SecretStr(""), api__auth_disabled=True)
    with serve(build_services(settings)) as api, api.client(key=None) as client:
        for (method, path), _scope in KEYED.items():
            r = call(client, method, path)
            assert r.status_code not in (401, 403), f"{method} {path}: {r.text}"
    assert "authentication DISABLED" in caplog.text


@pytest.mark.integration
def test_auth_disabled_is_ignored_once_any_key_is_configured(tmp_path):
    settings = api_settings(tmp_path, api__auth_disabled=True)  # with the ask and admin keys
    with serve(build_services(settings)) as api:
        with api.client(key=None) as client:
            assert_refused(call(client, "GET", "/v1/models"), 401, "unauthorized", "no key")
        with api.client(key=ASK_KEY) as client:
            assert_refused(call(client, "GET", "/v1/documents"), 403, "forbidden", "ask key")


def test_a_malformed_key_entry_is_reported_without_echoing_the_key(tmp_path):
    secret = "a-bare-key-without-its-scope-0123456789"
    for entries in (secret, f"ask:{ASK_KEY},{secret}", f"reader:{secret}", "ask:short"):
        settings = api_settings(tmp_path, api__keys=SecretStr(entries))
        with pytest.raises(ConfigurationError) as raised:
            create_app(build_services(settings))
        message = str(raised.value)
        assert "entry" in message
        for leaked in (secret, secret[:8], "short", ASK_KEY[:8]):
            assert leaked not in message, message


# --- rate limits under load -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def limited_api(tmp_path_factory) -> Iterator[RunningApi]:
    root = tmp_path_factory.mktemp("limited")
    with serve(build_services(api_settings(root, api__rate_limit_per_minute=RATE))) as running:
        yield running


def _hammer(api: RunningApi, headers: dict[str, str], threads: int = 8, each: int = 6):
    """``threads`` clients sending ``each`` requests at once; responses and seconds taken."""

    def worker(_: int) -> list[httpx.Response]:
        with httpx.Client(base_url=api.base_url, headers=headers, timeout=30) as client:
            return [client.get("/v1/models") for _ in range(each)]

    started = time.monotonic()
    with ThreadPoolExecutor(threads) as pool:
        responses = [r for batch in pool.map(worker, range(threads)) for r in batch]
    return responses, time.monotonic() - started


def _budget(seconds: float) -> int:
    """The most a token bucket of RATE per minute can admit in ``seconds`` from full."""
    return RATE + math.ceil(seconds * RATE / 60)


@pytest.mark.integration
def test_one_key_under_concurrent_load_gets_its_budget_then_429_with_retry_after(limited_api):
    responses, seconds = _hammer(limited_api, {"Authorization": f"Bearer {ASK_KEY}"})
    ok = [r for r in responses if r.status_code == 200]
    limited = [r for r in responses if r.status_code == 429]
    assert len(ok) + len(limited) == len(responses), {r.status_code for r in responses}
    assert RATE <= len(ok) <= _budget(seconds), (len(ok), seconds)
    for r in limited:
        assert_refused(r, 429, "rate_limited", "over the budget")
        assert int(r.headers["Retry-After"]) >= 1
    # Another key has a budget of its own.
    with limited_api.client(key=ADMIN_KEY) as client:
        assert client.get("/v1/models").status_code == 200


@pytest.mark.integration
def test_refused_attempts_are_limited_per_address_without_locking_out_valid_keys(limited_api):
    responses, seconds = _hammer(limited_api, {"Authorization": f"Bearer {WRONG_KEY}"})
    refused = [r for r in responses if r.status_code == 401]
    limited = [r for r in responses if r.status_code == 429]
    assert len(refused) + len(limited) == len(responses)
    assert RATE <= len(refused) <= _budget(seconds) and limited
    for r in limited:
        assert_refused(r, 429, "rate_limited", "guessing keys")
    with limited_api.client(key=ADMIN_KEY, **{"X-Request-ID": "after-guessing"}) as client:
        assert client.get("/v1/models").status_code == 200  # a valid key is not locked out


# --- keys never in logs ---------------------------------------------------------------------------


class _EchoingLLM(BaseHTTPRequestHandler):
    """An OpenAI-compatible server that refuses every key and quotes it back, as a careless
    proxy might: the assistant must not pass the quote on to its logs or its clients."""

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        quoted = self.headers.get("Authorization", "")
        body = json.dumps(
            {"error": {"message": f"Incorrect API key provided: {quoted}", "type": "auth"}}
        ).encode()
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def echoing_llm() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", free_port()), _EchoingLLM)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/v1"
    server.shutdown()


SECRETS = (ASK_KEY, ADMIN_KEY, WRONG_KEY, LLM_KEY)


def _requests_carrying_keys(client: httpx.Client) -> list[httpx.Response]:
    """Keys sent every way a client might, right and wrong, to keyed and public routes."""
    sent = []
    for key in (ASK_KEY, ADMIN_KEY, WRONG_KEY):
        for headers in ({"Authorization": f"Bearer {key}"}, {"X-API-Key": key}):
            sent.append(client.get("/v1/models", headers=headers))
            sent.append(client.get("/v1/documents", headers=headers))
            sent.append(client.post("/v1/ask", json={"question": "x" * 5000}, headers=headers))
        sent.append(client.get("/v1/models", params={"api_key": key}))
        sent.append(client.get(f"/v1/models/{key}"))
        sent.append(client.get(f"/healthz/{key}", params={"token": key}))
    return sent


@pytest.mark.integration
def test_no_key_reaches_the_logs_or_a_client_even_when_the_llm_quotes_it_back(
    planted: PlantedIndex, echoing_llm, caplog
):
    caplog.set_level(logging.DEBUG)
    services = planted.with_settings(
        llm__backend="openai",
        llm__base_url=echoing_llm,
        llm__api_key=SecretStr(LLM_KEY),
        llm__max_retries=0,
        llm__on_failure="error",
    )
    with serve(services) as api, api.client(key=None) as client:
        responses = _requests_carrying_keys(client)
        failed = client.post(
            "/v1/ask",
            json={"question": "When does the discharge lounge open?", "mode": "llm"},
            headers={"Authorization": f"Bearer {ASK_KEY}"},
        )
    assert failed.status_code == 503, failed.text  # the LLM refused: a clear error ...
    assert "HTTP 401" in failed.json()["error"]["message"]
    # What the server logged: every record not written by this test's own thread (its HTTP
    # client logs the URLs it requests, query strings and all; the server runs in others).
    server = [r for r in caplog.records if r.thread != threading.get_ident()]
    assert any("Incorrect API key" in r.getMessage() for r in server)  # ... was logged
    formatter = logging.Formatter("%(name)s %(message)s")
    logged = "\n".join(f"{formatter.format(r)} {r.args!r}" for r in server)
    bodies = "\n".join(r.text for r in [*responses, failed])
    for secret in SECRETS:
        assert secret not in logged, f"{secret[:6]}… in the logs"
        assert secret not in bodies, f"{secret[:6]}… in a response"
    assert "[API key]" in logged  # the key put in a path was masked, not dropped silently


@pytest.mark.integration
def test_a_real_server_writes_no_key_to_stderr(tmp_path):
    """``nhs-assistant serve`` with its own logging set-up, at DEBUG, and a bad start first."""
    exe = str(Path(sys.executable).parent / "nhs-assistant")
    env = {
        **os.environ,
        "NHS_ASSISTANT_EMBEDDING_BACKEND": "fake",
        "NHS_ASSISTANT_LOG_LEVEL": "DEBUG",
        "NHS_ASSISTANT_LLM_BASE_URL": "http://127.0.0.1:9/v1",
        "NHS_ASSISTANT_LLM_API_KEY": LLM_KEY,
        "NHS_ASSISTANT_API_RATE_LIMIT_PER_MINUTE": "100000",
    }
    bad = subprocess.run(
        [exe, "serve", "--data-dir", str(tmp_path / "data")],
        env={**env, "NHS_ASSISTANT_API_KEYS": f"{ASK_KEY},admin:{ADMIN_KEY}"},
        capture_output=True,
        text=True,
        timeout=120,
        cwd=PROJECT_ROOT,
    )
    assert bad.returncode == 2 and "entry" in bad.stderr, bad.stderr[-2000:]
    port = free_port()
    log = tmp_path / "serve.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [exe, "serve", "--port", str(port), "--data-dir", str(tmp_path / "data")],
            env={**env, "NHS_ASSISTANT_API_KEYS": f"ask:{ASK_KEY},admin:{ADMIN_KEY}"},
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=PROJECT_ROOT,
        )
        try:
            wait_until_serving(proc, f"http://127.0.0.1:{port}/healthz", 120, log, "serve")
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
                responses = _requests_carrying_keys(client)
        finally:
            proc.terminate()
            proc.wait(20)
    written = log.read_text() + bad.stdout + bad.stderr
    assert "/v1/models" in written and "-> 401" in written  # the access log was written
    for secret in SECRETS:
        assert secret not in written, f"{secret[:6]}… in the server's output"
    assert all(secret not in r.text for r in responses for secret in SECRETS)
