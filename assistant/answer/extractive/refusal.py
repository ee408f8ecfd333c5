"""Refusing: whether the evidence is too weak to answer from, and the answer that says so.

The lexical evidence score (:func:`assistant.answer.extractive.scoring.evidence_score`) decides
most questions. With an embedder, a second check guards against confident-looking answers to
questions the corpus does not cover: when the evidence is not already conclusive, the question
is compared with the chosen sentences themselves, and the answer is refused when none of them
says what was asked (``AnswerSettings.min_sentence_similarity``). Strong lexical evidence that
one sentence bears out (``AnswerSettings.lexical_accept``) skips that check. A refusal says so plainly and
lists the nearest sources.

Besides the strength of the evidence, two signals refuse a question the passages only seem to
answer:

* **A distinctive word is missing**: a year, figure or name the question turns on (see
  :mod:`assistant.answer.extractive.question`) is nowhere in the chosen passages. "What is the
  2031/32 A&E target?" finds the 2028/29 one; "What is Frimley's budget?" finds budgets. The
  answer says what the documents do not cover and shows the closest they come.
* **An outcome is asked, only a plan is found**: "Did the NHS hit the 4-hour target?" finds the
  target. The answer says the documents set the target but do not report the outcome.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from assistant.answer.citations import cite, pages
from assistant.answer.extractive.features import traits
from assistant.answer.extractive.question import Question, mentions
from assistant.answer.extractive.scoring import Scored
from assistant.answer.untrusted import strip_markup
from assistant.config import AnswerSettings
from assistant.embeddings.base import Embedder
from assistant.schemas import Answer, Citation, RetrievedChunk
from assistant.text.glossary import normalise_years

REFUSAL_SOURCES = 3  # nearest sources listed when refusing
CONCLUSIVE_EVIDENCE = 0.75  # at or above this the sentence-similarity check is skipped
SIMILARITY_SENTENCES = 5  # chosen sentences compared with the question
SENTENCE_VECTOR_CACHE = 8192  # sentence vectors kept between questions (about 12 MB)


class SentenceVectors:
    """Vectors of corpus sentences, each embedded once: the same sentences come back for many
    questions. The least recently used are dropped beyond ``size``.

    >>> vectors = SentenceVectors(embedder)  # doctest: +SKIP
    >>> vectors(["Boards sign off plans.", "ICBs submit plans."]).shape  # doctest: +SKIP
    (2, 384)
    """

    def __init__(self, embedder: Embedder, size: int = SENTENCE_VECTOR_CACHE) -> None:
        self.embedder = embedder
        self.size = size
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()

    def __call__(self, texts: list[str]) -> np.ndarray:
        """One row per text, in order."""
        missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        if missing:
            for text, vector in zip(missing, self.embedder.embed_documents(missing), strict=True):
                self._vectors[text] = vector
            while len(self._vectors) > self.size:
                self._vectors.popitem(last=False)
        for t in texts:
            self._vectors.move_to_end(t)
        return np.vstack([self._vectors[t] for t in texts])


class EvidenceCheck:
    """Decides whether the evidence for an answer is too weak to answer from.

    >>> check = EvidenceCheck(AnswerSettings(), embedder)  # doctest: +SKIP
    >>> check.is_weak(question, selected, evidence, chunks)  # doctest: +SKIP
    False
    """

    def __init__(self, settings: AnswerSettings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.embedder = embedder
        self.vectors = SentenceVectors(embedder) if embedder is not None else None

    def is_weak(
        self,
        question: str,
        selected: list[Scored],
        evidence: float,
        chunks: list[RetrievedChunk],
    ) -> bool:
        """Whether the evidence is too weak to answer from.

        The question-to-chunk similarity from retrieval settles most questions for free; only
        when it falls between the two calibrated bounds are the chosen sentences embedded.
        """
        if not selected or evidence < self.settings.min_evidence:
            return True
        if self.embedder is None or evidence >= CONCLUSIVE_EVIDENCE:
            return False
        # Two signals agreeing: strong overall evidence, and one sentence holding much of the
        # question ("Trust CFO. What are we expected to do to reduce temporary staffing ...?"
        # finds "Reduce spend on temporary staffing and support functions by: ..." while its
        # MiniLM similarity, diluted by the preamble, stays below the bar).
        best = max(x.covers for x in selected)
        if min(evidence, best) >= self.settings.lexical_accept:
            return False
        scores = [chunks[x.sentence.chunk].dense_score for x in selected]
        known = [s for s in scores if s is not None]
        if known and len(known) == len(scores):
            if max(known) >= self.settings.chunk_similarity_accept:
                return False
            if max(known) < self.settings.chunk_similarity_refuse:
                return True
        return self.sentence_similarity(question, selected) < self.settings.min_sentence_similarity

    def sentence_similarity(self, question: str, selected: list[Scored]) -> float:
        """Highest cosine similarity between the question and the chosen sentences."""
        assert self.embedder is not None and self.vectors is not None
        texts = [x.sentence.shown for x in sorted(selected, key=lambda x: -x.score)][
            :SIMILARITY_SENTENCES
        ]
        return float((self.vectors(texts) @ self.embedder.embed_query(question)).max())


Reason = Literal["answer", "weak", "missing", "unknown", "outturn"]
# Sentences reporting what happened, not what is planned.
_REPORTED = re.compile(
    r"\b(?:was|were|has been|have been|had been)\b(?:\s+\w+){0,3}?\s+(?:met|achieved|reached|hit"
    r"|delivered|opened|completed|published|found|concluded|calculated|estimated|reported"
    r"|recorded|observed|shown)\b|\b(?:achieved|fell|rose|grew|increased|decreased|declined"
    r"|improved|concluded|found that|showed|reported that)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Decision:
    """Whether to answer, and if not, why (and which of the question's words are missing)."""

    reason: Reason = "answer"
    missing: tuple[str, ...] = field(default=())

    @property
    def refuse(self) -> bool:
        return self.reason != "answer"


def missing_words(q: Question, selected: list[Scored], chunks: list[RetrievedChunk]) -> list[str]:
    """The question's distinctive words found neither in the chosen units nor in their passages'
    text, titles and sections."""
    if not q.distinctive or not selected:
        return []
    seen = {x.sentence.chunk for x in selected}
    text = " ".join(
        [x.sentence.shown for x in selected]
        + [f"{chunks[i].section} {chunks[i].text}" for i in seen]
        # A document named in the question ("the 2025/26 guidance", "the BMC review").
        + [f"{c.title} {c.publisher or ''} {c.doc_id}" for c in chunks]
    )
    haystack = normalise_years(text).lower()
    return [w for w in q.distinctive if not mentions(w, haystack)]


def reports_outcome(selected: list[Scored]) -> bool:
    """Whether a chosen unit reports what happened (not only what is planned)."""
    return any(_REPORTED.search(x.sentence.shown) for x in selected)


def decide(
    q: Question,
    selected: list[Scored],
    chunks: list[RetrievedChunk],
    weak: bool,
    known: Callable[[str], bool] | None = None,
) -> Decision:
    """The answer-or-refuse decision from the evidence check and the two signals above."""
    if not selected:
        return Decision("weak")
    missing = missing_words(q, selected, chunks)
    if missing:
        unknown = known is not None and not any(known(w) for w in missing)
        return Decision("unknown" if unknown else "missing", tuple(missing))
    if weak:
        return Decision("weak")
    if q.outturn and not reports_outcome(selected):
        return Decision("outturn")
    return Decision("answer")


def refusal(
    question: str,
    chunks: list[RetrievedChunk],
    scored: list[Scored],
    evidence: float,
    decision: Decision | None = None,
    closest: Scored | None = None,
    notice: str | None = None,
) -> Answer:
    """Say plainly that the corpus does not answer this, and point to the nearest sources.

    ``notice`` says instead that the best match is there but garbled in this copy (see
    :func:`assistant.answer.extractive.compose.unreadable_notice`)."""
    decision = decision or Decision("weak")
    if closest is not None and decision.reason in ("missing", "outturn"):
        return _near_miss(question, chunks, scored, evidence, decision, closest)
    nearest = nearest_sources(chunks)
    if not nearest:
        text = notice or (
            "The documents in the corpus do not cover this question, and no related passage "
            "was found."
        )
        return Answer(question=question, answer=text, refused=True, evidence_score=evidence)
    citations = [
        cite(n, chunks[pos], [_pointer_span(pos, chunks[pos], scored)])
        for n, pos in enumerate(nearest, 1)
    ]
    opening = f"{notice}\n\nOther sources" if notice else f"{_opening(decision)}The nearest sources"
    lines = [f"{opening}, which you may want to check yourself, are:"]
    lines += [f"[{c.n}] {source_label(c)}" for c in citations]
    return Answer(
        question=question,
        answer="\n".join(lines),
        refused=True,
        citations=citations,
        evidence_score=evidence,
    )


def _opening(decision: Decision) -> str:
    if decision.reason == "unknown":
        return (
            "The documents in the corpus do not cover this: they do not mention "
            f"{_names(decision.missing)}. "
        )
    if decision.reason == "missing":
        return f"The documents in the corpus do not cover this for {_names(decision.missing)}. "
    return "The documents in the corpus do not cover this question well enough to answer it. "


def _names(missing: tuple[str, ...]) -> str:
    quoted = [f"“{m}”" for m in missing]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + f" or {quoted[-1]}"


def _near_miss(
    question: str,
    chunks: list[RetrievedChunk],
    scored: list[Scored],
    evidence: float,
    decision: Decision,
    closest: Scored,
) -> Answer:
    """A refusal that shows the closest the documents come, so a reader sees why."""
    if decision.reason == "outturn":
        opening = (
            "The documents set out plans and targets but do not report the outcome you ask "
            "about. What they say:"
        )
    else:
        opening = f"{_opening(decision)}The closest they come:"
    first = closest.sentence.chunk
    others = [p for p in nearest_sources(chunks) if p != first][: REFUSAL_SOURCES - 1]
    citations = [cite(1, chunks[first], [(closest.sentence.start, closest.sentence.end)])]
    citations += [
        cite(n, chunks[pos], [_pointer_span(pos, chunks[pos], scored)])
        for n, pos in enumerate(others, 2)
    ]
    lines = [f"{opening} “{closest.sentence.shown}” [1]"]
    if len(citations) > 1:
        lines.append("Other sources you may want to check:")
        lines += [f"[{c.n}] {source_label(c)}" for c in citations[1:]]
    return Answer(
        question=question,
        answer="\n".join(lines),
        refused=True,
        citations=citations,
        evidence_score=evidence,
    )


def nearest_sources(chunks: list[RetrievedChunk]) -> list[int]:
    """Positions of the top chunks, one per (title, section), at most REFUSAL_SOURCES; not a
    chunk the conversion garbled (it has nothing to quote)."""
    seen: set[tuple[str, str]] = set()
    picked: list[int] = []
    for pos, c in enumerate(chunks):
        if c.garbled:
            continue
        key = (c.title.strip().lower(), c.section.strip().lower())
        if key not in seen:
            seen.add(key)
            picked.append(pos)
        if len(picked) == REFUSAL_SOURCES:
            break
    return picked


def _pointer_span(pos: int, chunk: RetrievedChunk, scored: list[Scored]) -> tuple[int, int]:
    """What to quote from a nearest source: its best usable sentence, else its whole text."""
    mine = [x for x in scored if x.sentence.chunk == pos and x.score > 0]
    if mine:
        best = max(mine, key=lambda x: (x.score, -x.sentence.start))
        return best.sentence.start, best.sentence.end
    # Nothing shares a word with the question: quote the chunk's first real sentence.
    for x in scored:
        if x.sentence.chunk == pos and not x.sentence.garbled and traits(x.sentence).quality > 0:
            return x.sentence.start, x.sentence.end
    a, b = _longest_clean_stretch(chunk)
    stripped = chunk.text[a:b].strip()
    start = chunk.text.find(stripped, a) if stripped else a
    return start, start + len(stripped)


def _longest_clean_stretch(chunk: RetrievedChunk) -> tuple[int, int]:
    """The longest stretch of the chunk's text outside its garbled spans (all of it if none)."""
    cuts = [0, *(x for span in sorted(chunk.garbled_spans) for x in span), len(chunk.text)]
    stretches = list(zip(cuts[::2], cuts[1::2], strict=True))
    return max(stretches, key=lambda s: s[1] - s[0])


def source_label(c: Citation) -> str:
    """``Title — section, p. 4`` for the answer text, without markup a title may carry."""
    parts = [c.title or c.doc_id]
    if c.section:
        parts.append(c.section)
    label = strip_markup(" — ".join(parts))
    where = pages(c.page, c.page_end)
    return f"{label}, {where}" if where else label
