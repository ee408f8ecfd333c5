"""Line units: how the Markdown and plain-text loaders read a file before it becomes blocks.

Both read line by line into :class:`Raw` units (a heading, a paragraph, a list item, a table),
decide which are headings by their own rules, then share the steps here: re-joining sentences
broken over lines, picking a title line, and turning units into blocks.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from assistant.ingest import repair
from assistant.ingest.loaders.cleanup import join_texts
from assistant.ingest.loaders.furniture import is_note_start
from assistant.schemas import Block

__all__ = ["Raw", "add_note_line", "first_line", "merge_continuations", "raws_to_blocks"]


@dataclass
class Raw:
    """A line-level unit of a Markdown or text file, before it becomes a Block."""

    # "h" (# heading), "b" (bold-only line), "p", "li", "tbl", "cap" (a caption), "fn" (a note)
    kind: str
    text: str
    level: int = 0
    page: int | None = None
    gap: int = 0  # blank lines before it
    bold: bool = False  # the line was entirely bold (a heading candidate or a table header)
    lines: list[str] = field(default_factory=list)


def add_note_line(raws: list[Raw], line: str, page: int | None, gap: int) -> None:
    """A line of a footnote block: a new note when it starts with its number, else the rest of
    the note before it."""
    prev = raws[-1] if raws else None
    if prev is not None and prev.kind == "fn" and is_note_start(line) is None:
        prev.lines.append(line)
        prev.text += "\n" + line
    else:
        raws.append(Raw("fn", line, 0, page, gap, lines=[line]))


def merge_continuations(raws: list[Raw]) -> list[Raw]:
    """Join a paragraph to the previous paragraph or item when it continues its sentence."""
    out: list[Raw] = []
    last = ""
    for raw in raws:
        prev = out[-1] if out else None
        if (
            prev
            and prev.kind in ("p", "li")
            and raw.kind == "p"
            and repair.continues_sentence(last, raw.text)
        ):
            prev.text = join_texts(prev.text, raw.text)
        else:
            out.append(raw)
        last = raw.lines[-1] if raw.lines else raw.text
    return out


def first_line(raws: list[Raw]) -> str | None:
    """A title from the first short paragraph near the top (4-25 words, not a sentence)."""
    for raw in raws[:12]:
        words = raw.text.split()
        if raw.kind == "p" and 4 <= len(words) <= 25 and not raw.text.rstrip().endswith("."):
            return raw.text
    return raws[0].text if raws else None


def raws_to_blocks(raws: list[Raw]) -> list[Block]:
    kinds = {
        "h": "heading",
        "p": "paragraph",
        "li": "list_item",
        "tbl": "table",
        "b": "paragraph",
        "fn": "footnote",
        "cap": "caption",
    }
    blocks: list[Block] = []
    for raw in raws:
        if raw.kind not in kinds or not raw.text.strip():
            continue
        kind = kinds[raw.kind]
        level = min(max(raw.level, 1), 6) if kind == "heading" else 0
        blocks.append(Block(kind=kind, text=raw.text, level=level, page=raw.page))
    return blocks
