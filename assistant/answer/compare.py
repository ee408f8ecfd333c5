""" "What changed?" questions: two documents named, each side answered from its own.

"What changed between the 2025/26 planning guidance and the medium term planning framework on
agency spending?" asks for two answers side by side, not one answer blended from both. This
module finds the documents a question refers to (:func:`references`), decides whether it asks
for a comparison and between which two (:func:`comparison`), and joins the two answers
(:func:`side_by_side`), each citing only its own document; a side with nothing found says so.

A document is referred to by a run of at least three words of its title ("the medium term
framework", "the 2025/26 guidance", "the 10 Year Health Plan"). A question that
names only one document and asks what changed compares it with what supersedes it, or with
what it supersedes.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from assistant.lifecycle import period_dates, successor_of
from assistant.schemas import Answer, AnswerSentence, DocumentMeta
from assistant.text import STOP_WORDS

# Words that ask how two documents differ: enough with one document named (it is compared with
# what replaced it, or what it replaced). "Change" alone is not one ("change management").
CHANGE_CUE = re.compile(
    r"\b(?:changed|differ(?:s|ed|ent|ence|ences)?|compar(?:e|ed|es|ing|ison)|versus|vs|"
    r"moved on)\b",
    re.IGNORECASE,
)
# Weaker ones, taken only with two documents named ("what does A add to B?").
_TWO_DOCUMENT_CUE = re.compile(
    r"\b(?:add(?:s|ed)? to|new in|replac(?:e|ed|es|ing)|since|side by side|contrast\w*)\b",
    re.IGNORECASE,
)


def may_compare(question: str) -> bool:
    """Whether the question has any word that asks for a comparison (a cheap first check)."""
    return bool(CHANGE_CUE.search(question) or _TWO_DOCUMENT_CUE.search(question))


MIN_REFERENCE_WORDS = 3  # title words, in order, that name a document
_WORD = re.compile(r"[a-z0-9]+")
# Words too common to name anything on their own (they still count inside a longer reference).
_FILLER = frozenset(
    ["a", "an", "and", "the", "of", "for", "in", "on", "to", "by", "with", "nhs", "england", "s"]
)


@dataclass(frozen=True)
class Reference:
    """A stretch of the question (character offsets) that names documents, best match first."""

    start: int
    end: int
    doc_ids: tuple[str, ...]


def _title_words(title: str) -> list[str]:
    return _WORD.findall(title.lower())


def _match_length(words: list[str], i: int, title: set[str]) -> tuple[int, int]:
    """How many question words from ``i`` on are all words of the title (in any order: "the
    2025/26 guidelines" names "Neighbourhood health guidelines 2025/26"): (words, of which
    not filler)."""
    n, content = 0, 0
    for w in words[i:]:
        if w not in title:
            break
        n += 1
        content += w not in _FILLER
    return n, content


def references(question: str, documents: Mapping[str, DocumentMeta]) -> list[Reference]:
    """The stretches of ``question`` that name indexed documents, in the question's order.

    >>> docs = {
    ...     "mtpf": DocumentMeta(doc_id="mtpf", file_name="m.md",
    ...                          title="Medium term planning framework 2026/27 to 2028/29"),
    ...     "pog": DocumentMeta(doc_id="pog", file_name="p.md",
    ...                         title="2025/26 priorities and operational planning guidance"),
    ... }
    >>> [r.doc_ids for r in references("What changed from the 2025/26 guidance to the "
    ...                                "medium term framework on agency staff?", docs)]
    [('pog',), ('mtpf',)]
    """
    tokens = [(m.group(0), m.start(), m.end()) for m in _WORD.finditer(question.lower())]
    words = [t[0] for t in tokens]
    titles = {d: set(_title_words(m.title)) for d, m in documents.items()}
    found: list[Reference] = []
    i = 0
    while i < len(words):
        best, best_docs = 0, []
        for doc, title in titles.items():
            n, content = _match_length(words, i, title)
            named = words[i : i + n]
            if content < MIN_REFERENCE_WORDS or not any(
                w.isalpha() and w not in _FILLER for w in named
            ):
                continue  # a run of years ("2026/27 to 2028/29") names a period, not a document
            if n > best:
                best, best_docs = n, [doc]
            elif n == best:
                best_docs.append(doc)
        if best:
            found.append(Reference(tokens[i][1], tokens[i + best - 1][2], tuple(best_docs)))
            i += best
        else:
            i += 1
    return found


def _start(meta: DocumentMeta) -> str:
    """A sort key for "older first": the start of its period, else its publication date."""
    span = period_dates(meta.period)
    return span[0].isoformat() if span else (meta.published or meta.date or "")


def comparison(
    question: str, documents: Mapping[str, DocumentMeta]
) -> tuple[list[str], str] | None:
    """The two documents a "what changed" question compares, older first, and the question
    with their names taken out (what each side is asked); None for any other question."""
    strong = CHANGE_CUE.search(question) is not None
    if not strong and not _TWO_DOCUMENT_CUE.search(question):
        return None
    refs = references(question, documents)
    sides: list[str] = []
    for ref in refs:
        doc = next((d for d in ref.doc_ids if d not in sides), None)
        if doc is not None:
            sides.append(doc)
    if len(sides) == 1 and strong:  # compare it with what replaced it, or what it replaced
        named = documents[sides[0]]
        successor = successor_of(named, documents)
        if successor is not None:
            sides.append(successor)
        else:
            sides += [
                d for d, m in documents.items() if successor_of(m, documents) == named.doc_id
            ][:1]
    if len(sides) < 2:
        return None
    pair = sorted(sides[:2], key=lambda d: _start(documents[d]))
    topic = question
    for ref in sorted(refs, key=lambda r: -r.start):
        topic = topic[: ref.start] + topic[ref.end :]
    # What each side is asked: the subject, without the documents' names or "what changed"
    # (neither document says "changed"; each says what it asks). Too little left: the question.
    topic = _tidy(_TWO_DOCUMENT_CUE.sub("", CHANGE_CUE.sub("", topic)))
    subject = [w for w in _WORD.findall(topic.lower()) if w not in STOP_WORDS | _FILLER]
    return pair, topic if len(subject) >= 2 else question


# Connecting words left stranded once the documents' names are taken out ("between the and
# the on agency staff").
_STRANDED = re.compile(
    r"\b(?:the|between|and|from|to|versus|vs|with|in)\s+(?=(?:the|and|to|versus|vs|with|in|on|"
    r"about|for|over|regarding)\b|[?,.;:]|$)",
    re.IGNORECASE,
)


def _tidy(topic: str) -> str:
    """``topic`` without stranded connecting words and doubled spaces.

    >>> _tidy("What changed between the  and the  on agency staff?")
    'What changed on agency staff?'
    """
    topic = re.sub(r"\s+", " ", topic)
    while (tidied := re.sub(r"\s+", " ", _STRANDED.sub("", topic))) != topic:
        topic = tidied
    return re.sub(r"\s+([?,.;:])", r"\1", topic).strip()


def _heading(meta: DocumentMeta) -> str:
    period = meta.period if meta.period and meta.period.lower() != "unknown" else None
    return f"{meta.title} ({period}):" if period else f"{meta.title}:"


_MARKER = re.compile(r"\[(\d+)\]")


def _renumbered(text: str, renumber: dict[int, int]) -> str:
    """``text`` with each citation marker [n] made [renumber[n]].

    >>> _renumbered("A [1]. B [2].", {1: 3, 2: 4})
    'A [3]. B [4].'
    """
    return _MARKER.sub(lambda m: f"[{renumber.get(int(m.group(1)), int(m.group(1)))}]", text)


def side_by_side(question: str, sides: list[tuple[DocumentMeta, Answer]]) -> Answer:
    """One answer of the sides' answers, each under its document's title, citations numbered
    on from the side before. A side that could not answer says so in its own words (its
    nearest passages, or that its best match is garbled in this copy) about that document; the
    whole is a refusal only when neither side answers."""
    parts = ["Side by side, each from its own document:"]
    sentences: list[AnswerSentence] = []
    citations = []
    offset = 0
    for meta, answer in sides:
        renumber = {c.n: c.n + offset for c in answer.citations}
        text = _renumbered(answer.answer, renumber)
        if answer.refused:
            text = _ABOUT_CORPUS.sub("This document does not", text)
        parts.append(f"{_heading(meta)}\n{text}")
        for s in answer.sentences:
            cited = [renumber.get(n, n) for n in s.citations]
            sentences.append(s.model_copy(update={"citations": cited}))
        citations += [c.model_copy(update={"n": renumber[c.n]}) for c in answer.citations]
        offset += len(answer.citations)
    answered = [a for _, a in sides if not a.refused] or [a for _, a in sides]
    return Answer(
        question=question,
        answer="\n\n".join(parts),
        refused=all(a.refused for _, a in sides),
        mode=answered[0].mode,
        sentences=sentences,
        citations=citations,
        retrieved=[c for _, a in sides for c in a.retrieved],
        evidence_score=max(a.evidence_score for a in answered),
        removed=sum(a.removed for _, a in sides),
        removed_sentences=[s for _, a in sides for s in a.removed_sentences],
        dropped_citations=sum(a.dropped_citations for _, a in sides),
    )


# A side's refusal speaks of the corpus; beside the other side it speaks of its own document.
_ABOUT_CORPUS = re.compile(r"^The documents in the corpus do not\b")
