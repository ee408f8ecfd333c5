"""Plain text (.txt): headings from short lines, list items, paragraphs re-joined when wrapped."""

from __future__ import annotations

import re

from assistant.ingest import repair
from assistant.ingest.loaders.base import Draft, DraftLoader, Precedence
from assistant.ingest.loaders.cleanup import clean_lines, drop_contents_sections, join_texts
from assistant.ingest.loaders.decoding import decode_text
from assistant.ingest.loaders.furniture import caption_kind, is_boilerplate, set_aside_footnotes
from assistant.ingest.loaders.lines import (
    Raw,
    add_note_line,
    first_line,
    merge_continuations,
    raws_to_blocks,
)
from assistant.ingest.loaders.metadata import find_date

__all__ = ["TextLoader"]

_TEXT_ITEM = re.compile(r"^\s*(?:[-*•▪◦●–]|\d{1,3}[.)])\s+")


class TextLoader(DraftLoader):
    """Plain text files; a short first line is the title."""

    kind = "text"
    extensions = (".txt",)
    precedence = Precedence.PLAIN

    def parse(self, data: bytes, file_name: str) -> Draft:
        text = decode_text(data).replace("\r\n", "\n").replace("\r", "\n")
        gate = repair.has_lost_ll(text)
        lines, pages = repair.strip_running_heads(text.split("\n"))
        lines, pages, notes = set_aside_footnotes(lines, pages)
        hard_wrapped = max((len(line) for line in lines), default=0) <= 200
        raws = _text_raws(lines, pages, notes, hard_wrapped)
        _text_headings(raws)
        for raw in raws:
            raw.text = clean_lines(repair.expand_ligature_glyphs(raw.text))
            if gate:
                raw.text = repair.repair_lost_ll(raw.text, force=True)
        if hard_wrapped:
            raws = merge_continuations(raws)
        title = raws[0].text if raws and raws[0].kind == "h" else first_line(raws)
        return Draft(
            blocks=drop_contents_sections(raws_to_blocks(raws)),
            title=title,
            date=find_date(lines[:40]),
        )


def _text_raws(
    lines: list[str], pages: list[int | None], notes: list[bool], hard_wrapped: bool
) -> list[Raw]:
    """One unit per line (or per wrapped paragraph, when lines were wrapped at a fixed width);
    the lines of footnote blocks (``notes``) become footnotes, a caption line a caption, and
    publication boilerplate goes."""
    raws: list[Raw] = []
    gap = 0
    for line, page, note in zip(lines, pages, notes, strict=True):
        if not line.strip():
            gap += 1
            continue
        if note:
            add_note_line(raws, line.strip(), page, gap)
            gap = 0
            continue
        if is_boilerplate(line):
            continue
        if caption_kind(line.strip()) is not None:
            raws.append(Raw("cap", line.strip(), 0, page, gap, lines=[line.strip()]))
            gap = 0
            continue
        item = _TEXT_ITEM.match(line)
        kind = "li" if item else "p"
        text = line.strip() if not item or line.strip()[0].isdigit() else line[item.end() :].strip()
        prev = raws[-1] if raws else None
        if (
            hard_wrapped
            and prev
            and gap == 0
            and kind == "p"
            and prev.kind in ("p", "li")
            and repair.continues_sentence(prev.text, text)
        ):
            prev.text = join_texts(prev.text, text)
            continue
        raws.append(Raw(kind, text, 1 if item else 0, page, gap, lines=[text]))
        gap = 0
    return raws


def _text_headings(raws: list[Raw]) -> None:
    """Short lines without a final full stop, followed by longer text, are headings."""
    for i, raw in enumerate(raws):
        if raw.kind != "p":
            continue
        nxt = raws[i + 1] if i + 1 < len(raws) else None
        words = raw.text.split()
        if i == 0 and len(words) <= 20 and not re.search(r"[.,;:!]$", raw.text.strip()):
            raw.kind, raw.level = "h", 1  # a short first line is the title
            continue
        if (
            nxt is not None
            and 1 <= len(words) <= 10
            and len(raw.text) <= 90
            and not re.search(r"[.,;:!?]$", raw.text.strip())
            and (raw.text[0].isupper() or raw.text[0].isdigit())
            and (len(nxt.text) > len(raw.text) or nxt.kind == "li")
            and not nxt.text[:1].islower()  # the rest of its sentence: not a heading
        ):
            raw.kind, raw.level = "h", 2
