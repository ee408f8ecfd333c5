"""Incremental, crash-safe ingestion through the same factories as querying."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from assistant.services import build_services
from tests.conftest import PROJECT_ROOT, fake_settings

GUIDE = """# Planning guide

## Roles

Every integrated care board must agree a joint plan with its partner trusts. The plan covers
workforce, finance and activity for the next five years.

## Timetable

Draft plans are due at the end of the second quarter. Final plans are signed off by boards before
they are submitted in the spring.
"""

NOTES = """Neighbourhood working

Community nurses, GPs and social workers meet weekly to review people at risk of admission.
They agree one care plan per person and name a lead professional.
"""


def write_corpus(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "guide.md").write_text(GUIDE, encoding="utf-8")
    (folder / "notes.txt").write_text(NOTES, encoding="utf-8")
    return folder


@pytest.fixture
def services(tmp_path):
    return build_services(fake_settings(tmp_path / "data", chroma__backend="memory"))


def test_ingest_indexes_every_file_with_stable_ids(services, tmp_path):
    corpus = write_corpus(tmp_path / "corpus")
    report = services.ingest([corpus])
    assert [f.status for f in report.files] == ["indexed", "indexed"]
    assert report.chunks == services.store.count() > 0
    ids_first = services.store.chunk_ids()
    services.store.delete_chunks(sorted(ids_first))
    for rec in services.store.list_documents():
        services.store.delete_document(rec.meta.doc_id)
    services.ingest([corpus])
    assert services.store.chunk_ids() == ids_first  # same text, same ids


def test_reingesting_unchanged_files_embeds_nothing(services, tmp_path):
    corpus = write_corpus(tmp_path / "corpus")
    services.ingest([corpus])
    calls = services.embedder.calls
    report = services.ingest([corpus])
    assert [f.status for f in report.files] == ["unchanged", "unchanged"]
    assert services.embedder.calls == calls


def test_a_changed_file_replaces_its_chunks_and_embeds_only_new_text(services, tmp_path):
    corpus = write_corpus(tmp_path / "corpus")
    services.ingest([corpus])
    before = services.store.chunk_ids("guide.md")
    (corpus / "guide.md").write_text(
        GUIDE.replace("second quarter", "third quarter"), encoding="utf-8"
    )
    calls = services.embedder.calls
    report = services.ingest([corpus])
    guide = next(f for f in report.files if f.path.endswith("guide.md"))
    after = services.store.chunk_ids("guide.md")
    assert guide.status == "updated"
    assert 0 < guide.embedded < guide.chunks or guide.chunks == 1
    assert services.embedder.calls - calls == guide.embedded
    assert after != before
    assert set(services.store.get_document("guide.md").chunk_ids) == after
    texts = " ".join(c.text for c in services.store.get_chunks(sorted(after)))
    assert "third quarter" in texts and "second quarter" not in texts


def test_prune_removes_documents_whose_files_are_gone(services, tmp_path):
    corpus = write_corpus(tmp_path / "corpus")
    services.ingest([corpus])
    (corpus / "notes.txt").unlink()
    report = services.ingest([corpus])
    assert services.store.get_document("notes.txt") is not None  # kept without --prune
    report = services.ingest([corpus], prune=True)
    assert report.pruned == ["notes.txt"]
    assert services.store.get_document("notes.txt") is None
    assert services.store.chunk_ids("notes.txt") == set()


def test_bad_files_fail_alone_with_one_line_reasons(services, tmp_path):
    corpus = write_corpus(tmp_path / "corpus")
    (corpus / "broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\ngarbage")
    (corpus / "empty.md").write_bytes(b"")
    (corpus / "binary.md").write_bytes(bytes(range(256)) * 4)
    (corpus / "latin1.txt").write_bytes("Caf\xe9 budgets for 2025".encode("cp1252"))
    (corpus / "slides.pptx").write_bytes(b"PK\x03\x04")
    report = services.ingest([corpus])
    by_name = {Path(f.path).name: f for f in report.files}
    assert by_name["guide.md"].status == by_name["notes.txt"].status == "indexed"
    for name in ("broken.pdf", "empty.md", "binary.md", "latin1.txt", "slides.pptx"):
        outcome = by_name[name]
        assert outcome.status == "failed", name
        assert outcome.reason and "\n" not in outcome.reason and len(outcome.reason) < 300, name
    assert "unsupported" in by_name["slides.pptx"].reason


def test_unfinished_downloads_and_hidden_files_are_not_ingested(services, tmp_path):
    corpus = write_corpus(tmp_path / "corpus")
    (corpus / "plan.pdf.part").write_bytes(b"%PDF-1.7 half a file")
    (corpus / ".fetch-state.json").write_text("{}")
    report = services.ingest([corpus])
    assert sorted(Path(f.path).name for f in report.files) == ["guide.md", "notes.txt"]


def test_a_failed_run_loses_nothing_already_indexed(services, tmp_path):
    corpus = write_corpus(tmp_path / "corpus")
    services.ingest([corpus])
    before = services.store.chunk_ids()
    (corpus / "guide.md").write_bytes(b"\x00\x01binary now")
    report = services.ingest([corpus])
    assert next(f for f in report.files if f.path.endswith("guide.md")).status == "failed"
    assert services.store.chunk_ids() == before


def hanging_loader(path, doc_id, overrides):
    """Stands in for a parser stuck on a pathological file."""
    time.sleep(60)


def test_a_parser_that_hangs_is_stopped_by_the_file_timeout(tmp_path):
    from assistant.errors import DocumentError
    from assistant.ingest.isolation import parse_with_timeout

    slow = tmp_path / "slow.md"
    slow.write_text("# Slow\n\nText.\n")
    started = time.monotonic()
    with pytest.raises(DocumentError, match=r"longer than 0\.5 s"):
        parse_with_timeout(slow, "slow.md", {}, timeout_s=0.5, loader=hanging_loader)
    assert time.monotonic() - started < 10


def test_orphan_chunks_from_a_killed_run_are_swept(services, tmp_path):
    corpus = write_corpus(tmp_path / "corpus")
    services.ingest([corpus])
    from assistant.store.base import StoredChunk

    vec = services.embedder.embed_query("x")
    services.store.upsert_chunks(
        [StoredChunk("gone.md:abc", "left behind", {"doc_id": "gone.md"}, vec)]
    )
    services.ingest([corpus])
    assert "gone.md:abc" not in services.store.chunk_ids()


KILL_SCRIPT = """
import sys, time
from pathlib import Path
from assistant.services import build_services
from tests.conftest import fake_settings
import assistant.embeddings.fake as fake

slow = fake.HashingEmbedder.embed_documents
def slowed(self, texts):
    time.sleep(0.05)
    return slow(self, texts)
fake.HashingEmbedder.embed_documents = slowed

if __name__ == "__main__":  # the parser's child processes import this file too
    services = build_services(fake_settings(Path(sys.argv[1])))
    print("started", flush=True)
    services.ingest([Path(sys.argv[2])])
    print("finished", flush=True)
"""


@pytest.mark.integration
def test_ingest_killed_with_sigkill_then_rerun_ends_consistent(tmp_path):
    """A real ingest process on Chroma on disk is killed mid-run; the rerun repairs everything."""
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    subjects = ["Boards", "Trusts", "Practices", "Councils", "Regions", "Networks", "Hospices"]
    verbs = ["review", "publish", "agree", "fund", "audit", "staff", "redesign", "measure"]
    objects = [
        "discharge plans",
        "urgent care rotas",
        "estates budgets",
        "digital records",
        "workforce targets",
        "procurement pipelines",
        "waiting lists",
        "care pathways",
    ]
    for i in range(12):
        body = "\n\n".join(
            f"{subjects[(i + j) % 7]} {verbs[(i * j) % 8]} their {objects[(j * 3 + i) % 8]} "
            f"every {j % 5 + 2} weeks, starting in {2026 + j % 4}, under rule {i}.{j}."
            for j in range(40)
        )
        (corpus / f"doc{i:02d}.md").write_text(f"# Document {i}\n\n{body}\n", encoding="utf-8")
    data = tmp_path / "data"
    script = tmp_path / "ingest_slowly.py"
    script.write_text(KILL_SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(PROJECT_ROOT)}
    proc = subprocess.Popen(
        [sys.executable, str(script), str(data), str(corpus)],
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "started"
    services = None
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # wait until some, but not all, documents are written
        time.sleep(0.3)
        if (data / "chroma").exists():
            break
    time.sleep(1.5)
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)

    services = build_services(fake_settings(data))
    half = len(services.store.list_documents())
    assert half < 12, "the run finished before it was killed; slow it down"
    report = services.ingest([corpus])
    assert not report.failed
    records = services.store.list_documents()
    assert len(records) == 12
    listed = [cid for r in records for cid in r.chunk_ids]
    assert len(listed) == len(set(listed))  # no duplicates
    assert set(listed) == services.store.chunk_ids()  # no orphans, nothing missing
    assert services.store.count() == len(listed)


def test_progress_hooks_give_totals_for_an_estimate(services, tmp_path):
    """The CLI's bar learns how many files there are and how many passages each will embed,
    so it can show what is left and an estimated time."""
    from assistant.ingest.pipeline import Progress

    seen: dict[str, int] = {"files": 0, "to_embed": 0, "embedded": 0, "done": 0}
    hooks = Progress(
        on_files_found=lambda n: seen.__setitem__("files", n),
        on_to_embed=lambda n: seen.__setitem__("to_embed", seen["to_embed"] + n),
        on_embedded=lambda n: seen.__setitem__("embedded", seen["embedded"] + n),
        on_file_done=lambda o: seen.__setitem__("done", seen["done"] + 1),
    )
    report = services.ingest([write_corpus(tmp_path / "corpus")], progress=hooks)
    assert seen["files"] == seen["done"] == 2
    assert seen["to_embed"] == seen["embedded"] == report.chunks > 0


def test_the_next_file_is_read_while_this_one_is_embedded(services, tmp_path):
    """Reading (parse, screening) of file n+1 starts before file n's embedding ends, and the
    index is the same as when each file is read only when its turn comes."""
    import threading

    from assistant.ingest.pipeline import Ingestor

    corpus = write_corpus(tmp_path / "corpus")
    (corpus / "third.md").write_text(GUIDE.replace("Planning guide", "Third guide"), "utf-8")
    ingestor = services.ingestor
    ingestor.isolate_parsing = False  # read on the read-ahead thread, in this process
    events: list[tuple[str, str]] = []
    embedding = threading.Event()
    read_during_embed = threading.Event()
    real_read, real_embed = Ingestor.read, ingestor.embedder.embed_documents

    def read(self, reading, clock=None):
        # a later file: its read must come while the one before is embedded
        if events and embedding.wait(5):
            read_during_embed.set()
        events.append(("read", reading.doc_id))
        return real_read(self, reading, clock)

    def embed(texts):
        embedding.set()
        read_during_embed.wait(5)  # the next file's read must start while this runs
        try:
            return real_embed(texts)
        finally:
            embedding.clear()

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Ingestor, "read", read)
        mp.setattr(ingestor.embedder, "embed_documents", embed)
        report = services.ingest([corpus])
    assert [f.status for f in report.files] == ["indexed"] * 3
    assert read_during_embed.is_set()
    assert [d for _, d in events] == ["guide.md", "notes.txt", "third.md"]  # each read once
    overlapped = {c: services.store.get_chunks([c])[0].text for c in services.store.chunk_ids()}

    serial = build_services(fake_settings(tmp_path / "serial", chroma__backend="memory"))
    serial.ingestor.isolate_parsing = False
    serial.ingest([corpus])
    assert {c: serial.store.get_chunks([c])[0].text for c in serial.store.chunk_ids()} == overlapped


def test_a_file_that_fails_while_read_ahead_fails_alone(services, tmp_path):
    corpus = write_corpus(tmp_path / "corpus")
    (corpus / "h-broken.pdf").write_bytes(b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\ngarbage")
    report = services.ingest([corpus])
    by_name = {Path(f.path).name: f for f in report.files}
    assert by_name["h-broken.pdf"].status == "failed"
    assert by_name["guide.md"].status == by_name["notes.txt"].status == "indexed"
    assert {r.meta.doc_id for r in services.store.list_documents()} == {"guide.md", "notes.txt"}


def test_files_slow_to_read_are_read_last_and_reported_in_order(services, tmp_path):
    """A PDF takes seconds a page to read: it goes after the quick formats, so reading reaches
    it while they are embedded; the report still lists the files as they were found."""
    from assistant.ingest.pipeline import Ingestor
    from tests.ingest.test_loaders import sample_pdf

    corpus = write_corpus(tmp_path / "corpus")
    (corpus / "a-report.pdf").write_bytes(sample_pdf())
    ingestor = services.ingestor
    ingestor.isolate_parsing = False
    read_order: list[str] = []
    real_read = Ingestor.read

    def read(self, reading, clock=None):
        read_order.append(reading.doc_id)
        return real_read(self, reading, clock)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(Ingestor, "read", read)
        report = services.ingest([corpus])
    assert read_order == ["guide.md", "notes.txt", "a-report.pdf"]
    assert [Path(f.path).name for f in report.files] == ["a-report.pdf", "guide.md", "notes.txt"]
    assert [f.status for f in report.files] == ["indexed"] * 3


def test_read_ahead_stops_at_its_byte_budget(services, tmp_path, monkeypatch):
    """Beyond the first file waiting, no more are read ahead once the waiting files reach the
    byte budget, so a folder of large files never holds them all parsed at once."""
    from assistant.ingest import pipeline
    from assistant.ingest.pipeline import ReadAhead, StageClock

    corpus = write_corpus(tmp_path / "corpus")
    (corpus / "third.md").write_text(GUIDE.replace("Planning guide", "Third guide"), "utf-8")
    files = sorted(corpus.iterdir())
    ingestor = services.ingestor
    ingestor.isolate_parsing = False
    monkeypatch.setattr(pipeline, "READ_AHEAD_BYTES", 1)  # any one file fills it
    with ReadAhead(ingestor, files, StageClock()) as ahead:
        ahead.next()
        assert len(ahead._started) == 1  # one file waiting: the budget is spent
        ahead.take(files[0]).future.result()
        ahead.next()
        assert len(ahead._started) == 1
    monkeypatch.setattr(pipeline, "READ_AHEAD_BYTES", 2**30)
    with ReadAhead(ingestor, files, StageClock()) as ahead:
        ahead.next()
        assert len(ahead._started) == 3  # all three fit the budget and the file count
        for f in files:
            ahead.take(f).future.result()
