"""Tables as rows: how every loader writes a table, and tables rebuilt from flattened text.

A table block's text is one row a line, its cells joined by " | " ("Waiting list | 7.4m |
6.2m"), so that a quoted row reads as a row. An empty cell stays as an empty place between two
bars, which keeps each value under its column's header.

PDF text extraction and PDF-to-Markdown conversion flatten a table into lines: labels on some
lines, figures on others ("Health records" / "12,610 12,315 -295 -2%"), or one cell a line
("Outpatients" / "5.2%"). :func:`table_runs` finds such runs: several lines ending in figures,
with only short label lines between them; :func:`rows_from_lines` rebuilds their rows (the label
lines since the last row, then the figures as cells). A run is never taken for prose again, so a
row of figures is not quoted as a sentence.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.ingest import repair
from assistant.ingest.loaders.furniture import caption_kind

__all__ = [
    "CELL_SEPARATOR",
    "head_rows",
    "render_row",
    "rows_from_lines",
    "split_figures",
    "table_runs",
]

CELL_SEPARATOR = " | "

# One cell of figures: 12,610  -13%  +7,848  £1,465  3.5  (24)  0.00  12*
_FIGURE = re.compile(r"^[-+–(]?[£$€]?\d[\d,]*(?:\.\d+)?%?[)*]?[,;]?$")
# A figure that is plainly a value: a percentage, money, thousands, or two decimal places.
_VALUE = re.compile(r"%|[£$€]|\d,\d{3}|\.\d{2}")
MIN_FIGURE_LINES = 3  # lines ending in figures before a run is a table
MAX_LABEL_LINES = 4  # label lines allowed between two lines of figures
MAX_HEAD_LINES = 30  # header and caption lines looked for above the first line of figures
LABEL_MAX_SHARE = 0.75  # a label line is shorter than this share of the text width
PLAUSIBLE_SHARE = 0.6  # rows with figures whose label is in words, for a run to be a table


def render_row(cells: Sequence[str]) -> str:
    """Cells as one row: joined by " | ", empty cells kept in place but not at the row's end
    (they hold no column's place); "" when all are empty."""
    kept = [c.strip() for c in cells]
    while kept and not kept[-1]:
        kept.pop()
    return CELL_SEPARATOR.join(kept).strip()


MAX_HEAD_ROWS = 3  # caption and header lines a table's head holds, at most


def head_rows(rows: Sequence[str]) -> int:
    """How many of a table's first rows are its head: the caption and header lines without
    cells, then the first row of cells when none of its cells is a figure ("Measure | 2026/27
    | 2028/29" is a header; "Elective spells | 7.4%" is not). 0 for rows without cells."""
    if not any(CELL_SEPARATOR in row for row in rows):
        return 0
    n = 0
    while n < len(rows) and n < MAX_HEAD_ROWS and CELL_SEPARATOR not in rows[n]:
        n += 1
    if n < len(rows) and n < MAX_HEAD_ROWS and CELL_SEPARATOR in rows[n]:
        cells = rows[n].split(CELL_SEPARATOR)
        if not any(_FIGURE.match(cell.strip()) for cell in cells):
            n += 1
    return n if n < len(rows) else 0


def split_figures(line: str) -> tuple[str, list[str]]:
    """A line's leading text and its trailing cells of figures ("Health records 12,610 -2%" ->
    ("Health records", ["12,610", "-2%"])); the figures are [] when it does not end in any."""
    tokens = line.split()
    k = len(tokens)
    while k and _FIGURE.match(tokens[k - 1]):
        k -= 1
    return " ".join(tokens[:k]), tokens[k:]


def _figure_line(line: str) -> bool:
    """A line of figures: a label followed by two or more of them, or figures alone where one
    is plainly a value ("5.2%", "£411", "12,610", "0.73") rather than a bare number, which may
    be a page or chapter number ("3", "1.1")."""
    label, figures = split_figures(line)
    plain = re.sub(r"[*_#\\]+", "", label).strip()
    if len(figures) >= 2:
        return True
    return bool(figures) and not plain and bool(_VALUE.search(figures[0]))


def _label_line(line: str, width: float) -> bool:
    """A short line that is not a sentence: a header cell or a row label."""
    text = line.strip()
    return (
        0 < len(text) < LABEL_MAX_SHARE * width
        and not repair.is_sentence_end(text)
        and not text.startswith(("#", "|", "-", "•", "*   "))
    )


def table_runs(lines: Sequence[str], width: float) -> list[tuple[int, int]]:
    """Ranges ``(start, end)`` of ``lines`` that hold a flattened table.

    A run has at least MIN_FIGURE_LINES lines of figures, with at most MAX_LABEL_LINES label
    lines (and any blank lines) between one and the next. It reaches up over the label lines
    just above its first line of figures (the header, the first row's label) and takes a
    "Table 3.1: ..." caption found there; it ends with its last line of figures.
    """
    runs: list[tuple[int, int]] = []
    i, n = 0, len(lines)
    while i < n:
        if not _figure_line(lines[i]):
            i += 1
            continue
        figures = [i]
        j, labels = i + 1, 0
        while j < n and labels <= MAX_LABEL_LINES:
            line = lines[j]
            if not line.strip():
                j += 1
            elif _figure_line(line):
                figures.append(j)
                labels = 0
                j += 1
            elif _label_line(line, width):
                labels += 1
                j += 1
            else:
                break
        floor = runs[-1][1] if runs else 0
        start, end = _run_start(lines, i, width, floor), figures[-1] + 1
        if len(figures) >= MIN_FIGURE_LINES and _plausible(rows_from_lines(lines[start:end])):
            runs.append((start, end))
        i = end  # each line is looked at once or twice: linear in the text's length
    return runs


def _plausible(rows: Sequence[str]) -> bool:
    """Whether rebuilt rows read as a table: most rows with figures have a label in words.

    A table shattered letter by letter ("k ] | 24", "re | 0.5") fails, and stays for the
    loader's debris filters to drop.
    """
    with_figures = [row for row in rows if CELL_SEPARATOR in row or split_figures(row)[1]]
    labels = [row.split(CELL_SEPARATOR)[0] for row in with_figures if CELL_SEPARATOR in row]
    worded = [label for label in labels if _worded(label)]
    return bool(with_figures) and len(worded) >= PLAUSIBLE_SHARE * len(with_figures)


def _worded(label: str) -> bool:
    """A label made mostly of words of three letters or more, with no stray brackets."""
    tokens = label.split()
    long = [t for t in tokens if re.fullmatch(r"[A-Za-z][A-Za-z'’-]{2,}[.,:;]?", t)]
    return bool(tokens) and 2 * len(long) >= len(tokens) and not re.search(r"[\[\]]", label)


def _run_start(lines: Sequence[str], first: int, width: float, floor: int) -> int:
    """The first line of a run: up over label and blank lines (not above ``floor``, where the
    run before ends), through a table caption."""
    start = first
    k = first - 1
    while k >= floor and first - k <= MAX_HEAD_LINES:
        line = lines[k]
        if caption_kind(line) == "table":
            return k
        if line.strip() and not _label_line(line, width):
            break
        if line.strip():
            start = k
        k -= 1
    return start


def rows_from_lines(lines: Sequence[str]) -> list[str]:
    """Rows rebuilt from a flattened table's lines (see :func:`table_runs`).

    A caption (with the lines that carry on its sentence) makes the first row. Label
    lines gather until a line ends in figures; that line closes a row: the labels, then each
    figure as a cell. When three or more lines stood above the first figures, all but the last
    are the table's header, on a row of their own. Labels after the last figures make a row.
    """
    rows: list[str] = []
    labels: list[str] = []
    text = [line.strip() for line in lines]
    i = 0
    if text and caption_kind(text[0]) == "table":
        caption = [text[0]]
        i = 1
        while (
            i < len(text)
            and text[i]
            and not _figure_line(text[i])
            and repair.continues_sentence(caption[-1], text[i])
        ):
            caption.append(text[i])  # a caption wrapped over lines
            i += 1
        rows.append(" ".join(caption))
    headed = False
    for line in text[i:]:
        if not line:
            continue
        if not _figure_line(line):
            labels.append(line)
            continue
        label, figures = split_figures(line)
        if label:
            labels.append(label)
        if not headed and len(labels) >= 3:
            rows.append(" ".join(labels[:-1]))
            labels = labels[-1:]
        headed = True
        rows.append(render_row([" ".join(labels), *figures]) if labels else render_row(figures))
        labels = []
    if labels:
        rows.append(" ".join(labels))
    return [row for row in rows if row]
