"""Text tidying every loader shares: whitespace, matching keys, tables of contents.

Kept in one place so that a heading matched across sources, or a "Contents" section dropped,
is treated the same whatever the file's format.
"""

from __future__ import annotations

import re

from assistant.ingest import repair
from assistant.schemas import Block

__all__ = [
    "CONTENTS_TITLES",
    "clean_lines",
    "clean_spaces",
    "drop_contents_sections",
    "finish_block",
    "join_texts",
    "norm",
]

CONTENTS_TITLES = {"contents", "content", "tableofcontents"}


def norm(text: str) -> str:
    """Text reduced to lower-case letters and digits, for matching headings across sources."""
    return re.sub(r"[\W_]+", "", text.lower())


def clean_spaces(text: str) -> str:
    """Collapse runs of whitespace to one space."""
    return re.sub(r"\s+", " ", text).strip()


def clean_lines(text: str) -> str:
    """Words hyphenated over lines joined, then all whitespace collapsed."""
    return clean_spaces(repair.join_hyphenated(text))


def join_texts(first: str, second: str) -> str:
    """Two pieces of one sentence, re-joined across a line break."""
    if first.endswith(("-", "\u2010", "\u2011")):
        return clean_spaces(repair.join_hyphenated(first + "\n" + second))
    return first + " " + second


def drop_contents_sections(blocks: list[Block]) -> list[Block]:
    """Remove a "Contents" heading and the table of contents under it."""
    out: list[Block] = []
    skip_level: int | None = None
    for block in blocks:
        if skip_level is not None:
            if block.kind != "heading" or block.level > skip_level:
                continue
            skip_level = None
        if block.kind == "heading" and norm(block.text) in CONTENTS_TITLES:
            skip_level = block.level
            continue
        out.append(block)
    return out


def finish_block(block: Block, gate: bool) -> Block:
    """A parsed block's final text: ligature glyphs expanded, the lost "ll" restored when the
    document has it (``gate``), whitespace collapsed (a table keeps one line per row)."""
    text = repair.expand_ligature_glyphs(block.text)
    if gate:
        text = repair.repair_lost_ll(text, force=True)
    if block.kind == "table":
        text = "\n".join(clean_spaces(line) for line in text.split("\n"))
    else:
        text = clean_spaces(text)
    return block.model_copy(update={"text": text})
