"""What a document says about itself: dates, titles, front matter, and the manifest's overrides.

The loaders find a title and a date in whatever form their format offers (front matter, a
"Date published" line, file properties); the manifest's values then win over all of them
(:func:`apply_overrides`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any

from assistant.ingest.loaders.cleanup import clean_spaces, norm
from assistant.schemas import DocumentMeta
from assistant.text.lexicon import MONTH_NAMES

__all__ = [
    "MONTH_YEAR",
    "apply_overrides",
    "find_date",
    "looks_like_title",
    "split_front_matter",
    "useless_title",
]

OVERRIDABLE = (
    "title",
    "publisher",
    "date",
    "source_url",
    "licence",
    "themes",
    "published",
    "period",
    "status",
    "superseded_by",
)


def apply_overrides(meta: DocumentMeta, overrides: Mapping[str, Any] | None) -> DocumentMeta:
    """Manifest (or upload) values, those in OVERRIDABLE, win over what the file says."""
    if not overrides:
        return meta
    changes: dict[str, Any] = {}
    for key in OVERRIDABLE:
        value = overrides.get(key)
        if value is None or value == "":
            continue
        if isinstance(value, date | datetime):
            value = value.isoformat()
        if key == "themes":
            value = [value] if isinstance(value, str) else [str(v) for v in value]
        changes[key] = value
    return meta.model_copy(update=changes)


# --------------------------------------------------------------------------------------------
# Dates

_MONTHS = list(MONTH_NAMES)
_DAY_MONTH_YEAR = re.compile(
    r"\b(\d{1,2})(?:st|nd|rd|th)?\s+(" + "|".join(_MONTHS) + r"),?\s+(\d{4})\b", re.IGNORECASE
)
MONTH_YEAR = re.compile(r"^\s*(" + "|".join(_MONTHS) + r")\s+(\d{4})\s*$", re.IGNORECASE)


def find_date(lines: Iterable[str]) -> str | None:
    """An ISO date from a "Date published: 29 January, 2025" or bare date line near the top."""
    fallback: str | None = None
    for line in lines:
        text = re.sub(r"[*_\\]", "", line).strip()
        m = _DAY_MONTH_YEAR.search(text)
        if m and (text.lower().startswith("date published") or len(text) <= 40):
            month = _MONTHS.index(m.group(2).lower()) + 1
            return f"{int(m.group(3)):04d}-{month:02d}-{int(m.group(1)):02d}"
        m2 = MONTH_YEAR.match(text)
        if m2 and fallback is None:
            fallback = f"{int(m2.group(2)):04d}-{_MONTHS.index(m2.group(1).lower()) + 1:02d}"
    return fallback


# --------------------------------------------------------------------------------------------
# Titles

_GENERIC_TITLES = {
    "researchbriefing",
    "contents",
    "content",
    "summary",
    "executivesummary",
    "foreword",
    "introduction",
    "abstract",
    "systematicreview",
    "openaccess",
    "article",
    "interimreport",
    "report",
    "background",
    "methods",
    "results",
    "conclusion",
    "conclusions",
    "discussion",
    "keywords",
    "references",
    "acknowledgements",
}


def looks_like_title(text: str) -> bool:
    """A heading that can name a document (not "Contents", "Summary", a number or a date)."""
    key = norm(text)
    if not key or key in _GENERIC_TITLES or key.isdigit() or len(text) > 200:
        return False
    return not text.lower().startswith(("classification", "date published", "publication"))


_USELESS_TITLE = re.compile(
    r"^(?:untitled|report template|template|document\d*|title|presentation\d*|slide \d+|"
    r"microsoft (?:word|powerpoint|excel)\b.*|.*\.(?:docx?|pdf|pptx?))$",
    re.IGNORECASE,
)


def useless_title(title: str, file_name: str) -> bool:
    """Metadata titles that name a template or a file, not the document."""
    t = clean_spaces(title)
    stem = Path(file_name).stem
    return len(t) < 4 or bool(_USELESS_TITLE.match(t)) or norm(t) in (norm(stem), norm(file_name))


# --------------------------------------------------------------------------------------------
# Front matter


def split_front_matter(text: str) -> tuple[dict[str, str], str]:
    """A leading YAML front matter block as simple key/value pairs, and the rest of the text."""
    m = re.match(r"\A\ufeff?---[ \t]*\n(.*?)\n---[ \t]*\n", text, re.DOTALL)
    if not m:
        return {}, text
    meta: dict[str, str] = {}
    for line in m.group(1).split("\n"):
        key, sep, value = line.partition(":")
        if sep and re.fullmatch(r"[A-Za-z_][\w-]*", key.strip()):
            meta[key.strip().lower()] = value.strip().strip("\"'")
    return meta, text[m.end() :]
