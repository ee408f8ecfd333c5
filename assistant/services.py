"""The composition root: the one place that turns Settings into working parts.

The CLI, the API, the page and eval all call ``build_services(settings)`` and use what it
returns (the answering service, the document service, the feedback store, the metrics), so every
surface gives the same answers and no surface builds a service of its own. Tests pass fakes
through the same settings (``embedding.backend="fake"``, ``chroma.backend="memory"``) or hand in
an embedder, a store or a feedback store.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from functools import cached_property
from pathlib import Path
from typing import cast

from assistant.answer.base import Answerer
from assistant.answer.extractive import ExtractiveAnswerer
from assistant.answer.followup import Condenser, LLMCondenser, RuleCondenser
from assistant.answer.generative import LLMAnswerer
from assistant.asking import AskResult, AskService, log_answer
from assistant.audit import AuditLog, note_answer
from assistant.config import BYTES_PER_MB, AnswerMode, Settings
from assistant.documents import UPLOADS_DIR, DocumentService
from assistant.embeddings.base import Embedder
from assistant.embeddings.factory import make_embedder
from assistant.errors import ConfigurationError
from assistant.feedback import FeedbackStore, StoredAnswer, feedback_db_path
from assistant.ingest.manifest import Manifest
from assistant.ingest.pipeline import Ingestor, Progress
from assistant.llm.factory import make_chat_model
from assistant.metrics import Metrics
from assistant.records.database import Database, open_database
from assistant.retrieval.base import Retriever
from assistant.retrieval.bm25 import BM25Index
from assistant.retrieval.pipeline import make_retriever
from assistant.schemas import (
    Answer,
    AskRequest,
    ChatMessage,
    Filters,
    IngestReport,
    RetrievedChunk,
)
from assistant.store.base import VectorStore
from assistant.store.catalogue import DocumentCatalogue
from assistant.store.factory import make_vector_store

logger = logging.getLogger(__name__)


@dataclass
class Services:
    """Everything a surface needs, already wired together.

    The components are fields; the services built on them (``asker``, ``documents``,
    ``feedback``) are made on first use, so commands that never rate answers create no feedback
    database, and ``dataclasses.replace(services, settings=...)`` gives services of their own.
    """

    settings: Settings
    embedder: Embedder
    store: VectorStore
    retriever: Retriever
    ingestor: Ingestor
    answerers: dict[str, Answerer]
    condensers: dict[str, Condenser]
    metrics: Metrics = field(default_factory=Metrics)
    feedback_store: FeedbackStore | None = field(default=None, repr=False)

    # --- documents --------------------------------------------------------------------------

    def ingest(
        self, paths: Iterable[Path], prune: bool = False, progress: Progress | None = None
    ) -> IngestReport:
        report = self.ingestor.ingest(paths, prune=prune, progress=progress)
        t0 = time.perf_counter()
        self.retriever.sync(force=True)
        report.stage_seconds["bm25"] = time.perf_counter() - t0
        return report

    def remove(self, doc_id: str) -> bool:
        removed = self.ingestor.remove(doc_id)
        if removed:
            self.retriever.sync(force=True)
        return removed

    @cached_property
    def documents(self) -> DocumentService:
        """List, upload and remove documents (the API's routes and ``index rm``)."""
        return DocumentService(
            self.store,
            ingest=self.ingest,
            remove=self.remove,
            upload_dir=self.settings.data_dir / UPLOADS_DIR,
            max_upload_bytes=int(self.settings.api.max_upload_mb * BYTES_PER_MB),
        )

    # --- feedback ---------------------------------------------------------------------------

    @cached_property
    def database(self) -> Database:
        """Where answers, ratings and the audit log are kept: PostgreSQL when
        ``database.url`` names it, else a SQLite file beside the index. Opened (and its schema
        brought up to date) on first use, so commands that never rate create none."""
        return open_database(self.settings.database_url(), feedback_db_path(self.settings))

    @cached_property
    def feedback(self) -> FeedbackStore:
        """Answers served and their ratings."""
        return self.feedback_store or FeedbackStore(self.database)

    @cached_property
    def audit(self) -> AuditLog:
        """Who asked what, when (the API records every /v1 request)."""
        return AuditLog(self.feedback.db)

    def record_answer(self, result: AskResult, question: str) -> None:
        """Keep a served answer so a rating can refer to it (the store redacts the question)."""
        response = result.to_response()
        self.feedback.record_answer(
            StoredAnswer(
                answer_id=response.answer_id,
                question=question,
                answer=response.answer,
                refused=response.refused,
                mode=response.mode,
                evidence_score=response.evidence_score,
                citations=[c.model_dump() for c in response.citations],
            )
        )

    # --- asking -----------------------------------------------------------------------------

    @cached_property
    def asker(self) -> AskService:
        """The one answering service; answers it serves are recorded, counted and logged."""
        return AskService(
            self.retriever,
            self.answerers,
            self.condensers,
            default_mode=self.settings.answer.mode,
            top_k=self.settings.retrieval.top_k,
            max_question_chars=self.settings.answer.max_question_chars,
            recorder=self.record_answer,
            observers=[self.metrics.observe_answer, log_answer, note_answer],
            documents=self.catalogue.documents,
            title_of=self.ingestor.manifest.title_for_id,
            today=self.today,
        )

    def today(self) -> date:
        """The day answers are given as of: ``answer.as_of``, else today."""
        return self.settings.answer.as_of or date.today()

    @cached_property
    def catalogue(self) -> DocumentCatalogue:
        """Every indexed document's record, read again only when the index changes."""
        return DocumentCatalogue(self.store)

    def retrieve(
        self, question: str, k: int | None = None, filters: Filters | None = None
    ) -> list[RetrievedChunk]:
        return self.retriever.retrieve(
            self.asker.clean(question), k=k, filters=filters, as_of=self.today()
        )

    @property
    def modes(self) -> list[str]:
        return self.asker.modes

    def ask(
        self,
        question: str,
        filters: Filters | None = None,
        k: int | None = None,
        report_k: int = 0,
        history: list[ChatMessage] | None = None,
        mode: str | None = None,
        as_of: date | None = None,
    ) -> Answer:
        """A shortcut for scripts and tests: :meth:`AskService.ask`, not recorded."""
        chosen = cast(AnswerMode, self.asker.answerer_for(mode).mode)  # unknown: fails by name
        request = AskRequest.model_construct(
            question=question, history=history or [], filters=filters, mode=chosen, as_of=as_of
        )
        return self.asker.ask(request, k=k, report_k=report_k, record=False).answer


def build_services(
    settings: Settings,
    embedder: Embedder | None = None,
    store: VectorStore | None = None,
    feedback: FeedbackStore | None = None,
) -> Services:
    """Create the embedder, store, BM25 index, retriever, answerers, ingestor, the answering and
    document services, the metrics and (on first use) the feedback store, from settings.

    ``embedder`` lets a caller share one loaded model between several Services (tests, bench);
    ``store`` lets a test put in a store that fails on purpose; ``feedback`` an existing store.
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
    answerers, condensers = _answerers(settings, embedder, bm25.knows)
    ingestor = Ingestor(embedder, store, settings.ingest, Manifest.load(settings.ingest.manifest))
    services = Services(
        settings,
        embedder,
        store,
        retriever,
        ingestor,
        answerers,
        condensers,
        feedback_store=feedback,
    )
    where = (
        f"Chroma server {settings.chroma.host}:{settings.chroma.port}"
        if settings.chroma.host and settings.chroma.backend == "chroma"
        else f"{settings.chroma.backend} store in {settings.data_dir}"
    )
    logger.info(
        "services: embedder=%s, %s, answer mode=%s", embedder.name, where, settings.answer.mode
    )
    return services


def _answerers(
    settings: Settings, embedder: Embedder, known: Callable[[str], bool] | None = None
) -> tuple[dict[str, Answerer], dict[str, Condenser]]:
    """The extractive answerer always; the LLM answerer when an LLM is configured. ``known``
    tells whether a word occurs anywhere in the corpus (the BM25 index's vocabulary)."""
    extractive = ExtractiveAnswerer(settings.answer, embedder, known)
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
