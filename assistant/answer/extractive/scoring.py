"""Scoring and choosing the sentences, and the evidence score that decides whether to answer.

Everything here is lexical and runs in a few milliseconds for the six chunks retrieval hands
over; no embedding calls are made.

Sentence score (higher is better)::

    score = relevance * boost * rank_factor * quality

    relevance   = lex + CONTEXT_WEIGHT * ctx
    lex         = IDF-weighted share of the question's content terms found in the sentence
    ctx         = the same share found in the chunk's title and section headings
    boost       = 1 + ACTION_WEIGHT * action     (how-to questions; action in [0, 1])
                    + NUMBER_WEIGHT * has_quantity (how many / how much / what percentage)
                    + NUMBER_WEIGHT * has_date   (when / by when / deadline)
                    + LIST_WEIGHT * enumerates   (what are the three shifts / which components)
                  (x REFERS_FACTOR for a sentence only pointing to where the list is set out)
    rank_factor = 1 / (1 + RANK_DECAY * position of the chunk in the retrieval ranking)
    quality     = product of penalty factors (fragment, heading, table debris, reference, ...)

IDF is computed over the sentences of the retrieved chunks themselves,
``idf(t) = ln((1 + N) / (1 + df(t))) + 1``: a word every candidate sentence shares (the topic
that made retrieval pick them) weighs least, and a question word absent from all of them weighs
most. Only sentences sharing at least one content term with the question can be selected, and
only those scoring at least ``RELATIVE_CUTOFF`` of the best one, so short answers stay short.

Selection keeps the answer on one point: the best unit is the *anchor*; units of its document
scoring near it join it within ``TARGET_WORDS`` (stretched to ``MAX_WORDS`` only for a unit
adding ``LARGE_GAIN`` of the question's IDF weight); a unit of another document joins only when
it adds ``OTHER_DOCUMENT_GAIN``, or, when the question compares, the best unit of a second
document. Units never overlap.

Evidence score, in [0, 1], decides between answering and refusing::

    evidence = DENSE_SHARE * dense + (1 - DENSE_SHARE) * coverage
    dense    = clip((max dense_score of the chunks - DENSE_FLOOR) / (DENSE_CEIL - DENSE_FLOOR))
    coverage = BEST_SENTENCE_SHARE * best + (1 - BEST_SENTENCE_SHARE) * union
    best     = the highest lex among the selected sentences (one sentence answering it all)
    union    = IDF-weighted share of the question's terms found anywhere in the selected sentences

With no dense scores at all (BM25-only retrieval) the evidence is the coverage alone. The best
single sentence dominates because a question that merely shares words with the corpus picks up
those words from different sentences (a high union) but rarely finds them together, and its
distinctive words, missing from every retrieved sentence, carry the most IDF weight. MiniLM cosine
separates the two less well (off-topic NHS questions still reach 0.5-0.6), hence its small share.
On a trial over the real corpus (25 answerable and 22 unanswerable questions, rough hybrid
retrieval) answerable ones scored 0.54-1.0 (median 0.73) and unanswerable ones 0.12-0.53 (median
0.30). ``AnswerSettings.min_evidence`` is the threshold to calibrate on the labelled set.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from assistant.answer.extractive.features import (
    UNSCORED,
    Question,
    Sentence,
    Traits,
    content_terms,
    traits,
)
from assistant.answer.extractive.question import mentions
from assistant.schemas import RetrievedChunk
from assistant.text.glossary import normalise_years

# --- sentence score weights ---------------------------------------------------------------------
CONTEXT_WEIGHT = 0.2  # title/section overlap: a tie-breaker between equally matching sentences
RANK_DECAY = 0.1  # the 6th chunk's sentences weigh 1/1.5 of the 1st chunk's
ACTION_WEIGHT = 0.6  # how-to questions: a fully actionable sentence scores x1.6
NUMBER_WEIGHT = 0.5  # quantity/date questions: a sentence with the figure scores x1.5
LIST_WEIGHT = 0.5  # "What are the three shifts?": a list (or a sentence listing) scores x1.5
# "What are the three shifts?": "... delivering the three shifts set out in the Plan" points to the
# answer without giving it, so it scores x0.5
REFERS_FACTOR = 0.5
YEAR_WEIGHT = 0.5  # a question naming a year or figure: a sentence naming it too scores x1.5
OTHER_YEAR_FACTOR = 0.5  # ... and one naming only other years scores x0.5
YEARS = re.compile(r"\b(?:19|20)\d\d\b")
RELATIVE_CUTOFF = 0.5  # keep sentences scoring at least half the best one
# --- selection ----------------------------------------------------------------------------------
TARGET_WORDS = 120  # an answer stops growing here ...
MAX_WORDS = 240  # ... unless a unit adds much; never beyond this
LARGE_GAIN = 0.2  # a gain (IDF share of the question) that may stretch it past TARGET_WORDS
OTHER_DOCUMENT_GAIN = 0.2  # a unit from another document must add this much
MIN_GAIN = 0.05  # a unit adding less of the question than this ...
SAME_POINT_SCORE = 0.9  # ... joins only when it scores this close to the anchor (not how-to)
MAX_STEPS = 6  # how-to answers: steps at most
MAX_UNITS = 4  # other answers: units at most

MIN_UNREADABLE_LEX = 0.5  # a garbled unit pointed to must hold half the question's weight

# --- near-duplicates ----------------------------------------------------------------------------
DUPLICATE_OVERLAP = 0.85  # |A & B| / min(|A|, |B|) of content terms at or above this: the same
DUPLICATE_MIN_TERMS = 3  # smaller term sets only count as duplicates when equal

# --- evidence -----------------------------------------------------------------------------------
DENSE_FLOOR = 0.3  # MiniLM cosine at or below this: no semantic support at all
DENSE_CEIL = 0.7  # at or above this: full semantic support
DENSE_SHARE = 0.2  # weight of the dense part in the evidence score
BEST_SENTENCE_SHARE = 0.75  # weight of the best single sentence's coverage within coverage


@dataclass(frozen=True)
class Scored:
    sentence: Sentence
    traits: Traits
    lex: float
    score: float
    # What a garbled unit would score if its text could be read (its ``score`` is 0): how well
    # the passage the conversion spoiled matches the question.
    unreadable_score: float = 0.0
    # The question's share in everything the unit quotes (``lex`` reads only what chooses it:
    # a list's items' first sentences); 0 when the two are the same.
    quoted_lex: float = 0.0

    @property
    def covers(self) -> float:
        """How much of the question the quoted text holds: what the evidence is judged on."""
        return max(self.lex, self.quoted_lex)


# --- IDF ----------------------------------------------------------------------------------------


def idf(q_terms: Sequence[str], sentences: Sequence[Sentence]) -> dict[str, float]:
    """Smoothed IDF of each question term over the candidate sentences (only the question's
    terms are ever weighed, so only they are counted)."""
    n = len(sentences)
    return {
        t: math.log((1 + n) / (1 + sum(1 for s in sentences if t in s.terms))) + 1 for t in q_terms
    }


def covered(idf: dict[str, float], found: frozenset[str]) -> float:
    """IDF-weighted share of the question terms (the keys of ``idf``) present in ``found``."""
    total = sum(idf.values())
    if total == 0:
        return 0.0
    return sum(w for t, w in idf.items() if t in found) / total


# --- scoring and selection ----------------------------------------------------------------------


def score_all(
    q: Question,
    sentences: list[Sentence],
    chunks: list[RetrievedChunk],
    idf: dict[str, float],
) -> list[Scored]:
    contexts = [covered(idf, frozenset(content_terms(f"{c.title} {c.section}"))) for c in chunks]
    wanted = [w for w in q.distinctive if any(ch.isdigit() for ch in w)]
    scored = []
    for s in sentences:
        lex = covered(idf, s.terms)
        if lex == 0:
            # Never selected, so skip the costlier traits.
            scored.append(Scored(s, UNSCORED, 0.0, 0.0))
            continue
        found = traits(s, q)
        relevance = lex + CONTEXT_WEIGHT * contexts[s.chunk]
        boost = 1.0
        if q.how_to:
            boost += ACTION_WEIGHT * found.action
        if q.wants_quantity:
            boost += NUMBER_WEIGHT * found.has_quantity
        if q.wants_date:
            boost += NUMBER_WEIGHT * found.has_date
        refers = 1.0
        if q.wants_list:
            boost += LIST_WEIGHT * found.enumerates
            if found.refers and not found.enumerates:
                refers = REFERS_FACTOR
        other_year = 1.0
        if wanted:
            # "The target for 2026/27": a unit naming that year beats one naming another.
            text = normalise_years(s.shown).lower()
            named = sum(mentions(w, text) for w in wanted)
            boost += YEAR_WEIGHT * named / len(wanted)
            if not named and YEARS.search(text):
                other_year = OTHER_YEAR_FACTOR
        rank_factor = 1.0 / (1.0 + RANK_DECAY * s.chunk) * other_year * refers
        score = relevance * boost * rank_factor * found.quality
        quoted = covered(idf, s.quoted_terms) if s.more_terms else 0.0
        if s.garbled:
            scored.append(Scored(s, found, lex, 0.0, unreadable_score=score, quoted_lex=quoted))
        else:
            scored.append(Scored(s, found, lex, score, quoted_lex=quoted))
    return scored


def best_unreadable(scored: list[Scored], selected: list[Scored]) -> Scored | None:
    """The garbled unit that would have matched the question better than every unit chosen
    (or matched at all, when none was), so the answer can point to it; None otherwise."""
    top = selected[0].score if selected else 0.0
    garbled = [x for x in scored if x.unreadable_score > top and x.lex >= MIN_UNREADABLE_LEX]
    if not garbled:
        return None
    return max(garbled, key=lambda x: (x.unreadable_score, -x.sentence.chunk, -x.sentence.start))


def candidates(scored: list[Scored], limit: int) -> list[Scored]:
    """The best units near the top score, without near-duplicates or overlaps: what the evidence
    is judged on (the answer then quotes a focused few of them, :func:`select`)."""
    usable = [x for x in scored if x.score > 0]
    usable.sort(key=lambda x: (-x.score, x.sentence.chunk, x.sentence.start))
    if not usable:
        return []
    cutoff = RELATIVE_CUTOFF * usable[0].score
    chosen: list[Scored] = []
    for x in usable:
        if x.score < cutoff or len(chosen) >= limit:
            break
        if not any(near_duplicate(x.sentence, y.sentence) or _overlaps(x, y) for y in chosen):
            chosen.append(x)
    return chosen


def select(
    scored: list[Scored],
    idf: dict[str, float],
    q: Question,
    chunks: list[RetrievedChunk],
    limit: int,
) -> list[Scored]:
    """The units of one focused answer (see the module docstring)."""
    usable = [x for x in scored if x.score > 0]
    # Ties broken by retrieval rank then position, so the answer is deterministic.
    usable.sort(key=lambda x: (-x.score, x.sentence.chunk, x.sentence.start))
    if not usable:
        return []
    anchor = _with_its_list(usable[0], scored)
    home = chunks[anchor.sentence.chunk].doc_id
    cutoff = RELATIVE_CUTOFF * anchor.score
    chosen = [anchor]
    found = set(anchor.sentence.quoted_terms)
    length = _words(anchor)
    max_units = MAX_STEPS if q.how_to else min(MAX_UNITS, limit)
    if q.comparison:
        _add_second_document(usable, chosen, found, chunks, home, cutoff)
        length = sum(_words(x) for x in chosen)
    for x in usable[1:]:
        if x.score < cutoff or len(chosen) >= max_units:
            break
        if any(_overlaps(x, y) or near_duplicate(x.sentence, y.sentence) for y in chosen):
            continue
        gain = covered(idf, frozenset(found | x.sentence.quoted_terms)) - covered(
            idf, frozenset(found)
        )
        if chunks[x.sentence.chunk].doc_id != home and gain < OTHER_DOCUMENT_GAIN:
            continue  # another document only for what the anchor's does not say
        if x.sentence.row and gain < MIN_GAIN:
            continue  # another row of a table that says nothing more about the question
        if (
            not q.how_to
            and gain < MIN_GAIN
            and x.score < SAME_POINT_SCORE * anchor.score
            and x.sentence.chunk != anchor.sentence.chunk
        ):
            # Another passage that says nothing about the question that the answer does not
            # say already (the anchor's own passage goes on with the point: its figures, what
            # the measure leaves out).
            continue
        size = _words(x)
        if length + size > MAX_WORDS or (length + size > TARGET_WORDS and gain < LARGE_GAIN):
            continue
        chosen.append(x)
        found |= x.sentence.quoted_terms
        length += size
    return chosen


def _with_its_list(x: Scored, scored: list[Scored]) -> Scored:
    """The unit itself, or the unit that goes on from it into a list ("Trusts should cut
    follow-ups. This includes: - ... - ..."), when that list fits in an answer."""
    s = x.sentence
    for y in scored:
        t = y.sentence
        if (
            t.items
            and t.chunk == s.chunk
            and t.start == s.start
            and t.end > s.end
            and not t.garbled
            and y.traits.quality > 0
            and _words(y) <= TARGET_WORDS
        ):
            return replace(y, score=max(y.score, x.score))
    return x


def _add_second_document(
    usable: list[Scored],
    chosen: list[Scored],
    found: set[str],
    chunks: list[RetrievedChunk],
    home: str,
    cutoff: float,
) -> None:
    """A comparison: the best unit of the best other document joins the anchor."""
    for x in usable[1:]:
        if x.score < cutoff * 0.6:
            return
        if chunks[x.sentence.chunk].doc_id != home and not any(
            near_duplicate(x.sentence, y.sentence) for y in chosen
        ):
            chosen.append(x)
            found |= x.sentence.quoted_terms
            return


def _overlaps(a: Scored, b: Scored) -> bool:
    """Two units of one chunk sharing any text (a sentence and its list, or its antecedent)."""
    sa, sb = a.sentence, b.sentence
    return sa.chunk == sb.chunk and sa.start < sb.end and sb.start < sa.end


def _words(x: Scored) -> int:
    return len(x.sentence.shown.split())


def near_duplicate(a: Sentence, b: Sentence) -> bool:
    """The same sentence from the PDF and the Markdown copy of a paper, or a cut-off copy."""
    if a.shown.lower() == b.shown.lower():
        return True
    small = min(len(a.terms), len(b.terms))
    if small < DUPLICATE_MIN_TERMS:
        return bool(a.terms) and a.terms == b.terms
    if _figures(a.terms) != _figures(b.terms):
        # "By 2030 there will be a shortfall of 17,750" after a sentence on the 2030 supply
        # shares most words with it, but states another figure.
        return False
    return len(a.terms & b.terms) / small >= DUPLICATE_OVERLAP


def _figures(terms: frozenset[str]) -> frozenset[str]:
    return frozenset(t for t in terms if any(ch.isdigit() for ch in t))


# --- evidence -----------------------------------------------------------------------------------


def evidence_score(
    idf: dict[str, float],
    selected: list[Scored],
    chunks: list[RetrievedChunk],
) -> float:
    """How well the selected sentences and the retrieved chunks support an answer, in [0, 1]."""
    # What the answer quotes counts, the further sentences of list items too.
    best = max((x.covers for x in selected), default=0.0)
    union = covered(idf, frozenset().union(*(x.sentence.quoted_terms for x in selected)))
    coverage = BEST_SENTENCE_SHARE * best + (1 - BEST_SENTENCE_SHARE) * union
    dense_scores = [c.dense_score for c in chunks if c.dense_score is not None]
    if not dense_scores:
        return round(coverage, 4)
    dense = (max(dense_scores) - DENSE_FLOOR) / (DENSE_CEIL - DENSE_FLOOR)
    dense = min(1.0, max(0.0, dense))
    return round(DENSE_SHARE * dense + (1 - DENSE_SHARE) * coverage, 4)
