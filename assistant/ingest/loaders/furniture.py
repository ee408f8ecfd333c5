"""Page furniture that is not running heads: footnote blocks, publication boilerplate, captions.

Running heads, footers and page numbers are stripped in :mod:`assistant.ingest.repair`; this
module handles what a page carries besides its text and what that stripping leaves behind:

* **Footnote blocks** at the foot of a page. They sit, in the converted text, between the last
  line of one page and the first line of the next, which is often the rest of the same sentence.
  :func:`set_aside_footnotes` moves each block after the end of the sentence that runs over the
  page break, so that sentence reads as one (it is contiguous in the page's reading order: the
  notes are outside the text flow), and flags the note lines so that they never join a sentence.
* **Publication boilerplate** on covers and web pages ("Classification: Official",
  "Publication reference: PRN01625", "Back to top"): :func:`is_boilerplate`.
* **Figure and table captions** ("Figure 3.1: Supply projection ..."): :func:`caption_kind`.
* **Title pages**: the labels a document opens with (publisher, series, date, authors) before
  its text begins: :func:`mark_cover`.

The splice rule: two pieces of text are joined into one sentence only when nothing but page
furniture (heads, footers, page numbers, footnotes) stood between them. A footnote is never
joined to anything but the rest of the same note.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from assistant.ingest import repair
from assistant.schemas import Block

__all__ = [
    "caption_kind",
    "is_boilerplate",
    "is_note_start",
    "mark_cover",
    "set_aside_footnotes",
]

# "12 NHS England, NHS productivity update" or "3Myddelton, W. (2017)" or "17https://...": a note
# number, then a capital, a quote, a bracket or a web address. "12. Background" (a numbered
# paragraph) and "12 per cent" (a sentence) are not notes.
_NOTE_START = re.compile(
    r"^\s*(\d{1,3})(?:[ \t]+|(?=[A-Z]|https?://|www\.))(?=[A-Z“‘\"'(\[]|https?://|www\.)"
)
NOTE_MAX_STEP = 3  # a note number may skip this many (a note lost to the conversion)
NOTE_MAX_LINES = 4  # lines a single note may run to (its first line and continuations)
NOTE_MARKS_LOOKED_FOR = 3  # a block counts when one of its first notes is marked in the text
MOVE_MAX_LINES = 80  # how far past a page break the end of the interrupted sentence is looked for


def is_note_start(line: str) -> int | None:
    """The note number a footnote line starts with ("12 NHS England, ..." -> 12), else None."""
    m = _NOTE_START.match(line)
    return int(m.group(1)) if m else None


def _referenced(body: str, number: int) -> bool:
    """Whether the text carries a note mark for ``number``: the digits right after a word or a
    full stop ("Review1", "appointments. 40 This", "work.3"), not inside a figure."""
    mark = re.compile(rf"(?<=[A-Za-z.,;:)’”'\"\]])\s?{number}(?!\d|\.\d|,\d{{3}})")
    return bool(mark.search(body))


def _notes_at_foot(lines: Sequence[str], start: int, end: int, before: str = "") -> int | None:
    """Where the footnote block at the foot of lines[start:end] begins, if there is one.

    Read upwards from the foot: note starts whose numbers rise by 1 to NOTE_MAX_STEP, each with
    at most NOTE_MAX_LINES - 1 continuation lines; the block must reach the foot of the page,
    and one of its first notes must be marked in the page's text or in ``before`` (the page
    before: notes may run over to the next page's foot).
    """
    filled = [i for i in range(start, end) if lines[i].strip()]
    begin: int | None = None
    since_start = 0
    next_number: int | None = None
    for i in reversed(filled):
        number = is_note_start(lines[i])
        if number is None:
            since_start += 1
            if since_start >= NOTE_MAX_LINES:
                break
            continue
        if next_number is not None and not 1 <= next_number - number <= NOTE_MAX_STEP:
            break
        begin, next_number, since_start = i, number, 0
    if begin is None:
        return None
    numbers = [n for i in filled if i >= begin and (n := is_note_start(lines[i])) is not None]
    body = " ".join([before, *(lines[i] for i in filled if i < begin)])
    marked = any(_referenced(body, n) for n in numbers[:NOTE_MARKS_LOOKED_FOR])
    return begin if body.strip() and marked else None


def _strip_marks(line: str, marks: set[int]) -> str:
    """``line`` without the marks of the given notes: " 43" after a full stop and before a new
    sentence or the end of the line ("... is 1.1%. 43"), "29, 30" after a quote, "Review1"."""

    def drop(m: re.Match[str]) -> str:
        numbers = [int(n) for n in re.findall(r"\d+", m.group(0))]
        return "" if all(n in marks for n in numbers) else m.group(0)

    line = _MARK_AFTER_STOP.sub(drop, line)
    return _MARK_GLUED.sub(drop, line)


# After closing punctuation, optionally a space, then the mark(s); then a capital or the end.
_MARK_AFTER_STOP = re.compile(
    r"(?<=[.,;:!?)\]”’'\"%])[ \t]?\d{1,3}(?:[ \t]?,[ \t]?\d{1,3})*(?=[ \t]+[A-Z“‘\"(]|[ \t]*$)"
)
# Glued to the end of a word ("the Topol Review1 and"), before a space, punctuation or the end.
_MARK_GLUED = re.compile(r"(?<=[a-z])\d{1,3}(?=[\s.,;:)]|$)")


def _resume_point(lines: Sequence[str], last_body: int, after: int, marks: set[int]) -> int:
    """Index after which a footnote block is put back: the line that ends the sentence running
    over the page break, or ``last_body`` when the page ended its sentence.

    A page's last line ends its sentence when it ends like one, or with the mark of one of the
    page's notes ("... a £20bn funding difference 13"); otherwise the next page's first line must
    carry the sentence on (:func:`repair.continues_sentence`) for the block to move.
    """
    last = lines[last_body]
    trailing = re.search(r"\s(\d{1,3})\s*$", last)
    if repair.is_sentence_end(last) or (trailing and int(trailing.group(1)) in marks):
        return last_body
    following = [
        i
        for i in range(after, min(len(lines), after + MOVE_MAX_LINES))
        if lines[i].strip() and is_note_start(lines[i]) is None
    ]
    if not following or not repair.continues_sentence(last, lines[following[0]]):
        return last_body
    for i in following:
        if lines[i].lstrip().startswith(("#", "**", "|")):
            return i - 1  # a heading or a table: the sentence ended with the page
        if repair.is_sentence_end(lines[i]):
            return i
    return last_body


def set_aside_footnotes(
    lines: Sequence[str], pages: Sequence[int | None]
) -> tuple[list[str], list[int | None], list[bool]]:
    """Footnote blocks moved out of the text flow; returns lines, their pages, and note flags.

    ``pages`` gives each line's page (None where unknown: such lines are left alone). On each
    page, a block of numbered notes at its foot, whose first number is marked in the page's
    text, is moved to after the line that ends the sentence the page break interrupted, and the
    marks of its notes are taken out of the page's text.
    """
    lines = list(lines)
    moves: dict[int, list[int]] = {}  # insert after this index -> the note lines to put there
    noted: set[int] = set()
    start = 0
    before = ""  # the text of the page before
    while start < len(lines):
        end = start
        while end < len(lines) and pages[end] == pages[start]:
            end += 1
        begin = _notes_at_foot(lines, start, end, before) if pages[start] is not None else None
        before = " ".join(lines[start : end if begin is None else begin])
        if begin is not None:
            block = list(range(begin, end))
            noted.update(i for i in block if lines[i].strip())
            body = [i for i in range(start, begin) if lines[i].strip()]
            marks = {n for i in block if (n := is_note_start(lines[i])) is not None}
            anchor = _resume_point(lines, body[-1], end, marks) if body else begin - 1
            for i in body:  # the notes' marks go with them
                lines[i] = _strip_marks(lines[i], marks)
            moves.setdefault(anchor, []).extend(block)
        start = end
    if not moves:
        return lines, list(pages), [False] * len(lines)
    moved = {i for block in moves.values() for i in block}
    out: list[str] = []
    out_pages: list[int | None] = []
    flags: list[bool] = []

    def put(i: int) -> None:
        out.append(lines[i])
        out_pages.append(pages[i])
        flags.append(i in noted)

    for i in range(-1, len(lines)):
        if i >= 0 and i not in moved:
            put(i)
        for j in moves.get(i, []):
            put(j)
    return out, out_pages, flags


# --------------------------------------------------------------------------------------------
# Boilerplate and captions

_BOILERPLATE = re.compile(
    r"""^\W*(?:
        classification\s*:\s*official(?:[\s-]+sensitive)?
      | publication\s+(?:approval\s+)?reference\s*:.*
      | publication\s*\(/publication\)
      | ▲?\s*back\s+to\s+top
      | date\s+(?:published|last\s+updated)\s*:.*
      | ©.{0,120}
      | \(c\)\s*crown\s+copyright.*
      | crown\s+copyright\s*(?:\d{4})?
    )\W*$""",
    re.IGNORECASE | re.VERBOSE,
)


def is_boilerplate(line: str) -> bool:
    """A line of publication furniture: a security marking, a publication reference, a
    "Date published" stamp, a copyright line, a web page's "Back to top"."""
    text = re.sub(r"[*_\\]+", "", line).strip()
    return len(text) <= 160 and bool(_BOILERPLATE.match(text))


_CAPTION = re.compile(
    r"^\s*(?:\*\*)?\s*(figure|fig\.|chart|graph|diagram|table)\s+"
    r"(?:[A-Z]?\d{1,2}[A-Z]?(?:\.\d{1,2})*)\s*[:.–—-]\s*\S",
    re.IGNORECASE,
)


def caption_kind(line: str) -> str | None:
    """What a caption line names, "figure" or "table" ("Figure 3.1: Supply projection ...",
    "Table 1 – activity growth"), else None. A mention inside a sentence ("(Figure 1) The
    projected ...", "Table 3 shows") is not a caption: a caption's number is followed by a
    colon, a full stop or a dash."""
    m = _CAPTION.match(line)
    if not m:
        return None
    return "table" if m.group(1).lower() == "table" else "figure"


COVER_MAX_WORDS = 30  # a title page's line is a label of at most this many words ...
SENTENCE_MIN_WORDS = 3  # ... and not a sentence: this many words or more, ending like one


def _label(text: str) -> bool:
    """A short line that does not read as a sentence ("Research Briefing", "23 July 2025"). A
    short opening sentence ("This guide is for managers.") is text, and stays quotable; a
    question on a cover ("What is healthcare productivity?") is a contents entry."""
    words = text.split()
    statement = repair.is_sentence_end(text) and not text.rstrip().endswith("?")
    sentence = len(words) >= SENTENCE_MIN_WORDS and statement
    return 0 < len(words) <= COVER_MAX_WORDS and not sentence


def mark_cover(blocks: list[Block]) -> list[Block]:
    """The title page's lines made captions: the short paragraphs a document opens with.

    The cover runs from the first block to the first sentence, list, table or heading (the
    document's title, a level-1 heading, may stand among its lines). Its labels ("Research
    Briefing", "23 July 2025", "By ...", "Open Access") are labels, not answers; the title and
    date are in the document's metadata.
    """
    out = list(blocks)
    for i, block in enumerate(out):
        if block.kind == "heading" and block.level == 1:
            continue
        if block.kind != "paragraph" or not _label(block.text):
            break
        out[i] = block.model_copy(update={"kind": "caption"})
    return out
