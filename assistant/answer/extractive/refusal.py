"""Refusing: whether the evidence is too weak to answer from, and the answer that says so.

The lexical evidence score (:func:`assistant.answer.extractive.scoring.evidence_score`) decides
most questions. With an embedder, a second check guards against confident-looking answers to
questions the corpus does not cover: when the evidence is not already conclusive, the question
is compared with the chosen sentences themselves, and the answer is refused when none of them
says what was asked (``AnswerSettings.min_sentence_similarity``). A refusal says so plainly and
lists the nearest sources.
"""

from __future__ import annotations

from collections import OrderedDict

import numpy as np

from assistant.answer.citations import cite
from assistant.answer.extractive.features import traits
from assistant.answer.extractive.scoring import Scored
from assistant.answer.untrusted import strip_markup
from assistant.config import AnswerSettings
from assistant.embeddings.base import Embedder
from assistant.schemas import Answer, Citation, RetrievedChunk

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


def refusal(
    question: str, chunks: list[RetrievedChunk], scored: list[Scored], evidence: float
) -> Answer:
    """Say plainly that the corpus does not answer this, and point to the nearest sources."""
    nearest = nearest_sources(chunks)
    if not nearest:
        text = (
            "The documents in the corpus do not cover this question, and no related passage "
            "was found."
        )
        return Answer(question=question, answer=text, refused=True, evidence_score=evidence)
    citations = [
        cite(n, chunks[pos], [_pointer_span(pos, chunks[pos], scored)])
        for n, pos in enumerate(nearest, 1)
    ]
    lines = [
        "The documents in the corpus do not cover this question well enough to answer it. "
        "The nearest sources, which you may want to check yourself, are:"
    ]
    lines += [f"[{c.n}] {source_label(c)}" for c in citations]
    return Answer(
        question=question,
        answer="\n".join(lines),
        refused=True,
        citations=citations,
        evidence_score=evidence,
    )


def nearest_sources(chunks: list[RetrievedChunk]) -> list[int]:
    """Positions of the top chunks, one per (title, section), at most REFUSAL_SOURCES."""
    seen: set[tuple[str, str]] = set()
    picked: list[int] = []
    for pos, c in enumerate(chunks):
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
        if x.sentence.chunk == pos and traits(x.sentence).quality > 0:
            return x.sentence.start, x.sentence.end
    stripped = chunk.text.strip()
    start = chunk.text.find(stripped) if stripped else 0
    return start, start + len(stripped)


def source_label(c: Citation) -> str:
    """``Title — section, p. 4`` for the answer text, without markup a title may carry."""
    parts = [c.title or c.doc_id]
    if c.section:
        parts.append(c.section)
    label = strip_markup(" — ".join(parts))
    return f"{label}, p. {c.page}" if c.page is not None else label
