"""``ExtractiveAnswerer``: the steps of an extractive answer, in order, and their timings."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

from assistant.answer.base import stream_whole
from assistant.answer.extractive.compose import compose, unreadable_notice
from assistant.answer.extractive.features import sentences_of
from assistant.answer.extractive.question import analyse_question
from assistant.answer.extractive.refusal import (
    Decision,
    EvidenceCheck,
    decide,
    nearest_sources,
    refusal,
)
from assistant.answer.extractive.scoring import (
    best_unreadable,
    candidates,
    evidence_score,
    idf,
    score_all,
    select,
)
from assistant.config import AnswerSettings
from assistant.embeddings.base import Embedder
from assistant.schemas import Answer, ChatMessage, DeltaEvent, FinalEvent, RetrievedChunk

# With a garbled passage matching better, readable text holding less of the question than this
# is not quoted: the answer points to the garbled passage instead.
READABLE_MIN_LEX = 0.25


class ExtractiveAnswerer:
    """Answers from retrieved chunks by quoting their best sentences, each with its citation.

    With an embedder, a second check guards against confident-looking answers to questions the
    corpus does not cover: when the lexical evidence is not already conclusive, the question is
    compared with the chosen sentences themselves, and the answer is refused when none of them
    says what was asked (``AnswerSettings.min_sentence_similarity``).

    >>> answerer = ExtractiveAnswerer(AnswerSettings(), embedder)  # doctest: +SKIP
    >>> answer = answerer.answer("How should ICBs set up neighbourhood teams?", chunks)  # doctest: +SKIP
    >>> answer.refused, [c.n for c in answer.citations]  # doctest: +SKIP
    (False, [1, 2])
    """

    mode = "extractive"

    def __init__(
        self,
        settings: AnswerSettings,
        embedder: Embedder | None = None,
        known: Callable[[str], bool] | None = None,
    ) -> None:
        self.settings = settings
        self.embedder = embedder
        self.evidence_check = EvidenceCheck(settings, embedder)
        # Whether a word occurs anywhere in the corpus (so "not mentioned" can be said plainly).
        self.known = known

    def answer(
        self,
        question: str,
        chunks: list[RetrievedChunk],
        timings_ms: dict[str, float] | None = None,
    ) -> Answer:
        started = time.perf_counter()  # the question arrives cleaned (AskService.clean)
        q = analyse_question(question)
        sentences = [s for i, c in enumerate(chunks) for s in sentences_of(i, c)]
        weights = idf(q.terms, sentences)
        scored = score_all(q, sentences, chunks, weights)
        # The evidence is judged on the best units; the answer quotes a focused few of them.
        considered = candidates(scored, self.settings.max_sentences)
        selected = select(scored, weights, q, chunks, self.settings.max_sentences)
        evidence = evidence_score(weights, considered, chunks)
        selected_at = time.perf_counter()
        weak = self.evidence_check.is_weak(question, considered, evidence, chunks)
        decision = decide(q, considered, chunks, weak, self.known)
        verified_at = time.perf_counter()
        # The best match may be text the conversion garbled: never quoted, but pointed to.
        unreadable = best_unreadable(scored, [] if decision.refuse else selected)
        notice = (
            unreadable_notice(chunks[unreadable.sentence.chunk], unreadable.sentence.start)
            if unreadable
            else None
        )
        if notice and not decision.refuse and max(x.lex for x in selected) < READABLE_MIN_LEX:
            # The readable text chosen barely touches the question; the garbled passage is
            # the real match: point to it rather than quote the scraps around it.
            decision = Decision("weak")
        if notice is None and decision.refuse and chunks and not nearest_sources(chunks):
            # Every passage found is garbled: say where the nearest one is, not "nothing found".
            top = chunks[0]
            notice = unreadable_notice(top, top.garbled_spans[0][0] if top.garbled_spans else 0)
        if decision.refuse and notice and decision.reason == "weak":
            answer = refusal(question, chunks, scored, evidence, decision, notice=notice)
        elif decision.refuse:
            closest = selected[0] if selected else None
            answer = refusal(question, chunks, scored, evidence, decision, closest)
        else:
            answer = compose(question, chunks, selected, q, evidence)
            if notice:
                answer.answer = f"{answer.answer}\n\n{notice}"
        answer.retrieved = list(chunks)
        elapsed_ms = (time.perf_counter() - started) * 1000
        answer.timings_ms = {
            **(timings_ms or {}),
            "answer": round(elapsed_ms, 3),
            "select": round((selected_at - started) * 1000, 3),
            "verify": round((verified_at - selected_at) * 1000, 3),
        }
        return answer

    def stream(
        self,
        question: str,
        chunks: list[RetrievedChunk],
        history: list[ChatMessage] | None = None,
        timings_ms: dict[str, float] | None = None,
    ) -> Iterator[DeltaEvent | FinalEvent]:
        """The answer sentence by sentence, then the whole answer (``history`` is not read)."""
        yield from stream_whole(self.answer(question, chunks, timings_ms))
