"""Evaluation datasets: questions with gold evidence, and how a chunk is judged relevant.

One JSON object per line:

    {"id": "nh-01", "question": "...", "answerable": true,
     "evidence": ["a verbatim quote of 8-40 words", ...],
     "key_facts": ["short string"], "docs": ["file.md"], "kind": "how-to", "split": "dev"}

An evidence item is either a verbatim quote (a string), or an *anchor* that locates the quote
in a document without repeating it: ``{"doc": "file.md", "start": "first words", "end": "last
words"}``. The project's own datasets use anchors, so the repository never copies the
documents' sentences; the quotes are rebuilt from the documents when the evaluation runs.

A retrieved chunk is relevant when it covers at least half of one evidence quote's words in
order, after the same normalisation both sides (ingestion's text repairs, case, punctuation,
whitespace), so gold labels survive any change of chunking.
"""

from __future__ import annotations

import re
from datetime import date
from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from assistant.ingest.repair import repair_text
from eval.jsonl import DatasetError, Record, read_jsonl

# The labels the project's own datasets use; any other team's labels are as good (a kind is
# a free label, and metrics are reported per kind, whatever the labels).
KNOWN_KINDS = ("how-to", "factual", "numeric", "multi-doc", "unanswerable")
NO_KIND = "(no kind)"
MIN_QUOTE_WORDS = 8
MAX_QUOTE_WORDS = 40
MAX_ANCHOR_SPAN = 80  # words between an anchor's start and end, at most
RELEVANT_SHARE = 0.5

_TOKEN = re.compile(r"[a-z0-9£$%]+")


class Anchor(BaseModel):
    """Locates a quote in a document by its first and last words."""

    doc: str
    start: str
    end: str


class EvalItem(Record):
    """One question. Fields the project does not know (another team's ``notes``, ``author``,
    ``difficulty`` ...) are kept on the item (``model_extra``) and ignored."""

    model_config = ConfigDict(extra="allow")

    question: str
    answerable: bool
    evidence: list[str | Anchor] = Field(default_factory=list)
    key_facts: list[str] = Field(default_factory=list)
    docs: list[str] = Field(default_factory=list)
    kind: str | None = Field(None, max_length=60)
    split: str = "dev"


def normalise_words(text: str) -> list[str]:
    """Words compared for relevance: repaired, lower-cased, punctuation dropped."""
    return _TOKEN.findall(repair_text(text).lower().replace("’", "'"))


def load_dataset(path: Path) -> list[EvalItem]:
    """The dataset's questions, validated; an error names the line."""
    return read_jsonl(path, EvalItem, _needs_evidence)


def _needs_evidence(item: EvalItem) -> str | None:
    if item.answerable and not item.evidence:
        return "an answerable question needs evidence"
    return None


class EvidenceResolver:
    """Turns evidence items into quotes (word lists), reading anchored documents once each."""

    def __init__(self, corpus_dirs: list[Path]) -> None:
        self.corpus_dirs = corpus_dirs
        self._words: dict[str, list[str]] = {}

    def document_words(self, doc: str) -> list[str]:
        if doc not in self._words:
            path = next((d / doc for d in self.corpus_dirs if (d / doc).is_file()), None)
            if path is None:
                raise DatasetError(f"evidence names {doc!r}, which is not in {self.corpus_dirs}")
            self._words[doc] = _document_words(path)
        return self._words[doc]

    def quote_words(self, evidence: str | Anchor, max_span: int = MAX_ANCHOR_SPAN) -> list[str]:
        if isinstance(evidence, str):
            return normalise_words(evidence)
        words = self.document_words(evidence.doc)
        start, end = normalise_words(evidence.start), normalise_words(evidence.end)
        span = find_anchor(words, start, end, max_span)
        if span is None:
            raise DatasetError(
                f"anchor not found in {evidence.doc}: {evidence.start!r} … {evidence.end!r}"
            )
        return words[span[0] : span[1]]

    def quote_text(self, evidence: str | Anchor, max_span: int = MAX_ANCHOR_SPAN) -> str:
        return " ".join(self.quote_words(evidence, max_span))


@lru_cache(maxsize=64)
def _document_words(path: Path) -> list[str]:
    from assistant.ingest.loaders import load_document

    doc = load_document(path, path.name, {})
    return normalise_words("\n".join(b.text for b in doc.blocks))


def _find(words: list[str], seq: list[str], start: int = 0, stop: int | None = None) -> int:
    stop = len(words) if stop is None else min(stop, len(words))
    n = len(seq)
    for i in range(start, stop - n + 1):
        if words[i : i + n] == seq:
            return i
    return -1


def find_anchor(
    words: list[str], start: list[str], end: list[str], max_span: int = MAX_ANCHOR_SPAN
) -> tuple[int, int] | None:
    """The span [i, j) from the first occurrence of ``start`` to the ``end`` that follows it."""
    if not start or not end:
        return None
    i = _find(words, start)
    while i >= 0:
        j = _find(words, end, i, i + max_span + len(end))
        if j >= 0:
            return i, j + len(end)
        i = _find(words, start, i + 1)
    return None


def in_order_coverage(chunk_words: list[str], quote_words: list[str]) -> float:
    """Share of the quote's words that appear in the chunk in the same order (LCS / |quote|)."""
    if not quote_words:
        return 0.0
    vocab = set(chunk_words)
    if sum(w in vocab for w in quote_words) < RELEVANT_SHARE * len(quote_words):
        return 0.0  # cheap rejection before the quadratic LCS
    prev = [0] * (len(chunk_words) + 1)
    for q in quote_words:
        cur = [0] * (len(chunk_words) + 1)
        for j, c in enumerate(chunk_words, start=1):
            cur[j] = prev[j - 1] + 1 if q == c else max(prev[j], cur[j - 1])
        prev = cur
    return prev[-1] / len(quote_words)


def is_relevant(chunk_text: str, quotes: list[list[str]]) -> bool:
    words = normalise_words(chunk_text)
    return any(in_order_coverage(words, q) >= RELEVANT_SHARE for q in quotes)


def anchor_for(
    resolver: EvidenceResolver,
    doc: str,
    quote: str,
    n: int = 4,
    max_words: int = MAX_QUOTE_WORDS,
) -> Anchor:
    """The shortest anchor (at least ``n`` words each end) that finds exactly ``quote`` in doc.

    Used when writing a dataset: pick a quote while reading the document, store its anchor.
    """
    words = resolver.document_words(doc)
    target = normalise_words(quote)
    if not MIN_QUOTE_WORDS <= len(target) <= max_words:
        raise DatasetError(f"a quote must have {MIN_QUOTE_WORDS}-{max_words} words: {quote!r}")
    if _find(words, target) < 0:
        raise DatasetError(f"quote not found in {doc} after normalisation: {quote!r}")
    for k in range(n, len(target) + 1):
        start, end = target[:k], target[-k:]
        span = find_anchor(words, start, end, max(MAX_ANCHOR_SPAN, len(target)))
        if span is not None and words[span[0] : span[1]] == target:
            return Anchor(doc=doc, start=" ".join(start), end=" ".join(end))
    raise DatasetError(f"no unique anchor for {quote!r} in {doc}")


def asked_on(item: EvalItem) -> date | None:
    """The day a row's question is asked on (its ``as_of`` field), if it gives one."""
    raw = (item.model_extra or {}).get("as_of")
    return date.fromisoformat(str(raw)) if raw else None
