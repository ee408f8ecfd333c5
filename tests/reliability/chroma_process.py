"""A `chroma run` server the test owns: killed with SIGKILL and started again on the same port
and data path, as an operator's supervisor would after a crash."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import free_port, wait_until_serving

START_TIMEOUT_S = 60.0


class ChromaProcess:
    """``start()``, ``kill()`` (SIGKILL, no chance to flush anything) and ``start()`` again.

    >>> chroma = ChromaProcess(tmp_path / "chroma")   # doctest: +SKIP
    >>> chroma.start(); chroma.kill(); chroma.start()  # doctest: +SKIP
    """

    def __init__(self, folder: Path, port: int | None = None) -> None:
        self.folder = folder
        self.port = port or free_port()
        self.host = "127.0.0.1"
        self.proc: subprocess.Popen[bytes] | None = None
        folder.mkdir(parents=True, exist_ok=True)
        self.log_path = folder / "server.log"

    @property
    def heartbeat_url(self) -> str:
        return f"http://{self.host}:{self.port}/api/v2/heartbeat"

    def launch(self) -> float:
        """Start the process without waiting; returns the monotonic time it was launched."""
        exe = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
        with open(self.log_path, "a") as log:
            self.proc = subprocess.Popen(
                [exe, "run", "--path", str(self.folder / "db"), "--host", self.host,
                 "--port", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
            )  # fmt: skip
        return time.monotonic()

    def wait_serving(self) -> float:
        """Block until the heartbeat answers; returns the monotonic time it did."""
        assert self.proc is not None
        wait_until_serving(self.proc, self.heartbeat_url, START_TIMEOUT_S, self.log_path, "chroma")
        return time.monotonic()

    def start(self) -> float:
        self.launch()
        return self.wait_serving()

    def kill(self) -> None:
        """SIGKILL: the server dies at once, mid-request if there is one."""
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.proc = None

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        self.proc = None
