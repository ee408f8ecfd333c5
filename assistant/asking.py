"""From a request to a recorded answer: the one place the API and the UI call the services.

``/v1/ask``, its stream, the OpenAI-compatible endpoint and the Gradio UI all go through
:class:`AskService`, so they give the CLI's answers; it also records each answer for feedback
(the feedback store redacts the question), reports it to an observer (the API's metrics), and
logs only redacted text.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from assistant.errors import FieldInputError, InvalidInputError
from assistant.feedback import FeedbackStore, StoredAnswer
from assistant.redact import redact
from assistant.schemas import (
    Answer,
    AskRequest,
    AskResponse,
    Citation,
    CitationInfo,
    DeltaEvent,
    FinalEvent,
    GroundingSummary,
    SourcesEvent,
)
from assistant.services import Services

logger = logging.getLogger(__name__)

LOGGED_QUESTION_CHARS = 200  # enough to recognise a question in the log, not a whole paste


def citation_info(c: Citation) -> CitationInfo:
    return CitationInfo(
        n=c.n,
        doc_id=c.doc_id,
        title=c.title,
        section=c.section,
        page=c.page,
        quote=c.quote,
        quotes=c.quotes,
        source_url=c.source_url,
        publisher=c.publisher,
        chunk_id=c.chunk_id,
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
    answer: Answer
    response: AskResponse


AskEvent = SourcesEvent | DeltaEvent | AskResult


class AskService:
    """Validates a question the CLI's way, answers it, records it under a new answer_id.

    >>> asker = AskService(build_services(Settings()), FeedbackStore(path))  # doctest: +SKIP
    >>> asker.ask(AskRequest(question="What is a neighbourhood health team?")).response
    """

    def __init__(
        self,
        services: Services,
        feedback: FeedbackStore,
        on_answer: Callable[[AskResponse], None] | None = None,
    ) -> None:
        self.services = services
        self.feedback = feedback
        self.on_answer = on_answer

    @property
    def mode(self) -> str:
        return self.services.settings.answer.mode

    def validate(self, request: AskRequest) -> str:
        """The cleaned question; raises FieldInputError naming the field at fault."""
        if request.mode is not None and request.mode not in self.services.modes:
            raise FieldInputError(
                "mode",
                f"mode {request.mode!r} is not available here: this server answers in "
                f"{' or '.join(repr(m) for m in self.services.modes)} mode",
            )
        try:
            return self.services.retriever.validate(request.question)
        except InvalidInputError as exc:
            raise FieldInputError("question", str(exc)) from exc

    def ask(self, request: AskRequest) -> AskResult:
        for event in self.stream(request):
            if isinstance(event, AskResult):
                return event
        raise RuntimeError("answer stream ended without a result")

    def stream(self, request: AskRequest) -> Iterator[AskEvent]:
        """The sources, the answer text as it is produced, then the recorded result."""
        question = self.validate(request)
        events = self.services.ask_stream(
            question, filters=request.filters, history=request.history, mode=request.mode
        )
        for event in events:
            if isinstance(event, FinalEvent):
                yield self._record(question, event.answer)
            else:
                yield event

    def _record(self, question: str, answer: Answer) -> AskResult:
        response = AskResponse(
            answer_id=uuid.uuid4().hex,
            answer=answer.answer,
            refused=answer.refused,
            mode=answer.mode,
            citations=[citation_info(c) for c in answer.citations],
            evidence_score=round(answer.evidence_score, 4),
            grounding=grounding_summary(answer),
            standalone_question=answer.standalone_question,
            timings_ms={k: round(v, 2) for k, v in answer.timings_ms.items()},
        )
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
        if self.on_answer is not None:
            self.on_answer(response)
        logger.info(
            "answer %s: refused=%s evidence=%.2f citations=%d question=%r",
            response.answer_id,
            response.refused,
            response.evidence_score,
            len(response.citations),
            redact(question)[:LOGGED_QUESTION_CHARS],
        )
        return AskResult(answer, response)
