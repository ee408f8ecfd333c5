"""The composition root: the one place that turns Settings into working parts.

CLI commands, the API and the UI all call ``build_services(settings)`` and use what it returns,
so every surface gives the same answers. Tests pass fakes through the same settings
(``embedding.backend="fake"``, ``chroma.backend="memory"``) or build ``Services`` directly.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from assistant.answer.base import Answerer, final_answer
from assistant.answer.extractive import ExtractiveAnswerer
from assistant.answer.followup import Condenser, LLMCondenser, RuleCondenser
from assistant.answer.generative import LLMAnswerer
from assistant.config import Settings
from assistant.embeddings.base import Embedder
from assistant.embeddings.factory import make_embedder
from assistant.errors import ConfigurationError, InvalidInputError
from assistant.ingest.manifest import Manifest
from assistant.ingest.pipeline import Ingestor, Progress
from assistant.llm.factory import make_chat_model
from assistant.retrieval.base import Retriever
from assistant.retrieval.bm25 import BM25Index
from assistant.retrieval.pipeline import make_retriever
from assistant.schemas import (
    Answer,
    AnswerEvent,
    ChatMessage,
    DeltaEvent,
    Filters,
    FinalEvent,
    IngestReport,
    RetrievedChunk,
    SourcesEvent,
)
from assistant.store.base import VectorStore
from assistant.store.factory import make_vector_store

logger = logging.getLogger(__name__)


@dataclass
class Services:
    """Everything a surface needs, already wired together."""

    settings: Settings
    embedder: Embedder
    store: VectorStore
    retriever: Retriever
    answerers: dict[str, Answerer]
    ingestor: Ingestor
    condensers: dict[str, Condenser] = field(default_factory=dict)

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
        return self.retriever.retrieve(self.retriever.validate(question), k=k, filters=filters)

    @property
    def modes(self) -> list[str]:
        """Answering modes available here, the configured default first."""
        default = self.settings.answer.mode
        return [default, *(m for m in self.answerers if m != default)]

    def answerer_for(self, mode: str | None) -> Answerer:
        """The answerer for ``mode`` (default: the configured one)."""
        mode = mode or self.settings.answer.mode
        if mode not in self.answerers:
            raise InvalidInputError(
                f"answer mode {mode!r} is not available here; available: {', '.join(self.modes)}"
            )
        return self.answerers[mode]

    def ask(
        self,
        question: str,
        filters: Filters | None = None,
        k: int | None = None,
        report_k: int = 0,
        history: list[ChatMessage] | None = None,
        mode: str | None = None,
    ) -> Answer:
        """Retrieve, then answer from the top ``k`` chunks; timings in ``Answer.timings_ms``.

        ``report_k`` widens ``Answer.retrieved`` (for evaluation) without widening what the
        answerer reads.
        """
        return final_answer(
            e
            for e in self.ask_stream(question, filters, k, report_k, history, mode)
            if not isinstance(e, SourcesEvent)
        )

    def ask_stream(
        self,
        question: str,
        filters: Filters | None = None,
        k: int | None = None,
        report_k: int = 0,
        history: list[ChatMessage] | None = None,
        mode: str | None = None,
    ) -> Iterator[AnswerEvent]:
        """:meth:`ask` as a stream: the sources found, the text as produced, the final answer."""
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        answerer = self.answerer_for(mode)
        asked = self.retriever.validate(question)
        question = self.standalone(asked, history, answerer.mode)
        if question != asked:
            timings["condense"] = (time.perf_counter() - t0) * 1000
        k = k or self.settings.retrieval.top_k
        chunks = self.retriever.retrieve(
            question, k=max(k, report_k), filters=filters, timings_ms=timings
        )
        timings["retrieve"] = (time.perf_counter() - t0) * 1000
        yield SourcesEvent(retrieved=chunks)
        first_piece = True
        for event in answerer.stream(question, chunks[:k], history=history, timings_ms=timings):
            if isinstance(event, DeltaEvent) and first_piece:
                first_piece = False
                timings["first_piece"] = (time.perf_counter() - t0) * 1000
            if isinstance(event, FinalEvent):
                self._finish(event.answer, asked, chunks, timings, t0)
            yield event

    def standalone(self, question: str, history: list[ChatMessage] | None, mode: str) -> str:
        """The question rewritten to stand alone when it follows on from ``history``."""
        condenser = self.condensers.get(mode) or self.condensers.get("extractive")
        if not history or condenser is None:
            return question
        standalone = condenser.condense(question, history)
        if standalone != question:
            logger.info("follow-up condensed (%d -> %d chars)", len(question), len(standalone))
        return self.retriever.validate(standalone) if standalone.strip() else question

    @staticmethod
    def _finish(
        answer: Answer,
        asked: str,
        chunks: list[RetrievedChunk],
        timings: dict[str, float],
        t0: float,
    ) -> None:
        """Report the question as asked, every chunk retrieved, and the shared timings."""
        if answer.question != asked:
            answer.standalone_question = answer.question
            answer.question = asked
        answer.retrieved = chunks
        for key in ("condense", "retrieve", "first_piece"):
            if key in timings:
                answer.timings_ms[key] = timings[key]
        answer.timings_ms["total"] = (time.perf_counter() - t0) * 1000


def build_services(
    settings: Settings, embedder: Embedder | None = None, store: VectorStore | None = None
) -> Services:
    """Create the embedder, store, BM25 index, retriever, answerers and ingestor from settings.

    ``embedder`` lets a caller share one loaded model between several Services (tests, bench);
    ``store`` lets a test put in a store that fails on purpose.
    """
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    embedder = embedder or make_embedder(settings.embedding)
    store = store or make_vector_store(
        settings.chroma, settings.data_dir, embedder.name, embedder.dimension
    )
    bm25 = BM25Index(
        settings.data_dir / "bm25", k1=settings.retrieval.bm25_k1, b=settings.retrieval.bm25_b
    )
    retriever = make_retriever(
        settings.retrieval,
        embedder,
        store,
        bm25,
        max_question_chars=settings.answer.max_question_chars,
    )
    answerers, condensers = _answerers(settings, embedder)
    ingestor = Ingestor(embedder, store, settings.ingest, Manifest.load(settings.ingest.manifest))
    where = (
        f"Chroma server {settings.chroma.host}:{settings.chroma.port}"
        if settings.chroma.host and settings.chroma.backend == "chroma"
        else f"{settings.chroma.backend} store in {settings.data_dir}"
    )
    logger.info(
        "services: embedder=%s, %s, answer mode=%s", embedder.name, where, settings.answer.mode
    )
    return Services(settings, embedder, store, retriever, answerers, ingestor, condensers)


def _answerers(
    settings: Settings, embedder: Embedder
) -> tuple[dict[str, Answerer], dict[str, Condenser]]:
    """The extractive answerer always; the LLM answerer when an LLM is configured."""
    extractive = ExtractiveAnswerer(settings.answer, embedder)
    rules = RuleCondenser(settings.llm.history_turns, settings.answer.max_question_chars)
    answerers: dict[str, Answerer] = {"extractive": extractive}
    condensers: dict[str, Condenser] = {"extractive": rules}
    if settings.llm.configured():
        model = make_chat_model(settings.llm)
        answerers["llm"] = LLMAnswerer(settings.llm, model, extractive)
        condensers["llm"] = LLMCondenser(settings.llm, model, rules)
    elif settings.answer.mode == "llm":
        raise ConfigurationError(
            "answer.mode is 'llm' but no LLM is configured: set NHS_ASSISTANT_LLM_BASE_URL "
            "(an OpenAI-compatible server) or NHS_ASSISTANT_LLM_API_KEY"
        )
    return answerers, condensers
