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
from collections.abc import Callable
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the schemas validate periods with period_dates
    from assistant.schemas import DocumentMeta

# "2025/26" (an NHS financial year: 1 April to 31 March), "2026/27-2028/29" or "2026/27 to
# 2028/29" (a run of them), "2025" or "2025-2035" (calendar years).
_FINANCIAL_YEAR = r"(\d{4})/(\d{2})"
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
    fy_start, _, fy_end_start, _, year, year_end = m.groups()
    if fy_start:
        last = int(fy_end_start or fy_start)
        return date(int(fy_start), 4, 1), date(last + 1, 3, 31)
    return date(int(year), 1, 1), date(int(year_end or year), 12, 31)


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
