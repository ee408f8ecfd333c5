"""The LLM answerer: a LangChain chain writes the answer, the grounding check keeps it honest.

1. The extractive answerer runs first (milliseconds). It supplies the evidence score, and when
   the evidence is too weak the question is refused exactly as in extractive mode: no model
   call is made to dress up an answer the corpus does not hold.
2. ``prompt | chat model`` (LCEL) streams the answer token by token from the numbered, fenced
   passages (see :mod:`assistant.answer.prompts`), through :class:`ModelCaller` (bounded
   retries and timeouts).
3. The finished text is checked sentence by sentence (:mod:`assistant.answer.postcheck`):
   unsupported sentences are removed or marked (``llm.on_unsupported``), markers naming no
   passage are dropped, and the answer says how many sentences went.
4. When nothing supported is left, or the model cannot be used (``llm.on_failure =
   "extractive"``), the extractive answer is given instead, as mode ``extractive-fallback``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.prompts import ChatPromptTemplate

from assistant.answer.base import stream_whole
from assistant.answer.extractive import ExtractiveAnswerer, content_terms
from assistant.answer.postcheck import (
    CheckedSentence,
    CheckResult,
    answer_sentences,
    check_text,
    citations_for,
    compose_text,
    kept_sentences,
)
from assistant.answer.prompts import ANSWER_SYSTEM_PROMPT, ANSWER_USER_TEMPLATE, format_passages
from assistant.answer.verifier import GroundingVerifier, Verifier
from assistant.config import LLMSettings
from assistant.errors import BackendUnavailableError
from assistant.llm.calls import ModelCaller
from assistant.llm.factory import describe
from assistant.schemas import Answer, ChatMessage, DeltaEvent, FinalEvent, RetrievedChunk

logger = logging.getLogger(__name__)

NOTHING_SUPPORTED = "no sentence of the generated answer was supported by its cited passages"
OFF_TOPIC = "the supported sentences of the generated answer do not address the question"


def _unusable(question: str, kept: list[CheckedSentence]) -> str:
    """Why the checked sentences cannot be the answer ('' when they can): none left, or none
    sharing a word with the question (faithfully quoting a planted "ignore previous
    instructions" is grounded, but it is not an answer)."""
    if not kept:
        return NOTHING_SUPPORTED
    asked = set(content_terms(question))
    if not any(asked & set(content_terms(s.text)) for s in kept if s.claim):
        return OFF_TOPIC
    return ""


def answer_prompt() -> ChatPromptTemplate:
    """System rules, then the fenced passages and the question."""
    return ChatPromptTemplate.from_messages(
        [("system", ANSWER_SYSTEM_PROMPT), ("human", ANSWER_USER_TEMPLATE)]
    )


def _ms(since: float) -> float:
    return round((time.perf_counter() - since) * 1000, 3)


class LLMAnswerer:
    """Generated, cited answers whose every sentence is checked against its sources.

    >>> answerer = LLMAnswerer(settings.llm, make_chat_model(settings.llm), extractive)  # doctest: +SKIP
    >>> for event in answerer.stream(question, chunks): ...
    """

    mode = "llm"

    def __init__(
        self,
        settings: LLMSettings,
        model: BaseChatModel,
        extractive: ExtractiveAnswerer,
        verifier: Verifier | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.settings = settings
        self.extractive = extractive
        self.verifier = verifier or GroundingVerifier()
        self.caller = ModelCaller(answer_prompt() | model, settings, describe(settings), sleep)

    def stream(
        self,
        question: str,
        chunks: list[RetrievedChunk],
        history: list[ChatMessage] | None = None,
        timings_ms: dict[str, float] | None = None,
    ) -> Iterator[DeltaEvent | FinalEvent]:
        """Tokens as the model writes them, then the checked answer (``history`` is read by
        the follow-up condenser before retrieval, not here)."""
        started = time.perf_counter()
        gate = self.extractive.answer(question, chunks, timings_ms)
        if gate.refused:
            gate.mode = "llm"
            yield from stream_whole(gate)
            return
        timings = {**(timings_ms or {}), "gate": gate.timings_ms.get("answer", 0.0)}
        pieces: list[str] = []
        try:
            for piece in self.caller.stream(self._inputs(gate.question, chunks)):
                if not pieces:
                    timings["first_token"] = _ms(started)
                pieces.append(piece)
                yield DeltaEvent(text=piece)
        except BackendUnavailableError as exc:
            if self.settings.on_failure == "error":
                raise
            logger.warning("LLM answer failed, giving the extractive answer: %s", exc)
            yield from self._fallback(gate, str(exc), streamed=bool(pieces))
            return
        timings["generate"] = _ms(started)
        yield FinalEvent(answer=self._checked(gate, chunks, "".join(pieces), timings))

    def _inputs(self, question: str, chunks: list[RetrievedChunk]) -> dict[str, object]:
        return {
            "question": question,
            "passages": format_passages(question, chunks),
            "max_sentences": self.extractive.settings.max_sentences + 1,
        }

    def _checked(
        self, gate: Answer, chunks: list[RetrievedChunk], draft: str, timings: dict[str, float]
    ) -> Answer:
        t0 = time.perf_counter()
        result = check_text(draft, chunks, self.verifier)
        kept = kept_sentences(result, mark=self.settings.on_unsupported == "mark")
        timings["check"] = _ms(t0)
        reason = _unusable(gate.question, kept)
        if reason:
            answer = self._fallback_answer(gate, reason, result)
        else:
            answer = Answer(
                question=gate.question,
                answer=compose_text(kept),
                mode="llm",
                sentences=answer_sentences(kept),
                citations=citations_for(kept, chunks),
                evidence_score=gate.evidence_score,
            )
            self._record_removed(answer, result, kept)
        answer.draft = draft
        answer.retrieved = list(chunks)
        answer.timings_ms = timings
        return answer

    @staticmethod
    def _record_removed(answer: Answer, result: CheckResult, kept: list[CheckedSentence]) -> None:
        removed = [s for s in result.sentences if s not in kept and s.claim]
        answer.removed_sentences = answer_sentences(removed)
        answer.removed = len(removed)
        answer.dropped_citations = result.dropped
        for s in removed:
            logger.info("removed unsupported sentence (%s)", s.reason)

    def _fallback_answer(self, gate: Answer, reason: str, result: CheckResult | None) -> Answer:
        answer = gate.model_copy(deep=True)
        answer.mode = "extractive-fallback"
        answer.fallback_reason = reason
        if result is not None:
            self._record_removed(answer, result, [])
        return answer

    def _fallback(
        self, gate: Answer, reason: str, streamed: bool
    ) -> Iterator[DeltaEvent | FinalEvent]:
        answer = self._fallback_answer(gate, reason, None)
        if streamed:
            yield FinalEvent(answer=answer)
        else:
            yield from stream_whole(answer)
