"""Markdown (.md, .markdown): headings, bold-line headings, lists, tables and front matter.

Much of the corpus is Markdown converted from PDF, so besides plain Markdown this reads what
such conversions leave: headings set as bold lines or split over lines, a "Document Outline"
of the PDF's bookmarks at the end, running heads, a table of contents, and tables shattered
into word fragments.
"""

from __future__ import annotations

import re
import statistics
from collections import Counter

from assistant.ingest import repair
from assistant.ingest.loaders.base import Draft, DraftLoader, Precedence
from assistant.ingest.loaders.cleanup import (
    CONTENTS_TITLES,
    clean_lines,
    clean_spaces,
    drop_contents_sections,
    norm,
)
from assistant.ingest.loaders.decoding import decode_text
from assistant.ingest.loaders.furniture import (
    caption_kind,
    is_boilerplate,
    set_aside_footnotes,
)
from assistant.ingest.loaders.lines import (
    Raw,
    add_note_line,
    first_line,
    merge_continuations,
    raws_to_blocks,
)
from assistant.ingest.loaders.metadata import find_date, looks_like_title, split_front_matter
from assistant.ingest.loaders.tables import render_row, rows_from_lines, table_runs

__all__ = ["MarkdownLoader"]

_MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
_EMPTY_BOLD = re.compile(r"\*\*\s*\*\*")
_BOLD_ONLY = re.compile(r"(?:\*\*[^*]+?\*\*[\s:]*)+")
_MD_ITEM = re.compile(r"^(\s*)(?:[-*+•▪◦●]|\d{1,3}[.)])\s+(?=\S)")
_MD_TABLE_ROW = re.compile(r"^\s*\|.*\|\s*$")
_MD_TABLE_RULE = re.compile(r"^\s*\|?\s*:?-{3,}:?\s*(\|\s*:?-{3,}:?\s*)*\|?\s*$")
_MD_RULE = re.compile(r"^\s*(?:-{3,}|\*{3,}|_{3,})\s*$")
_MD_IMAGE_LINE = re.compile(r"^\s*!\[[^\]]*\]\([^)]*\)\s*$")
_FOOTNOTE_DEF = re.compile(r"^\[\^([^\]]+)\]:\s*(.*)$")
_LONE_BULLETS = {"•", "▪", "◦", "●", "-", "*", "+", "–"}
_PAGE_REF = re.compile(r"^(?:p\.?\s*)?\d{1,4}$", re.IGNORECASE)
# Conversions keep no line width; a line shorter than 3/4 of this may be a table's label.
MD_TEXT_WIDTH = 80


class MarkdownLoader(DraftLoader):
    """Markdown files, including conversions from PDF (see the module's docstring)."""

    kind = "markdown"
    extensions = (".md", ".markdown")
    precedence = Precedence.PLAIN

    def parse(self, data: bytes, file_name: str) -> Draft:
        text = decode_text(data).replace("\r\n", "\n").replace("\r", "\n")
        front, text = split_front_matter(text)
        outline, text = _split_outline(text)
        gate = repair.has_lost_ll(text)
        lines, pages = repair.strip_running_heads(text.split("\n"))
        lines, pages, notes = set_aside_footnotes(lines, pages)
        tables = dict(table_runs([_md_inline(line) for line in lines], MD_TEXT_WIDTH))
        raws = _md_raws(lines, pages, notes, tables)
        raws = _drop_contents_raws(raws)
        if outline:
            roots = [title for level, title in outline if level == 1]
            title_raw = _pick_title_raw([r for r in raws if r.kind in ("h", "b")])
            if len(roots) == 1 and not roots[0][:1].isdigit():
                # A single, unnumbered root bookmark is the document's title.
                title_raw = Raw("h", roots[0], 1)
            raws = _apply_outline(raws, outline)
        else:
            raws = _md_headings(raws)
            title_raw = None if front.get("title") else _pick_title_raw(raws)
        raws = _drop_debris(raws)
        raws = [_finish_inline(r, gate) for r in raws]
        raws = merge_continuations([r for r in raws if r.text.strip()])
        raws = _drop_fragment_runs([r for r in raws if r.kind == "h" or not _is_debris(r.text)])
        blocks = drop_contents_sections(raws_to_blocks(raws))
        title = front.get("title") or (title_raw.text if title_raw else None) or first_line(raws)
        if title:
            title = clean_spaces(repair.repair_lost_ll(_md_inline(title), force=gate))
        return Draft(
            blocks=blocks,
            title=title,
            date=front.get("date") or find_date(lines[:60]),
            pages=max((b.page for b in blocks if b.page), default=None),
        )


_OUTLINE_START = re.compile(r"^#{1,6}\s+Document Outline\s*$", re.MULTILINE)
_OUTLINE_ENTRY = re.compile(r"^(\t*| *)[+*-]\s+(.+?)\s*$")


def _split_outline(text: str) -> tuple[list[tuple[int, str]], str]:
    """A trailing "# Document Outline" list (PDF bookmarks) as (level, title), and the body."""
    m = _OUTLINE_START.search(text)
    if not m:
        return [], text
    entries: list[tuple[int, str]] = []
    for line in text[m.end() :].split("\n"):
        e = _OUTLINE_ENTRY.match(line)
        if e:
            indent = e.group(1)
            depth = indent.count("\t") if "\t" in indent else len(indent) // 2
            entries.append((depth + 1, repair.unescape_markdown(e.group(2))))
        elif line.strip():
            break
    return entries, text[: m.start()]


def _md_raws(
    lines: list[str], pages: list[int | None], notes: list[bool], tables: dict[int, int]
) -> list[Raw]:
    """Split Markdown lines into heading, bold, paragraph, list item, table, caption and
    footnote units. ``notes`` flags the lines of footnote blocks; ``tables`` maps the first
    line of a flattened table to the line after it. Publication boilerplate is left out."""
    raws: list[Raw] = []
    gap = 0
    bullet_pending = False
    skip_to = 0
    for i, (line, page, note) in enumerate(zip(lines, pages, notes, strict=True)):
        if i < skip_to:
            continue
        if i in tables:
            skip_to = tables[i]
            rows = rows_from_lines([_md_inline(x) for x in lines[i:skip_to]])
            raws.append(Raw("tbl", "\n".join(rows), 0, page, gap, lines=rows))
            gap, bullet_pending = 0, False
            continue
        stripped = _EMPTY_BOLD.sub(_empty_bold, line).strip()
        if not stripped or _MD_RULE.match(stripped) or _MD_IMAGE_LINE.match(stripped):
            gap += 1 if not line.strip() else 0
            continue
        if note:
            add_note_line(raws, stripped, page, gap)
            gap, bullet_pending = 0, False
            continue
        if is_boilerplate(stripped):
            continue
        if caption_kind(stripped) is not None:
            raws.append(Raw("cap", stripped, 0, page, gap, lines=[stripped]))
            gap, bullet_pending = 0, False
            continue
        if stripped in _LONE_BULLETS:
            bullet_pending = True  # "•" on its own line: the item text follows
            continue
        raw = _md_line_raw(line, stripped, page, gap)
        if bullet_pending and raw.kind == "p":
            raw.kind, raw.level = "li", 1
        bullet_pending = False
        gap = 0
        prev = raws[-1] if raws else None
        if prev and raw.gap == 0 and _continues_unit(prev, raw):
            prev.lines.append(raw.text)
            prev.text += "\n" + raw.text
            continue
        raws.append(raw)
    return raws


def _empty_bold(m: re.Match[str]) -> str:
    """ "** **" between two words stood for a space; "****" for nothing."""
    return " " if m.group(0).strip("*") else ""


def _md_line_raw(line: str, stripped: str, page: int | None, gap: int) -> Raw:
    """Classify one non-blank Markdown line."""
    m = _MD_HEADING.match(stripped)
    if m:
        body = m.group(2)
        bold = bool(_BOLD_ONLY.fullmatch(body.strip()))
        return Raw("h", body, len(m.group(1)), page, gap, bold=bold, lines=[body])
    if _BOLD_ONLY.fullmatch(stripped):
        return Raw("b", stripped, 0, page, gap, bold=True, lines=[stripped])
    if _MD_TABLE_ROW.match(stripped):
        kind = "rule" if _MD_TABLE_RULE.match(stripped) else "tbl"
        return Raw(kind, stripped, 0, page, gap, lines=[stripped])
    fn = _FOOTNOTE_DEF.match(stripped)
    if fn:
        text = f"[{fn.group(1)}] " + _links_with_urls(fn.group(2))
        return Raw("p", text, 0, page, gap, lines=[text])
    item = _MD_ITEM.match(line)
    if item:
        level = len(item.group(1).expandtabs(4)) // 2 + 1
        text = (
            stripped if re.match(r"\d", stripped) else stripped[item.end() - len(item.group(1)) :]
        )
        return Raw("li", text.strip(), level, page, gap, lines=[text])
    return Raw("p", stripped, 0, page, gap, lines=[stripped])


def _continues_unit(prev: Raw, raw: Raw) -> bool:
    """Markdown joins lines without a blank between them into one paragraph or table."""
    if prev.kind == "tbl" and raw.kind in ("tbl", "rule"):
        return True
    return prev.kind in ("p", "li") and raw.kind == "p"


def _links_with_urls(text: str) -> str:
    """Markdown links as "text (url)", for footnotes where the address is the content."""
    return re.sub(r"(?<!\\)\[([^\]]+)\]\(([^)\s]+)\)", r"\1 (\2)", text)


def _raw_key(raw: Raw) -> str:
    return norm(_md_inline(raw.text))


def _drop_contents_raws(raws: list[Raw]) -> list[Raw]:
    """Remove a table of contents: from a "Contents" line to where its first entry recurs."""
    for i, raw in enumerate(raws[:200]):
        if raw.kind in ("h", "b", "p") and _raw_key(raw) in CONTENTS_TITLES:
            end = _contents_end(raws, i)
            if end is not None:
                return raws[:i] + raws[end:]
    return raws


def _contents_end(raws: list[Raw], start: int) -> int | None:
    """Index of the body heading that repeats the first contents entry, if found nearby."""
    first = next(
        (
            _raw_key(r)
            for r in raws[start + 1 : start + 10]
            if _raw_key(r) and not _PAGE_REF.match(_raw_key(r))
        ),
        None,
    )
    if not first:
        return None
    seen_first = False
    for j in range(start + 1, min(len(raws), start + 400)):
        if _raw_key(raws[j]) != first:
            continue
        if not seen_first:
            seen_first = True  # the entry itself; what we want is its return in the body
            continue
        # A chapter number set bold just before the heading ("**1**") belongs to the body.
        before = raws[j - 1]
        if before.bold and _PAGE_REF.match(_raw_key(before)) and j - 1 > start:
            return j - 1
        return j
    return None


def _apply_outline(raws: list[Raw], outline: list[tuple[int, str]]) -> list[Raw]:
    """Use the PDF bookmarks listed at the end of a conversion to find the real headings.

    Entries are matched backwards, each at its last occurrence before the next entry's match,
    so a table of contents earlier in the text is not mistaken for the headings. A heading may
    be split over up to four lines ("1.1" / "What has government said about NHS" / ...).
    """
    keys = [_raw_key(r) for r in raws]
    matches: dict[int, tuple[int, int, str]] = {}
    limit = len(raws)
    for level, title in reversed(outline):
        target = norm(title)
        hit = _find_window(keys, raws, target, limit)
        if hit is None:
            continue
        start, length = hit
        matches[start] = (length, level, title)
        limit = start
    out: list[Raw] = []
    skip = 0
    for i, raw in enumerate(raws):
        if skip:
            skip -= 1
            continue
        if i in matches:
            length, level, title = matches[i]
            out.append(Raw("h", title, level, raw.page, raw.gap, lines=[title]))
            skip = length - 1
            continue
        if raw.kind in ("h", "b"):
            raw.kind = "p"
        out.append(raw)
    return out


def _find_window(
    keys: list[str], raws: list[Raw], target: str, limit: int
) -> tuple[int, int] | None:
    """The last start before ``limit`` of 1-4 consecutive short units whose text is ``target``."""
    if not target:
        return None
    for start in range(limit - 1, -1, -1):
        acc = ""
        for length in range(1, 5):
            j = start + length - 1
            if j >= limit or raws[j].kind in ("li", "tbl") or len(keys[j]) > 160:
                break
            acc += keys[j]
            if acc == target:
                return start, length
            if not target.startswith(acc):
                break
    return None


_CONNECTOR_END = re.compile(
    r"\b(?:and|or|of|the|a|an|to|in|for|with|by|on|at|from|as|into|our|their|its)$", re.IGNORECASE
)
_COVER_UNITS = 15  # units at the start of a file that may hold a title split over lines
_CAPTION = re.compile(r"^(?:table|figure|chart|box|diagram|image)\s*\d", re.IGNORECASE)


def _md_headings(raws: list[Raw]) -> list[Raw]:
    """Decide which # and bold lines are headings: join split ones, drop page-number ones,
    and treat runs of three or more bold lines as a table header, not as headings."""
    raws = [r for r in raws if not (r.kind in ("h", "b") and _PAGE_REF.match(_raw_key(r) or "0"))]
    raws = _join_split_headings(raws)
    _demote_bold_runs(raws)
    repeated = Counter(_raw_key(r) for r in raws if r.kind in ("h", "b") and r.bold)
    for raw in raws:
        if raw.kind not in ("h", "b"):
            continue
        plain = clean_spaces(_md_inline(raw.text))
        if raw.kind == "h" and not raw.bold:
            # A plain "#" heading is trusted, unless it has no words ("### 8": a page number).
            if not re.search(r"[^\W\d_]{2}", plain):
                raw.kind = "p"
            continue
        # A short bold label seen twice or more is a table's column header ("Output").
        label = repeated[_raw_key(raw)] >= 2 and len(plain.split()) <= 4
        if label or not _bold_heading_ok(plain):
            raw.kind = "p"
        elif raw.kind == "b":
            raw.kind, raw.level = "h", 2
    return raws


def _bold_heading_ok(plain: str) -> bool:
    """A heading line is kept unless it reads like a sentence, a caption, a bullet or a table
    cell (no letters, a lower-case start, or ending on "for", "and", ":")."""
    if not plain or len(plain) > 150 or plain.endswith((".", ",", ":", ";", "-")):
        return False
    if not re.search(r"[^\W\d_]{2}", plain) or plain[0].islower() or plain[0] in "•▪–-":
        return False
    return not (_CAPTION.match(plain) or _CONNECTOR_END.search(plain))


def _is_heading_like(raw: Raw) -> bool:
    return raw.kind in ("h", "b")


def _join_split_headings(raws: list[Raw]) -> list[Raw]:
    """Join headings split over lines ("**2025/26 priorities and **" / "**operational ... **")."""
    out: list[Raw] = []
    for i, raw in enumerate(raws):
        prev = out[-1] if out else None
        if (
            prev
            and _is_heading_like(prev)
            and _is_heading_like(raw)
            and _heading_continues(prev, raw, on_cover=i < _COVER_UNITS)
        ):
            prev.text = (
                clean_spaces(_md_inline(prev.text)) + " " + clean_spaces(_md_inline(raw.text))
            )
            prev.lines.append(raw.text)
            prev.bold = prev.bold and raw.bold
            if prev.kind == "b" and raw.kind == "h":
                prev.kind, prev.level = "h", raw.level
            continue
        out.append(raw)
    return out


def _heading_continues(prev: Raw, raw: Raw, on_cover: bool) -> bool:
    """Whether ``raw`` carries on the heading ``prev`` (cut by the line width)."""
    first = clean_spaces(_md_inline(prev.text))
    second = clean_spaces(_md_inline(raw.text))
    if not first or not second or first.endswith((".", ":", "?", "!")) or len(first) > 100:
        return False
    if _CONNECTOR_END.search(first) or second[0].islower():
        return True
    # On a cover page, a bold line ending in a space inside its markers was cut by the line
    # width ("**Medium Term **" / "**Planning **"); elsewhere such lines are table headers.
    cut = bool(re.search(r"\s\*\*\s*$", prev.lines[-1]))
    return on_cover and cut and len(first) <= 40 and raw.bold


def _demote_bold_runs(raws: list[Raw]) -> None:
    """Three or more bold lines in a row are table headers or labels, not headings (a table's
    caption above them counts as one, and stays a caption)."""
    i = 0
    while i < len(raws):
        j = i
        while j < len(raws) and (
            raws[j].kind in ("b", "cap") or (raws[j].kind == "h" and raws[j].bold)
        ):
            j += 1
        if j - i >= 3:
            for raw in raws[i:j]:
                if raw.kind != "cap":
                    raw.kind = "p"
        i = max(j, i + 1)


def _pick_title_raw(raws: list[Raw]) -> Raw | None:
    """The first heading near the top that names the document; it becomes the level-1 heading."""
    for raw in raws[:30]:
        if raw.kind in ("h", "b") and looks_like_title(_md_inline(raw.text)):
            raw.level = 1
            return raw
    return None


def _drop_debris(raws: list[Raw]) -> list[Raw]:
    """Drop runs of tiny fragments: a rotated or shattered table converted letter by letter."""
    out: list[Raw] = []
    i = 0
    while i < len(raws):
        j = i
        while j < len(raws) and raws[j].kind == "p" and len(_md_inline(raws[j].text).strip()) <= 25:
            j += 1
        run = raws[i:j]
        lengths = [len(_md_inline(r.text).strip()) for r in run]
        if len(run) >= 10 and statistics.median(lengths) <= 12:
            i = j
            continue
        out.extend(run if run else [raws[i]])
        i = max(j, i + 1)
    return out


_URL = re.compile(r"\(?(?:https?://|www\.)\S+")


# A web address that the conversion broke apart ("https:// www. engla nd. nhs. uk/ publi…").
_BROKEN_URL = re.compile(
    r"https?:/{0,2}\s|www\.\s|\w\.\s(?:org|uk|com|nhs|pdf|gov|ac|net)\b|\w/\s|\w\u2011\s"
)


def _reads_as_prose(text: str) -> bool:
    """A whole sentence or more of words, with no web address broken apart: text in a language
    the dictionary does not know (a Welsh or Polish paragraph) rather than conversion debris."""
    words = re.findall(r"[^\W\d_]+", text)
    return len(words) >= 8 and repair.is_sentence_end(text.strip()) and not _BROKEN_URL.search(text)


def _is_debris(text: str) -> bool:
    """Text made of word fragments ("local healthcar sionals members"): what is left of a
    rotated table after conversion. Capitalised words (names) and web addresses don't count,
    and neither does prose in another language (see :func:`_reads_as_prose`)."""
    if _reads_as_prose(text):
        return False
    words = [w for w in re.findall(r"[A-Za-z]+", _URL.sub(" ", text)) if w[0].islower()]
    if len(words) < 3:
        return False
    unknown = sum(1 for w in words if len(w) > 1 and not repair.is_known_word(w))
    return unknown > 0.34 * len(words)


def _has_fragment(text: str) -> bool:
    """A word the dictionary does not know (acronyms and web addresses aside)."""
    words = re.findall(r"[A-Za-z]+", _URL.sub(" ", text))
    return any(len(w) > 1 and not w.isupper() and not repair.is_known_word(w) for w in words)


def _drop_fragment_runs(raws: list[Raw], min_run: int = 8) -> list[Raw]:
    """Drop long runs of short, unpunctuated lines when many hold broken words: the cells of
    a table that the conversion shattered. Lists of short items in plain words are kept."""
    out: list[Raw] = []
    i = 0
    while i < len(raws):
        j = i
        while j < len(raws) and _short_line(raws[j]):
            j += 1
        run = raws[i:j]
        if len(run) >= min_run and sum(_has_fragment(r.text) for r in run) >= 0.3 * len(run):
            i = j
            continue
        out.extend(run or [raws[i]])
        i = max(j, i + 1)
    return out


def _short_line(raw: Raw) -> bool:
    return raw.kind == "p" and len(raw.text) <= 45 and not repair.is_sentence_end(raw.text)


_MD_LINK = re.compile(r"(?<![\\!])\[([^\]\n]+)\]\((?:[^()\s]|\([^()\s]*\))+\)")
_MD_IMAGE = re.compile(r"!\[([^\]\n]*)\]\([^)\n]*\)")
_FOOTNOTE_REF = re.compile(r"\s?\[\^[^\]\s]+\]")
_HTML_TAG = re.compile(r"</?[A-Za-z][A-Za-z0-9]*(?:\s[^<>]{0,200})?/?>")
_BOLD_MARK = re.compile(r"(?<!\\)(?:\*\*|__)")
_ITALIC = re.compile(r"(?<![\\*\w])[*_](?=\S)([^*_\n]+?)(?<=\S)[*_](?![*\w])")
_CODE = re.compile(r"(?<!\\)`+")


def _md_inline(text: str) -> str:
    """Markdown inline markup removed: emphasis, links (text kept), images, footnote marks."""
    text = _MD_IMAGE.sub("", text)
    text = _MD_LINK.sub(r"\1", text)
    text = _FOOTNOTE_REF.sub("", text)
    text = _HTML_TAG.sub("", text)
    text = _BOLD_MARK.sub("", text)
    text = _ITALIC.sub(r"\1", text)
    text = _CODE.sub("", text)
    return repair.expand_ligature_glyphs(repair.unescape_markdown(text))


def _table_cells(row: str) -> list[str]:
    """A Markdown table row's cells, markup removed ("| **A** | 12 |" -> ["A", "12"]); a row
    rebuilt from a flattened table ("A | 12") reads the same. An escaped bar is no border."""
    inner = row.strip()
    inner = inner[1:] if inner.startswith("|") else inner
    inner = inner[:-1] if inner.endswith("|") and not inner.endswith("\\|") else inner
    return [_md_inline(c).strip() for c in re.split(r"(?<!\\)\|", inner)]


def _finish_inline(raw: Raw, gate: bool) -> Raw:
    """Plain text for a unit: markup removed and the lost "ll" restored if the document has it."""
    if raw.kind == "tbl":
        rows = [r for r in raw.text.split("\n") if not _MD_TABLE_RULE.match(r)]
        cells = [_table_cells(r) for r in rows]
        raw.text = "\n".join(row for row in map(render_row, cells) if row)
    else:
        raw.text = _md_inline(raw.text)
    if gate:
        raw.text = repair.repair_lost_ll(raw.text, force=True)
    if raw.kind != "tbl":
        raw.text = clean_lines(raw.text)
    return raw
