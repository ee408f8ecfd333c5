"""Guidance has a short life: which period a document governs, whether it still stands, and the
warning a citation of it carries.

Each document may say (in ``corpus/sources.toml``, briefing front matter, or upload fields)
when it was ``published``, the ``period`` it governs (an NHS financial year such as
``2025/26``, a run such as ``2026/27-2028/29``, or calendar years such as ``2025-2035``), its
``status`` (current, superseded, withdrawn, historical, consultation/draft, or unknown) and what
it is ``superseded_by``. :func:`warning` turns that, and the date the answer is given "as of",
into the words a manager sees beside the citation: a superseded document is never quoted
without them, and neither is one whose period has ended, even when nobody has said what
replaced it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date
from typing import TYPE_CHECKING

from assistant.text.glossary import normalise_years

if TYPE_CHECKING:  # the schemas validate periods with period_dates
    from assistant.schemas import DocumentMeta

# "2025/26" (an NHS financial year: 1 April to 31 March), "2026/27-2028/29" or "2026/27 to
# 2028/29" (a run of them), "2025" or "2025-2035" (calendar years). Years from 1900 to 2199.
_FINANCIAL_YEAR = r"((?:19|20|21)\d{2})/(\d{2})"
_PERIOD = re.compile(
    rf"^\s*(?:{_FINANCIAL_YEAR}(?:\s*(?:-|–|to)\s*{_FINANCIAL_YEAR})?|(\d{{4}})(?:\s*(?:-|–|to)"
    r"\s*(\d{4}))?)\s*$"
)


def period_dates(period: str | None) -> tuple[date, date] | None:
    """The first and last day of a period, or None when it cannot be read.

    >>> period_dates("2025/26")
    (datetime.date(2025, 4, 1), datetime.date(2026, 3, 31))
    >>> period_dates("2026/27-2028/29")
    (datetime.date(2026, 4, 1), datetime.date(2029, 3, 31))
    >>> period_dates("2025-2035")
    (datetime.date(2025, 1, 1), datetime.date(2035, 12, 31))
    """
    m = _PERIOD.match(period or "")
    if m is None:
        return None
    fy_start, fy_next, fy_end_start, fy_end_next, year, year_end = m.groups()
    if fy_start:
        last = int(fy_end_start or fy_start)
        if (int(fy_start) + 1) % 100 != int(fy_next) or (
            fy_end_start and (last + 1) % 100 != int(fy_end_next)
        ):
            return None  # "2025/30" is no financial year
        span = date(int(fy_start), 4, 1), date(last + 1, 3, 31)
    else:
        if not 1900 <= int(year) <= 2199 or not 1900 <= int(year_end or year) <= 2199:
            return None
        span = date(int(year), 1, 1), date(int(year_end or year), 12, 31)
    return span if span[0] < span[1] else None  # a run must end after it starts


def warning(
    meta: DocumentMeta, as_of: date, title_of: Callable[[str], str | None] = lambda _: None
) -> str | None:
    """What a reader must know before acting on this document as of ``as_of``; None when it
    stands (or nothing is known against it)."""
    period = meta.period if meta.period and meta.period.lower() != "unknown" else None
    covers = f" It covers {period}." if period else ""
    successor = None
    if meta.superseded_by:
        successor = title_of(meta.superseded_by) or meta.superseded_by
    if meta.status == "superseded":
        by = f" by {successor}" if successor else ""
        return f"Superseded{by}.{covers} Check the current guidance before acting on it."
    if meta.status == "withdrawn":
        return f"Withdrawn by its publisher.{covers} Do not act on it."
    if meta.status == "historical":
        return f"A historical record, not current guidance.{covers}"
    if meta.status == "consultation/draft":
        return "A draft or discussion paper, not adopted guidance."
    span = period_dates(period)
    if span is not None and span[1] < as_of:
        return f"It covers {period}, which ended on {span[1]:%-d %B %Y}; newer guidance may apply."
    return None


# --- the period a question asks about -------------------------------------------------------

Span = tuple[date, date]

_MONTHS = {
    m: i
    for i, m in enumerate(
        [
            "january",
            "february",
            "march",
            "april",
            "may",
            "june",
            "july",
            "august",
            "september",
            "october",
            "november",
            "december",
        ],
        start=1,
    )
}
_MONTH = "|".join(_MONTHS)
# "2026/27", or a run "2026/27 to 2028/29" (questions are normalised to this form first:
# "26/27", "2026-27" ...).
_ASKED_FY = re.compile(
    r"(?<![\d/])((?:19|20|21)\d{2})/(\d{2})(?:\s*(?:-|–|to)\s*((?:19|20|21)\d{2})/(\d{2}))?"
    r"(?![\d/])"
)
# "March 2027", "end of March 2027", "April 2026".
_ASKED_MONTH = re.compile(rf"\b({_MONTH})\s+((?:19|20|21)\d{{2}})\b", re.IGNORECASE)
# "by 2028", "in 2030": a calendar year on its own, ending the phrase ("by 2000 hours" is a
# quantity, not a year).
_ASKED_YEAR = re.compile(
    r"\b(?:in|by|for|during|until|from)\s+((?:19|20|21)\d{2})\b(?![/\d-])"
    r"(?=\s*(?:$|[?.,;:!)]|and\b|or\b|onwards?\b|to\b))",
    re.IGNORECASE,
)
# "this year", "this financial year", "next year", "the coming year". Not "last year": in a
# question it is mostly a baseline ("a 30% cut on last year"), not the period asked about.
_RELATIVE = re.compile(r"\b(this|current|next|coming)\s+(?:financial\s+|planning\s+)?year\b", re.I)
_RELATIVE_SHIFT = {"this": 0, "current": 0, "next": 1, "coming": 1}


def financial_year_of(day: date) -> int:
    """The first calendar year of the NHS financial year holding ``day`` (April to March).

    >>> financial_year_of(date(2027, 3, 31)), financial_year_of(date(2027, 4, 1))
    (2026, 2027)
    """
    return day.year if day.month >= 4 else day.year - 1


def _financial_year(first: int) -> Span:
    return date(first, 4, 1), date(first + 1, 3, 31)


def question_periods(question: str, as_of: date) -> list[Span]:
    """The periods a question asks about, as NHS financial years, in the order it names them;
    [] when it names none. "This year" and "next year" are read against ``as_of``.

    >>> today = date(2026, 12, 7)
    >>> question_periods("What is the A&E target for 2026/27?", today)
    [(datetime.date(2026, 4, 1), datetime.date(2027, 3, 31))]
    >>> question_periods("Where must we be by March 2026?", today)[0][0]
    datetime.date(2025, 4, 1)
    >>> question_periods("What must we deliver next financial year?", today)[0][0]
    datetime.date(2027, 4, 1)
    >>> question_periods("How do I set up a neighbourhood health team?", today)
    []
    >>> question_periods("Targets for 2026/27 to 2028/29?", today)[0][1]
    datetime.date(2029, 3, 31)
    >>> question_periods("Can we cut agency spend by 2000 hours?", today)
    []
    """
    question = normalise_years(question)  # "26/27" -> "2026/27"
    found: list[tuple[int, Span]] = []
    for m in _ASKED_FY.finditer(question):
        span = period_dates(m.group(0))
        if span is not None:
            found.append((m.start(), span))
    for m in _ASKED_MONTH.finditer(question):
        day = date(int(m.group(2)), _MONTHS[m.group(1).lower()], 1)
        found.append((m.start(), _financial_year(financial_year_of(day))))
    for m in _ASKED_YEAR.finditer(question):
        year = int(m.group(1))
        # "by 2028" ends in that year's spring: the financial year that closes in it.
        found.append((m.start(), _financial_year(year - 1 if "by" in m.group(0).lower() else year)))
    for m in _RELATIVE.finditer(question):
        shift = _RELATIVE_SHIFT[m.group(1).lower()]
        found.append((m.start(), _financial_year(financial_year_of(as_of) + shift)))
    spans: list[Span] = []
    for _, span in sorted(found):
        if span not in spans:
            spans.append(span)
    return spans


def _overlaps(a: Span, b: Span) -> bool:
    return a[0] <= b[1] and b[0] <= a[1]


def preference(meta: DocumentMeta, asked: list[Span], as_of: date) -> float:
    """How well a document suits a question in time, from -1 (the wrong period, or superseded)
    to +1 (it governs the period asked about); 0 when nothing is known either way.

    With a period named, the document's own period decides (a superseded 2025/26 guidance is
    the right source for "the 2025/26 target"). With none, what stands as of ``as_of`` is
    preferred: superseded and withdrawn documents least, then historical ones and those whose
    period has ended; guidance in force today a little more than the rest.
    """
    period = period_dates(meta.period)
    if asked:
        if period is None:
            return 0.0
        return 1.0 if any(_overlaps(period, span) for span in asked) else -1.0
    if meta.status in ("superseded", "withdrawn"):
        return -1.0
    if meta.status == "historical" or (period is not None and period[1] < as_of):
        return -0.5
    if meta.status == "current" and period is not None and period[0] <= as_of <= period[1]:
        return 0.5
    return 0.0


# "Is the 2025/26 guidance still in force?", "Has the oversight manual been replaced?"
STANDING_CUE = re.compile(
    r"\b(?:still|current(?:ly)?|in force|valid|latest|superseded|replaced|out of date|"
    r"up to date|applies|apply)\b",
    re.IGNORECASE,
)


def standing_note(
    named: list[DocumentMeta], as_of: date, title_of: Callable[[str], str | None]
) -> str | None:
    """For "is it still in force?" questions: the warnings of the documents the question names
    (superseded, withdrawn, historical, lapsed); None when none of them has one."""
    # Only what a reader must know: a current document needs no note ("still" is more often
    # about the subject, "is a system-level plan still needed under the framework?").
    said = [f"{m.title}: {caution}" for m in named if (caution := warning(m, as_of, title_of))]
    if not said:
        return None
    return "On the document you named: " + " ".join(said)


def _label(span: Span) -> str:
    """'2026/27' for one financial year, '2026/27 to 2028/29' for a run."""
    first, last = span[0].year, span[1].year - 1
    one = f"{first}/{(first + 1) % 100:02d}"
    return one if last == first else f"{one} to {last}/{(last + 1) % 100:02d}"


def period_note(
    question: str, as_of: date, cited: list[DocumentMeta], searched: list[DocumentMeta]
) -> str | None:
    """What to say first when a question names a period and every document quoted governs
    another one (the guidance for the period asked may be garbled, or silent on the point):
    the reader must not take last year's target for this year's. None otherwise.

    ``cited`` are the documents quoted, ``searched`` those the answer was drawn from.
    """
    asked = question_periods(question, as_of)
    if not asked or not cited:
        return None
    spans = [period_dates(m.period) for m in cited]
    if any(s is None or any(_overlaps(s, a) for a in asked) for s in spans):
        return None  # something quoted governs the period asked (or says no period)
    asked_text = " and ".join(_label(a) for a in asked)
    quoted = "; ".join(f"{m.title} (it covers {m.period})" for m in cited)
    note = (
        f"Note: you asked about {asked_text}, but the passages quoted below come from guidance "
        f"for another period: {quoted}. Check the guidance for {asked_text} before acting."
    )
    cited_ids = {m.doc_id for m in cited}
    right = [
        m
        for m in searched
        if m.doc_id not in cited_ids
        and (s := period_dates(m.period)) is not None
        and any(_overlaps(s, a) for a in asked)
    ]
    if right:
        note += (
            f" {right[0].title} covers {asked_text}, but none of its passages found could be "
            "quoted here."
        )
    return note


def successor_of(meta: DocumentMeta, documents: Mapping[str, DocumentMeta]) -> str | None:
    """The indexed document that supersedes ``meta``: ``superseded_by`` names it by document
    id, or by the manifest id its file is named after ("x" for "x.md"); None when not indexed.
    """
    named = meta.superseded_by
    if not named:
        return None
    if named in documents:
        return named
    return next((d for d in documents if d.rsplit(".", 1)[0] == named), None)
