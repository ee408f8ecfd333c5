"""compose.yaml read as data, without podman: every long-running service has a health check
that podman-compose can pass on intact, and the probe those checks call works."""

from __future__ import annotations

import http.server
import re
import threading
from collections.abc import Iterator

import pytest
import yaml

from assistant import probe
from tests.conftest import PROJECT_ROOT

# podman-compose 1.0 turns a CMD list into one shell string, quoting each argument badly: an
# argument with a space, a quote, a "$" or a bracket comes out as a different command (a
# `python3 -c "..."` check failed every time, and a `sh -c "..."` one ran `sh -c ''`, passing
# without checking anything).
_SAFE_ARGUMENT = re.compile(r"^[\w./:=@%+,-]+$")


def _services() -> dict[str, dict]:
    return yaml.safe_load((PROJECT_ROOT / "compose.yaml").read_text())["services"]


def test_every_long_running_service_has_a_health_check() -> None:
    services = _services()
    long_running = [name for name, spec in services.items() if spec.get("restart") != "no"]
    assert {"chroma", "db", "redis", "api", "ui", "audit-purge"} <= set(long_running)
    for name in long_running:
        assert "healthcheck" in services[name], f"{name} has no health check"


def test_health_checks_are_plain_words_podman_compose_cannot_break() -> None:
    for name, spec in _services().items():
        check = spec.get("healthcheck")
        if check is None:
            continue
        test = check["test"]
        assert isinstance(test, list) and test[0] == "CMD", f"{name}: {test}"
        for argument in test[1:]:
            assert _SAFE_ARGUMENT.match(argument), f"{name}: {argument!r} would be re-quoted"


class _Status(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200 if self.path == "/ok" else 503)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Status)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


@pytest.mark.integration
def test_the_probe_passes_on_2xx_and_fails_on_anything_else(
    server: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert probe.main([f"{server}/ok"]) == 0
    assert probe.main([f"{server}/down"]) == 1
    assert "503" in capsys.readouterr().err
    assert probe.main([f"{server}/ok", f"{server}/down"]) == 1
    assert probe.main(["http://127.0.0.1:1/"]) == 1  # nothing listens: refused, not a hang
    assert probe.main([]) == 2
