"""The one answering service: every surface asks its questions here.

The CLI, the HTTP API (``/v1/ask``, its stream, the OpenAI-compatible endpoint), the Gradio page
and the evaluation harness all call :class:`AskService`, so they give the same answer to the
same question. One request goes through these steps, each once:

1. validate and clean the question (:meth:`AskService.validate`);
2. rewrite a follow-up into a standalone question (the condenser of the answering mode);
3. retrieve (``retriever``);
4. answer, streaming (the extractive or the LLM answerer; the LLM answer is post-checked);
5. give the result an ``answer_id``; for an answer served to a user who may rate it (the API and
   the page), the feedback store records it, the metrics count it and the log notes it with the
   question redacted.

The result, :class:`AskResult`, has one :meth:`AskResult.to_response` that every wire format is
built from (the API's JSON, the CLI's ``--json``, the OpenAI-compatible reply, eval's records).
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from itertools import zip_longest

from assistant import lifecycle
from assistant.answer import compare
from assistant.answer.base import Answerer, final_answer, stream_whole
from assistant.answer.followup import Condenser
from assistant.errors import FieldInputError, InvalidInputError
from assistant.redact import redact
from assistant.retrieval.base import Retriever
from assistant.schemas import (
    Answer,
    AskDetail,
    AskRequest,
    AskResponse,
    ChatMessage,
    Citation,
    CitationDetail,
    CitationInfo,
    DeltaEvent,
    DocumentMeta,
    Filters,
    FinalEvent,
    GroundingSummary,
    Passage,
    RetrievedChunk,
    RetrievedInfo,
    SourcesEvent,
)
from assistant.text import clean_question
from assistant.text.glossary import expand

logger = logging.getLogger(__name__)

LOGGED_QUESTION_CHARS = 200  # enough to recognise a question in the log, not a whole paste


def citation_info(c: Citation) -> CitationInfo:
    return CitationInfo(
        n=c.n,
        doc_id=c.doc_id,
        title=c.title,
        section=c.section,
        page=c.page,
        page_end=c.page_end,
        document_quarantined=c.document_quarantined,
        document_warning=c.document_warning,
        quote=c.quote,
        quotes=c.quotes,
        source_url=c.source_url,
        publisher=c.publisher,
        chunk_id=c.chunk_id,
    )


def citation_detail(c: Citation) -> CitationDetail:
    return CitationDetail(
        **citation_info(c).model_dump(), chunk_text=c.chunk_text, score=round(c.score, 6)
    )


def passage_of(c: RetrievedChunk) -> Passage:
    """A retrieved chunk as ``POST /v1/retrieve`` (and the LangChain retriever) returns it."""
    return Passage(
        rank=c.rank,
        chunk_id=c.chunk_id,
        doc_id=c.doc_id,
        title=c.title,
        section=c.section,
        page_start=c.page_start,
        page_end=c.page_end,
        publisher=c.publisher,
        source_url=c.source_url,
        score=round(c.score, 6),
        kind=c.kind,
        garbled=c.garbled,
        text=c.text,
    )


def retrieved_info(c: RetrievedChunk) -> RetrievedInfo:
    return RetrievedInfo(
        rank=c.rank,
        doc_id=c.doc_id,
        title=c.title,
        section=c.section,
        page=c.page_start,
        chunk_id=c.chunk_id,
        chunk_text=c.text,
        score=round(c.score, 6),
        dense_score=None if c.dense_score is None else round(c.dense_score, 4),
        bm25_score=None if c.bm25_score is None else round(c.bm25_score, 4),
        source_url=c.source_url,
    )


def grounding_summary(answer: Answer) -> GroundingSummary:
    """Sentences given and removed, and whether what is left is backed by its passages.

    Quotes (extractive answers) must be verbatim in their passages; the check still runs, so a
    regression in quoting shows up as ``verified: false``. Generated sentences carry the
    verifier's verdict: any marked unsupported makes ``verified`` false.
    """
    quotes_ok = all(q in c.chunk_text for c in answer.citations for q in c.quotes)
    unsupported = sum(1 for s in answer.sentences if s.supported is False)
    return GroundingSummary(
        sentences=0 if answer.refused else len(answer.sentences),
        removed=answer.removed,
        unsupported=unsupported,
        dropped_citations=answer.dropped_citations,
        verified=quotes_ok and unsupported == 0,
        fallback_reason=answer.fallback_reason,
    )


@dataclass
class AskResult:
    """An answer and the id feedback refers to; :meth:`to_response` is its one wire form."""

    answer: Answer
    answer_id: str

    def to_response(self, detail: bool = False) -> AskResponse:
        """The answer as every surface reports it. ``detail`` adds what a developer or an
        evaluator reads (the question, the ranked passages, the passage of each citation, the
        sentences and what the grounding check removed): the CLI's ``--json`` and eval."""
        a = self.answer
        common = {
            "answer_id": self.answer_id,
            "answer": a.answer,
            "refused": a.refused,
            "mode": a.mode,
            "evidence_score": round(a.evidence_score, 4),
            "grounding": grounding_summary(a),
            "standalone_question": a.standalone_question,
            "timings_ms": {k: round(v, 2) for k, v in a.timings_ms.items()},
        }
        if not detail:
            return AskResponse(citations=[citation_info(c) for c in a.citations], **common)
        return AskDetail(
            question=a.question,
            citations=[citation_detail(c) for c in a.citations],
            retrieved=[retrieved_info(c) for c in a.retrieved],
            sentences=a.sentences,
            removed=a.removed,
            removed_sentences=a.removed_sentences,
            dropped_citations=a.dropped_citations,
            fallback_reason=a.fallback_reason,
            **common,
        )

    @property
    def response(self) -> AskResponse:
        return self.to_response()


AskEvent = SourcesEvent | DeltaEvent | AskResult
AnswerObserver = Callable[[AskResult, str], None]  # (result, the cleaned question)


class AskService:
    """Validates a question once, answers it in the chosen mode, and reports the result.

    >>> asker = build_services(Settings()).asker                        # doctest: +SKIP
    >>> asker.ask(AskRequest(question="What is a neighbourhood health team?")).answer.answer
    """

    def __init__(
        self,
        retriever: Retriever,
        answerers: dict[str, Answerer],
        condensers: dict[str, Condenser],
        default_mode: str,
        top_k: int,
        max_question_chars: int,
        recorder: AnswerObserver | None = None,
        observers: list[AnswerObserver] | None = None,
        documents: Callable[[], Mapping[str, DocumentMeta]] | None = None,
        title_of: Callable[[str], str | None] = lambda _: None,
        today: Callable[[], date] = date.today,
    ) -> None:
        self.retriever = retriever
        self.answerers = answerers
        self.condensers = condensers
        self.default_mode = default_mode
        self.top_k = top_k
        self.max_question_chars = max_question_chars
        self.recorder = recorder
        self.observers = list(observers or [])
        # The index's documents (their quarantined passages and lifecycle, for what citations
        # carry), and the titles of documents named but not indexed (a successor).
        self.documents = documents
        self.title_of = title_of
        self.today = today  # the day answers are given as of, unless a request says otherwise

    # --- modes and validation -------------------------------------------------------------

    @property
    def modes(self) -> list[str]:
        """Answering modes available here, the configured default first."""
        default = self.default_mode
        return [default, *(m for m in self.answerers if m != default)]

    def answerer_for(self, mode: str | None) -> Answerer:
        """The answerer for ``mode`` (default: the configured one)."""
        mode = mode or self.default_mode
        if mode not in self.answerers:
            raise InvalidInputError(
                f"answer mode {mode!r} is not available here; available: {', '.join(self.modes)}"
            )
        return self.answerers[mode]

    def clean(self, question: str) -> str:
        """The question without surrounding white space; raises when empty or too long."""
        return clean_question(question, self.max_question_chars)

    def validate(self, request: AskRequest) -> str:
        """The cleaned question; raises FieldInputError naming the field at fault."""
        if request.mode is not None and request.mode not in self.modes:
            raise FieldInputError(
                "mode",
                f"mode {request.mode!r} is not available here: this server answers in "
                f"{' or '.join(repr(m) for m in self.modes)} mode",
            )
        try:
            return self.clean(request.question)
        except InvalidInputError as exc:
            raise FieldInputError("question", str(exc)) from exc

    # --- asking -----------------------------------------------------------------------------

    def ask(
        self, request: AskRequest, *, k: int | None = None, report_k: int = 0, record: bool = True
    ) -> AskResult:
        """Answer ``request``; see :meth:`stream` for the options."""
        for event in self.stream(request, k=k, report_k=report_k, record=record):
            if isinstance(event, AskResult):
                return event
        raise RuntimeError("answer stream ended without a result")

    def stream(
        self, request: AskRequest, *, k: int | None = None, report_k: int = 0, record: bool = True
    ) -> Iterator[AskEvent]:
        """The sources found, the answer text as it is produced, then the result.

        ``k`` is how many passages the answerer reads (default ``retrieval.top_k``);
        ``report_k`` widens ``Answer.retrieved`` (for evaluation) without widening what the
        answerer reads. ``record`` marks an answer served to a user who may rate it (the API and
        the page): it is stored for feedback and the observers (metrics, the log) hear of it.
        The CLI, eval and benchmarks pass ``record=False``.
        """
        asked = self.validate(request)
        mode = request.mode
        answerer = self.answerer_for(mode)
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        standalone = self.standalone(asked, request.history, answerer.mode)
        if standalone != asked:
            timings["condense"] = (time.perf_counter() - t0) * 1000
        # Short forms written out ("26/27", "UTC"), so passages spelling them in full match.
        question = expand(standalone)
        k = k or self.top_k
        as_of = request.as_of or self.today()
        compared = self._comparison(question, request.filters)
        events: Iterator[DeltaEvent | FinalEvent]
        if compared is not None:
            # "What changed between A and B?": each side answered from its own document.
            chunks, events = self._side_by_side(compared, request, answerer, k, as_of)
        else:
            chunks = self.retriever.retrieve(
                question,
                k=max(k, report_k),
                filters=request.filters,
                timings_ms=timings,
                as_of=as_of,
            )
            given = chunks[:k]
            events = answerer.stream(question, given, history=request.history, timings_ms=timings)
        timings["retrieve"] = (time.perf_counter() - t0) * 1000
        yield SourcesEvent(retrieved=chunks)
        first_piece = True
        # A question naming a period, or asking whether a document it names still stands, may
        # need a note before the answer: its pieces are held until the note is known, so the
        # text streamed is the text given. Other answers stream as they come.
        named = self._named_if_standing_asked(question)
        held: list[DeltaEvent] | None = (
            []
            if self.documents is not None and (named or lifecycle.question_periods(question, as_of))
            else None
        )
        for event in events:
            if isinstance(event, DeltaEvent):
                if first_piece:
                    first_piece = False
                    timings["first_piece"] = (time.perf_counter() - t0) * 1000
                if held is not None:
                    held.append(event)
                else:
                    yield event
            elif isinstance(event, FinalEvent):
                self._finish(event.answer, asked, standalone, chunks, timings, t0)
                note = None
                if self.documents is not None:
                    note = self._annotate(event.answer, question, as_of, chunks[:k], named)
                if note:
                    yield DeltaEvent(text=f"{note}\n\n")
                yield from held or []
                yield self._report(asked, event.answer, record)

    def _comparison(
        self, question: str, filters: Filters | None
    ) -> tuple[list[DocumentMeta], str] | None:
        """The two documents a "what changed" question compares (see :mod:`compare`), when
        both are within the request's filters, and what each side is asked."""
        if self.documents is None or not compare.may_compare(question):
            return None
        documents = self.documents()
        found = compare.comparison(question, documents)
        if found is None or (
            filters is not None
            and filters.doc_ids is not None
            and not set(found[0]) <= set(filters.doc_ids)
        ):
            return None
        return [documents[d] for d in found[0]], found[1]

    def _side_by_side(
        self,
        compared: tuple[list[DocumentMeta], str],
        request: AskRequest,
        answerer: Answerer,
        k: int,
        as_of: date,
    ) -> tuple[list[RetrievedChunk], Iterator[DeltaEvent | FinalEvent]]:
        """Each document's passages on the question's topic, then (once the sources are sent)
        each side answered apart and the two joined."""
        metas, topic = compared
        per_side: list[list[RetrievedChunk]] = []
        for meta in metas:
            within = (request.filters or Filters()).model_copy(update={"doc_ids": [meta.doc_id]})
            per_side.append(self.retriever.retrieve(topic, k=k, filters=within, as_of=as_of))
        # Interleaved, so the first k read hold both sides.
        chunks = [c for pair in zip_longest(*per_side) for c in pair if c is not None]
        for rank, c in enumerate(chunks, start=1):
            c.rank = rank

        def answered() -> Iterator[DeltaEvent | FinalEvent]:
            sides = [
                (meta, final_answer(answerer.stream(topic, found, history=request.history)))
                for meta, found in zip(metas, per_side, strict=True)
            ]
            yield from stream_whole(compare.side_by_side(request.question, sides))

        return chunks, answered()

    def _named_if_standing_asked(self, question: str) -> list[DocumentMeta]:
        """The documents a question names when it asks whether they still stand ("is the
        2025/26 guidance still in force?"); [] for any other question."""
        if self.documents is None or not lifecycle.STANDING_CUE.search(question):
            return []
        docs = self.documents()
        return [docs[r.doc_ids[0]] for r in compare.references(question, docs)]

    def _annotate(
        self,
        answer: Answer,
        question: str,
        as_of: date,
        given: list[RetrievedChunk],
        named: list[DocumentMeta],
    ) -> str | None:
        """What a reader must know of the documents quoted: each citation's held-back passages
        and lifecycle warning; first, what is known of whether a document the question names
        still stands ("is it still in force?"), and when the question names a period that no
        document quoted governs, a note saying so (put before the answer's text, and
        returned)."""
        assert self.documents is not None
        docs = self.documents()

        def title_of(doc_id: str) -> str | None:
            return docs[doc_id].title if doc_id in docs else self.title_of(doc_id)

        for c in answer.citations:
            meta = docs.get(c.doc_id)
            if meta is not None:
                c.document_quarantined = len(meta.quarantined)
                c.document_warning = lifecycle.warning(meta, as_of, title_of)
        notes = []
        standing = lifecycle.standing_note(named, as_of, title_of)  # "is it still in force?"
        if standing:
            notes.append(standing)
        if not answer.refused:
            cited = [
                docs[d] for d in dict.fromkeys(c.doc_id for c in answer.citations) if d in docs
            ]
            searched = [docs[d] for d in dict.fromkeys(c.doc_id for c in given) if d in docs]
            period = lifecycle.period_note(question, as_of, cited, searched)
            if period:
                notes.append(period)
        if not notes:
            return None
        note = "\n\n".join(notes)
        answer.answer = f"{note}\n\n{answer.answer}"
        return note

    def standalone(self, question: str, history: list[ChatMessage] | None, mode: str) -> str:
        """The question rewritten to stand alone when it follows on from ``history``."""
        condenser = self.condensers.get(mode) or self.condensers.get("extractive")
        if not history or condenser is None:
            return question
        standalone = condenser.condense(question, history)
        if standalone != question:
            logger.info("follow-up condensed (%d -> %d chars)", len(question), len(standalone))
        return self.clean(standalone) if standalone.strip() else question

    @staticmethod
    def _finish(
        answer: Answer,
        asked: str,
        standalone: str,
        chunks: list[RetrievedChunk],
        timings: dict[str, float],
        t0: float,
    ) -> None:
        """Report the question as asked (and as rewritten to stand alone, if it was), every
        chunk retrieved, and the shared timings."""
        answer.question = asked
        if standalone != asked:
            answer.standalone_question = standalone
        answer.retrieved = chunks
        for key in ("condense", "retrieve", "first_piece"):
            if key in timings:
                answer.timings_ms[key] = timings[key]
        answer.timings_ms["total"] = (time.perf_counter() - t0) * 1000

    def _report(self, question: str, answer: Answer, record: bool) -> AskResult:
        result = AskResult(answer, uuid.uuid4().hex)
        if record:
            if self.recorder is not None:
                self.recorder(result, question)
            for observe in self.observers:
                observe(result, question)
        return result


def log_answer(result: AskResult, question: str) -> None:
    """An observer: one log line per answer, the question redacted and cut short."""
    a = result.answer
    logger.info(
        "answer %s: refused=%s evidence=%.2f citations=%d question=%r",
        result.answer_id,
        a.refused,
        a.evidence_score,
        len(a.citations),
        redact(question)[:LOGGED_QUESTION_CHARS],
    )
