"""Two-column PDF pages in reading order.

pypdf gives a page's text in the order of its content stream. Most generators write a column at
a time, which reads right; some write each printed row across both columns, and pypdf then
joins the two columns' lines that share a baseline ("Each ward keeps a record of who is on
Managers should plan leave at least six shift and which patients ..."). Such a page reads as
column-interleaved (:mod:`assistant.ingest.columns`). Only then is the page read again in
pypdf's layout mode, which keeps each line's horizontal position in spaces; when a gutter (a
run of blanks at one place on most lines, with text either side) splits it, the page becomes
its left column top to bottom, then its right. Any other page keeps pypdf's text as it was.
"""

from __future__ import annotations

from typing import Any

from assistant.ingest.columns import assess

__all__ = ["find_gutter", "reading_order", "split_columns"]

MIN_LINES = 4  # lines with text both sides of the gutter
MAX_CROSSING = 0.1  # share of those lines' count that may cross the gutter (full-width titles)
GUTTER_BLANKS = 2  # blanks the gutter needs either side of its position
MAX_LAYOUT_WIDTH = 400  # characters: pypdf's layout lines of an A3 page stay well below this


def reading_order(page: Any, text: str) -> str:
    """The page's text in reading order: ``text`` (pypdf's), unless it reads as two columns
    interleaved and the page's layout shows where they part."""
    if not assess(text).garbled:
        return text
    try:
        layout = page.extract_text(extraction_mode="layout") or ""
    except Exception:  # layout mode failing must not lose the text we have
        return text
    return split_columns(layout) or text


def split_columns(layout: str) -> str | None:
    """Layout text (columns kept apart by spaces) as its left column, then its right; None
    when no gutter parts it."""
    lines = layout.splitlines()
    gutter = find_gutter(lines)
    if gutter is None:
        return None
    left = [line[:gutter].strip() for line in lines]
    right = [line[gutter:].strip() for line in lines]
    return "\n".join(x for x in left + right if x)


def find_gutter(lines: list[str]) -> int | None:
    """The character position where most lines are blank with text either side, or None."""
    width = max((len(line) for line in lines), default=0)
    if width > MAX_LAYOUT_WIDTH:
        return None  # no printed page is this wide: keep the cost of the scan bounded
    best, best_count = None, 0
    for c in range(width // 4, 3 * width // 4):
        both = crossing = 0
        for line in lines:
            if len(line) <= c + GUTTER_BLANKS or not line[:c].strip():
                continue
            if line[c - GUTTER_BLANKS : c + GUTTER_BLANKS + 1].strip():
                crossing += 1
            elif line[c:].strip():
                both += 1
        if both >= MIN_LINES and crossing <= MAX_CROSSING * both and both > best_count:
            best, best_count = c, both
    return best
