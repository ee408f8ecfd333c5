"""Does a set of cited passages support a sentence? The project's own grounding verifier.

No NLI model or LLM judge runs here, so the verdict combines four checks that catch the ways
an answer drifts from its sources:

1. **Quantities.** Every number, date, duration, percentage and amount of money in the sentence
   must appear in the passages, after normalisation ("two weeks" = "14 days",
   "£1.5bn" = "£1.5 billion", "50 per cent" = "50%").
2. **Coverage.** Most of the sentence's content words (stemmed) must occur in the passages.
3. **Similarity.** With an embedder, the sentence must be close to its best passage sentence.
4. **Negation.** A sentence that negates what its best passage sentence affirms (or the
   reverse) is not supported.
5. **Actors.** Organisations and roles the sentence names (ICBs, trusts, NHS England…) must
   be named in its best passage sentence: swapping who must act changes the meaning.

``GroundingVerifier`` is one implementation of the ``Verifier`` protocol; an NLI model can
replace it where one is available. Thresholds are calibrated on
``eval/datasets/verifier_labels.jsonl`` (see ``nhs-assistant eval calibrate``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from assistant.embeddings.base import Embedder
from assistant.text import STOP_WORDS, stem, words
from assistant.text.lexicon import ACTOR_FORMS, COUNTING_WORDS
from assistant.text.sentences import sentence_spans

# Calibrated defaults (eval/datasets/verifier_labels.jsonl, held-out half).
MIN_COVERAGE = 0.4
MIN_SIMILARITY = 0.55
SUPPORT_SCORE = 0.5

NEGATIONS = frozenset(
    {
        "not",
        "no",
        "never",
        "none",
        "nor",
        "without",
        "cannot",
        "can't",
        "won't",
        "isn't",
        "aren't",
        "doesn't",
        "don't",
        "didn't",
        "shouldn't",
        "mustn't",
        "neither",
        "unable",
    }
)

# Who does what: swapping the actor ("ICBs must…" for "trusts must…") changes the meaning while
# keeping every other word, so actors named in a sentence must be named where it is supported.
ACTORS = ACTOR_FORMS

_NUMBER_WORDS: dict[str, float] = {
    **{word: n for n, word in enumerate(COUNTING_WORDS)},
    **{"thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80},
    **{"ninety": 90, "hundred": 100, "half": 0.5, "dozen": 12},
}
_SCALE = {
    "k": 1e3,
    "thousand": 1e3,
    "m": 1e6,
    "mn": 1e6,
    "million": 1e6,
    "bn": 1e9,
    "b": 1e9,
    "billion": 1e9,
    "tn": 1e12,
    "trillion": 1e12,
}
_DAYS = {"day": 1, "days": 1, "week": 7, "weeks": 7, "fortnight": 14, "fortnights": 14}
_MONTHS = {"month": 1, "months": 1, "year": 12, "years": 12}

_NUM = r"(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?"
_WORDNUM = "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True))
_QUANTITY = re.compile(
    rf"(?P<cur>[£$€])?\s?(?P<num>{_NUM}|\b(?:{_WORDNUM})\b)"
    rf"(?:\s?(?P<scale>bn|mn|m|k|thousand|million|billion|trillion|tn)\b)?"
    rf"(?:\s?(?P<pct>%|per\s?cent|percent))?"
    rf"(?:\s(?P<unit>days?|weeks?|fortnights?|months?|years?))?",
    re.IGNORECASE,
)
_FISCAL = re.compile(r"\b(20\d\d)/(\d\d)\b")


@dataclass(frozen=True)
class Quantity:
    kind: str  # "money", "pct", "days", "months", "num"
    value: float


@dataclass
class Verdict:
    supported: bool
    score: float
    coverage: float
    similarity: float | None
    missing_quantities: list[str] = field(default_factory=list)
    negation_mismatch: bool = False
    best_sentence: str = ""
    missing_actors: list[str] = field(default_factory=list)


class Verifier(Protocol):
    def verify(self, sentence: str, passages: list[str]) -> Verdict: ...


def _to_float(raw: str) -> float:
    raw = raw.lower()
    if raw in _NUMBER_WORDS:
        return float(_NUMBER_WORDS[raw])
    return float(raw.replace(",", ""))


# Names that contain a number but state no quantity ("the 10 Year Health Plan").
_NAMED_NUMBERS = re.compile(r"\b(?:10|ten)[ -]year (?:health )?plan\b", re.IGNORECASE)


def quantities(text: str) -> list[tuple[str, Quantity]]:
    """Numbers in ``text`` with their kind, normalised so equal amounts compare equal."""
    text = _NAMED_NUMBERS.sub("plan", text)
    found: list[tuple[str, Quantity]] = []
    for m in _FISCAL.finditer(text):  # "2026/27" is a financial year, kept whole
        found.append((m.group(0), Quantity("fy", float(m.group(1)))))
    spans = [m.span() for m in _FISCAL.finditer(text)]
    for m in _QUANTITY.finditer(text):
        if any(a <= m.start("num") < b for a, b in spans):
            continue
        num = _to_float(m.group("num"))
        scale = _SCALE.get((m.group("scale") or "").lower(), 1.0)
        unit = (m.group("unit") or "").lower()
        if m.group("cur"):
            q = Quantity("money", num * scale)
        elif m.group("pct"):
            q = Quantity("pct", num)
        elif unit in _DAYS:
            q = Quantity("days", num * _DAYS[unit])
        elif unit in _MONTHS:
            q = Quantity("months", num * _MONTHS[unit])
        else:
            if m.group("num").lower() in ("one", "half") and not m.group("scale"):
                continue  # "one of the", "half of": too common as plain words to check
            q = Quantity("num", num * scale)
        found.append((m.group(0).strip(), q))
    return found


def _quantity_supported(q: Quantity, pool: set[Quantity]) -> bool:
    if q in pool:
        return True
    if q.kind == "num":  # a bare number may be written with a unit in the source
        return any(abs(p.value - q.value) < 1e-9 for p in pool)
    if q.kind == "days" and q.value % 7 == 0:  # "2 weeks" written as a plain "14"
        return any(p.kind == "days" and p.value == q.value for p in pool)
    return False


def actors(text: str) -> set[str]:
    """The organisations and roles a text names (normalised keys of ``ACTORS``)."""
    low = f" {' '.join(words(text))} "
    return {key for key, forms in ACTORS.items() if any(f" {f} " in low for f in forms)}


def content_terms(text: str) -> set[str]:
    return {stem(w) for w in words(text) if w not in STOP_WORDS and not w.isdigit() and len(w) > 1}


def _negated(text: str) -> bool:
    return any(w in NEGATIONS for w in words(text.replace("n't", " not")))


# A bullet opening a line: ingestion marks every list item with one (``indexed_text``).
_BULLET = re.compile(r"^[ \t]*[•▪◦●][ \t]+")
_FINISHED = re.compile(r"[.!?][\"'”’)\]]*\s*$")


def _sentences(passage: str) -> list[str]:
    """The passage's sentences, as claims are checked against them. A list reads as its
    lead-in and items run together ("ICBs and providers must: fully implement ... reduce ..."):
    a claim names who must act, from the lead-in, and may sum up two items. An item after a
    finished sentence starts a sentence of its own."""
    lines: list[str] = []
    for line in passage.split("\n"):
        item = _BULLET.sub("", line, count=1)
        if item != line and lines and _FINISHED.search(lines[-1]):
            lines.append("")  # a blank line: the splitter ends the sentence before the item
        lines.append(item)
    text = "\n".join(lines)
    return [text[a:b] for a, b in sentence_spans(text, lists=False)] or [passage]


class GroundingVerifier:
    """The default verifier: quantities, coverage, optional similarity, negation.

    >>> v = GroundingVerifier()
    >>> v.verify("Plans are due in 14 days.", ["Each plan is due within two weeks."]).supported
    True
    """

    def __init__(
        self,
        embedder: Embedder | None = None,
        min_coverage: float = MIN_COVERAGE,
        min_similarity: float = MIN_SIMILARITY,
    ) -> None:
        self.embedder = embedder
        self.min_coverage = min_coverage
        self.min_similarity = min_similarity

    def verify(self, sentence: str, passages: list[str]) -> Verdict:
        text = " ".join(passages)
        sent_terms = content_terms(sentence)
        pool = {q for _, q in quantities(text)}
        missing = [raw for raw, q in quantities(sentence) if not _quantity_supported(q, pool)]

        passage_terms = content_terms(text)
        coverage = len(sent_terms & passage_terms) / len(sent_terms) if sent_terms else 0.0

        candidates = [s for p in passages for s in _sentences(p)]
        best, best_overlap = "", -1.0
        for cand in candidates:
            overlap = len(sent_terms & content_terms(cand)) / (len(sent_terms) or 1)
            if overlap > best_overlap:
                best, best_overlap = cand, overlap

        similarity = None
        if self.embedder is not None and candidates:
            vecs = self.embedder.embed_documents([sentence, *candidates])
            sims = vecs[1:] @ vecs[0]
            i = int(np.argmax(sims))
            similarity = float(sims[i])
            if best_overlap < 0.5:
                best = candidates[i]
        negation = bool(best) and _negated(sentence) != _negated(best)
        missing_actors = sorted(actors(sentence) - actors(best)) if best else []

        score = coverage
        if similarity is not None:
            score = 0.5 * coverage + 0.5 * max(0.0, similarity)
        supported = (
            not missing
            and not negation
            and not missing_actors
            and coverage >= self.min_coverage
            and (similarity is None or similarity >= self.min_similarity)
        )
        if missing or negation or missing_actors:
            score = min(score, 0.25)
        return Verdict(
            supported, score, coverage, similarity, missing, negation, best, missing_actors
        )
