"""The marker guard (tests/marker_guard.py): a test that starts a program or a server without
``integration``, or loads an ONNX model without ``slow``, fails with a message naming the marker."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import PROJECT_ROOT
from tests.marker_guard import GUARD, MarkerViolation


def test_an_unmarked_test_may_not_start_a_subprocess():
    with GUARD.expect_violation() as caught, pytest.raises(MarkerViolation, match="integration"):
        subprocess.run(["true"], check=False)
    assert len(caught) == 1
    assert (
        "test_an_unmarked_test_may_not_start_a_subprocess starts a subprocess (true)" in caught[0]
    )
    assert "@pytest.mark.integration" in caught[0]


def test_an_unmarked_test_may_not_run_a_shell_command():
    with GUARD.expect_violation() as caught, pytest.raises(MarkerViolation, match="integration"):
        os.system("true")
    assert "starts a subprocess (true)" in caught[0]


def test_an_unmarked_test_may_not_listen_on_a_tcp_port():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        with GUARD.expect_violation() as caught, pytest.raises(MarkerViolation):
            server.listen()
    assert "starts a server (listens on ('127.0.0.1'," in caught[0]
    assert "@pytest.mark.integration" in caught[0]


def test_an_unmarked_test_may_not_start_uvicorn():
    """uvicorn listens through uvloop, in C: the guard watches its startup instead."""
    import asyncio

    import uvicorn

    async def app(scope: dict, receive: object, send: object) -> None:  # pragma: no cover
        pass

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_config=None))
    with GUARD.expect_violation() as caught, pytest.raises(MarkerViolation):
        asyncio.run(server.startup())
    assert "starts a server (uvicorn on 127.0.0.1:0)" in caught[0]


def test_the_platform_module_asking_uname_is_not_a_subprocess():
    """Client libraries (openai) describe the machine with ``platform``, which runs uname."""
    import platform

    platform._Processor.from_subprocess()  # type: ignore[attr-defined]


def test_a_unix_socket_is_not_a_server(tmp_path: Path):
    """multiprocessing's fork server (the ingestion's parse isolation) listens on one."""
    with socket.socket(socket.AF_UNIX) as local:
        local.bind(str(tmp_path / "sock"))
        local.listen()


def test_an_unmarked_test_may_not_load_an_onnx_model(tmp_path: Path):
    import onnxruntime

    model = tmp_path / "model.onnx"
    with GUARD.expect_violation() as caught, pytest.raises(MarkerViolation, match="slow"):
        onnxruntime.InferenceSession(str(model))
    assert f"loads an ONNX model ({model})" in caught[0]
    assert "@pytest.mark.slow" in caught[0]


@pytest.mark.slow
def test_a_slow_test_may_load_an_onnx_model(tmp_path: Path):
    """The guard lets the call through: onnxruntime itself then refuses the missing file."""
    import onnxruntime

    with pytest.raises(Exception) as raised:
        onnxruntime.InferenceSession(str(tmp_path / "missing.onnx"))
    assert not isinstance(raised.value, MarkerViolation)


@pytest.mark.integration
def test_an_integration_test_may_start_a_subprocess():
    done = subprocess.run([sys.executable, "-c", "print('ok')"], capture_output=True, text=True)
    assert done.stdout == "ok\n"


INNER_TESTS = """
import socket
import subprocess
import threading

import pytest


@pytest.fixture(scope="session")
def server():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    yield s
    s.close()


def test_unmarked_subprocess():
    subprocess.run(["true"])


def test_swallowed_in_a_thread():
    def start():
        try:
            subprocess.run(["true"])
        except Exception:
            pass  # a server thread that dies quietly

    t = threading.Thread(target=start)
    t.start()
    t.join()


def test_session_fixture_with_a_server(server):
    pass


@pytest.mark.integration
def test_marked_subprocess():
    subprocess.run(["true"], check=True)
"""


@pytest.mark.integration
def test_the_guard_fails_unmarked_tests_in_a_real_run(pytester: pytest.Pytester, monkeypatch):
    """End to end in a pytest of its own: the report, not only the exception, fails the test,
    including when a thread swallowed the exception and when a session fixture did the work."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(PROJECT_ROOT), *sys.path]))
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")  # schemathesis etc.: seconds
    pytester.makepyfile(test_inner=textwrap.dedent(INNER_TESTS))
    result = pytester.runpytest_subprocess("-p", "tests.marker_guard", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, failed=2, errors=1)
    out = result.stdout.str()
    assert "test_unmarked_subprocess starts a subprocess (true) but is not marked" in out
    assert "test_swallowed_in_a_thread starts a subprocess (true) but is not marked" in out
    assert "test_session_fixture_with_a_server starts a server (listens on" in out
