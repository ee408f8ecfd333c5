"""What the extractive answerer knows about a question and about each candidate sentence.

A question gives its content terms and what it asks for (steps, a figure, a date). A chunk gives
its sentence units (every sentence and list item, plus a lead-in ending in a colon with the list
items after it), each with its content terms; a unit that shares a term with the question also
gets its traits (actionable, dated, quantified) and a quality factor, the product of penalties
for text that is rarely an answer (fragments, headings, table debris, references, ...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import lru_cache

from assistant.answer.display import display_text, without_urls
from assistant.answer.extractive.lexicon import (
    ACTOR,
    DATE,
    DEADLINE,
    FOOTNOTE,
    IMPERATIVE_VERBS,
    NON_LETTERS,
    OBLIGATION,
    QUANTITY,
    REFERENCE,
    ROSTER_ENTRY,
    VERB_WORDS,
    YEAR,
)
from assistant.answer.extractive.question import Question, content_terms
from assistant.answer.untrusted import is_instruction
from assistant.schemas import RetrievedChunk
from assistant.text import STOP_WORDS, words
from assistant.text.lexicon import word_set
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
REFERENCE_FACTOR = 0.2  # bibliography entries, footnotes and rosters of names
LONG_WORDS = 60  # PDF conversions glue columns into run-on "sentences"
LONG_FACTOR = 0.6
QUESTION_FACTOR = 0.3  # a question in the text (often a heading) is not an answer
LEAD_IN_FACTOR = 0.6  # "ICBs should:" without its list says little on its own
MID_START_FACTOR = 0.6  # starts in lower case: the chunk began mid-sentence
MID_START_MIN_WORDS = 8  # ... and shorter than this it is never quoted
TRUNCATED_FACTOR = 0.7  # the chunk's last sentence, cut off without a full stop
DANGLING_FACTOR = 0.15  # "This means ..." without the sentence it points back to
# "This cohort has been estimated at 7% ..." without it: the noun says what is meant, and the
# question usually names it too, so the sentence still reads.
NAMED_REFERENT_FACTOR = 0.6
SIGNPOST_FACTOR = 0.3  # "Learn more in case study 1: ..." points elsewhere, says nothing
MIN_LETTER_RATIO = 0.55  # below this share of letters among visible characters: table debris
MAX_NUMBER_TOKEN_RATIO = 0.4  # above this share of numeric tokens: table debris

# --- units and caches ---------------------------------------------------------------------------
LIST_UNIT_MAX_ITEMS = 8  # list items quoted with their lead-in at most
ITEM_MAX_WORDS = 70  # a bulleted item quoted with the sentences after it on its line, at most
LIST_UNIT_MAX_WORDS = 120  # a list's items stop before passing this (the first is always kept)
PARSED_CHUNK_CACHE = 2048  # chunks whose sentences are kept parsed between questions
SENTENCE_CACHE = 32768  # sentences whose traits are kept between questions


@dataclass(frozen=True)
class Sentence:
    """One candidate unit of an answer: a sentence, a sentence with the one before it that it
    refers back to, or a lead-in with its list. Where it is, and its content terms (computed
    for every unit)."""

    chunk: int  # position of its chunk in the retrieval ranking
    start: int
    end: int
    raw: str  # verbatim text, as quoted
    shown: str  # display text on one line (scored and compared)
    terms: frozenset[str]
    is_last: bool  # the chunk's last sentence (may be cut off by chunking)
    items: int  # list items merged into this unit after its lead-in ("ICBs must:"), else 0
    first: int = 0  # index of the unit's first sentence among the chunk's sentences
    last: int = 0  # ... and of its last
    dangling: bool = False  # opens by referring back ("This ...") to a sentence it lacks
    lead_in: bool = False  # announces a list ("... the following:") without its items
    display: str = ""  # as the answer shows it (a list as bullets); "" = shown
    # Terms of text quoted but not scored (the further sentences of a list's items): they count
    # for what the answer covers, not for choosing the unit.
    more_terms: frozenset[str] = frozenset()
    garbled: bool = False  # overlaps text read across two columns by the conversion
    row: bool = False  # a row of a table ("Elective spells | 7.4%"), shown with its caption

    @property
    def text(self) -> str:
        return self.display or self.shown

    @property
    def quoted_terms(self) -> frozenset[str]:
        """The content terms of everything the unit quotes."""
        return self.terms | self.more_terms if self.more_terms else self.terms


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
    enumerates: bool = False  # a lead-in with its items, or a list run into one sentence
    # Names something as set out elsewhere ("the three shifts set out in the Plan") without
    # saying what it is: for "what are ..." questions, a pointer rather than an answer.
    refers: bool = False


UNSCORED = Traits(False, False, 0.0, False, False, 0.0)


# --- sentence units -----------------------------------------------------------------------------


def sentences_of(index: int, chunk: RetrievedChunk) -> list[Sentence]:
    """The units of the chunk at ``index`` in the retrieval ranking. A unit overlapping text the
    conversion garbled (two columns interleaved: ``chunk.garbled_spans``) is marked, never to be
    quoted."""
    if chunk.kind == "table":
        return _table_rows(index, chunk.text)
    units = [Sentence(index, *parsed) for parsed in _parse_chunk(chunk.text)]
    if not chunk.garbled_spans:
        return units
    return [
        replace(u, garbled=True)
        if any(u.start < b and a < u.end for a, b in chunk.garbled_spans)
        else u
        for u in units
    ]


CELL_SEPARATOR = " | "  # how ingestion writes a table row's cells
ROW_QUALITY = 0.8  # a table row: a figure with its label, short and verbless by nature


def _row_quality(shown: str) -> float:
    return 0.0 if is_instruction(shown) else ROW_QUALITY


def _table_rows(index: int, text: str) -> list[Sentence]:
    """A table chunk's rows, one unit each, read with the table's caption (its first line
    without cells): "Table 1 – activity growth: Elective spells | 7.4%". The quote is the row."""
    lines = [(m.start(), m.end(), m.group()) for m in re.finditer(r"[^\n]+", text)]
    head = next((line.strip() for _, _, line in lines if CELL_SEPARATOR not in line), "")
    caption = display_text(head)[:160]
    units = []
    for start, end, line in lines:
        if CELL_SEPARATOR not in line or not any(ch.isdigit() for ch in line):
            continue  # a caption, or a header row of labels: read with the rows, not alone
        row = display_text(line)
        shown = f"{caption}: {row}" if caption else row
        units.append(
            Sentence(
                index,
                start + len(line) - len(line.lstrip()),
                end - (len(line) - len(line.rstrip())),
                line.strip(),
                shown,
                frozenset(content_terms(shown)),
                is_last=False,
                items=0,
                row=True,
            )
        )
    return units


_Parsed = tuple[
    int, int, str, str, frozenset[str], bool, int, int, int, bool, bool, str, frozenset[str]
]

# Opens by referring back to what came before: "This means ...", "They should ...", "Such
# plans ...". Not "This document/plan ..." (the document itself), not "It is essential that"
# or "There are" (nothing referred to).
_BACK_REFERENCE = re.compile(
    r"^(?:this|these|that|those|they|them|their|it|its|such|both|the latter|the former"
    r"|in (?:this|that|these) (?:way|case)|as a result|to (?:do )?this|in addition|also)\b",
    re.IGNORECASE,
)
_NOT_BACK_REFERENCE = re.compile(
    r"^(?:this|these) (?:document|plan|guidance|framework|paper|report|publication|section"
    r"|chapter|review|briefing|manual|letter|annex|appendix|strategy|year|programme)\b"
    r"|^it (?:is|was|will be|would be|remains|has been|may be) (?:\w+ ){0,3}?(?:to|that|for|whether)\b",
    re.IGNORECASE,
)
# Sends the reader elsewhere rather than saying anything: "Learn more in case study 1: ...",
# "Read more in ...", "Case study 6: ...", "See annex B", "Further guidance will follow".
SIGNPOST = re.compile(
    r"^(?:learn|read|find out) more\b|^(?:see|refer to)\b|^case study \d+\s*:"
    r"|^for more (?:information|detail)|^more (?:information|detail) (?:is|can be|will be)"
    r"|^further (?:guidance|details?|information) (?:will|is|are)"
    r"|^(?:further |more )?(?:details?|information|guidance) (?:on|about) .{0,80}"
    r"(?:can|will|may) be found\b",
    re.IGNORECASE,
)
# Announces a list: ends with a colon, or "the following" / "as follows".
_ANNOUNCES_LIST = re.compile(
    r"(?::|\bthe following(?: \w+){0,2}\.?|\bas follows\.?)[\s*_]*$", re.IGNORECASE
)
LINE_ITEM_MAX_WORDS = 20  # after a lead-in ending its line, a short whole line is an item
ANTECEDENT_MAX_WORDS = 60  # a sentence referred back to, quoted with its referrer, at most
ANTECEDENT_MAX_SENTENCES = 2  # how far back a chain of referring sentences is followed


def refers_back(shown: str) -> bool:
    """Whether a sentence opens by pointing at something said before it."""
    return bool(_BACK_REFERENCE.match(shown)) and not _NOT_BACK_REFERENCE.match(shown)


@lru_cache(maxsize=PARSED_CHUNK_CACHE)
def _parse_chunk(text: str) -> tuple[_Parsed, ...]:
    """Units of a chunk with their texts and terms; cached because popular chunks come back.

    Every sentence and list item is a unit. Besides, a sentence that refers back ("This
    means ...") forms one more unit with the sentence before it, and a lead-in ending in a colon
    forms one more with the list items after it, so either can be quoted whole. A referrer
    whose antecedent is not in the chunk is marked dangling; a lead-in without its items, a cut
    list.
    """
    spans = sentence_spans(text)
    shown = [display_text(text[a:b]) for a, b in spans]
    out: list[_Parsed] = []
    for i, (start, end) in enumerate(spans):
        raw = text[start:end]
        back = refers_back(shown[i]) and not is_list_item(raw)
        first = _antecedent(text, spans, shown, i) if back else None
        announces = bool(_ANNOUNCES_LIST.search(raw.rstrip()))
        items = _following_items(text, spans[i + 1 :]) if announces else []
        if items and not raw.rstrip().endswith(":"):
            # "... on the following topics." then its items on lines of their own
            items = items if _whole_line(text, start, end) else []
        out.append(
            _unit(
                text,
                spans,
                shown,
                i,
                i,
                is_last=i == len(spans) - 1,
                # Alone, a referring sentence lacks what it refers to and a lead-in its list,
                # even when the chunk holds them: the units below quote them together.
                dangling=back,
                lead_in=announces,
            )
        )
        if first is not None:
            out.append(_unit(text, spans, shown, first, i, is_last=i == len(spans) - 1))
        if items:
            # "This includes:" and its list need what "This" is, like any referring sentence.
            out.append(_list_unit(text, spans, shown, i, items, first, dangling=back))
    return tuple(out)


def _antecedent(text: str, spans: list[tuple[int, int]], shown: list[str], i: int) -> int | None:
    """Where the sentences a referring sentence ``i`` needs begin: the one before it, or the
    one before that when it refers back too ("It should ... This should ..."); None when the
    chain runs out of the chunk or into a heading or list."""
    first = i
    for _ in range(ANTECEDENT_MAX_SENTENCES):
        if first == 0 or not _can_precede(text, spans, shown, first):
            return None
        first -= 1
        if not refers_back(shown[first]):
            return first
    return None


def _can_precede(text: str, spans: list[tuple[int, int]], shown: list[str], i: int) -> bool:
    """Whether the sentence before ``i`` is prose it can refer back to (not a heading or list)."""
    a, b = spans[i - 1]
    prev = text[a:b]
    return (
        ends_with_terminal(prev.rstrip(" *_"))
        and not prev.rstrip(" *_").endswith(":")
        and not is_list_item(prev)
        and len(words(shown[i - 1])) <= ANTECEDENT_MAX_WORDS
    )


def _unit(
    text: str,
    spans: list[tuple[int, int]],
    shown: list[str],
    first: int,
    last: int,
    *,
    is_last: bool,
    dangling: bool = False,
    lead_in: bool = False,
) -> _Parsed:
    start, end = spans[first][0], spans[last][1]
    line = " ".join(shown[first : last + 1])
    # A sentence quoted with the one it refers back to matches on its own words: the
    # antecedent is there for the reader, not to win the unit a higher score.
    terms = frozenset(content_terms(shown[last]))
    return (
        start,
        end,
        text[start:end],
        line,
        terms,
        is_last,
        0,
        first,
        last,
        dangling,
        lead_in,
        run_in_list(line) if first == last else "",
        frozenset(),
    )


def run_in_list(line: str) -> str:
    """A list whose bullets the conversion dropped and whose items it ran into one line, shown
    as bullets: "... can achieve this by: engaging early ..., ensuring ... sharing data ...".
    Found only where the first item opens with a verb in -ing and each later item opens with
    one that follows a word ending an item (not "in", "by", "and", ...): "" otherwise.

    >>> print(run_in_list("Boards can do this by: agreeing aims with partners sharing data, "
    ...                   "and reviewing progress in meeting targets jointly publishing results"))
    Boards can do this by:
    - agreeing aims with partners
    - sharing data, and reviewing progress in meeting targets
    - jointly publishing results
    """
    lead, rest = _lead_in(line)
    if rest is None:
        return ""
    tokens = rest.split()
    if len(tokens) < 6 or not _GERUND.match(tokens[0]):
        return ""
    items: list[list[str]] = [[tokens[0]]]
    for i in range(1, len(tokens)):
        token, before = tokens[i], tokens[i - 1].lower().strip(",;")
        after = tokens[i + 1] if i + 1 < len(tokens) else ""
        ends_item = before not in STOP_WORDS and before not in _JOINING
        # An -ing word after a word that can end an item starts the next item ("in leading",
        # "and sharing" do not); so does an adverb before one ("jointly developing").
        starts = ends_item and (
            (_GERUND.match(token) is not None and not before.endswith("ly"))
            or (token.lower().endswith("ly") and _GERUND.match(after) is not None)
        )
        if starts and len(items[-1]) >= 2:
            items.append([token])
        else:
            items[-1].append(token)
    if len(items) < 3:
        return ""
    bullets = [" ".join(i).rstrip(" ,;.") for i in items]
    return "\n".join([f"{lead.strip()}:", *(f"- {b}" for b in bullets)])


# An item's opening verb: "engaging", "ensuring", "jointly developing" (the adverb is checked
# apart). Not "during", "including", "following", "according", "regarding": prepositions.
_GERUND = re.compile(
    r"^(?!(?:during|including|following|according|regarding|concerning|nothing|something"
    r"|anything|everything|morning|evening|funding|housing|training|planning|nursing"
    r"|building|meeting|setting|timing|thing|king|spring|bring|string|being)\b)"
    r"[a-z]{2,}ing$"
)
# Words after which an -ing word carries on the item ("working towards delivering ...").
_JOINING = word_set(
    "of to for in on by with from and or about towards toward into through via without at as "
    "than like upon onto while when whilst before after"
)


def _following_items(text: str, spans: list[tuple[int, int]]) -> list[tuple[int, int, int]]:
    """The list items right after a lead-in, as ``(start, end, end of the first sentence)``.
    Conversions often drop the bullets, so after a colon a unit starting in lower case
    ("**scaling up** to enable ...") counts as an item too."""
    items: list[tuple[int, int, int]] = []
    for start, end in spans:
        raw = text[start:end]
        if items and _item_goes_on(text, items[-1], start, end):
            # The item's next sentence ("reducing agency spend ... . As a minimum, a 30%
            # reduction ..."): the item goes on, and so does its quote.
            items[-1] = (items[-1][0], end, items[-1][2])
            continue
        if len(items) == LIST_UNIT_MAX_ITEMS or (
            items and _span_words(text, items[0][0], end) > LIST_UNIT_MAX_WORDS
        ):
            break
        # Bullets lost entirely: each item a short line of its own after the lead-in's line.
        # (Not after bulleted items: there the first line without a bullet ends the list.)
        own_line = (
            not any(is_list_item(text[a:b]) for a, b, _ in items)
            and _whole_line(text, start, end)
            and len(raw.split()) <= LINE_ITEM_MAX_WORDS
        )
        if not (is_list_item(raw) or display_text(raw)[:1].islower() or own_line):
            break
        items.append((start, end, end))
    while len(items) > 1 and _SUB_LEAD_IN.search(text[items[-1][0] : items[-1][1]]):
        items.pop()  # "Improve urgent care by:" ends the list here: its own items are not in it
    return items


# An item that announces items of its own ("... at the front door by:"), perhaps with a stray
# footnote after the colon: the last item of a list only when its sub-items were cut off.
# ("Workforce: more staff in the community" is a labelled item, not a lead-in.)
_SUB_LEAD_IN = re.compile(
    r"\b(?:by|to|will|must|should|includes?|including|following|are|as follows)\s*:"
    r"(?:\s+\S+){0,8}\s*$",
    re.IGNORECASE,
)


def _span_words(text: str, start: int, end: int) -> int:
    return len(text[start:end].split())


def _item_goes_on(text: str, item: tuple[int, int, int], start: int, end: int) -> bool:
    """Whether the sentence at ``start:end`` is more of the bulleted ``item`` before it: on the
    item's line, not a lead-in of its own (nor after one: "... by:" then a footnote), and
    short enough together."""
    raw, nxt = text[item[0] : item[1]], text[start:end]
    return (
        is_list_item(raw)
        and "\n" not in text[item[1] : start]
        and not raw.rstrip(" *_").endswith(":")
        and not _ANNOUNCES_LIST.search(nxt.rstrip())
        and _span_words(text, item[0], end) <= ITEM_MAX_WORDS
    )


def _whole_line(text: str, start: int, end: int) -> bool:
    """Whether text[start:end] stands alone on its line(s)."""
    before = text[:start].rstrip(" \t")
    after = text[end:].lstrip(" \t")
    return (not before or before.endswith("\n")) and (not after or after.startswith("\n"))


def _list_unit(
    text: str,
    spans: list[tuple[int, int]],
    shown: list[str],
    lead: int,
    items: list[tuple[int, int, int]],
    first: int | None = None,
    *,
    dangling: bool = False,
) -> _Parsed:
    """A lead-in and its list items: one line for scoring ("Lead-in: a; b; c."), bullets for
    the answer ("Lead-in:" then "- a", "- b", "- c"). A lead-in that refers back ("This
    includes:") opens with the sentences from ``first`` it refers to, or is ``dangling``.
    An item may go on for more sentences (``_following_items``): the answer quotes them, and
    they count for what the answer covers (``more_terms``), but only each item's first sentence
    chooses the unit, so a list does not outscore a sentence that answers the question just by
    being longer."""
    parts = [display_text(text[a:b]).rstrip(" ;,.") for a, b, _ in items]
    heads = [display_text(text[a:h]).rstrip(" ;,.") for a, _, h in items]
    last = next(k for k in range(lead + 1, len(spans)) if spans[k][1] == items[-1][1])
    lead_text = display_text(text[spans[lead][0] : spans[lead][1]])
    if first is not None:
        lead_text = " ".join([*shown[first:lead], lead_text])
        dangling = False
    line = f"{lead_text} {'; '.join(parts)}."
    bullets = "\n".join([lead_text, *(f"- {p}" for p in parts)])
    start, end = spans[lead if first is None else first][0], items[-1][1]
    terms = frozenset(content_terms(f"{lead_text} {'; '.join(heads)}."))
    more = frozenset(content_terms(line)) - terms
    return (
        start,
        end,
        text[start:end],
        line,
        terms,
        False,
        len(items),
        lead if first is None else first,
        last,
        dangling,
        False,
        bullets,
        more,
    )


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
        enumerates=bool(s.items) or _inline_list(s.shown) or _series(s.shown),
        refers=(q is None or q.wants_list) and bool(REFERS_ELSEWHERE.search(s.shown)),
        quality=(_row_quality(s.shown) if s.row else _quality(s.raw, s.shown, s.is_last, s.items))
        * (_dangling_factor(s.shown) if s.dangling else 1.0)
        * (0.0 if s.lead_in else 1.0),
    )


def _dangling_factor(shown: str) -> float:
    """How much a sentence lacking what it refers back to loses: all of it when a bare pronoun
    is its subject ("This means ...", "They must ..."), less when a noun names what is meant."""
    if _PRONOUN_SUBJECT.match(shown):
        return 0.0
    m = _NAMED_REFERENT.match(shown)
    if m and m.group(1).lower() not in VERB_WORDS and m.group(1).lower() not in STOP_WORDS:
        return NAMED_REFERENT_FACTOR
    return DANGLING_FACTOR


# "This means ...", "They should ...", "It will ...": a pronoun, then the verb.
_PRONOUN_SUBJECT = re.compile(
    r"^(?:this|these|that|those|they|them|their|it|its)\s+(?:\w+ly\s+)?(?:is|are|was|were"
    r"|will|would|can|could|should|must|may|might|has|have|had|means?|includes?|requires?"
    r"|gives?|makes?|allows?|helps?|shows?)\b",
    re.IGNORECASE,
)


# "This cohort ...", "These teams ...", "Such plans ...": a determiner, then a noun.
_NAMED_REFERENT = re.compile(r"^(?:this|these|that|those|such|both)\s+([a-z][a-z-]+)\b", re.I)


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
    # A year alone is not a quantity, nor a number that labels something ("Phase 2", "Table 3").
    return bool(QUANTITY.search(_LABEL_NUMBER.sub(" ", YEAR.sub(" ", shown))))


_LABEL_NUMBER = re.compile(
    r"\b(?:phase|table|figure|section|chapter|annex|appendix|step|stage|page|part|workstream"
    r"|recommendation|box|case study|pattern|version|wave|cohort)\s+\d+(?:\.\d+)*\b",
    re.IGNORECASE,
)


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
    roster = len(ROSTER_ENTRY.findall(shown)) >= 2
    if REFERENCE.search(shown) or FOOTNOTE.match(shown) or roster:
        factor *= REFERENCE_FACTOR
    if len(tokens) > LONG_WORDS and not items and not _inline_list(shown):
        factor *= LONG_FACTOR
    if not is_list_item(raw) and shown.lstrip("\"'‘“([")[:1].islower():
        # The tail of a sentence the chunk cut: a long one still says something, a short one
        # ("...neighbourhood in the country.") only ends what went before.
        factor *= MID_START_FACTOR if len(tokens) >= MID_START_MIN_WORDS else 0.0
    if SIGNPOST.search(shown):
        factor *= SIGNPOST_FACTOR
    return factor


def _inline_list(shown: str) -> bool:
    """A list run into one sentence after a lead-in ("ICBs can achieve this by: engaging early
    ..., sharing data ..., jointly developing ..."): long by nature, not run-on column text."""
    _, rest = _lead_in(shown)
    return rest is not None and rest.count(",") + rest.count(";") >= 2


# A series of three or more short items: "from hospital to community, analogue to digital, and
# sickness to prevention"; "CVD, serious mental illness and sepsis".
_SERIES_ITEM = 8  # words at most in an item of a series


def _series(shown: str) -> bool:
    """Whether the sentence runs a series of at least three short items ("A, B(,) and C")."""
    parts = [p.strip() for p in re.split(r"[,;]\s", shown)]
    for part in parts[1:]:
        # "CVD, serious mental illness and sepsis": one comma, then "B and C" in a few words
        before, conj, _ = re.sub(r"\s(?:or)\s", " and ", f" {part} ").partition(" and ")
        words = part.lower().rstrip(".").split()
        short = 0 < len(before.split()) <= 4 and len(words) <= _SERIES_ITEM
        if conj and short and not _has_verb(words):
            return True
    for k in range(1, len(parts) - 1):
        middle, last = parts[k], parts[k + 1]
        if not 0 < len(middle.split()) <= _SERIES_ITEM or " and " in f" {middle} ":
            continue
        head = " ".join(last.split()[: _SERIES_ITEM + 1])
        if re.match(r"(?:and|or)\s", last) or re.search(r"\s(?:and|or)\s", head):
            return True
    return False


REFERS_ELSEWHERE = re.compile(
    r"\b(?:set out|described|outlined|laid out|defined|listed|identified) (?:in|by|within)\b"
    r"|\bas set out\b",
    re.IGNORECASE,
)


def _lead_in(line: str) -> tuple[str, str | None]:
    """A line's lead-in (3 to 25 words before its first colon) and what follows it; None for
    the rest when the line has no such lead-in."""
    lead, colon, rest = line.partition(":")
    return (lead, rest) if colon and 3 <= len(lead.split()) <= 25 else (lead, None)


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
