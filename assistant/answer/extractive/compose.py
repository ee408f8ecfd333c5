"""Composing the answer from the chosen units: order, text, citations and quotes.

* A how-to question with at least two actionable units gets numbered steps, the ones that say
  who must act and by when first (stable otherwise: the source's order).
* A question asking for a figure or a date leads with the unit that holds it.
* Otherwise the anchor's passage leads and the rest follow in the source's order.

A list is shown as its lead-in and bullets; every unit ends with its citation marker.
"""

from __future__ import annotations

from assistant.answer.citations import cite, merge_spans
from assistant.answer.extractive.features import Sentence
from assistant.answer.extractive.question import Question
from assistant.answer.extractive.scoring import Scored
from assistant.answer.untrusted import strip_markup
from assistant.schemas import Answer, AnswerSentence, RetrievedChunk
from assistant.text.planted import directs_data_somewhere

MIN_STEPS = 2  # fewer actionable units than this: prose, not steps


def unreadable_notice(chunk: RetrievedChunk, offset: int = 0) -> str:
    """What to say when the passage that best matches the question is garbled in this copy of
    its document: where it is, and where to read it, since it cannot be quoted."""
    where = [f"“{strip_markup(chunk.title or chunk.doc_id)}”"]
    if chunk.section:
        where.append(f"section “{strip_markup(chunk.section)}”")
    page = chunk.page_at(offset)
    if page is not None:
        where.append(f"page {page}")
    original = (
        f" Read it in the original: {chunk.source_url}"
        if chunk.source_url
        else (" Read it in the original document.")
    )
    return (
        f"The passage that matches your question most closely ({', '.join(where)}) is garbled "
        "in this copy of the document (two columns of text run together when it was "
        f"converted), so it is not quoted here.{original}"
    )


def reading_order(selected: list[Scored], q: Question) -> list[Scored]:
    """The order units are shown in (see the module docstring)."""
    if not selected:
        return []
    anchor_chunk = selected[0].sentence.chunk
    ordered = sorted(
        selected,
        key=lambda x: (x.sentence.chunk != anchor_chunk, x.sentence.chunk, x.sentence.start),
    )
    if as_steps(selected, q):
        # Actionable units first, the strongest (who, what, by when) leading; stable otherwise.
        ordered.sort(key=lambda x: (not x.traits.actionable, -round(x.traits.action, 1)))
    elif q.wants_figure:
        # The best-scoring unit that holds a figure leads (not merely the first one).
        figure = sorted(
            (x for x in ordered if x.traits.has_quantity or x.traits.has_date),
            key=lambda x: -x.score,
        )
        ordered = figure[:1] + [x for x in ordered if x not in figure[:1]]
    return ordered


def as_steps(selected: list[Scored], q: Question) -> bool:
    return q.how_to and sum(x.traits.actionable for x in selected) >= MIN_STEPS


DATA_CAUTION = (
    "(Caution: this sentence asks for personal or sensitive data to be sent somewhere; check "
    "the address with your information governance lead before sending anything.)"
)


def presentable(x: Scored) -> str:
    """A unit's text as it reads in the answer (with a caution when it directs data
    somewhere)."""
    text = x.sentence.text
    if x.traits.is_item:
        text = text[:1].upper() + text[1:]
    elif text[:1].islower():
        text = "…" + text  # the chunk starts mid-sentence: say so rather than hide it
    if directs_data_somewhere(text):
        text = f"{text} {DATA_CAUTION}"
    return text


def compose(
    question: str,
    chunks: list[RetrievedChunk],
    selected: list[Scored],
    q: Question,
    evidence: float,
) -> Answer:
    """The answer: the chosen units in order, each cited; numbered steps for a how-to question
    that found actionable units, paragraphs otherwise (a list on lines of its own)."""
    ordered = reading_order(selected, q)
    numbers: dict[int, int] = {}  # chunk position -> citation number, in order of first use
    for x in ordered:
        numbers.setdefault(x.sentence.chunk, len(numbers) + 1)
    out = [
        AnswerSentence(text=presentable(x), citations=[numbers[x.sentence.chunk]]) for x in ordered
    ]
    if as_steps(selected, q):
        for a in out:
            a.text = _indent(a.text)
        text = "\n".join(f"{i}. {a.text} [{a.citations[0]}]" for i, a in enumerate(out, 1))
    else:
        text = _paragraphs(out)
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


def _indent(text: str) -> str:
    """A list inside a numbered step: its bullets indented under the step."""
    return text.replace("\n- ", "\n   - ")


def _paragraphs(out: list[AnswerSentence]) -> str:
    """Sentences run on in one paragraph; a list is a block of its own (blank lines around it,
    so Markdown renders the bullets and does not fold the next sentence into the last one)."""
    blocks: list[list[str]] = []
    for a in out:
        piece = f"{a.text} [{a.citations[0]}]"
        if "\n" in a.text:
            blocks.append([piece])
            blocks.append([])
        elif blocks and blocks[-1] is not None and (not blocks[-1] or "\n" not in blocks[-1][0]):
            blocks[-1].append(piece)
        else:
            blocks.append([piece])
    return "\n\n".join(" ".join(b) for b in blocks if b)


def quote_spans(quoted: list[Sentence]) -> list[tuple[int, int]]:
    """The quoted units of one chunk, in document order, merged where they touch."""
    return merge_spans((s.start, s.end) for s in quoted)
