"""What a question asks for, read from its words: its terms, its kind, and the names, years and
figures an answer must speak to.

The *distinctive* words of a question are the ones an answer cannot do without: a year or
financial year ("2031/32"), a number ("43 sites"), a proper name ("Frimley", "Haldane"), an
acronym the documents may not use ("UDA"). A passage that shares the topic but none of them is a
near miss ("What is the 2031/32 A&E target?" finds the 2028/29 one), and the answer must say what
is missing rather than quote the near miss as if it answered.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from assistant.answer.extractive.lexicon import (
    DATE_QUESTION,
    EQUIVALENT_PHRASES,
    HOW_TO,
    LIST_QUESTION,
    NUMBER_WORDS,
    PHRASE,
    QUANTITY_QUESTION,
    QUESTION_STOP_WORDS,
)
from assistant.redact import redact
from assistant.text import STOP_WORDS, stem, words
from assistant.text.dictionary import word_frequency
from assistant.text.glossary import GLOSSARY, normalise_years
from assistant.text.lexicon import MONTH_NAMES

# A question comparing things, or about two documents at once: it may quote from several.
COMPARISON = re.compile(
    r"\bcompare[sd]?\b|\bcomparison\b|\bversus\b|\bvs\.?\b|\bdifferences?\b|\bdiffer\b"
    r"|\bwhat(?:'s| has| have)? changed\b|\bchanges? (?:from|between|since)\b"
    r"|\bbetween\b.+\band\b|\bboth\b",
    re.IGNORECASE,
)
# Asking what happened (an outturn, a result, a conclusion) rather than what is planned.
_WHO = r"(?:we|you|they|it|the nhs|nhs|england|trusts?|icbs?|systems?|providers?|the \w+)"
OUTTURN = re.compile(
    rf"\bdid {_WHO} (?:\w+ )?(?:hit|meet|achieve|reach|deliver|manage to)\b"
    rf"|\b(?:have|has) {_WHO} (?:\w+ )?(?:hit|met|achieved|reached|delivered)\b"
    r"|\b(?:was|were) (?:the )?(?:\w+ )?(?:targets?|ambitions?|standards?|trajector(?:y|ies)) "
    r"(?:met|hit|achieved|reached|delivered)\b"
    # "Has it actually opened?" asks what happened; "whether the plan is actually delivered"
    # asks what it depends on.
    r"|\bso far\b(?!\s+(?:behind|ahead|away|beyond|apart|off|removed|from|as)\b)|\bto date\b"
    r"|\b(?:has|have|was|were|did)\b[^?.]{0,40}\bactually (?:opened|delivered|achieved|hit|met|happened)\b"
    r"|\boutturn\b|\bwhat happened\b|\bwhat did (?:the )?[\w ]{2,60}? (?:conclude|find|recommend)\b"
    r"|\bconclusions? of\b|\bfindings of\b",
    re.IGNORECASE,
)
# Words that open a question or a sentence, capitalised for that reason alone.
_OPENERS = frozenset(
    [
        "what",
        "how",
        "when",
        "where",
        "which",
        "who",
        "whom",
        "whose",
        "why",
        "is",
        "are",
        "do",
        "does",
        "did",
        "can",
        "could",
        "should",
        "would",
        "will",
        "shall",
        "may",
        "might",
        "must",
        "has",
        "have",
        "was",
        "were",
        "our",
        "my",
        "we",
        "i",
        "in",
        "on",
        "for",
        "by",
        "to",
        "from",
        "with",
        "under",
        "per",
        "any",
        "as",
        "at",
        "the",
        "a",
        "an",
        "if",
        "so",
        "and",
        "or",
        "but",
        "please",
        "tell",
        "give",
        "list",
        "explain",
        "describe",
        "summarise",
    ]
)
_PERIOD = re.compile(r"\b20\d\d/\d\d\b|\b(?:19|20)\d\d\b")
_MONTH_YEAR = re.compile(rf"\b({'|'.join(MONTH_NAMES)})\s+((?:19|20)\d\d)\b", re.IGNORECASE)
# A figure, but not one that is part of a name ("10 Year Health Plan", "the 3 shifts").
# Seven or more digits with no thousands separators: a reference or an identifier, not a quantity.
_IDENTIFIER = re.compile(r"\d{7,}")
_NUMBER = re.compile(
    r"(?<![\w/.,])(?:\d{1,3}(?:,\d{3})+|\d{2,})(?:\.\d+)?%?(?![\w/])(?![- ]?(?:year|yr|point|day|week)s?\b)",
    re.IGNORECASE,
)
# The clause that asks: "Trust CFO. What are we ...?" or "UEC lead here - how do we ...?"
_LEAD_IN = re.compile(
    r"^.*?(?:[.!:;]\s+|\s[-–]\s+)(?=(?:what|how|when|which|who|where|why|is|are|do|does|can|should|could|will)\b)",
    re.IGNORECASE,
)
# A capitalised word rarer than this in general English is taken for a name.
NAME_MAX_FREQUENCY = 2000
_CAPITALISED = re.compile(r"(?<![\w'’-])([A-Z][A-Za-z]*(?:[-'’][A-Za-z]+)*)")
_GLOSSED = frozenset(w for k in GLOSSARY for w in re.findall(r"[a-z0-9]+", k.lower()))
_GLOSSED |= frozenset(
    w for v in GLOSSARY.values() for w in re.findall(r"[a-z0-9]+", v.lower()) if len(w) > 3
)


@dataclass(frozen=True)
class Question:
    """What scoring, selection and the refusal decision need to know about a question."""

    terms: tuple[str, ...]
    how_to: bool
    wants_quantity: bool
    wants_date: bool
    comparison: bool = False
    outturn: bool = False
    wants_list: bool = False  # "What are the three shifts?": an enumeration
    distinctive: tuple[str, ...] = ()  # as typed (normalised years), in order

    @property
    def wants_figure(self) -> bool:
        return self.wants_quantity or self.wants_date


def content_terms(text: str) -> list[str]:
    """Stemmed content words of ``text``, with multi-word names folded into their acronyms, and
    one term per financial year it names ("2026/27", "by March 2027" and "from April 2026" all
    give ``fy2026/27``), so a question about a year matches however a passage writes it."""
    low = PHRASE.sub(_acronym_of, text.lower())
    years = financial_years(low)
    if years:
        low = _FY.sub(" ", normalise_years(low))  # the year counts once, as fyYYYY/YY
    out = []
    for word in words(low):
        w = NUMBER_WORDS.get(word, word)
        if w in STOP_WORDS or w in QUESTION_STOP_WORDS or (len(w) < 2 and not w.isdigit()):
            continue
        out.append(stem(w))
    return out + years


_FY = re.compile(r"\b(20\d\d)/(\d\d)\b")
_MARCH_OR_APRIL = re.compile(r"\b(march|april) (20\d\d)\b")


def financial_years(low: str) -> list[str]:
    """``fyYYYY/YY`` for each financial year a lower-cased text names, by number or by the
    March that ends it or the April that starts it."""
    if "20" not in low:
        return []
    found = [f"fy{a}/{b}" for a, b in _FY.findall(normalise_years(low))]
    for month, year in _MARCH_OR_APRIL.findall(low):
        start = int(year) - 1 if month == "march" else int(year)
        found.append(f"fy{start}/{(start + 1) % 100:02d}")
    return found


def _acronym_of(m: re.Match[str]) -> str:
    return f" {EQUIVALENT_PHRASES[(m.lastindex or 1) - 1][1]} "


@lru_cache(maxsize=4096)
def analyse_question(question: str) -> Question:
    terms = tuple(dict.fromkeys(content_terms(question)))  # unique, in order
    return Question(
        terms=terms,
        how_to=bool(HOW_TO.search(question)),
        wants_quantity=bool(QUANTITY_QUESTION.search(question)),
        wants_date=bool(DATE_QUESTION.search(question)),
        comparison=bool(COMPARISON.search(question)),
        outturn=bool(OUTTURN.search(question)),
        wants_list=bool(LIST_QUESTION.search(question)),
        distinctive=tuple(distinctive_words(question)),
    )


def distinctive_words(question: str) -> list[str]:
    """Years, numbers and proper names in the question that an answer must speak to.

    >>> distinctive_words("What is NHS Frimley's neighbourhood budget for 26/27?")
    ['2026/27', 'Frimley']
    >>> distinctive_words("How do we set up a neighbourhood health team?")
    []
    """
    # Identifiers (an NHS number, a phone number, an email, a reference) are not what is asked
    # about: "When does the lounge open for my patient 943 476 5919?" asks about the lounge.
    text = normalise_years(_LEAD_IN.sub("", redact(question), count=1))
    found: list[str] = []
    for m in _MONTH_YEAR.finditer(text):
        found.append(f"{m.group(1).title()} {m.group(2)}")
    for m in _PERIOD.finditer(text):
        if not any(m.group(0) in f for f in found):
            found.append(m.group(0))
    for m in _NUMBER.finditer(text):
        value = m.group(0)
        if _IDENTIFIER.fullmatch(value):
            continue
        if not any(value in f for f in found) and not _PERIOD.fullmatch(value):
            found.append(value)
    for m in _CAPITALISED.finditer(text):
        word = re.sub(r"['’]s$", "", m.group(1))
        if _is_name(word, text, m.start()):
            found.append(word)
    return list(dict.fromkeys(found))


def _is_name(word: str, text: str, at: int) -> bool:
    """A capitalised word that names something, not one capitalised by position or habit."""
    low = word.lower().split("-")[0]
    if low in _OPENERS or low in STOP_WORDS or low in MONTH_NAMES or low in _GLOSSED:
        return False
    if len(low) < 3 or low in ("nhs", "england", "uk", "gp", "gps", "icb", "icbs", "pcn", "pcns"):
        return False
    before = text[:at].rstrip()
    if not before or before[-1] in ".?!:;-–(\"'“":
        return False  # first word of the question or of a clause
    if word.isupper():
        return True  # an acronym
    return word_frequency(low) < NAME_MAX_FREQUENCY


def mentions(word: str, haystack: str) -> bool:
    """Whether ``word`` (a year, figure or name from the question) is in ``haystack`` (lower
    case, years normalised). A financial year matches however it is written ("2026/27", "from
    April 2026", "by March 2027"); a name matches any form of it ("Trusts" - "trust")."""
    low = word.lower()
    if re.search(rf"(?<![\w/]){re.escape(low)}(?![\w/])", haystack):
        return True
    years = financial_years(low)
    if years:
        return bool(set(years) & set(financial_years(haystack)))
    if not low.isdigit() and len(low) > 3:
        return stem(low) in {stem(w) for w in words(haystack)}
    return False
