"""One contract for every vector store: the in-memory fake, embedded Chroma, and a `chroma run` server."""

from __future__ import annotations

import uuid

import numpy as np
import pytest

from assistant.errors import IndexMismatchError
from assistant.schemas import DocumentMeta, Filters
from assistant.store.base import DocumentRecord, StoredChunk
from assistant.store.chroma import ChromaStore
from assistant.store.memory import InMemoryStore

DIM = 8


def vec(*values: float) -> np.ndarray:
    v = np.zeros(DIM, dtype=np.float32)
    v[: len(values)] = values
    return v / np.linalg.norm(v)


def chunk(
    cid: str, doc: str, v: np.ndarray, publisher: str = "NHS England", themes=("planning",)
) -> StoredChunk:
    return StoredChunk(
        cid,
        f"text of {cid}",
        {
            "doc_id": doc,
            "title": doc.title(),
            "publisher": publisher,
            "themes": list(themes),
            "section": "A > B",
        },
        v,
    )


@pytest.fixture(
    params=[
        "memory",
        "chroma-embedded",
        # `chroma run` in a process of its own
        pytest.param("chroma-server", marks=pytest.mark.integration),
    ]
)
def store(request, tmp_path):
    collection = f"contract-{uuid.uuid4().hex[:8]}"
    if request.param == "memory":
        return InMemoryStore("model-a", DIM)
    if request.param == "chroma-embedded":
        return ChromaStore("model-a", DIM, collection=collection, path=tmp_path / "chroma")
    server = request.getfixturevalue("chroma_server")
    return ChromaStore(
        "model-a", DIM, collection=collection, host=server["host"], port=server["port"]
    )


@pytest.fixture
def filled(store):
    store.upsert_chunks(
        [
            chunk("d1:a", "d1", vec(1, 0)),
            chunk("d1:b", "d1", vec(1, 1)),
            chunk("d2:a", "d2", vec(0, 1), publisher="DHSC", themes=("prevention",)),
        ]
    )
    return store


def test_search_ranks_by_cosine_similarity(filled):
    hits = filled.search(vec(1, 0.1), k=3)
    assert [h.chunk_id for h in hits] == ["d1:a", "d1:b", "d2:a"]
    assert hits[0].similarity == pytest.approx(float(vec(1, 0.1) @ vec(1, 0)), abs=1e-4)


def test_search_applies_metadata_filters(filled):
    assert [h.chunk_id for h in filled.search(vec(1, 0), 3, Filters(doc_ids=["d2"]))] == ["d2:a"]
    assert [h.chunk_id for h in filled.search(vec(1, 0), 3, Filters(publishers=["DHSC"]))] == [
        "d2:a"
    ]
    assert {h.chunk_id for h in filled.search(vec(1, 0), 3, Filters(themes=["planning"]))} == {
        "d1:a",
        "d1:b",
    }


def test_upsert_is_idempotent_and_delete_removes(filled):
    filled.upsert_chunks([chunk("d1:a", "d1", vec(1, 0))])
    assert filled.count() == 3
    assert filled.chunk_ids("d1") == {"d1:a", "d1:b"}
    filled.delete_chunks(["d1:a", "missing"])
    assert filled.chunk_ids() == {"d1:b", "d2:a"}


def test_get_chunks_returns_text_metadata_and_vectors_in_order(filled):
    got = filled.get_chunks(["d2:a", "nope", "d1:a"], with_embeddings=True)
    assert [c.chunk_id for c in got] == ["d2:a", "d1:a"]
    assert got[0].text == "text of d2:a"
    assert got[0].metadata["themes"] == ["prevention"]
    np.testing.assert_allclose(got[1].embedding, vec(1, 0), atol=1e-6)
    assert {c.chunk_id for c in filled.all_chunks(batch_size=2)} == {"d1:a", "d1:b", "d2:a"}


def test_document_records_round_trip(store):
    meta = DocumentMeta(doc_id="d1", title="Plan", file_name="plan.md", sha256="abc", themes=["x"])
    store.put_document(
        DocumentRecord(meta, ["d1:a", "d1:b"], "/tmp/plan.md", "2026-01-01T00:00:00")
    )
    rec = store.get_document("d1")
    assert rec is not None and rec.meta == meta and rec.chunk_ids == ["d1:a", "d1:b"]
    assert [r.meta.doc_id for r in store.list_documents()] == ["d1"]
    store.delete_document("d1")
    assert store.get_document("d1") is None and store.list_documents() == []


def test_generation_counts_up(store):
    start = store.generation()
    assert store.bump_generation() == start + 1
    assert store.generation() == start + 1
    assert store.list_documents() == []  # the counter is not a document


def test_chroma_refuses_an_index_built_with_another_model(tmp_path):
    ChromaStore("model-a", DIM, path=tmp_path / "c").upsert_chunks([chunk("d:a", "d", vec(1))])
    with pytest.raises(IndexMismatchError, match="model-a"):
        ChromaStore("model-b", DIM, path=tmp_path / "c")
    with pytest.raises(IndexMismatchError, match="dimension"):
        ChromaStore("model-a", 16, path=tmp_path / "c")
