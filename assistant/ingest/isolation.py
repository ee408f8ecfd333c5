"""Reading files in a child process, so a file that hangs or crashes the parser is stopped alone.

One child serves many files: it is started on first use, kept for the next file, and replaced
when a file takes longer than the timeout (the child is killed), when the child dies (a parser
that ran out of memory), and after ``FILES_PER_PROCESS`` files (so memory a parser leaked is
given back).

A child is forked from Python's fork server, which has imported the parsers once. Python
would also run the parent's main script again in every child (CPython 3.11 passes the fork
server the wrong key and never preloads ``__main__``), and for ``nhs-assistant`` that is the
whole command-line app: about 3 s per child, paid by every ``ingest`` and every upload to a
server. The child needs nothing from the main script (it runs ``_serve`` and loaders imported by
name), so the script is hidden from ``multiprocessing`` while a child starts: a child then
starts in about 0.3 s once the fork server runs.

>>> worker = ParseWorker()                                      # doctest: +SKIP
>>> worker.parse(load_document, Path("plan.pdf"), "plan.pdf", {}, timeout_s=120)  # doctest: +SKIP
ParsedDocument(...)
>>> worker.close()                                              # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing as mp
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from assistant.errors import DocumentError
from assistant.ingest.loaders import default_registry
from assistant.schemas import ParsedDocument

logger = logging.getLogger(__name__)

Loader = Callable[[Path, str, dict[str, Any]], ParsedDocument]

FILES_PER_PROCESS = 64  # a child is replaced after this many files
STOP_WAIT_S = 5.0
# The fork server imports these once, so each child starts with the parsers' libraries.
# "__main__" stays first, as in the default, for Pythons whose fork server does preload it.
PARSE_CHILD_PRELOAD = [
    "__main__",
    __name__,
    "assistant.ingest.pipeline",  # read_document: what the ingest pipeline asks a child to run
    *default_registry.parser_modules(),
]


_STARTING = threading.Lock()  # one child starts at a time while the main script is hidden


@contextlib.contextmanager
def _main_script_hidden() -> Iterator[None]:
    """While a child starts, ``__main__`` names no file and no module, so ``multiprocessing``
    does not tell the child to run it again."""
    main = sys.modules.get("__main__")
    with _STARTING:
        if main is None:
            yield
            return
        saved: dict[str, Any] = {
            k: main.__dict__[k] for k in ("__file__", "__spec__") if k in main.__dict__
        }
        main.__dict__.pop("__file__", None)
        main.__dict__["__spec__"] = None
        try:
            yield
        finally:
            main.__dict__.pop("__spec__", None)
            main.__dict__.update(saved)


def _serve(conn: Any) -> None:
    """The child's loop: read (loader, path, doc_id, overrides), answer ("ok"|"error", ...)."""
    while True:
        try:
            task = conn.recv()
        except (EOFError, OSError):
            return
        if task is None:
            return
        loader, path, doc_id, overrides = task
        try:
            reply: tuple[str, Any] = ("ok", loader(Path(path), doc_id, overrides))
        except DocumentError as exc:
            reply = ("error", str(exc))
        except Exception as exc:  # a parser bug must not take the batch down
            reply = ("error", f"could not read the file ({exc.__class__.__name__}: {exc})"[:300])
        try:
            conn.send(reply)
        except Exception as exc:  # the result could not be sent back (pickling)
            conn.send(("error", f"could not read the file ({exc.__class__.__name__})"))


class ParseWorker:
    """A child process that parses one file at a time; thread-safe (callers take turns)."""

    def __init__(self, files_per_process: int = FILES_PER_PROCESS) -> None:
        self.files_per_process = files_per_process
        self._lock = threading.Lock()
        self._proc: Any = None
        self._conn: Any = None
        self._served = 0
        self.started = 0  # children started so far (tests and the benchmark read it)

    def parse(
        self,
        loader: Loader,
        path: Path,
        doc_id: str,
        overrides: dict[str, Any],
        timeout_s: float,
    ) -> ParsedDocument:
        """``loader(path, doc_id, overrides)`` in the child; ``DocumentError`` when it fails,
        hangs past ``timeout_s`` or kills the child."""
        with self._lock:
            self._ensure()
            try:
                self._conn.send((loader, str(path), doc_id, overrides))
                if not self._conn.poll(timeout_s):
                    self._stop(kill=True)
                    raise DocumentError(
                        f"parsing took longer than {timeout_s:g} s; the file was skipped"
                    )
                status, payload = self._conn.recv()
            except (EOFError, OSError) as exc:
                self._stop(kill=True)
                raise DocumentError("the parser stopped without a result (out of memory?)") from exc
            self._served += 1
            if self._served >= self.files_per_process:
                self._stop()
        if status == "error":
            raise DocumentError(payload)
        return payload

    def close(self) -> None:
        """Stop the child (a new one starts if ``parse`` is called again)."""
        with self._lock:
            self._stop()

    def abort(self) -> None:
        """Kill the child now, without waiting for a parse in progress: the caller waiting on
        it gets "the parser stopped" (for a run stopped half-way)."""
        proc = self._proc
        if proc is not None and proc.is_alive():
            proc.kill()

    def _ensure(self) -> None:
        if self._proc is not None and self._proc.is_alive():
            return
        self._stop(kill=True)
        ctx = mp.get_context("forkserver")
        ctx.set_forkserver_preload(PARSE_CHILD_PRELOAD)  # effective when the server starts
        parent, child = ctx.Pipe(duplex=True)
        self._proc = ctx.Process(target=_serve, args=(child,), daemon=True, name="parse")
        with _main_script_hidden():
            self._proc.start()
        child.close()
        self._conn, self._served = parent, 0
        self.started += 1

    def _stop(self, kill: bool = False) -> None:
        proc, conn = self._proc, self._conn
        self._proc = self._conn = None
        if conn is not None:
            if not kill:
                try:
                    conn.send(None)
                except OSError:
                    kill = True
            conn.close()
        if proc is not None:
            if kill and proc.is_alive():
                proc.kill()
            proc.join(STOP_WAIT_S)
            if proc.is_alive():
                proc.kill()
                proc.join(STOP_WAIT_S)


def parse_with_timeout(
    path: Path,
    doc_id: str,
    overrides: dict[str, Any],
    timeout_s: float,
    loader: Loader,
    worker: ParseWorker | None = None,
) -> ParsedDocument:
    """Parse one file in ``worker``'s child (a child of its own when none is given)."""
    own = worker is None
    worker = worker or ParseWorker()
    try:
        return worker.parse(loader, path, doc_id, overrides, timeout_s)
    finally:
        if own:
            worker.close()
