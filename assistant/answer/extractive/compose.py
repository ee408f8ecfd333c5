"""Composing the answer from the chosen sentences: reading order, text, citations and quotes."""

from __future__ import annotations

from assistant.answer.citations import cite, merge_spans
from assistant.answer.extractive.features import Sentence
from assistant.answer.extractive.scoring import Scored
from assistant.schemas import Answer, AnswerSentence, RetrievedChunk


def reading_order(selected: list[Scored], how_to: bool) -> list[Scored]:
    """Grouped by chunk in rank order, document order inside a chunk; for a how-to answer the
    actionable sentences come first so the steps lead and background follows."""
    ordered = sorted(selected, key=lambda x: (x.sentence.chunk, x.sentence.start))
    if how_to:
        ordered.sort(key=lambda x: not x.traits.actionable)  # stable: keeps the order in a group
    return ordered


def presentable(x: Scored) -> str:
    """A sentence's display text as it reads in the answer."""
    shown = x.sentence.shown
    if x.traits.is_item:
        return shown[:1].upper() + shown[1:]
    if shown[:1].islower():
        return "…" + shown  # the chunk starts mid-sentence: say so rather than hide it
    return shown


def compose(
    question: str,
    chunks: list[RetrievedChunk],
    selected: list[Scored],
    how_to: bool,
    evidence: float,
) -> Answer:
    """The answer: the chosen sentences in reading order, each cited; numbered steps for a
    how-to question that found actionable sentences, one paragraph otherwise."""
    ordered = reading_order(selected, how_to)
    numbers: dict[int, int] = {}  # chunk position -> citation number, in order of first use
    for x in ordered:
        numbers.setdefault(x.sentence.chunk, len(numbers) + 1)
    out = [
        AnswerSentence(text=presentable(x), citations=[numbers[x.sentence.chunk]]) for x in ordered
    ]
    if how_to and any(x.traits.actionable for x in ordered):
        text = "\n".join(f"{i}. {a.text} [{a.citations[0]}]" for i, a in enumerate(out, 1))
    else:
        text = " ".join(f"{a.text} [{a.citations[0]}]" for a in out)
    citations = [
        cite(n, chunks[pos], quote_spans([x.sentence for x in ordered if x.sentence.chunk == pos]))
        for pos, n in numbers.items()
    ]
    return Answer(
        question=question,
        answer=text,
        mode="extractive",
        sentences=out,
        citations=citations,
        evidence_score=evidence,
    )


def quote_spans(quoted: list[Sentence]) -> list[tuple[int, int]]:
    """The quoted sentences of one chunk, in document order, merged where they touch."""
    return merge_spans((s.start, s.end) for s in quoted)
