"""The default answerer: picks cited sentences from the retrieved chunks, with no LLM.

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
    rank_factor = 1 / (1 + RANK_DECAY * position of the chunk in the retrieval ranking)
    quality     = product of penalty factors (fragment, heading, table debris, reference, ...)

IDF is computed over the sentences of the retrieved chunks themselves,
``idf(t) = ln((1 + N) / (1 + df(t))) + 1``: a word every candidate sentence shares (the topic
that made retrieval pick them) weighs least, and a question word absent from all of them weighs
most. Only sentences sharing at least one content term with the question can be selected, and
only those scoring at least ``RELATIVE_CUTOFF`` of the best one, so short answers stay short.

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
import time
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from assistant.answer.base import stream_whole
from assistant.answer.citations import cite, merge_spans
from assistant.answer.display import display_text, without_urls
from assistant.answer.untrusted import is_instruction, strip_markup
from assistant.config import AnswerSettings
from assistant.embeddings.base import Embedder
from assistant.schemas import (
    Answer,
    AnswerSentence,
    ChatMessage,
    Citation,
    DeltaEvent,
    FinalEvent,
    RetrievedChunk,
)
from assistant.text import STOP_WORDS, clean_question, stem, words
from assistant.text.sentences import HEADING_MAX_WORDS, ends_with_terminal, is_list_item
from assistant.text.sentences import sentence_spans as split_sentences


def _word_set(text: str) -> frozenset[str]:
    """A word list written as one string, for readability."""
    return frozenset(text.split())


# --- sentence score weights ---------------------------------------------------------------------
CONTEXT_WEIGHT = 0.2  # title/section overlap: a tie-breaker between equally matching sentences
RANK_DECAY = 0.1  # the 6th chunk's sentences weigh 1/1.5 of the 1st chunk's
ACTION_WEIGHT = 0.6  # how-to questions: a fully actionable sentence scores x1.6
NUMBER_WEIGHT = 0.5  # quantity/date questions: a sentence with the figure scores x1.5
RELATIVE_CUTOFF = 0.5  # keep sentences scoring at least half the best one
# Parts of the action strength (sum capped at 1): an obligation or instruction, who must act, when.
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

# --- near-duplicates ----------------------------------------------------------------------------
DUPLICATE_OVERLAP = 0.85  # |A & B| / min(|A|, |B|) of content terms at or above this: the same
DUPLICATE_MIN_TERMS = 3  # smaller term sets only count as duplicates when equal

# --- evidence -----------------------------------------------------------------------------------
DENSE_FLOOR = 0.3  # MiniLM cosine at or below this: no semantic support at all
DENSE_CEIL = 0.7  # at or above this: full semantic support
DENSE_SHARE = 0.2  # weight of the dense part in the evidence score
BEST_SENTENCE_SHARE = 0.75  # weight of the best single sentence's coverage within coverage
REFUSAL_SOURCES = 3  # nearest sources listed when refusing
CONCLUSIVE_EVIDENCE = 0.75  # at or above this the sentence-similarity check is skipped
SIMILARITY_SENTENCES = 5  # chosen sentences compared with the question
SENTENCE_VECTOR_CACHE = 8192  # sentence vectors kept between questions (about 12 MB)
LIST_UNIT_MAX_ITEMS = 8  # list items quoted with their lead-in at most
PARSED_CHUNK_CACHE = 2048  # chunks whose sentences are kept parsed between questions
SENTENCE_CACHE = 32768  # sentences whose traits are kept between questions

# --- word lists ---------------------------------------------------------------------------------
# Question words that carry no topic on top of the shared stop words ("what do we need to do").
QUESTION_STOP_WORDS = _word_set(
    """
    need needs needed do does done say says said many much describe described explain explained
    mention mentioned tell according document documents guidance
    please know want anything something thing things way ways kind
    """
)
# Number words read as digits, so "three shifts" matches "3 shifts" ("one" stays a stop word).
_COUNTING = (
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
    "fifteen sixteen seventeen eighteen nineteen twenty"
)
NUMBER_WORDS = {w: str(i) for i, w in enumerate(_COUNTING.split()) if i > 1}
# Multi-word names mapped to the acronym the corpus also uses, so both spellings match.
EQUIVALENT_PHRASES: tuple[tuple[str, str], ...] = (
    (r"integrated care boards?", "icb"),
    (r"integrated care systems?", "ics"),
    (r"primary care networks?", "pcn"),
    (r"urgent and emergency care", "uec"),
    (r"accident (?:and|&) emergency|a&e", "ae"),
    (r"general practi(?:ce|ces|tioners?)", "gp"),
    (r"artificial intelligence", "ai"),
    (r"electronic (?:patient|health) records?", "ehr"),
    (r"voluntary,? community,? (?:faith )?(?:and )?social enterprise", "vcse"),
)
# Who acts: a sentence naming one of these is a more useful answer to "how do we ...".
ACTORS = (
    r"icbs?|integrated care boards?|trusts?|providers?|boards?|pcns?|primary care networks?"
    r"|practices|systems|local authorit(?:y|ies)|commissioners?|nhs england|regions?"
    r"|regional teams?|organisations?|organizations?|leaders|partners|neighbourhood teams?"
)
OBLIGATIONS = (
    r"must|should|shall|will need to|needs? to|(?:is|are|will be) (?:expected|required|asked) to"
    r"|expected to|required to|requirement|have to|has to|ought to|is essential"
)
IMPERATIVE_VERBS = _word_set(
    """
    adopt agree align appoint assess build collaborate commission complete confirm consider
    continue coordinate co-ordinate create deliver design develop embed engage ensure establish
    expand focus identify implement improve increase integrate invest maintain make map meet
    monitor move plan prioritise prioritize produce provide publish put reduce release report
    review set share shift start stop strengthen submit support take test track undertake update
    use work bring begin
    """
)
# Tokens that make a clause a clause; with -ed/-ing words and the imperatives above.
VERB_WORDS = _word_set(
    """
    is are was were be been being am has have had do does did will would can could should must
    may might shall need needs sets set provides provide includes include requires require aims
    aim helps help means mean shows show delivers deliver makes make gives give takes take
    remains remain becomes become allows allow enables enable supports support expects expect
    continues continue seeks seek describes describe outlines outline
    """
)
MONTHS = (
    r"january|february|march|april|may|june|july|august|september|october|november|december"
    r"|jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec"
)

# One alternation, one group per phrase: group k (1-based) is EQUIVALENT_PHRASES[k - 1].
_PHRASE = re.compile("|".join(rf"\b({p})\b" for p, _ in EQUIVALENT_PHRASES))
_NON_LETTERS = re.compile(r"[^A-Za-z]+")
_ACTOR = re.compile(rf"\b(?:{ACTORS})\b", re.IGNORECASE)
_OBLIGATION = re.compile(rf"\b(?:{OBLIGATIONS})\b", re.IGNORECASE)
_DEADLINE = re.compile(
    rf"\bby (?:the )?(?:(?:end|start|beginning) of )?(?:\d{{1,2}} )?(?:{MONTHS}|q[1-4]|20\d\d"
    rf"|spring|summer|autumn|winter|year[- ]end)\b|\bq[1-4]\b|\b20\d\d/\d\d\b|\bdeadline\b"
    rf"|\bno later than\b|\bwithin \d+ (?:days|weeks|months|years)\b",
    re.IGNORECASE,
)
# Month names count as dates, except "may", which is far more often the verb.
_DATE = re.compile(
    rf"{_DEADLINE.pattern}|\b(?:{MONTHS.replace('may|', '')})\b|\bmay 20\d\d\b|\b(?:19|20)\d\d\b",
    re.IGNORECASE,
)
_YEAR = re.compile(r"\b(?:19|20)\d\d(?:/\d\d)?\b")
_QUANTITY = re.compile(
    r"\d|%|£|\bper ?cent\b|\b(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve"
    r"|fifteen|twenty|thirty|forty|fifty|hundred|thousand|million|billion|half|third|quarter"
    r"|double|triple|twice)\b",
    re.IGNORECASE,
)
_REFERENCE = re.compile(
    r"\bet al\b|\bdoi\b|\bibid\b|\bavailable (?:at|from)\b|\baccessed\b|\bretrieved from\b|\bisbn\b",
    re.IGNORECASE,
)
# A footnote or reference entry: "12 Institute of Health Studies, Title, March 2024".
_FOOTNOTE = re.compile(
    rf"^\d{{1,3}}\s+[A-Z].*,\s*(?:\d{{1,2}}\s+)?(?i:{MONTHS})\s+(?:19|20)\d\d$|\b(?i:viewed on)\b"
)
_SUBJECT = rf"(?:i|we|you|our \w+|my \w+|the \w+|{ACTORS})"
_HOW_TO = re.compile(
    rf"\bhow (?:do|can|could|should|must|shall) {_SUBJECT}\b|\bhow (?:should|must|to)\b"
    r"|\bhow will (?:i|we|you|our \w+)\b"
    rf"|\bwhat (?:must|should|will|can) {_SUBJECT}\b"
    rf"|\bwhat (?:do|does|have|has) {_SUBJECT} (?:need|have|got) to\b"
    r"|\bwhat (?:is|are) (?:\w+ ){1,3}(?:expected|required|asked) to\b"
    r"|\bwhat (?:is|are) (?:expected|required) of\b"
    r"|\bwhat (?:steps|actions)\b|\bwhat (?:are|is) the (?:steps|actions|requirements|expectations)"
    r"|\b(?:steps|actions) (?:should|must|to)\b",
    re.IGNORECASE,
)
_QUANTITY_QUESTION = re.compile(
    r"\bhow (?:many|much|long|often|big|large|far|quickly|fast)\b"
    r"|\bwhat (?:percentage|proportion|share|number|amount|level|rate|target|size|value|figure"
    r"|sum|budget|cost)s?\b|\bper ?cent(?:age)?\b|\btargets?\b",
    re.IGNORECASE,
)
_DATE_QUESTION = re.compile(
    r"\bwhen\b|\bwhat (?:date|year|deadline|timescale|timeline)s?\b|\bdeadlines?\b"
    r"|\btimescales?\b|\bhow soon\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class _Question:
    terms: tuple[str, ...]
    how_to: bool
    wants_quantity: bool
    wants_date: bool


@dataclass(frozen=True)
class _Sentence:
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
class _Traits:
    """What scoring needs beyond the terms; only computed for sentences sharing a question term,
    which keeps the answer step to a few milliseconds."""

    is_item: bool
    actionable: bool  # states an obligation or starts with an instruction
    action: float  # action strength in [0, 1]
    has_quantity: bool
    has_date: bool
    quality: float  # product of the penalty factors; 0 means never selectable


_UNSCORED = _Traits(False, False, 0.0, False, False, 0.0)


@dataclass(frozen=True)
class _Scored:
    sentence: _Sentence
    traits: _Traits
    lex: float
    score: float


class ExtractiveAnswerer:
    """Answers from retrieved chunks by quoting their best sentences, each with its citation.

    With an embedder, a second check guards against confident-looking answers to questions the
    corpus does not cover: when the lexical evidence is not already conclusive, the question is
    compared with the chosen sentences themselves, and the answer is refused when none of them
    says what was asked (``AnswerSettings.min_sentence_similarity``).
    """

    mode = "extractive"

    def __init__(self, settings: AnswerSettings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        self.embedder = embedder
        # The same corpus sentences come back for many questions: embed each once.
        self._vectors: OrderedDict[str, np.ndarray] = OrderedDict()

    def _sentence_vectors(self, texts: list[str]) -> np.ndarray:
        assert self.embedder is not None
        missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        if missing:
            for text, vector in zip(missing, self.embedder.embed_documents(missing), strict=True):
                self._vectors[text] = vector
            while len(self._vectors) > SENTENCE_VECTOR_CACHE:
                self._vectors.popitem(last=False)
        for t in texts:
            self._vectors.move_to_end(t)
        return np.vstack([self._vectors[t] for t in texts])

    def _sentence_similarity(self, question: str, selected: list[_Scored]) -> float:
        """Highest cosine similarity between the question and the chosen sentences."""
        assert self.embedder is not None
        texts = [x.sentence.shown for x in sorted(selected, key=lambda x: -x.score)][
            :SIMILARITY_SENTENCES
        ]
        vectors = self._sentence_vectors(texts)
        return float((vectors @ self.embedder.embed_query(question)).max())

    def _weak(
        self,
        question: str,
        selected: list[_Scored],
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
        return self._sentence_similarity(question, selected) < self.settings.min_sentence_similarity

    def answer(
        self,
        question: str,
        chunks: list[RetrievedChunk],
        timings_ms: dict[str, float] | None = None,
    ) -> Answer:
        started = time.perf_counter()
        question = validate_question(question, self.settings)
        q = _analyse_question(question)
        sentences = [s for i, c in enumerate(chunks) for s in _sentences_of(i, c)]
        idf = _idf(q.terms, sentences)
        scored = _score_all(q, sentences, chunks, idf)
        selected = _select(scored, self.settings.max_sentences)
        evidence = _evidence_score(idf, selected, chunks)
        selected_at = time.perf_counter()
        weak = self._weak(question, selected, evidence, chunks)
        verified_at = time.perf_counter()
        if weak:
            answer = _refusal(question, chunks, scored, evidence)
        else:
            answer = _compose(question, chunks, selected, q.how_to, evidence)
        answer.retrieved = list(chunks)
        elapsed_ms = (time.perf_counter() - started) * 1000
        answer.timings_ms = {
            **(timings_ms or {}),
            "answer": round(elapsed_ms, 3),
            "select": round((selected_at - started) * 1000, 3),
            "verify": round((verified_at - selected_at) * 1000, 3),
        }
        return answer

    def stream(
        self,
        question: str,
        chunks: list[RetrievedChunk],
        history: list[ChatMessage] | None = None,
        timings_ms: dict[str, float] | None = None,
    ) -> Iterator[DeltaEvent | FinalEvent]:
        """The answer sentence by sentence, then the whole answer (``history`` is not read)."""
        yield from stream_whole(self.answer(question, chunks, timings_ms))


def validate_question(question: str, settings: AnswerSettings) -> str:
    """The question without surrounding white space; raises when it is empty or too long."""
    return clean_question(question, settings.max_question_chars)


# --- terms and IDF ------------------------------------------------------------------------------


def content_terms(text: str) -> list[str]:
    """Stemmed content words of ``text``, with multi-word names folded into their acronyms."""
    low = _PHRASE.sub(_acronym_of, text.lower())
    out = []
    for word in words(low):
        w = NUMBER_WORDS.get(word, word)
        if w in STOP_WORDS or w in QUESTION_STOP_WORDS or (len(w) < 2 and not w.isdigit()):
            continue
        out.append(stem(w))
    return out


def _acronym_of(m: re.Match[str]) -> str:
    return f" {EQUIVALENT_PHRASES[(m.lastindex or 1) - 1][1]} "


def _idf(q_terms: Sequence[str], sentences: Sequence[_Sentence]) -> dict[str, float]:
    """Smoothed IDF of each question term over the candidate sentences (only the question's
    terms are ever weighed, so only they are counted)."""
    n = len(sentences)
    return {
        t: math.log((1 + n) / (1 + sum(1 for s in sentences if t in s.terms))) + 1 for t in q_terms
    }


def _covered(idf: dict[str, float], found: frozenset[str]) -> float:
    """IDF-weighted share of the question terms (the keys of ``idf``) present in ``found``."""
    total = sum(idf.values())
    if total == 0:
        return 0.0
    return sum(w for t, w in idf.items() if t in found) / total


# --- question and sentence features -------------------------------------------------------------


def _analyse_question(question: str) -> _Question:
    terms = tuple(dict.fromkeys(content_terms(question)))  # unique, in order
    return _Question(
        terms=terms,
        how_to=bool(_HOW_TO.search(question)),
        wants_quantity=bool(_QUANTITY_QUESTION.search(question)),
        wants_date=bool(_DATE_QUESTION.search(question)),
    )


def _sentences_of(index: int, chunk: RetrievedChunk) -> list[_Sentence]:
    return [_Sentence(index, *parsed) for parsed in _parse_chunk(chunk.text)]


_Parsed = tuple[int, int, str, str, frozenset[str], bool, int]


@lru_cache(maxsize=PARSED_CHUNK_CACHE)
def _parse_chunk(text: str) -> tuple[_Parsed, ...]:
    """Sentence units of a chunk with their texts and terms; cached because popular chunks come
    back. Besides every sentence and list item, a lead-in ending in a colon plus the list items
    after it form one more unit, so "The plan has three shifts:" can be quoted with its list."""
    spans = split_sentences(text)
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


def _traits(s: _Sentence, q: _Question | None = None) -> _Traits:
    """Traits of a sentence; the question-specific ones only when the question asks for them
    (all of them when ``q`` is None). Each is cached by text, as sentences recur across questions."""
    how_to = q is None or q.how_to
    return _Traits(
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
    return bool(first and first[0] in IMPERATIVE_VERBS) or bool(_OBLIGATION.search(shown))


@lru_cache(maxsize=SENTENCE_CACHE)
def _action_strength(shown: str) -> float:
    return min(
        1.0,
        ACTION_OBLIGATION * _is_actionable(shown)
        + ACTION_ACTOR * bool(_ACTOR.search(shown))
        + ACTION_DEADLINE * bool(_DEADLINE.search(shown)),
    )


@lru_cache(maxsize=SENTENCE_CACHE)
def _has_quantity(shown: str) -> bool:
    return bool(_QUANTITY.search(_YEAR.sub(" ", shown)))  # a year alone is not a quantity


@lru_cache(maxsize=SENTENCE_CACHE)
def _has_date(shown: str) -> bool:
    return bool(_DATE.search(shown))


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
    if _REFERENCE.search(shown) or _FOOTNOTE.match(shown):
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
    letters = len(_NON_LETTERS.sub("", shown))
    numeric = sum(1 for t in tokens if not t[:1].isalpha())
    return (
        shown.count("|") >= 2
        or letters < MIN_LETTER_RATIO * visible
        or numeric > MAX_NUMBER_TOKEN_RATIO * len(tokens)
    )


# --- scoring and selection ----------------------------------------------------------------------


def _score_all(
    q: _Question,
    sentences: list[_Sentence],
    chunks: list[RetrievedChunk],
    idf: dict[str, float],
) -> list[_Scored]:
    contexts = [_covered(idf, frozenset(content_terms(f"{c.title} {c.section}"))) for c in chunks]
    scored = []
    for s in sentences:
        lex = _covered(idf, s.terms)
        if lex == 0:
            # Never selected, so skip the costlier traits.
            scored.append(_Scored(s, _UNSCORED, 0.0, 0.0))
            continue
        traits = _traits(s, q)
        relevance = lex + CONTEXT_WEIGHT * contexts[s.chunk]
        boost = 1.0
        if q.how_to:
            boost += ACTION_WEIGHT * traits.action
        if q.wants_quantity:
            boost += NUMBER_WEIGHT * traits.has_quantity
        if q.wants_date:
            boost += NUMBER_WEIGHT * traits.has_date
        rank_factor = 1.0 / (1.0 + RANK_DECAY * s.chunk)
        scored.append(_Scored(s, traits, lex, relevance * boost * rank_factor * traits.quality))
    return scored


def _select(scored: list[_Scored], limit: int) -> list[_Scored]:
    """The best sentences: some question overlap, near the top score, no near-duplicates."""
    usable = [x for x in scored if x.score > 0]
    # Ties broken by retrieval rank then position, so the answer is deterministic.
    usable.sort(key=lambda x: (-x.score, x.sentence.chunk, x.sentence.start))
    if not usable:
        return []
    cutoff = RELATIVE_CUTOFF * usable[0].score
    chosen: list[_Scored] = []
    for x in usable:
        if x.score < cutoff or len(chosen) >= limit:
            break
        if not any(_near_duplicate(x.sentence, y.sentence) for y in chosen):
            chosen.append(x)
    return chosen


def _near_duplicate(a: _Sentence, b: _Sentence) -> bool:
    """The same sentence from the PDF and the Markdown copy of a paper, or a cut-off copy."""
    if a.shown.lower() == b.shown.lower():
        return True
    small = min(len(a.terms), len(b.terms))
    if small < DUPLICATE_MIN_TERMS:
        return bool(a.terms) and a.terms == b.terms
    return len(a.terms & b.terms) / small >= DUPLICATE_OVERLAP


def _evidence_score(
    idf: dict[str, float],
    selected: list[_Scored],
    chunks: list[RetrievedChunk],
) -> float:
    """How well the selected sentences and the retrieved chunks support an answer, in [0, 1]."""
    best = max((x.lex for x in selected), default=0.0)
    union = _covered(idf, frozenset().union(*(x.sentence.terms for x in selected)))
    coverage = BEST_SENTENCE_SHARE * best + (1 - BEST_SENTENCE_SHARE) * union
    dense_scores = [c.dense_score for c in chunks if c.dense_score is not None]
    if not dense_scores:
        return round(coverage, 4)
    dense = (max(dense_scores) - DENSE_FLOOR) / (DENSE_CEIL - DENSE_FLOOR)
    dense = min(1.0, max(0.0, dense))
    return round(DENSE_SHARE * dense + (1 - DENSE_SHARE) * coverage, 4)


# --- composing the answer -----------------------------------------------------------------------


def _reading_order(selected: list[_Scored], how_to: bool) -> list[_Scored]:
    """Grouped by chunk in rank order, document order inside a chunk; for a how-to answer the
    actionable sentences come first so the steps lead and background follows."""
    ordered = sorted(selected, key=lambda x: (x.sentence.chunk, x.sentence.start))
    if how_to:
        ordered.sort(key=lambda x: not x.traits.actionable)  # stable: keeps the order in a group
    return ordered


def _presentable(x: _Scored) -> str:
    shown = x.sentence.shown
    if x.traits.is_item:
        return shown[:1].upper() + shown[1:]
    if shown[:1].islower():
        return "…" + shown  # the chunk starts mid-sentence: say so rather than hide it
    return shown


def _compose(
    question: str,
    chunks: list[RetrievedChunk],
    selected: list[_Scored],
    how_to: bool,
    evidence: float,
) -> Answer:
    ordered = _reading_order(selected, how_to)
    numbers: dict[int, int] = {}  # chunk position -> citation number, in order of first use
    for x in ordered:
        numbers.setdefault(x.sentence.chunk, len(numbers) + 1)
    out = [
        AnswerSentence(text=_presentable(x), citations=[numbers[x.sentence.chunk]]) for x in ordered
    ]
    if how_to and any(x.traits.actionable for x in ordered):
        text = "\n".join(f"{i}. {a.text} [{a.citations[0]}]" for i, a in enumerate(out, 1))
    else:
        text = " ".join(f"{a.text} [{a.citations[0]}]" for a in out)
    citations = [
        cite(n, chunks[pos], _quote_spans([x.sentence for x in ordered if x.sentence.chunk == pos]))
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


def _quote_spans(quoted: list[_Sentence]) -> list[tuple[int, int]]:
    """The quoted sentences of one chunk, in document order, merged where they touch."""
    return merge_spans((s.start, s.end) for s in quoted)


def _refusal(
    question: str, chunks: list[RetrievedChunk], scored: list[_Scored], evidence: float
) -> Answer:
    """Say plainly that the corpus does not answer this, and point to the nearest sources."""
    nearest = _nearest_sources(chunks)
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
    lines += [f"[{c.n}] {_source_label(c)}" for c in citations]
    return Answer(
        question=question,
        answer="\n".join(lines),
        refused=True,
        citations=citations,
        evidence_score=evidence,
    )


def _nearest_sources(chunks: list[RetrievedChunk]) -> list[int]:
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


def _pointer_span(pos: int, chunk: RetrievedChunk, scored: list[_Scored]) -> tuple[int, int]:
    """What to quote from a nearest source: its best usable sentence, else its whole text."""
    mine = [x for x in scored if x.sentence.chunk == pos and x.score > 0]
    if mine:
        best = max(mine, key=lambda x: (x.score, -x.sentence.start))
        return best.sentence.start, best.sentence.end
    # Nothing shares a word with the question: quote the chunk's first real sentence.
    for x in scored:
        if x.sentence.chunk == pos and _traits(x.sentence).quality > 0:
            return x.sentence.start, x.sentence.end
    stripped = chunk.text.strip()
    start = chunk.text.find(stripped) if stripped else 0
    return start, start + len(stripped)


def _source_label(c: Citation) -> str:
    """``Title — section, p. 4`` for the answer text, without markup a title may carry."""
    parts = [c.title or c.doc_id]
    if c.section:
        parts.append(c.section)
    label = strip_markup(" — ".join(parts))
    return f"{label}, p. {c.page}" if c.page is not None else label
