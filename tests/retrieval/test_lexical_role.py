"""The lexical index is a role: BM25 in the process is one implementation, and another (a
server-side engine, here a toy one) takes its place without touching the stages."""

from __future__ import annotations

from assistant.retrieval.base import LexicalIndex
from assistant.retrieval.bm25 import BM25Index
from assistant.retrieval.pipeline import make_retriever
from assistant.schemas import Filters
from assistant.store.base import StoredChunk, matches
from assistant.text import terms


class WordCountIndex:
    """A stand-in for a server-side engine: scores a chunk by the question words it holds."""

    def __init__(self) -> None:
        self.generation = -1
        self._chunks: list[StoredChunk] = []

    def __len__(self) -> int:
        return len(self._chunks)

    def build(self, chunks: list[StoredChunk], generation: int) -> None:
        self._chunks, self.generation = list(chunks), generation

    def load(self) -> bool:
        return False

    def knows(self, word: str) -> bool:
        return any(word.lower() in c.text.lower() for c in self._chunks)

    def search(self, query: str, k: int, filters: Filters | None = None) -> list[tuple[str, float]]:
        wanted = set(terms(query))
        scored = [
            (c.chunk_id, float(len(wanted & set(terms(c.text)))))
            for c in self._chunks
            if matches(c.metadata, filters)
        ]
        return sorted((s for s in scored if s[1] > 0), key=lambda s: -s[1])[:k]


def test_bm25_and_another_engine_both_fill_the_role(tmp_path):
    from assistant.services import build_services
    from tests.conftest import fake_settings
    from tests.ingest.test_pipeline import write_corpus

    assert isinstance(BM25Index(tmp_path / "bm25"), LexicalIndex)
    assert isinstance(WordCountIndex(), LexicalIndex)
    services = build_services(fake_settings(tmp_path / "data"))
    services.ingest([write_corpus(tmp_path / "corpus")])
    other = WordCountIndex()
    retriever = make_retriever(
        services.settings.retrieval, services.embedder, services.store, other
    )
    got = retriever.retrieve("Who must agree a joint plan with partner trusts?", k=3)
    assert len(other) == services.store.count() and other.generation == services.store.generation()
    assert got and any(c.bm25_score for c in got)  # the substitute's scores reached the result
