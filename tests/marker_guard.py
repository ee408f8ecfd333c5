"""Markers that mean what they say, enforced for every test.

``make test-fast`` runs ``-m "not slow and not integration and not browser and not llm"`` and
promises no servers, no subprocesses and no real model. That promise only holds if every test
that does such a thing carries the marker, so this plugin checks it while each test runs
(its fixtures' setup and teardown included, whatever their scope):

* starting a program (``subprocess.Popen``, ``os.system``: ``chroma run``, the llama.cpp server,
  the CLI in a process of its own) or a server in the test's process (uvicorn in a thread, a stub
  ``http.server``: anything listening on a TCP port) needs ``@pytest.mark.integration``;
* loading an ONNX model (``onnxruntime.InferenceSession``: the real MiniLM) needs
  ``@pytest.mark.slow``.

A test without the marker fails with a message naming the marker to add. The check is on in
every run, not only in ``make test-fast``: a test marked wrongly then fails in CI too, not only
on a developer's fast run. Work outside a test (collection, xdist starting its workers) is not
checked.

uvicorn is watched at ``Server.startup`` because with uvloop (installed with ``uvicorn[standard]``)
it listens in C, out of reach of the ``socket.listen`` patch.

Not counted as a subprocess: the standard library's ``platform`` module asking ``uname -p``
(client libraries such as openai's call it to describe the machine in a header); and the
ingestion pipeline's own parse isolation (``multiprocessing`` children forked by its fork server,
one per file, see ``assistant/ingest/pipeline.py``). That is the product's normal path for every
ingest, costs milliseconds per file, and runs no other program; tests that ingest a few files are
still unit tests.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

PROCESS_MARKER = "integration"
MODEL_MARKER = "slow"


class MarkerViolation(RuntimeError):
    """A test did something its markers do not admit."""


class MarkerGuard:
    """Which test is running, and what it did that its markers do not admit."""

    def __init__(self) -> None:
        self.item: pytest.Item | None = None
        self.violations: list[str] = []
        self._undo: list[Callable[[], None]] = []

    def check(self, what: str, marker: str) -> None:
        """Raise (and remember, in case the caller swallows it) unless the test is marked."""
        item = self.item
        if item is None or item.get_closest_marker(marker) is not None:
            return
        message = (
            f"{item.nodeid} {what} but is not marked @pytest.mark.{marker}: add the marker "
            f"(`make test-fast` must not do this), or use a fake"
        )
        self.violations.append(message)
        raise MarkerViolation(message)

    # -- patches ---------------------------------------------------------------------------

    def _patch(self, owner: Any, name: str, make: Callable[[Any], Any]) -> None:
        original = getattr(owner, name)
        setattr(owner, name, make(original))
        self._undo.append(lambda: setattr(owner, name, original))

    def install(self) -> None:
        guard = self

        def popen(original: Any) -> Any:
            def _execute_child(self: subprocess.Popen, args: Any, *rest: Any, **kw: Any) -> Any:
                if not _called_from_platform():
                    guard.check(f"starts a subprocess ({_argv(args)})", PROCESS_MARKER)
                return original(self, args, *rest, **kw)

            return _execute_child

        def system(original: Any) -> Any:
            def guarded(command: str) -> int:
                guard.check(f"starts a subprocess ({command[:80]})", PROCESS_MARKER)
                return int(original(command))

            return guarded

        def listen(original: Any) -> Any:
            def guarded(self: socket.socket, *args: Any) -> Any:
                if self.family in (socket.AF_INET, socket.AF_INET6):
                    guard.check(
                        f"starts a server (listens on {self.getsockname()!r})", PROCESS_MARKER
                    )
                return original(self, *args)

            return guarded

        def uvicorn_startup(original: Any) -> Any:
            async def startup(self: Any, sockets: Any = None) -> None:
                where = f"{self.config.host}:{self.config.port}"
                guard.check(f"starts a server (uvicorn on {where})", PROCESS_MARKER)
                await original(self, sockets)

            return startup

        def onnx(original: Any) -> Any:
            def __init__(self: Any, path_or_bytes: Any, *args: Any, **kw: Any) -> None:
                shown = path_or_bytes if isinstance(path_or_bytes, str | os.PathLike) else "bytes"
                guard.check(f"loads an ONNX model ({shown})", MODEL_MARKER)
                original(self, path_or_bytes, *args, **kw)

            return __init__

        self._patch(subprocess.Popen, "_execute_child", popen)
        self._patch(os, "system", system)
        self._patch(socket.socket, "listen", listen)
        try:
            import uvicorn
        except ImportError:  # pragma: no cover - a dependency of the project
            pass
        else:
            self._patch(uvicorn.Server, "startup", uvicorn_startup)
        try:
            import onnxruntime
        except ImportError:  # pragma: no cover - a dependency of the project
            pass
        else:
            self._patch(onnxruntime.InferenceSession, "__init__", onnx)

    def uninstall(self) -> None:
        while self._undo:
            self._undo.pop()()

    @contextmanager
    def expect_violation(self) -> Iterator[list[str]]:
        """For the guard's own tests: the violations recorded inside the block, taken out of
        the running test's record so that the test itself does not fail."""
        before = len(self.violations)
        caught: list[str] = []
        try:
            yield caught
        finally:
            caught.extend(self.violations[before:])
            del self.violations[before:]


def _called_from_platform() -> bool:
    """Whether the standard library's ``platform`` module is asking the OS about the machine."""
    frame = sys._getframe(2)
    while frame is not None:
        if frame.f_globals.get("__name__") == "platform":
            return True
        frame = frame.f_back
    return False


def _argv(args: Any) -> str:
    if isinstance(args, str | bytes | os.PathLike):
        return str(args)[:80]
    return " ".join(str(a) for a in list(args)[:3])[:80]


GUARD = MarkerGuard()


def pytest_configure(config: pytest.Config) -> None:
    GUARD.install()


def pytest_unconfigure(config: pytest.Config) -> None:
    GUARD.uninstall()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Any:
    GUARD.item, GUARD.violations = item, []
    try:
        return (yield)
    finally:
        GUARD.item = None


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A violation fails its phase even if the code that met it swallowed the exception (a
    server thread, a retry loop)."""
    report = yield
    if GUARD.item is item and GUARD.violations:
        message = "\n".join(GUARD.violations)
        GUARD.violations = []
        if report.passed:
            report.outcome = "failed"
            report.longrepr = message
        else:
            report.sections.append(("marker guard", message))
    return report
