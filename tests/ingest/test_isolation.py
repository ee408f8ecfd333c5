"""The parse child: one for many files, replaced when a file hangs, kills it, or after a number
of files. Real child processes (the fork server), so marked integration."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from assistant.errors import DocumentError
from assistant.ingest.isolation import ParseWorker
from assistant.ingest.loaders import load_document

pytestmark = pytest.mark.integration


def child_pid(path, doc_id, overrides):
    """A loader that reports which process ran it."""
    doc = load_document(path, doc_id, overrides)
    doc.meta.title = str(os.getpid())
    return doc


def hangs(path, doc_id, overrides):
    time.sleep(60)


def dies(path, doc_id, overrides):
    os._exit(9)  # as the kernel's out-of-memory killer would leave it


def fails(path, doc_id, overrides):
    raise ValueError("a parser bug")


@pytest.fixture
def note(tmp_path) -> Path:
    path = tmp_path / "note.md"
    path.write_text("# Note\n\nBoards sign off plans before they are submitted.\n")
    return path


def test_one_child_reads_file_after_file(note):
    worker = ParseWorker()
    try:
        pids = {worker.parse(child_pid, note, "note.md", {}, 30).meta.title for _ in range(3)}
        assert len(pids) == 1 and pids != {str(os.getpid())}
        assert worker.started == 1
    finally:
        worker.close()


def test_a_hanging_file_is_stopped_and_the_next_file_gets_a_new_child(note):
    worker = ParseWorker()
    try:
        first = worker.parse(child_pid, note, "note.md", {}, 30).meta.title
        started = time.monotonic()
        with pytest.raises(DocumentError, match=r"longer than 0\.5 s"):
            worker.parse(hangs, note, "note.md", {}, 0.5)
        assert time.monotonic() - started < 10
        second = worker.parse(child_pid, note, "note.md", {}, 30).meta.title
        assert second != first and worker.started == 2
    finally:
        worker.close()


def test_a_child_that_dies_fails_that_file_only(note):
    worker = ParseWorker()
    try:
        with pytest.raises(DocumentError, match="stopped without a result"):
            worker.parse(dies, note, "note.md", {}, 30)
        with pytest.raises(DocumentError, match=r"could not read the file \(ValueError"):
            worker.parse(fails, note, "note.md", {}, 30)
        assert worker.parse(load_document, note, "note.md", {}, 30).blocks
    finally:
        worker.close()


def test_the_child_is_replaced_after_its_quota_of_files(note):
    worker = ParseWorker(files_per_process=2)
    try:
        pids = [worker.parse(child_pid, note, "note.md", {}, 30).meta.title for _ in range(3)]
        assert pids[0] == pids[1] != pids[2]
        assert worker.started == 2
    finally:
        worker.close()


def test_abort_stops_a_parse_in_progress_at_once(note):
    """A run stopped half-way (Ctrl-C) does not wait out the file timeout of a read ahead."""
    import threading

    worker = ParseWorker()
    outcome: list[BaseException] = []

    def read() -> None:
        try:
            worker.parse(hangs, note, "note.md", {}, 60)
        except DocumentError as exc:
            outcome.append(exc)

    thread = threading.Thread(target=read)
    thread.start()
    time.sleep(2)  # the child has the file
    started = time.monotonic()
    worker.abort()
    thread.join(10)
    assert not thread.is_alive() and time.monotonic() - started < 10
    assert outcome and "stopped without a result" in str(outcome[0])
    worker.close()


MAIN_SCRIPT = """
import sys
from pathlib import Path

marker = Path(sys.argv[1])
with marker.open("a") as f:  # every run of this script, as __main__ or again in a child
    f.write("ran\\n")

if __name__ == "__main__":
    from assistant.ingest.isolation import ParseWorker
    from assistant.ingest.loaders import load_document

    worker = ParseWorker()
    for _ in range(2):  # a child, then a new one after close: both forked from the server
        doc = worker.parse(load_document, Path(sys.argv[2]), "note.md", {}, timeout_s=60)
        worker.close()
    print(doc.meta.doc_id)
"""


def test_a_child_does_not_run_the_main_script_again(note, tmp_path):
    """``nhs-assistant`` is a script that imports the whole app: a child that ran it again
    would spend seconds starting. It needs nothing from it, and the parse still works."""
    import subprocess
    import sys

    script, marker = tmp_path / "main_script.py", tmp_path / "runs.txt"
    script.write_text(MAIN_SCRIPT)
    done = subprocess.run(
        [sys.executable, str(script), str(marker), str(note)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=str(Path(__file__).resolve().parents[2]),
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "note.md"
    assert marker.read_text().splitlines() == ["ran"]  # the parent's own run only
