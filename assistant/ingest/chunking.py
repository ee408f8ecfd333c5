"""Structure-aware chunking: sections first, then whole sentences packed up to a token budget.

Each chunk belongs to one section (the headings above it) and never cuts a sentence, unless one
sentence alone is longer than the budget. Neighbouring chunks of a section share about
``overlap_tokens`` of whole sentences. Chunk ids hash the section and the text, so they stay
the same across runs for unchanged text, and an edit in one place leaves other ids alone.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from assistant.ingest.loaders.tables import head_rows
from assistant.schemas import Block, Chunk, ChunkKind, ParsedDocument
from assistant.text.sentences import ends_with_terminal, is_list_item, split_sentences

__all__ = ["chunk_document"]

TokenCounter = Callable[[str], int]


# --------------------------------------------------------------------------------------------
# Sections and units


@dataclass
class _Unit:
    """A sentence (or a table row, or a piece of an over-long sentence) with its size."""

    text: str
    tokens: int
    page: int | None
    new_block: bool  # first unit of its block: joined to the previous one with a line break
    kind: ChunkKind = "text"  # "table" for a table's rows: they go to chunks of their own
    # A table row's caption and header lines (the units before its first row of cells): a
    # table cut in two opens its second chunk with them, so each row keeps its columns' names.
    head: list[_Unit] | None = None
    table: int = 0  # which table a row belongs to (its block's id); 0 for prose
    garbled: bool = False  # from a column-interleaved block
    # The heading path ("A > B") the unit stands under in the document; a chunk merging a short
    # section into the next one holds units of both.
    section: str = ""


@dataclass
class _Section:
    headings: list[str]
    units: list[_Unit] = field(default_factory=list)

    @property
    def tokens(self) -> int:
        return sum(u.tokens for u in self.units)


def _sections(blocks: list[Block]) -> list[tuple[list[str], list[Block]]]:
    """Blocks grouped under their enclosing headings, in document order."""
    stack: list[tuple[int, str]] = []
    sections: list[tuple[list[str], list[Block]]] = []
    current: list[Block] = []
    path: list[str] = []
    for block in blocks:
        if block.kind == "heading":
            if current:
                sections.append((path, current))
            current = []
            level = max(block.level, 1)
            while stack and stack[-1][0] >= level:
                stack.pop()
            stack.append((level, block.text.strip()))
            path = [text for _, text in stack]
        elif block.text.strip():
            current.append(block)
    if current:
        sections.append((path, current))
    return sections


LIST_BULLET = "•"  # marks a list item in chunk text, where its loader dropped the bullet


def indexed_text(block: Block) -> str:
    """A block's text as chunks hold it. A list item keeps its bullet, or gets one where the
    loader dropped it: without one, the item reads as a wrapped line of the sentence before
    it, and a lead-in's items ran together into one quote ("... as a guide reducing agency
    expenditure ...")."""
    if block.kind == "list_item" and not is_list_item(block.text.lstrip()):
        return f"{LIST_BULLET} {block.text.lstrip()}"
    return block.text


def _units(blocks: list[Block], count: TokenCounter, max_tokens: int) -> list[_Unit]:
    units: list[_Unit] = []
    for block in blocks:
        text = indexed_text(block)
        pieces = (
            [row for row in text.split("\n") if row.strip()]
            if block.kind == "table"
            # Cautious: a chunk boundary inside a sentence costs more than a long unit.
            else split_sentences(re.sub(r"\s+", " ", text), cautious=True)
        )
        first = True
        kind: ChunkKind = "table" if block.kind == "table" else "text"
        head: list[_Unit] = []
        heads = head_rows(pieces) if kind == "table" else 0
        for n, piece in enumerate(pieces):
            in_head = n < heads
            parts = _fit(piece, count, max_tokens)
            for i, part in enumerate(parts):
                unit = _Unit(
                    part,
                    count(part),
                    block.page,
                    first,
                    kind=kind,
                    head=None if in_head else head,
                    table=id(block) if kind == "table" else 0,
                    garbled=block.garbled,
                )
                units.append(unit)
                if in_head:
                    head.append(unit)
                # Each table row keeps its own line; sentences of a paragraph share one.
                first = block.kind == "table" and i == len(parts) - 1
    return units


def _fit(sentence: str, count: TokenCounter, max_tokens: int) -> list[str]:
    """A sentence, or pieces of it split between words when it alone exceeds ``max_tokens``."""
    if count(sentence) <= max_tokens:
        return [sentence]
    pieces: list[str] = []
    words: list[str] = []
    used = 0
    for word in sentence.split():
        size = count(word)
        if words and used + size > max_tokens:
            pieces.extend(_shrink(" ".join(words), count, max_tokens))
            words, used = [], 0
        words.append(word)
        used += size
    if words:
        pieces.extend(_shrink(" ".join(words), count, max_tokens))
    return pieces


def _shrink(text: str, count: TokenCounter, max_tokens: int) -> list[str]:
    """Guard for counters that are not additive over words: halve until every piece fits."""
    if count(text) <= max_tokens:
        return [text]
    words = text.split()
    if len(words) == 1:
        return _split_word(text, count, max_tokens)
    mid = len(words) // 2
    left, right = " ".join(words[:mid]), " ".join(words[mid:])
    return _shrink(left, count, max_tokens) + _shrink(right, count, max_tokens)


def _split_word(word: str, count: TokenCounter, max_tokens: int) -> list[str]:
    """A single enormous "word" (a URL, a data dump) cut into pieces that fit."""
    pieces: list[str] = []
    while word:
        size = len(word)
        while size > 1 and count(word[:size]) > max_tokens:
            size //= 2
        pieces.append(word[:size])
        word = word[size:]
    return pieces


# --------------------------------------------------------------------------------------------
# Packing


def _join(units: list[_Unit]) -> str:
    """Units as text: sentences of one block joined by spaces, blocks by line breaks (a blank
    line where a page break, its furniture gone, parts two pieces that are not one sentence:
    see :func:`_apart`)."""
    parts: list[str] = []
    for i, unit in enumerate(units):
        if i:
            parts.append(_separator(units[i - 1], unit))
        parts.append(unit.text)
    return "".join(parts)


def _separator(prev: _Unit, unit: _Unit) -> str:
    """What goes between two units in a chunk's text."""
    if not unit.new_block:
        return " "
    return "\n\n" if _apart(prev, unit) else "\n"


def _apart(prev: _Unit, unit: _Unit) -> bool:
    """Whether a page break lies between a finished sentence and text opening in lower case:
    the page's furniture (a page number, a running head) once stood between them, and the
    sentence splitter would now read them as one sentence. They are not one: the first ended."""
    return (
        prev.page is not None
        and unit.page is not None
        and prev.page != unit.page
        and ends_with_terminal(prev.text)
        and unit.text[:1].islower()
    )


def _garbled_spans(units: list[_Unit]) -> list[tuple[int, int]]:
    """Where the garbled units lie in ``_join(units)``: [start, end) offsets, neighbours merged."""
    spans: list[tuple[int, int]] = []
    pos = 0
    for i, unit in enumerate(units):
        gap = len(_separator(units[i - 1], unit)) if i else 0  # as _join puts it
        pos += gap
        end = pos + len(unit.text)
        if unit.garbled:
            if spans and spans[-1][1] >= pos - gap:
                spans[-1] = (spans[-1][0], end)
            else:
                spans.append((pos, end))
        pos = end
    return spans


def _page_breaks(units: list[_Unit]) -> list[tuple[int, int]]:
    """Where a new page begins in ``_join(units)``: (offset, page) for each page after the
    first, so a quote can be cited on the page it stands on, not the chunk's first page."""
    breaks: list[tuple[int, int]] = []
    pos = 0
    current: int | None = None
    for i, unit in enumerate(units):
        pos += len(_separator(units[i - 1], unit)) if i else 0  # as _join puts it
        if unit.page is not None and unit.page != current:
            if current is not None:
                breaks.append((pos, unit.page))
            current = unit.page
        pos += len(unit.text)
    return breaks


def _pack(
    units: list[_Unit], count: TokenCounter, max_tokens: int, overlap_tokens: int
) -> list[list[_Unit]]:
    """Greedy packing of units into chunks, each new chunk opening with the last whole
    sentences (up to ``overlap_tokens``) of the one before.

    A table's rows go to chunks of their own, never shared with prose (nor with another
    table): the answerer reads a table chunk as rows, not sentences. The prose on each side of
    a table goes on packing as one flow, each paragraph on its own line, so that a table does
    not leave a fragment of a paragraph as a chunk of its own.
    """
    chunks: list[list[_Unit]] = []
    current: list[_Unit] = []
    fresh = 0  # units in ``current`` that are not overlap
    rows: list[_Unit] = []  # the table being packed
    for unit in units:
        if unit.kind == "table":
            if rows and rows[-1].table != unit.table:
                chunks.append(rows)
                rows = []
            if rows and _size([*rows, unit], count, max_tokens) > max_tokens:
                chunks.append(rows)
                rows = _table_head(rows[-1], unit, count, max_tokens)
            rows.append(unit)
            continue
        if rows:
            chunks.append(rows)
            rows = []
        if fresh and _size([*current, unit], count, max_tokens) > max_tokens:
            chunks.append(current)
            current = _overlap(current, unit, count, max_tokens, overlap_tokens)
            fresh = 0
        current.append(unit)
        fresh += 1
    if rows:
        chunks.append(rows)
    if fresh:
        chunks.append(current)
    return chunks


def _size(units: list[_Unit], count: TokenCounter, max_tokens: int) -> int:
    """Tokens of the joined units. Word-piece counts add up over whitespace, so the sum is
    exact for the real tokenizer; the joined text is counted only near the limit, which keeps
    other counters honest without re-counting every chunk at every step."""
    estimate = sum(u.tokens for u in units)
    return count(_join(units)) if estimate > 0.9 * max_tokens else estimate


def _table_head(last: _Unit, nxt: _Unit, count: TokenCounter, max_tokens: int) -> list[_Unit]:
    """What a table's next chunk opens with: its caption and header lines when ``nxt`` goes
    on the table ``last`` is in (and they leave room for it), else nothing: rows are not
    repeated as an overlap."""
    if not nxt.head or last.table != nxt.table:
        return []
    head = [replace(u, new_block=True, head=None, table=0, garbled=False) for u in nxt.head]
    return head if _size([*head, nxt], count, max_tokens) <= max_tokens else []


def _overlap(
    previous: list[_Unit], nxt: _Unit, count: TokenCounter, max_tokens: int, overlap_tokens: int
) -> list[_Unit]:
    """The trailing whole sentences of ``previous`` (never all of it) that fit in the overlap
    and leave room for ``nxt``."""
    tail: list[_Unit] = []
    used = 0
    for unit in reversed(previous[1:]):
        if used + unit.tokens > overlap_tokens:
            break
        tail.insert(0, unit)
        used += unit.tokens
    while tail and _size([*tail, nxt], count, max_tokens) > max_tokens:
        tail.pop(0)
    if tail:
        tail[0] = replace(tail[0], new_block=True, head=None, table=0)
    return tail


# --------------------------------------------------------------------------------------------
# Small sections


def _merge_small(sections: list[_Section], min_tokens: int, count: TokenCounter) -> list[_Section]:
    """Merge a section too small to stand alone (a heading and a line) into the next section
    when that one is its sibling or its child; the heading path of whichever holds more text
    is kept, and a sibling's heading stays in the text as its first line."""
    out: list[_Section] = []
    pending: _Section | None = None
    for section in sections:
        if pending is not None:
            if _related(pending, section):
                section = _combine(pending, section, count)
            else:
                out.append(pending)
            pending = None
        if section.tokens < min_tokens:
            pending = section
        else:
            out.append(section)
    if pending is not None:
        out.append(pending)
    return out


def _related(small: _Section, nxt: _Section) -> bool:
    """Siblings share their parent path; a child's path starts with the small section's."""
    a, b = small.headings, nxt.headings
    siblings = len(a) == len(b) and a[:-1] == b[:-1]
    child = len(b) > len(a) and b[: len(a)] == a
    return bool(a) and (siblings or child)


def _combine(small: _Section, nxt: _Section, count: TokenCounter) -> _Section:
    """One section of two: each unit keeps the heading path it stands under, and each part
    opens with its own heading as a line, so no heading is lost from the text."""
    headings = small.headings if small.tokens > nxt.tokens else nxt.headings
    first = replace(nxt.units[0], new_block=True)
    units = [
        *_heading_line(small, count),
        *small.units,
        *_heading_line(nxt, count),
        first,
        *nxt.units[1:],
    ]
    return _Section(list(headings), units)


def _heading_line(section: _Section, count: TokenCounter) -> list[_Unit]:
    """The section's own heading as a first line, unless its text opens with it already (or
    with the heading line of a section merged into it before)."""
    heading = section.headings[-1] if section.headings else ""
    first = section.units[0]
    if (
        not heading
        or first.text.strip() == heading.strip()
        or first.section != " > ".join(section.headings)
    ):
        return []
    # The heading goes with what it heads: in a table's chunk when the section is a table.
    return [_Unit(heading, count(heading), first.page, True, first.kind, section=first.section)]


# --------------------------------------------------------------------------------------------
# Entry point


def chunk_document(
    doc: ParsedDocument,
    count_tokens: TokenCounter,
    max_tokens: int = 220,
    overlap_tokens: int = 32,
) -> list[Chunk]:
    """Cut a parsed document into chunks of at most ``max_tokens`` (as counted by
    ``count_tokens``), each within one section, with about ``overlap_tokens`` of whole
    sentences shared between neighbours of the same section."""
    if max_tokens < 1:
        raise ValueError("max_tokens must be positive")
    count_tokens = _at_least_chars(count_tokens)
    overlap_tokens = max(0, min(overlap_tokens, max_tokens // 2))
    blocks = [
        b
        for b in doc.blocks
        if b.kind not in UNINDEXED_KINDS and not b.planted and not is_table_of_contents(b.text)
    ]
    sections = [
        _Section(_section_path(path, doc.meta.title), _units(blocks, count_tokens, max_tokens))
        for path, blocks in _sections(blocks)
        if not any(REFERENCE_SECTION.match(h) for h in path)
    ]
    sections = [s for s in sections if s.units]
    for section in sections:
        path = " > ".join(section.headings)
        for unit in section.units:
            unit.section = path
    sections = _merge_small(sections, max(8, max_tokens // 8), count_tokens)
    chunks: list[Chunk] = []
    seen: Counter[tuple[str, str]] = Counter()
    for section in sections:
        for units in _pack(section.units, count_tokens, max_tokens, overlap_tokens):
            chunks.append(_make_chunk(doc.meta.doc_id, section.headings, units, seen, len(chunks)))
    return chunks


# Word-piece tokenizers read a word longer than about 100 characters as one unknown token, so a
# 100,000-character run with no space would count as one token and become one huge passage. No
# real text has more characters than this per token; counting at least this many keeps it cut.
MAX_CHARS_PER_TOKEN = 16


def _at_least_chars(count: TokenCounter) -> TokenCounter:
    """``count``, but never fewer tokens than the characters allow."""

    def bounded(text: str) -> int:
        return max(count(text), len(text) // MAX_CHARS_PER_TOKEN)

    return bounded


# Reference lists and footnotes name every topic and answer none: they are not indexed. A
# footnote block from the foot of a page (see loaders.furniture) is left out the same way, and
# so is a figure's caption: a label for a picture the text does not hold.
UNINDEXED_KINDS = frozenset({"footnote", "caption"})
REFERENCE_SECTION = re.compile(
    r"^\W*(?:\d+\.?\s*)?(?:references?|bibliography|footnotes|endnotes|notes|works cited)\W*$",
    re.IGNORECASE,
)
_TOC_ENTRY = re.compile(r"([A-Z][^.?!\d]{1,80}?)\s(\d{1,3})(?=\s|$)")
TOC_MIN_ENTRIES = 4
TOC_MIN_SHARE = 0.6


def is_table_of_contents(text: str) -> bool:
    """A contents list flattened into one block ("Introduction 7 Part 1. The problem 8 ...").

    Such a block matches every question that names the document and answers none of them.
    Its marks: several capitalised titles each followed by a page number, the numbers rising,
    and little else in the block.
    """
    entries = list(_TOC_ENTRY.finditer(text))
    if len(entries) < TOC_MIN_ENTRIES:
        return False
    pages = [int(m.group(2)) for m in entries]
    rising = sum(b >= a for a, b in itertools.pairwise(pages)) / (len(pages) - 1)
    covered = sum(len(m.group(0)) for m in entries) / max(1, len(text))
    return rising >= 0.8 and covered >= TOC_MIN_SHARE


def _key(text: str) -> str:
    return re.sub(r"[\W_]+", "", text.lower())


def _section_path(path: list[str], title: str) -> list[str]:
    """The heading path, without a top heading that repeats the document title; text before
    any heading sits under the title."""
    if len(path) > 1 and _key(path[0]) == _key(title):
        return path[1:]
    return path or [title]


def _make_chunk(
    doc_id: str,
    headings: list[str],
    units: list[_Unit],
    seen: Counter[tuple[str, str]],
    ordinal: int,
) -> Chunk:
    """A chunk whose id hashes its section, text and how many identical chunks came before
    (and its kind, when not prose: rows once stored as prose are stored again, marked)."""
    text = _join(units)
    kind = units[-1].kind
    section = " > ".join(headings)
    k = seen[(section, text)]
    seen[(section, text)] += 1
    payload = f"{section}\n{text}\n{k}" + ("" if kind == "text" else f"\n{kind}")
    digest = hashlib.sha1(payload.encode(), usedforsecurity=False).hexdigest()[:16]
    pages = [u.page for u in units if u.page is not None]
    spans = _garbled_spans(units)
    return Chunk(
        chunk_id=f"{doc_id}:{digest}",
        doc_id=doc_id,
        ordinal=ordinal,
        text=text,
        headings=list(headings),
        page_start=min(pages) if pages else None,
        page_end=max(pages) if pages else None,
        kind=kind,
        # "Mostly": more than half of the characters lie in interleaved blocks.
        garbled=2 * sum(b - a for a, b in spans) > len(text),
        garbled_spans=spans,
        page_breaks=_page_breaks(units),
        section_breaks=_section_breaks(units, section),
    )


def _section_breaks(units: list[_Unit], section: str) -> list[tuple[int, str]]:
    """Where the text's heading path changes in ``_join(units)``: (offset, path) for each
    stretch not under the chunk's own ``section`` and for the return to it; [] when every
    unit stands under ``section``."""
    breaks: list[tuple[int, str]] = []
    pos = 0
    current = section
    for i, unit in enumerate(units):
        pos += len(_separator(units[i - 1], unit)) if i else 0  # as _join puts it
        mine = unit.section or section
        if mine != current:
            breaks.append((pos, mine))
            current = mine
        pos += len(unit.text)
    return breaks
