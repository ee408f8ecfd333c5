"""Ingestion killed at any point, then run again, ends with a consistent index.

* In process, deterministically: a store that "crashes" (raises a BaseException nothing
  catches) before its k-th write, for every k of an update run: a crash never leaves a record
  pointing at a missing chunk, and the rerun repairs everything.
* For real: ``nhs-assistant ingest`` (embedded Chroma, hashing embedder) killed with SIGKILL
  while it writes a large document, and ``nhs-assistant serve`` killed the same way during an
  upload; then embedded Chroma's SQLite killed inside a write of a thousand passages. Each rerun
  finishes what was cut off without embedding again what was stored, and every document is
  answerable exactly once.
"""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from assistant.services import Services, build_services
from assistant.store.base import DocumentRecord, StoredChunk
from assistant.store.chroma import ChromaStore
from assistant.store.memory import InMemoryStore
from tests.api.conftest import ADMIN_KEY
from tests.conftest import PROJECT_ROOT, fake_settings, free_port
from tests.reliability.index_checks import (
    answer_sources,
    code_question,
    index_problems,
    note_text,
    write_note,
)
from tests.reliability.processes import BIN, cli_env, serve_process

BIG_NOTE_PARAGRAPHS = 2500  # about 220 passages: seconds of writing on this machine
KILL_DEADLINE_S = 120.0
SQLITE_BATCH = 400  # passages per Chroma write in the SQLite test
NOTE_PARAGRAPHS = 800  # the updated note of the in-process crash test: about 70 passages


class Crash(BaseException):
    """Stands in for SIGKILL: not an Exception, so nothing in the pipeline can catch it."""


class CrashingStore(InMemoryStore):
    """The in-memory store, crashing before its ``crash_at``-th write (None: never)."""

    def __init__(self, model_name: str, dimension: int) -> None:
        super().__init__(model_name, dimension)
        self.writes = 0
        self.crash_at: int | None = None

    def _write(self) -> None:
        self.writes += 1
        if self.crash_at is not None and self.writes >= self.crash_at:
            raise Crash(f"crashed before write {self.writes}")

    def upsert_chunks(self, chunks: list[StoredChunk]) -> None:
        self._write()
        super().upsert_chunks(chunks)

    def delete_chunks(self, chunk_ids: list[str]) -> None:
        self._write()
        super().delete_chunks(chunk_ids)

    def put_document(self, record: DocumentRecord) -> None:
        self._write()
        super().put_document(record)

    def delete_document(self, doc_id: str) -> None:
        self._write()
        super().delete_document(doc_id)

    def bump_generation(self) -> int:
        self._write()
        return super().bump_generation()

    def put_lease(self, doc_id: str, until: float) -> None:
        self._write()
        super().put_lease(doc_id, until)

    def delete_lease(self, doc_id: str) -> None:
        self._write()
        super().delete_lease(doc_id)


def dangling_records(services: Services) -> list[str]:
    """Records listing a chunk that is not stored: what a crash must never leave."""
    stored = services.store.chunk_ids()
    return [
        f"{rec.meta.doc_id} lists {len(set(rec.chunk_ids) - stored)} missing chunks"
        for rec in services.store.list_documents()
        if not set(rec.chunk_ids) <= stored
    ]


def crash_scenario(root: Path) -> tuple[Services, CrashingStore, Callable[[], None]]:
    """Version 1 of three notes indexed; the returned ``update`` writes version 2 (note 0
    half rewritten, note 1 deleted, note 3 new) and ingests it with pruning."""
    store = CrashingStore("fake-hashing", 384)
    services = build_services(fake_settings(root / "data"), store=store)
    services.ingestor.isolate_parsing = False  # in process: hundreds of runs, no child each
    corpus = root / "corpus"
    write_note(corpus, 0, paragraphs=NOTE_PARAGRAPHS)
    write_note(corpus, 1)
    write_note(corpus, 2)
    assert not services.ingest([corpus]).failed

    def update() -> None:
        half = note_text(0, NOTE_PARAGRAPHS).split("\n\n")
        rewritten = half[: NOTE_PARAGRAPHS // 2] + [
            p.replace("weeks", "months") for p in half[NOTE_PARAGRAPHS // 2 :]
        ]
        (corpus / "note-00.md").write_text("\n\n".join(rewritten), encoding="utf-8")
        (corpus / "note-01.md").unlink()
        write_note(corpus, 3)
        services.ingest([corpus], prune=True)

    return services, store, update


@pytest.mark.slow
def test_a_crash_before_any_write_of_an_update_leaves_no_dangling_record_and_a_rerun_repairs(
    tmp_path: Path,
) -> None:
    services, store, update = crash_scenario(tmp_path / "count")
    before = store.writes
    update()
    writes = store.writes - before
    assert writes >= 12  # leases, batches, records, stale deletes, a prune, the generation
    expected = {r.meta.doc_id: set(r.chunk_ids) for r in services.store.list_documents()}

    for k in range(1, writes + 1):
        services, store, update = crash_scenario(tmp_path / f"crash-{k}")
        store.crash_at = store.writes + k
        with pytest.raises(Crash):
            update()
        assert dangling_records(services) == [], f"crash before write {k} of {writes}"
        store.crash_at = None
        report = services.ingest([tmp_path / f"crash-{k}" / "corpus"], prune=True)
        assert not report.failed
        services.retriever.sync(force=False)
        assert index_problems(services) == [], f"rerun after a crash before write {k}"
        got = {r.meta.doc_id: set(r.chunk_ids) for r in services.store.list_documents()}
        assert got == expected, f"rerun after a crash before write {k}"


# --- real processes, SIGKILL -----------------------------------------------------------------


# Passages of one document in the chunk collection (the documents collection holds the lease,
# whose metadata names the document too).
CHROMA_PASSAGES_SQL = """
SELECT count(*) FROM embedding_metadata m
JOIN embeddings e ON e.id = m.id
JOIN segments s ON s.id = e.segment_id
JOIN collections c ON c.id = s.collection
WHERE m.key = 'doc_id' AND m.string_value = ? AND c.name = 'nhs-assistant'
"""


def stored_passages(data_dir: Path, doc_id: str) -> int:
    """Passages of ``doc_id`` in embedded Chroma's SQLite, read without the Chroma client (the
    process under test holds it): only to time the kill, never to judge the result."""
    db_path = data_dir / "chroma" / "chroma.sqlite3"
    if not db_path.exists():
        return 0
    try:
        with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=1) as db:
            row = db.execute(CHROMA_PASSAGES_SQL, (doc_id,)).fetchone()
    except sqlite3.Error:
        return 0  # not created yet, or locked for a moment by the writer
    return int(row[0])


def kill_when(
    proc: subprocess.Popen, ready: Callable[[], bool], what: str, every_s: float = 0.01
) -> None:
    """SIGKILL ``proc`` as soon as ``ready()``; fail if it ends first."""
    deadline = time.monotonic() + KILL_DEADLINE_S
    while not ready():
        assert proc.poll() is None, f"{what} ended before it could be killed"
        assert time.monotonic() < deadline, f"{what} never reached the kill point"
        time.sleep(every_s)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)


def run_ingest(data_dir: Path, corpus: Path) -> dict:
    out = subprocess.run(
        [str(BIN / "nhs-assistant"), "ingest", str(corpus), "--json"],
        env=cli_env(data_dir),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout)


def close(services: Services) -> None:
    """Let go of embedded Chroma, which one process at a time may hold."""
    assert isinstance(services.store, ChromaStore)
    services.store.close()


def assert_consistent_and_answerable(data_dir: Path, notes: list[int]) -> None:
    """Open the index as a new process would: consistent, each note answered from itself once."""
    services = build_services(fake_settings(data_dir))
    try:
        services.retriever.sync(force=False)
        assert index_problems(services) == []
        assert sorted(r.meta.doc_id for r in services.store.list_documents()) == [
            f"note-{n:02d}.md" for n in notes
        ]
        for n in notes:
            assert answer_sources(services, n) == (False, [f"note-{n:02d}.md"])
    finally:
        close(services)


@pytest.mark.integration
@pytest.mark.slow
def test_ingest_killed_while_writing_a_large_document_is_finished_by_the_rerun(
    tmp_path: Path,
) -> None:
    corpus, data = tmp_path / "corpus", tmp_path / "data"
    for n in range(3):
        write_note(corpus, n)
    write_note(corpus, 4, BIG_NOTE_PARAGRAPHS)  # sorted last: the small notes go first
    proc = subprocess.Popen(
        [str(BIN / "nhs-assistant"), "ingest", str(corpus)],
        env=cli_env(data),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    kill_when(proc, lambda: stored_passages(data, "note-04.md") >= 64, "nhs-assistant ingest")

    killed = build_services(fake_settings(data))
    partial = killed.store.chunk_ids("note-04.md")
    recorded = sorted(r.meta.doc_id for r in killed.store.list_documents())
    print(f"\nkilled: {recorded} recorded, {len(partial)} passages of note-04.md stored")
    assert dangling_records(killed) == []
    assert killed.store.get_document("note-04.md") is None and partial
    close(killed)

    report = run_ingest(data, corpus)
    outcomes = {Path(f["path"]).name: f for f in report["files"]}
    big = outcomes["note-04.md"]
    print(
        f"rerun: note-04.md {big['status']}, {big['chunks']} passages, {big['embedded']} embedded"
    )
    assert big["status"] == "indexed" and big["embedded"] == big["chunks"] - len(partial)
    for name in recorded:
        assert outcomes[name]["status"] == "unchanged" and outcomes[name]["embedded"] == 0
    assert_consistent_and_answerable(data, [0, 1, 2, 4])


@pytest.mark.integration
@pytest.mark.slow
def test_serve_killed_during_an_upload_then_restarted_finishes_it_when_it_is_sent_again(
    tmp_path: Path,
) -> None:
    data, log, port = tmp_path / "data", tmp_path / "serve.log", free_port()
    base = f"http://127.0.0.1:{port}"
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    big = {"file": ("note-05.md", note_text(5, BIG_NOTE_PARAGRAPHS).encode(), "text/markdown")}
    with serve_process(data, port, log) as proc:
        for n in (0, 1):
            small = {"file": (f"note-{n:02d}.md", note_text(n, 30).encode(), "text/markdown")}
            r = httpx.post(f"{base}/v1/documents", files=small, headers=admin, timeout=120)
            assert r.status_code == 201, r.text
        cut: list[BaseException] = []

        def upload() -> None:
            try:
                httpx.post(f"{base}/v1/documents", files=big, headers=admin, timeout=120)
            except httpx.TransportError as exc:  # the server died under the request
                cut.append(exc)

        uploader = threading.Thread(target=upload)
        uploader.start()
        kill_when(proc, lambda: stored_passages(data, "note-05.md") >= 64, "serve")
        uploader.join(30)
        assert cut, "the upload finished before the kill"

    with (
        serve_process(data, port, log),
        httpx.Client(base_url=base, headers=admin, timeout=120) as client,
    ):
        listed = [d["doc_id"] for d in client.get("/v1/documents").json()["documents"]]
        assert listed == ["note-00.md", "note-01.md"]  # the cut-off upload is not listed
        again = client.post("/v1/documents", files=big)
        assert again.status_code == 201, again.text
        done = again.json()
        print(f"\nresent upload: {done['chunks']} passages, {done['embedded']} embedded")
        assert done["status"] == "indexed" and 0 < done["embedded"] < done["chunks"]
        for n in (0, 1, 5):
            r = client.post("/v1/ask", json={"question": code_question(n)})
            assert r.status_code == 200 and r.json()["citations"][0]["doc_id"] == (
                f"note-{n:02d}.md"
            )
    assert_consistent_and_answerable(data, [0, 1, 5])


SQLITE_WRITER = """
import sys
from pathlib import Path
from assistant.ingest.pipeline import embedding_text
from assistant.services import build_services
from tests.conftest import fake_settings

if __name__ == "__main__":
    services = build_services(fake_settings(Path(sys.argv[1])))
    services.ingestor.isolate_parsing = False
    # Every passage embedded first, then written in one go: Chroma gets them in batches of
    # WRITE_BATCH, each a long SQLite transaction, so the kill lands inside one.
    import assistant.ingest.pipeline as pipeline
    import assistant.store.chroma as chroma
    pipeline.EMBED_BATCH = 100_000
    chroma.WRITE_BATCH = int(sys.argv[3])
    print("writing", flush=True)
    services.ingest([Path(sys.argv[2])])
"""


@pytest.mark.integration
@pytest.mark.slow
def test_embedded_chroma_killed_inside_a_sqlite_write_opens_and_a_rerun_repairs(
    tmp_path: Path,
) -> None:
    corpus, data = tmp_path / "corpus", tmp_path / "data"
    write_note(corpus, 6, paragraphs=10_000)  # about 850 passages, in one store write
    script = tmp_path / "write_all_at_once.py"
    script.write_text(SQLITE_WRITER)
    env = {**cli_env(data), "PYTHONPATH": str(PROJECT_ROOT)}
    proc = subprocess.Popen(
        [sys.executable, str(script), str(data), str(corpus), str(SQLITE_BATCH)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().strip() == "writing"
    journal = data / "chroma" / "chroma.sqlite3-journal"  # exists while a write is open

    first_batch_in: list[bool] = []

    def inside_a_write() -> bool:
        if not first_batch_in:  # the first batch is committed: the next write is under way
            first_batch_in.extend([True] if stored_passages(data, "note-06.md") else [])
            return False
        return journal.exists()

    kill_when(proc, inside_a_write, "the writer", every_s=0.0005)
    hot = journal.exists()  # left behind: SQLite rolls it back when the file is next opened
    assert hot, "the kill came between two writes, not inside one"

    killed = build_services(fake_settings(data))  # opens: the SQLite file is not corrupt
    partial = killed.store.chunk_ids("note-06.md")
    print(f"\nkilled inside a write (hot journal: {hot}): {len(partial)} passages stored")
    assert len(partial) % SQLITE_BATCH == 0  # a batch is all there or not at all
    assert killed.store.get_document("note-06.md") is None
    close(killed)

    report = run_ingest(data, corpus)
    (outcome,) = report["files"]
    assert outcome["status"] == "indexed"
    assert outcome["embedded"] == outcome["chunks"] - len(partial)
    assert_consistent_and_answerable(data, [6])
