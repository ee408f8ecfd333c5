"""Counts page furniture left in chunk text: the measure behind the corpus furniture test.

Written independently of the ingestion code it checks (it shares no pattern with
:mod:`assistant.ingest.furniture`), so that a rule that stops working shows up here. Each
detector looks at chunk text the way a reader of a quoted answer would: a line or sentence that
is a page number, a running head, a publication reference, a contents entry, a footnote, or a
run of figures that belongs to a table or a chart axis rather than to a sentence.

Chunks whose ``kind`` is not prose (tables, figure captions) are skipped: there a row of figures
is expected, and the answerer does not quote them as sentences.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

from assistant.schemas import Chunk

MONTH = (
    r"(?:January|February|March|April|May|June|July|August|September|October|November|"
    r"December)"
)

KINDS = (
    "page_number",
    "running_head",
    "publication",
    "contents",
    "footnote",
    "figures_run",
)

_PAGE_OF = re.compile(r"\bpage\s+\d{1,4}\s+(?:of|/)\s+\d{1,4}\b", re.IGNORECASE)
_LONE_NUMBER = re.compile(r"^\(?\d{1,3}\)?$")
_PUBLICATION = re.compile(
    r"publication (?:approval )?reference\s*:|\bclassification\s*:\s*official|"
    r"\(/publication\)|back to top|©|crown copyright|all rights reserved",
    re.IGNORECASE,
)
_CONTENTS = re.compile(
    r"^\W*(?:table of )?contents?\W*$|\.{5,}|…{2,}|(?:\bp\.\s?\d{1,3}\b.*){2,}", re.IGNORECASE
)
# "12 NHS England, NHS productivity update, May 2024" or "3Myddelton, W. (2017) ...": a note
# number, then a source with a date, a year in brackets or a web address.
_FOOTNOTE = re.compile(
    r"^\d{1,3}\s?[A-Z‘“'][^\n]{2,240}?(?:,\s*(?:\d{1,2}\s+)?" + MONTH + r"\s+\d{4}|"
    r"\((?:19|20)\d\d\)|https?://)"
)
# A note number glued to its text ("1NHS England: NHS Notify", "17https://..."), as PDF text
# extraction leaves footnotes; found anywhere in a line, since they get glued into sentences.
_GLUED_NOTE = re.compile(r"(?:^|(?<=\s))\d{1,3}(?:[A-Z][a-z]|https?://)")
SHORT_HEAD = 25  # characters: a running head shorter than this may be a phrase of the body
_NUMBER = re.compile(r"^[-+–(£$]?\d[\d.,]*%?\)?$")


def source_running_lines(path: Path, min_repeats: int = 4) -> set[str]:
    """Short lines that recur next to page numbers through a converted document: its running
    heads and footers.

    A line counts when it occurs ``min_repeats`` times or more, and at least half of the time
    within three lines of a line that is only a number. Headings (``#``) and bold lines (table
    headers, labels) are left out.
    """
    if path.suffix.lower() == ".pdf":
        return set()
    lines = [
        line.strip()
        for line in path.read_text(encoding="utf-8", errors="replace").split("\n")
        if line.strip()
    ]
    numbers = [i for i, line in enumerate(lines) if re.fullmatch(r"\d{1,3}", line)]
    counts: Counter[str] = Counter()
    near: Counter[str] = Counter()
    for i, line in enumerate(lines):
        if line.startswith("#") or re.fullmatch(r"\*\*.*\*\*", line):
            continue
        bare = re.sub(r"\s+", " ", re.sub(r"[*_\\]+", "", line)).strip()
        if 12 <= len(bare) <= 90 and re.search(r"[A-Za-z]{3}", bare):
            counts[bare] += 1
            near[bare] += any(abs(i - j) <= 3 for j in numbers)
    return {line for line, n in counts.items() if n >= min_repeats and near[line] * 2 >= n}


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.split("\n") if line.strip()]


def _figures_run(line: str) -> bool:
    """Five or more numbers in a row, or a line that is more figures than words."""
    tokens = line.split()
    run = best = 0
    for token in tokens:
        run = run + 1 if _NUMBER.match(token) else 0
        best = max(best, run)
    numbers = sum(1 for t in tokens if _NUMBER.match(t))
    return best >= 5 or (len(tokens) >= 4 and numbers / len(tokens) > 0.6)


def count_furniture(chunks: Iterable[Chunk], running: set[str] = frozenset()) -> Counter[str]:
    """Furniture found in the text of prose chunks, by kind (see :data:`KINDS`)."""
    found: Counter[str] = Counter()
    heads = sorted(running, key=len, reverse=True)
    for chunk in chunks:
        if getattr(chunk, "kind", "text") != "text":
            continue
        for line in _lines(chunk.text):
            found["page_number"] += bool(_LONE_NUMBER.match(line))
            found["page_number"] += len(_PAGE_OF.findall(line))
            found["publication"] += bool(_PUBLICATION.search(line))
            found["contents"] += bool(_CONTENTS.search(line))
            found["footnote"] += bool(_FOOTNOTE.match(line)) or bool(_GLUED_NOTE.search(line))
            found["figures_run"] += _figures_run(line)
            # A long head found anywhere in a line was glued to the text; a short one ("NHS
            # productivity") is also a phrase of the body, so only a line of its own counts.
            found["running_head"] += sum(
                1 for h in heads if (h in line if len(h) >= SHORT_HEAD else h == line)
            )
    return found


def examples(chunks: Iterable[Chunk], kind: str, running: set[str] = frozenset()) -> list[str]:
    """The chunk lines that :func:`count_furniture` counted as ``kind`` (for reading a survey)."""
    out: list[str] = []
    for chunk in chunks:
        if getattr(chunk, "kind", "text") != "text":
            continue
        for line in _lines(chunk.text):
            if count_furniture([chunk.model_copy(update={"text": line})], running)[kind]:
                out.append(line)
    return out
