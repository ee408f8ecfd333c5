"""Human labels for the grounding verifier: do the cited passages support the sentence?

One JSON object per line of ``eval/datasets/verifier_labels.jsonl``:

    {"id": "v001", "sentence": "own words" | {"doc": ..., "start": ..., "end": ...},
     "edits": [["old", "new"], ...], "passages": [{"doc": ..., "start": ..., "end": ...}],
     "supported": false, "kind": "number_swap", "split": "calib"}

A sentence copied from a document (a real answer sentence) is stored as an anchor, like every
passage, so the repository never holds the documents' sentences. ``edits`` corrupt the resolved
sentence, in order, each replacing the first occurrence of ``old``; they are written in the
normalised form an anchor resolves to (lower case, punctuation dropped: "2026 27", "0 5%").

``load_verifier_labels(path, resolver)`` returns the resolved pairs, as the calibration reads
them. By default anchors resolve to normalised words (as ``EvidenceResolver`` gives them). With
``raw=True`` they resolve to the document's own text over the same words (case, punctuation,
"£1.5bn", "2026/27" kept), which is what the verifier sees in production; an edit is then applied
to the first run of the document's text that normalises to ``old``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field

from eval.dataset import (
    _TOKEN,
    Anchor,
    DatasetError,
    EvidenceResolver,
    find_anchor,
    normalise_words,
)
from eval.jsonl import Record, read_jsonl

LabelKind = Literal[
    "real",
    "paraphrase",
    "number_swap",
    "negation",
    "wrong_passage",
    "unsupported_addition",
    "entity_swap",
]
LabelSplit = Literal["calib", "test"]
MAX_PASSAGE_SPAN = 200  # words between an anchor's start and end, at most
MIN_PASSAGE_WORDS = 20
DEFAULT_PATH = Path(__file__).resolve().parent / "datasets" / "verifier_labels.jsonl"


class VerifierLabel(Record):
    """One line of the labels file, before its anchors are resolved."""

    sentence: str | Anchor
    edits: list[tuple[str, str]] = Field(default_factory=list)
    passages: list[Anchor] = Field(min_length=1, max_length=2)
    supported: bool
    kind: LabelKind
    split: LabelSplit


@dataclass(frozen=True)
class LabelledPair:
    """A resolved label: the sentence and passages as text, ready for ``Verifier.verify``."""

    id: str
    sentence: str
    passages: list[str]
    supported: bool
    kind: str
    split: str


def read_verifier_labels(path: Path) -> list[VerifierLabel]:
    """Parse and validate the file; the error names the line."""
    return read_jsonl(path, VerifierLabel)


def load_verifier_labels(
    path: Path, resolver: EvidenceResolver, raw: bool = False
) -> list[LabelledPair]:
    """Read the labels and resolve every anchor and edit (see the module docstring)."""
    return [resolve_label(label, resolver, raw=raw) for label in read_verifier_labels(path)]


def resolve_label(
    label: VerifierLabel, resolver: EvidenceResolver, raw: bool = False
) -> LabelledPair:
    try:
        passages = [_resolve(a, resolver, raw) for a in label.passages]
        short = [p for p in passages if len(normalise_words(p)) < MIN_PASSAGE_WORDS]
        if short:
            raise DatasetError(f"a passage has fewer than {MIN_PASSAGE_WORDS} words: {short[0]!r}")
        if isinstance(label.sentence, Anchor):
            sentence = _resolve(label.sentence, resolver, raw)
            anchored = True
        else:
            sentence, anchored = label.sentence, False
        for old, new in label.edits:
            sentence = _apply_edit(sentence, old, new, by_words=raw and anchored)
    except DatasetError as exc:
        raise DatasetError(f"label {label.id}: {exc}") from exc
    return LabelledPair(
        id=label.id,
        sentence=sentence,
        passages=passages,
        supported=label.supported,
        kind=label.kind,
        split=label.split,
    )


def apply_edits(text: str, edits: list[tuple[str, str]]) -> str:
    """Apply edits as the file defines them: in order, first occurrence, exact text."""
    for old, new in edits:
        text = _apply_edit(text, old, new, by_words=False)
    return text


def _apply_edit(text: str, old: str, new: str, by_words: bool) -> str:
    if not by_words:
        if old not in text:
            raise DatasetError(f"edit {old!r} -> {new!r}: {old!r} is not in {text!r}")
        return text.replace(old, new, 1)
    # Raw text: find the first run of words that normalises to ``old`` ("2026 27" ~ "2026/27").
    tokens = normalise_words(old)
    if not tokens:
        raise DatasetError(f"edit {old!r} has no words")
    pattern = re.compile(
        r"(?<![a-z0-9£$%])"
        + "".join(
            f"({re.escape(t)})" + (f"({_SEP})" if k < len(tokens) - 1 else "")
            for k, t in enumerate(tokens)
        )
        + r"(?![a-z0-9£$%])",
        re.IGNORECASE,
    )
    m = pattern.search(text)
    if m is None:
        raise DatasetError(f"edit {old!r} -> {new!r}: {old!r} is not in {text!r}")
    end = m.end()
    if m.group(0).count("(") > m.group(0).count(")") and text[end : end + 1] == ")":
        end += 1  # "Integrated Neighbourhoods (INs)": take the bracket with its word
    replacement = _restyle(new, tokens, m)
    if m.start() == 0 and text[:1].isupper():
        replacement = replacement[:1].upper() + replacement[1:]
    return text[: m.start()] + replacement + text[end:]


_SEP = r"[^a-z0-9£$%]+"


def _restyle(new: str, tokens: list[str], m: re.Match[str]) -> str:
    """Write ``new`` in the matched text's style when it swaps word for word ("2029/30")."""
    parts = new.split(" ")
    if len(parts) != len(tokens):
        return new
    raw_tokens = [m.group(2 * k + 1) for k in range(len(tokens))]
    seps = [m.group(2 * k + 2) for k in range(len(tokens) - 1)]
    out = []
    for part, token, raw in zip(parts, tokens, raw_tokens, strict=True):
        if part == token:
            out.append(raw)
        elif raw[:1].isupper() and raw[1:].islower():
            out.append(part[:1].upper() + part[1:])
        else:
            out.append(part)
    return "".join(w + (seps[k] if k < len(seps) else "") for k, w in enumerate(out))


def _resolve(anchor: Anchor, resolver: EvidenceResolver, raw: bool) -> str:
    if not raw:
        return resolver.quote_text(anchor, max_span=MAX_PASSAGE_SPAN)
    words = resolver.document_words(anchor.doc)
    span = find_anchor(
        words, normalise_words(anchor.start), normalise_words(anchor.end), MAX_PASSAGE_SPAN
    )
    if span is None:
        raise DatasetError(f"anchor not found in {anchor.doc}: {anchor.start!r} … {anchor.end!r}")
    text, offsets = _raw_document(resolver, anchor.doc)
    if offsets is None:  # the document's text does not map onto its words: fall back
        return " ".join(words[span[0] : span[1]])
    begin, end = offsets[span[0]][0], offsets[span[1] - 1][1]
    while end < len(text) and text[end] in _CLOSERS:  # keep the closing ".", ")" or quote
        end += 1
    return " ".join(text[begin:end].split())


_CLOSERS = frozenset(".,;:!?)]”’\"'")


def _raw_document(resolver: EvidenceResolver, doc: str) -> tuple[str, list[tuple[int, int]] | None]:
    path = next((d / doc for d in resolver.corpus_dirs if (d / doc).is_file()), None)
    if path is None:
        raise DatasetError(f"evidence names {doc!r}, which is not in {resolver.corpus_dirs}")
    return _raw_text(path, tuple(resolver.document_words(doc)))


@lru_cache(maxsize=32)
def _raw_text(path: Path, words: tuple[str, ...]) -> tuple[str, list[tuple[int, int]] | None]:
    """The document's repaired text and the character span of each normalised word."""
    from assistant.ingest.loaders import load_document
    from assistant.ingest.repair import repair_text

    doc = load_document(path, path.name, {})
    text = repair_text("\n".join(b.text for b in doc.blocks))
    folded = text.lower().replace("’", "'")
    if len(folded) != len(text):
        return text, None
    matches = list(_TOKEN.finditer(folded))
    if tuple(m.group(0) for m in matches) != words:
        return text, None
    return text, [m.span() for m in matches]
