"""What the extractive answerer knows about a question and about each candidate sentence.

A question gives its content terms and what it asks for (steps, a figure, a date). A chunk gives
its sentence units (every sentence and list item, plus a lead-in ending in a colon with the list
items after it), each with its content terms; a unit that shares a term with the question also
gets its traits (actionable, dated, quantified) and a quality factor, the product of penalties
for text that is rarely an answer (fragments, headings, table debris, references, ...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from assistant.answer.display import display_text, without_urls
from assistant.answer.extractive.lexicon import (
    ACTOR,
    DATE,
    DATE_QUESTION,
    DEADLINE,
    EQUIVALENT_PHRASES,
    FOOTNOTE,
    HOW_TO,
    IMPERATIVE_VERBS,
    NON_LETTERS,
    NUMBER_WORDS,
    OBLIGATION,
    PHRASE,
    QUANTITY,
    QUANTITY_QUESTION,
    QUESTION_STOP_WORDS,
    REFERENCE,
    VERB_WORDS,
    YEAR,
)
from assistant.answer.untrusted import is_instruction
from assistant.schemas import RetrievedChunk
from assistant.text import STOP_WORDS, stem, words
from assistant.text.sentences import (
    HEADING_MAX_WORDS,
    ends_with_terminal,
    is_list_item,
    sentence_spans,
)

# --- action strength (sum capped at 1) ----------------------------------------------------------
# Parts of the action strength: an obligation or instruction, who must act, when.
ACTION_OBLIGATION = 0.6
ACTION_ACTOR = 0.2
ACTION_DEADLINE = 0.2

# --- quality factors (multiplied) ---------------------------------------------------------------
MIN_WORDS = 3  # fewer words than this: never selected
SHORT_WORDS = 6  # fewer words than this: a fragment unless it has a verb
FRAGMENT_FACTOR = 0.3  # short and verbless ("Primary care networks")
SHORT_FACTOR = 0.85  # short but a real clause ("Boards must act now.")
NO_VERB_FACTOR = 0.6  # long but verbless: usually a list of nouns or a caption
HEADING_FACTOR = 0.3  # a short unpunctuated line that is not a list item
TABLE_FACTOR = 0.2  # cells, figures and pipes rather than prose
REFERENCE_FACTOR = 0.2  # bibliography entries and footnotes
LONG_WORDS = 60  # PDF conversions glue columns into run-on "sentences"
LONG_FACTOR = 0.6
QUESTION_FACTOR = 0.3  # a question in the text (often a heading) is not an answer
LEAD_IN_FACTOR = 0.6  # "ICBs should:" without its list says little on its own
MID_START_FACTOR = 0.6  # starts in lower case: the chunk began mid-sentence
TRUNCATED_FACTOR = 0.7  # the chunk's last sentence, cut off without a full stop
MIN_LETTER_RATIO = 0.55  # below this share of letters among visible characters: table debris
MAX_NUMBER_TOKEN_RATIO = 0.4  # above this share of numeric tokens: table debris

# --- units and caches ---------------------------------------------------------------------------
LIST_UNIT_MAX_ITEMS = 8  # list items quoted with their lead-in at most
PARSED_CHUNK_CACHE = 2048  # chunks whose sentences are kept parsed between questions
SENTENCE_CACHE = 32768  # sentences whose traits are kept between questions


@dataclass(frozen=True)
class Question:
    terms: tuple[str, ...]
    how_to: bool
    wants_quantity: bool
    wants_date: bool


@dataclass(frozen=True)
class Sentence:
    """One candidate sentence: where it is and its content terms (computed for every sentence)."""

    chunk: int  # position of its chunk in the retrieval ranking
    start: int
    end: int
    raw: str  # verbatim text, as quoted
    shown: str  # display text
    terms: frozenset[str]
    is_last: bool  # the chunk's last sentence (may be cut off by chunking)
    items: int  # list items merged into this unit after its lead-in ("ICBs must:"), else 0


@dataclass(frozen=True)
class Traits:
    """What scoring needs beyond the terms; only computed for sentences sharing a question term,
    which keeps the answer step to a few milliseconds."""

    is_item: bool
    actionable: bool  # states an obligation or starts with an instruction
    action: float  # action strength in [0, 1]
    has_quantity: bool
    has_date: bool
    quality: float  # product of the penalty factors; 0 means never selectable


UNSCORED = Traits(False, False, 0.0, False, False, 0.0)


# --- terms --------------------------------------------------------------------------------------


def content_terms(text: str) -> list[str]:
    """Stemmed content words of ``text``, with multi-word names folded into their acronyms."""
    low = PHRASE.sub(_acronym_of, text.lower())
    out = []
    for word in words(low):
        w = NUMBER_WORDS.get(word, word)
        if w in STOP_WORDS or w in QUESTION_STOP_WORDS or (len(w) < 2 and not w.isdigit()):
            continue
        out.append(stem(w))
    return out


def _acronym_of(m: re.Match[str]) -> str:
    return f" {EQUIVALENT_PHRASES[(m.lastindex or 1) - 1][1]} "


# --- the question -------------------------------------------------------------------------------


def analyse_question(question: str) -> Question:
    terms = tuple(dict.fromkeys(content_terms(question)))  # unique, in order
    return Question(
        terms=terms,
        how_to=bool(HOW_TO.search(question)),
        wants_quantity=bool(QUANTITY_QUESTION.search(question)),
        wants_date=bool(DATE_QUESTION.search(question)),
    )


# --- sentence units -----------------------------------------------------------------------------


def sentences_of(index: int, chunk: RetrievedChunk) -> list[Sentence]:
    """The sentence units of the chunk at ``index`` in the retrieval ranking."""
    return [Sentence(index, *parsed) for parsed in _parse_chunk(chunk.text)]


_Parsed = tuple[int, int, str, str, frozenset[str], bool, int]


@lru_cache(maxsize=PARSED_CHUNK_CACHE)
def _parse_chunk(text: str) -> tuple[_Parsed, ...]:
    """Sentence units of a chunk with their texts and terms; cached because popular chunks come
    back. Besides every sentence and list item, a lead-in ending in a colon plus the list items
    after it form one more unit, so "The plan has three shifts:" can be quoted with its list."""
    spans = sentence_spans(text)
    out = [
        _unit(text, start, end, is_last=i == len(spans) - 1) for i, (start, end) in enumerate(spans)
    ]
    for i, (start, end) in enumerate(spans):
        if text[start:end].rstrip(" *_").endswith(":"):
            items = _following_items(text, spans[i + 1 :])
            if items:
                out.append(_list_unit(text, (start, end), items))
    return tuple(out)


def _unit(text: str, start: int, end: int, *, is_last: bool) -> _Parsed:
    shown = display_text(text[start:end])
    return (start, end, text[start:end], shown, frozenset(content_terms(shown)), is_last, 0)


def _following_items(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """The list items right after a lead-in. Conversions often drop the bullets, so after a colon
    a unit starting in lower case ("**scaling up** to enable ...") counts as an item too."""
    items = []
    for start, end in spans[:LIST_UNIT_MAX_ITEMS]:
        raw = text[start:end]
        if not (is_list_item(raw) or display_text(raw)[:1].islower()):
            break
        items.append((start, end))
    return items


def _list_unit(text: str, lead: tuple[int, int], items: list[tuple[int, int]]) -> _Parsed:
    """A lead-in and its list items, shown as one sentence: "Lead-in: a; b; c." """
    parts = [display_text(text[a:b]).rstrip(" ;,.") for a, b in items]
    shown = f"{display_text(text[lead[0] : lead[1]])} {'; '.join(parts)}."
    start, end = lead[0], items[-1][1]
    return (start, end, text[start:end], shown, frozenset(content_terms(shown)), False, len(items))


# --- traits -------------------------------------------------------------------------------------


def traits(s: Sentence, q: Question | None = None) -> Traits:
    """Traits of a sentence; the question-specific ones only when the question asks for them
    (all of them when ``q`` is None). Each is cached by text, as sentences recur across questions."""
    how_to = q is None or q.how_to
    return Traits(
        is_item=is_list_item(s.raw),
        actionable=how_to and _is_actionable(s.shown),
        action=_action_strength(s.shown) if how_to else 0.0,
        has_quantity=(q is None or q.wants_quantity) and _has_quantity(s.shown),
        has_date=(q is None or q.wants_date) and _has_date(s.shown),
        quality=_quality(s.raw, s.shown, s.is_last, s.items),
    )


@lru_cache(maxsize=SENTENCE_CACHE)
def _is_actionable(shown: str) -> bool:
    """States an obligation ("ICBs must ...") or starts with an instruction ("Agree a ...")."""
    first = words(shown[:40])[:1]
    return bool(first and first[0] in IMPERATIVE_VERBS) or bool(OBLIGATION.search(shown))


@lru_cache(maxsize=SENTENCE_CACHE)
def _action_strength(shown: str) -> float:
    return min(
        1.0,
        ACTION_OBLIGATION * _is_actionable(shown)
        + ACTION_ACTOR * bool(ACTOR.search(shown))
        + ACTION_DEADLINE * bool(DEADLINE.search(shown)),
    )


@lru_cache(maxsize=SENTENCE_CACHE)
def _has_quantity(shown: str) -> bool:
    return bool(QUANTITY.search(YEAR.sub(" ", shown)))  # a year alone is not a quantity


@lru_cache(maxsize=SENTENCE_CACHE)
def _has_date(shown: str) -> bool:
    return bool(DATE.search(shown))


# --- quality ------------------------------------------------------------------------------------


@lru_cache(maxsize=SENTENCE_CACHE)
def _quality(raw: str, shown: str, is_last: bool, items: int) -> float:
    """Product of penalty factors; 0 for text that is never an answer (links, scraps, and
    instructions planted for a model: they are quoted to no one)."""
    tokens = words(shown)
    if len(tokens) < MIN_WORDS or len(words(without_urls(shown))) < MIN_WORDS:
        return 0.0
    if is_instruction(shown):
        return 0.0
    return (
        _form_factor(tokens)
        * _shape_factor(raw, tokens, is_last=is_last, items=items)
        * _noise_factor(raw, shown, tokens, items=items)
    )


def _form_factor(tokens: list[str]) -> float:
    """Short verbless scraps and verbless lists of nouns are rarely answers."""
    verb = _has_verb(tokens)
    if len(tokens) < SHORT_WORDS:
        return SHORT_FACTOR if verb else FRAGMENT_FACTOR
    return 1.0 if verb else NO_VERB_FACTOR


def _shape_factor(raw: str, tokens: list[str], *, is_last: bool, items: int) -> float:
    """Headings, cut-off endings, questions and dangling lead-ins."""
    if items:
        return 1.0  # a lead-in with its list: complete by construction
    item = is_list_item(raw)
    text = raw.rstrip(" *_")
    terminal = ends_with_terminal(text)
    if (not item and not terminal and len(tokens) <= HEADING_MAX_WORDS) or text.startswith("#"):
        return HEADING_FACTOR
    if is_last and not item and not terminal:
        return TRUNCATED_FACTOR
    if text.endswith("?"):
        return QUESTION_FACTOR
    if text.endswith(":"):
        return LEAD_IN_FACTOR
    return 1.0


def _noise_factor(raw: str, shown: str, tokens: list[str], *, items: int) -> float:
    """Table cells, references and footnotes, run-on column text, chunks starting mid-sentence."""
    factor = 1.0
    if _is_table_debris(shown, tokens):
        factor *= TABLE_FACTOR
    if REFERENCE.search(shown) or FOOTNOTE.match(shown):
        factor *= REFERENCE_FACTOR
    if len(tokens) > LONG_WORDS and not items:
        factor *= LONG_FACTOR
    if not is_list_item(raw) and shown[:1].islower():
        factor *= MID_START_FACTOR
    return factor


def _has_verb(tokens: list[str]) -> bool:
    return any(
        t in VERB_WORDS or t in IMPERATIVE_VERBS or (len(t) > 4 and t.endswith(("ed", "ing")))
        for t in tokens
    )


def _is_table_debris(shown: str, tokens: list[str]) -> bool:
    visible = len(shown) - shown.count(" ")  # display text has single spaces only
    letters = len(NON_LETTERS.sub("", shown))
    numeric = sum(1 for t in tokens if not t[:1].isalpha())
    return (
        shown.count("|") >= 2
        or letters < MIN_LETTER_RATIO * visible
        or numeric > MAX_NUMBER_TOKEN_RATIO * len(tokens)
    )
