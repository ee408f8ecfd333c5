"""The composition root: the one place that turns Settings into working parts.

CLI commands, the API and the UI all call ``build_services(settings)`` and use what it returns,
so every surface gives the same answers. Tests pass fakes through the same settings
(``embedding.backend="fake"``, ``chroma.backend="memory"``) or build ``Services`` directly.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from assistant.answer.extractive import ExtractiveAnswerer
from assistant.config import Settings
from assistant.embeddings.base import Embedder
from assistant.embeddings.factory import make_embedder
from assistant.ingest.manifest import Manifest
from assistant.ingest.pipeline import Ingestor, Progress
from assistant.retrieval.bm25 import BM25Index
from assistant.retrieval.hybrid import HybridRetriever
from assistant.schemas import Answer, Filters, IngestReport, RetrievedChunk
from assistant.store.base import VectorStore
from assistant.store.factory import make_vector_store

logger = logging.getLogger(__name__)


@dataclass
class Services:
    """Everything a surface needs, already wired together."""

    settings: Settings
    embedder: Embedder
    store: VectorStore
    retriever: HybridRetriever
    answerer: ExtractiveAnswerer
    ingestor: Ingestor

    def ingest(
        self, paths: Iterable[Path], prune: bool = False, progress: Progress | None = None
    ) -> IngestReport:
        report = self.ingestor.ingest(paths, prune=prune, progress=progress)
        self.retriever.sync(force=True)
        return report

    def remove(self, doc_id: str) -> bool:
        removed = self.ingestor.remove(doc_id)
        if removed:
            self.retriever.sync(force=True)
        return removed

    def retrieve(
        self, question: str, k: int | None = None, filters: Filters | None = None
    ) -> list[RetrievedChunk]:
        return self.retriever.retrieve(question, k=k, filters=filters)

    def ask(
        self,
        question: str,
        filters: Filters | None = None,
        k: int | None = None,
        report_k: int = 0,
    ) -> Answer:
        """Retrieve, then answer from the top ``k`` chunks; timings in ``Answer.timings_ms``.

        ``report_k`` widens ``Answer.retrieved`` (for evaluation) without widening what the
        answerer reads.
        """
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        question = self.retriever.validate(question)
        k = k or self.settings.retrieval.top_k
        chunks = self.retriever.retrieve(
            question, k=max(k, report_k), filters=filters, timings_ms=timings
        )
        t1 = time.perf_counter()
        answer = self.answerer.answer(question, chunks[:k], timings_ms=timings)
        answer.retrieved = chunks
        answer.timings_ms["retrieve"] = (t1 - t0) * 1000
        answer.timings_ms["total"] = (time.perf_counter() - t0) * 1000
        return answer


def build_services(settings: Settings, embedder: Embedder | None = None) -> Services:
    """Create the embedder, store, BM25 index, retriever, answerer and ingestor from settings.

    ``embedder`` lets a caller share one loaded model between several Services (tests, bench).
    """
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    embedder = embedder or make_embedder(settings.embedding)
    store = make_vector_store(settings.chroma, settings.data_dir, embedder.name, embedder.dimension)
    bm25 = BM25Index(
        settings.data_dir / "bm25", k1=settings.retrieval.bm25_k1, b=settings.retrieval.bm25_b
    )
    retriever = HybridRetriever(
        embedder,
        store,
        bm25,
        settings.retrieval,
        max_question_chars=settings.answer.max_question_chars,
    )
    answerer = ExtractiveAnswerer(settings.answer, embedder)
    ingestor = Ingestor(embedder, store, settings.ingest, Manifest.load(settings.ingest.manifest))
    where = (
        f"Chroma server {settings.chroma.host}:{settings.chroma.port}"
        if settings.chroma.host and settings.chroma.backend == "chroma"
        else f"{settings.chroma.backend} store in {settings.data_dir}"
    )
    logger.info(
        "services: embedder=%s, %s, answer mode=%s", embedder.name, where, settings.answer.mode
    )
    return Services(settings, embedder, store, retriever, answerer, ingestor)
