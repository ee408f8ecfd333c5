"""Two writers on one Chroma server (two API processes taking uploads, or an upload beside
`nhs-assistant ingest`) never delete each other's work in progress.

Each run ends with a sweep of orphans (chunks no record lists). A document that another
writer is half-way through looks exactly like that, so a writer holds a lease on its document
while it writes; a sweep leaves leased documents alone and takes only what a dead writer left
once its lease has run out.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import numpy as np
import pytest

from assistant.embeddings.fake import HashingEmbedder
from assistant.services import Services, build_services
from assistant.store.base import StoredChunk
from tests.conftest import fake_settings
from tests.reliability.index_checks import answer_sources, index_problems, write_note

pytestmark = pytest.mark.integration


class PausingEmbedder(HashingEmbedder):
    """Runs ``at_second_batch`` when the writer has stored one batch of passages."""

    def __init__(self) -> None:
        super().__init__()
        self.batches = 0
        self.at_second_batch = lambda: None

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        if len(texts) > 1:
            self.batches += 1
            if self.batches == 2:
                self.at_second_batch()
        return super().embed_documents(texts)


def writer(chroma_server: dict, data_dir: Path, collection: str, **kw: object) -> Services:
    """One process's services on the shared server (its own data dir, BM25 and client)."""
    settings = fake_settings(
        data_dir,
        chroma__host=chroma_server["host"],
        chroma__port=chroma_server["port"],
        chroma__collection=collection,
    )
    services = build_services(settings, **kw)  # type: ignore[arg-type]
    services.ingestor.isolate_parsing = False
    return services


def test_a_sweep_by_one_writer_leaves_the_document_another_is_writing_alone(
    chroma_server: dict, tmp_path: Path
) -> None:
    collection = f"two-writers-{uuid.uuid4().hex[:8]}"
    slow = PausingEmbedder()
    first = writer(chroma_server, tmp_path / "first", collection, embedder=slow)
    second = writer(chroma_server, tmp_path / "second", collection)
    big = write_note(tmp_path / "big", 5, paragraphs=1000)  # about 90 passages: two batches
    small = write_note(tmp_path / "small", 1)
    seen: dict[str, int] = {}

    def other_writer_runs_a_whole_ingest() -> None:
        assert second.ingest([small]).files[0].status == "indexed"  # it ends with a sweep
        seen["kept"] = len(first.store.chunk_ids("note-05.md"))

    slow.at_second_batch = other_writer_runs_a_whole_ingest
    report = first.ingest([big])
    assert report.files[0].status == "indexed"
    assert seen["kept"] > 0, "the other writer's sweep deleted the first batch"
    assert report.files[0].embedded == report.files[0].chunks  # nothing had to be put back
    for services in (first, second):
        services.retriever.sync(force=True)
        assert index_problems(services) == []
    assert first.store.leases() == {}  # each writer let go of its document
    for n in (1, 5):
        assert answer_sources(first, n) == (False, [f"note-{n:02d}.md"])


def test_a_dead_writers_orphans_are_kept_while_its_lease_runs_and_swept_after(
    tmp_path: Path,
) -> None:
    services = build_services(fake_settings(tmp_path / "data", chroma__backend="memory"))
    services.ingestor.isolate_parsing = False
    assert not services.ingest([write_note(tmp_path / "corpus", 0)]).failed
    vector = services.embedder.embed_query("left behind")
    left = StoredChunk("note-09.md:abc", "left behind", {"doc_id": "note-09.md"}, vector)
    services.store.upsert_chunks([left])  # what a writer killed mid-document leaves

    services.store.put_lease("note-09.md", time.time() + 60)
    assert services.ingestor.sweep_orphans() == 0  # maybe still being written elsewhere
    assert "note-09.md:abc" in services.store.chunk_ids()

    services.store.put_lease("note-09.md", time.time() - 1)  # the lease ran out
    assert services.ingestor.sweep_orphans() == 1
    assert services.store.leases() == {}
    services.retriever.sync(force=True)
    assert index_problems(services) == []
