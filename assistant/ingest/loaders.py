"""Loaders: one per file type, each turning a file into metadata plus blocks in reading order.

``load_document`` picks the loader from the file's content as well as its extension, repairs the
text (see :mod:`assistant.ingest.repair`) and lets the manifest's values win over what the file
says about itself. Any file that cannot be read raises :class:`DocumentError` with one line a
user can act on; other documents carry on.
"""

from __future__ import annotations

import hashlib
import io
import logging
import re
import statistics
import struct
import warnings
import zipfile
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from assistant.errors import DocumentError
from assistant.ingest import repair
from assistant.schemas import Block, DocumentMeta, ParsedDocument

__all__ = [
    "SUPPORTED_EXTENSIONS",
    "decode_text",
    "detect_kind",
    "load_bytes",
    "load_document",
]

log = logging.getLogger(__name__)

SUPPORTED_EXTENSIONS = (".md", ".markdown", ".txt", ".html", ".htm", ".pdf", ".docx")
_TEXT_KINDS = {".md": "markdown", ".markdown": "markdown", ".txt": "text"}
_HTML_EXTENSIONS = (".html", ".htm")

# Zip-bomb guard for .docx: refuse before python-docx inflates anything.
MAX_DOCX_UNCOMPRESSED = 200 * 1024 * 1024
MAX_DOCX_RATIO = 100
MAX_DOCX_ENTRIES = 10_000  # Word writes dozens; a million tiny entries exhaust memory on listing
DTD_SCAN_BYTES = 64 * 1024  # a DTD sits in an XML part's prolog, before the root element

# Stray control bytes in text: C0 controls other than tab, newline, carriage return and form
# feed (a page break). Up to this fraction of a file's bytes are dropped; more means binary.
_CONTROL_BYTES = bytes(b for b in range(32) if chr(b) not in "\t\n\r\f")
_CONTROL_CHARS = re.compile("[" + re.escape(_CONTROL_BYTES.decode("ascii")) + "]")
MAX_CONTROL_FRACTION = 0.01

_OVERRIDABLE = ("title", "publisher", "date", "source_url", "licence", "themes")


@dataclass
class _Draft:
    """What a loader found in a file, before the manifest and the file's hash are applied."""

    blocks: list[Block]
    title: str | None = None
    date: str | None = None
    publisher: str | None = None
    pages: int | None = None


# ============================================================================================
# Entry points


def load_document(
    path: Path, doc_id: str, overrides: Mapping[str, Any] | None = None
) -> ParsedDocument:
    """Read one file (.md, .markdown, .txt, .html, .htm, .pdf, .docx) into a ParsedDocument."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise DocumentError(f"cannot read the file: {exc.strerror or exc}") from exc
    return load_bytes(data, Path(path).name, doc_id, overrides)


def load_bytes(
    data: bytes, file_name: str, doc_id: str, overrides: Mapping[str, Any] | None = None
) -> ParsedDocument:
    """Parse a file's bytes; ``file_name`` gives the extension and the fallback title."""
    kind = detect_kind(data, file_name)
    draft = _LOADERS[kind](data, file_name)
    if not any(b.kind != "heading" and b.text.strip() for b in draft.blocks):
        if kind == "pdf":
            raise DocumentError(_NO_PDF_TEXT)
        if kind == "html":
            raise DocumentError(
                "no text found: the page holds only scripts, styles, navigation or markup"
            )
        raise DocumentError("no text found in the document")
    meta = DocumentMeta(
        doc_id=doc_id,
        title=(draft.title or "").strip() or Path(file_name).stem,
        file_name=file_name,
        publisher=draft.publisher,
        date=draft.date,
        sha256=hashlib.sha256(data).hexdigest(),
        pages=draft.pages,
    )
    return ParsedDocument(meta=_apply_overrides(meta, overrides), blocks=draft.blocks)


def _apply_overrides(meta: DocumentMeta, overrides: Mapping[str, Any] | None) -> DocumentMeta:
    """Manifest values (title, publisher, date, source_url, licence, themes) win over the file."""
    if not overrides:
        return meta
    changes: dict[str, Any] = {}
    for key in _OVERRIDABLE:
        value = overrides.get(key)
        if value is None or value == "":
            continue
        if isinstance(value, date | datetime):
            value = value.isoformat()
        if key == "themes":
            value = [value] if isinstance(value, str) else [str(v) for v in value]
        changes[key] = value
    return meta.model_copy(update=changes)


# ============================================================================================
# Sniffing and decoding


def detect_kind(data: bytes, file_name: str) -> str:
    """Which loader reads the file: 'pdf', 'docx', 'html', 'markdown' or 'text'.

    The content decides where it is unambiguous (a PDF or a zip), so a mislabelled file is
    either read correctly or refused with a clear message.
    """
    ext = Path(file_name).suffix.lower()
    if ext not in SUPPORTED_EXTENSIONS:
        shown = ext or "(no extension)"
        raise DocumentError(
            f"unsupported file type {shown}: use one of {', '.join(SUPPORTED_EXTENSIONS)}"
        )
    if not data.strip():
        raise DocumentError("empty file")
    if b"%PDF-" in data[:1024]:
        return "pdf"
    if ext == ".pdf":
        raise DocumentError("not a PDF: no %PDF header (the file is corrupt or mislabelled)")
    if data[:4] == b"PK\x03\x04":
        if ext == ".docx":
            return "docx"
        raise DocumentError(f"binary content (a zip archive) behind a {ext} extension")
    if ext == ".docx":
        if data.startswith(_OLE_SIGNATURE):
            raise DocumentError(
                "not a .docx file but an OLE container: a password-protected Word document or an "
                "old .doc file; remove the password, or save it as .docx"
            )
        raise DocumentError("not a .docx file: it is not a zip archive (corrupt or mislabelled)")
    if ext in _HTML_EXTENSIONS:
        return "html"
    head = decode_text(data)[:512].lstrip().lower()
    if head.startswith(("<!doctype html", "<html")):
        return "html"
    return _TEXT_KINDS[ext]


_OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Word's encrypted .docx and legacy .doc

_BOMS = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)


def decode_text(data: bytes) -> str:
    """Decode text: UTF-8 (a BOM is fine) or UTF-16 with a BOM; anything else is refused.

    A few stray NUL or control bytes in otherwise good text (a bad export, a padded log) are
    dropped; a file with many of them is binary, or UTF-16 saved without a byte order mark.
    """
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                return data.decode(codec).lstrip("\ufeff")
            except UnicodeDecodeError as exc:
                raise DocumentError(
                    f"not valid {codec.upper()} text: bad bytes at offset {exc.start}"
                ) from exc
    nul = data.find(b"\x00")
    if nul >= 0 and _looks_like_utf16(data[:4096]):
        raise DocumentError(
            "UTF-16 text without a byte order mark: save the file as UTF-8 (or UTF-16 with a BOM)"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        if nul >= 0:
            raise DocumentError(
                f"binary content behind a text extension (NUL byte at offset {nul})"
            ) from exc
        raise DocumentError(
            f"not UTF-8 text: invalid byte 0x{data[exc.start]:02x} at offset {exc.start}; "
            "save the file as UTF-8"
        ) from exc
    controls = len(data) - len(data.translate(None, _CONTROL_BYTES))
    if not controls:
        return text
    if controls > len(data) * MAX_CONTROL_FRACTION:
        where = f"NUL byte at offset {nul}" if nul >= 0 else "control characters"
        raise DocumentError(f"binary content behind a text extension ({where})")
    log.info("dropped %d stray NUL or control characters", controls)
    return _CONTROL_CHARS.sub(lambda m: "" if m.group() == "\x00" else " ", text)


def _looks_like_utf16(sample: bytes) -> bool:
    """Mostly-ASCII UTF-16: NULs in nearly every other byte, and hardly any in the rest."""
    half = len(sample) // 2
    if half < 4:
        return False
    even, odd = sample[0::2].count(0), sample[1::2].count(0)
    return max(even, odd) >= 0.6 * half and min(even, odd) <= 0.05 * half


# ============================================================================================
# Shared helpers

_MONTHS = [
    *("january", "february", "march", "april", "may", "june"),
    *("july", "august", "september", "october", "november", "december"),
]
_DAY_MONTH_YEAR = re.compile(
    r"\b(\d{1,2})(?:st|nd|rd|th)?\s+(" + "|".join(_MONTHS) + r"),?\s+(\d{4})\b", re.IGNORECASE
)
_MONTH_YEAR = re.compile(r"^\s*(" + "|".join(_MONTHS) + r")\s+(\d{4})\s*$", re.IGNORECASE)


def _find_date(lines: Iterable[str]) -> str | None:
    """An ISO date from a "Date published: 29 January, 2025" or bare date line near the top."""
    fallback: str | None = None
    for line in lines:
        text = re.sub(r"[*_\\]", "", line).strip()
        m = _DAY_MONTH_YEAR.search(text)
        if m and (text.lower().startswith("date published") or len(text) <= 40):
            month = _MONTHS.index(m.group(2).lower()) + 1
            return f"{int(m.group(3)):04d}-{month:02d}-{int(m.group(1)):02d}"
        m2 = _MONTH_YEAR.match(text)
        if m2 and fallback is None:
            fallback = f"{int(m2.group(2)):04d}-{_MONTHS.index(m2.group(1).lower()) + 1:02d}"
    return fallback


def _norm(text: str) -> str:
    """Text reduced to lower-case letters and digits, for matching headings across sources."""
    return re.sub(r"[\W_]+", "", text.lower())


def _clean_spaces(text: str) -> str:
    """Collapse runs of whitespace to one space."""
    return re.sub(r"\s+", " ", text).strip()


_CONTENTS_TITLES = {"contents", "content", "tableofcontents"}


def _drop_contents_sections(blocks: list[Block]) -> list[Block]:
    """Remove a "Contents" heading and the table of contents under it."""
    out: list[Block] = []
    skip_level: int | None = None
    for block in blocks:
        if skip_level is not None:
            if block.kind != "heading" or block.level > skip_level:
                continue
            skip_level = None
        if block.kind == "heading" and _norm(block.text) in _CONTENTS_TITLES:
            skip_level = block.level
            continue
        out.append(block)
    return out


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


def _looks_like_title(text: str) -> bool:
    """A heading that can name a document (not "Contents", "Summary", a number or a date)."""
    key = _norm(text)
    if not key or key in _GENERIC_TITLES or key.isdigit() or len(text) > 200:
        return False
    return not text.lower().startswith(("classification", "date published", "publication"))


# ============================================================================================
# Markdown


@dataclass
class _Raw:
    """A line-level unit of a Markdown or text file, before it becomes a Block."""

    kind: str  # "h" (# heading), "b" (bold-only line), "p", "li", "tbl"
    text: str
    level: int = 0
    page: int | None = None
    gap: int = 0  # blank lines before it
    bold: bool = False  # the line was entirely bold (a heading candidate or a table header)
    lines: list[str] = field(default_factory=list)


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


def _load_markdown(data: bytes, file_name: str) -> _Draft:
    text = decode_text(data).replace("\r\n", "\n").replace("\r", "\n")
    front, text = _split_front_matter(text)
    outline, text = _split_outline(text)
    gate = repair.has_lost_ll(text)
    lines, pages = repair.strip_running_heads(text.split("\n"))
    raws = _md_raws(lines, pages)
    raws = _drop_contents_raws(raws)
    if outline:
        roots = [title for level, title in outline if level == 1]
        title_raw = _pick_title_raw([r for r in raws if r.kind in ("h", "b")])
        if len(roots) == 1 and not roots[0][:1].isdigit():
            # A single, unnumbered root bookmark is the document's title.
            title_raw = _Raw("h", roots[0], 1)
        raws = _apply_outline(raws, outline)
    else:
        raws = _md_headings(raws)
        title_raw = None if front.get("title") else _pick_title_raw(raws)
    raws = _drop_debris(raws)
    raws = [_finish_inline(r, gate) for r in raws]
    raws = _merge_continuations([r for r in raws if r.text.strip()])
    raws = _drop_fragment_runs([r for r in raws if r.kind == "h" or not _is_debris(r.text)])
    blocks = _drop_contents_sections(_raws_to_blocks(raws))
    title = front.get("title") or (title_raw.text if title_raw else None) or _first_line(raws)
    if title:
        title = _clean_spaces(repair.repair_lost_ll(_md_inline(title), force=gate))
    return _Draft(
        blocks=blocks,
        title=title,
        date=front.get("date") or _find_date(lines[:60]),
        pages=max((b.page for b in blocks if b.page), default=None),
    )


def _split_front_matter(text: str) -> tuple[dict[str, str], str]:
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


def _md_raws(lines: list[str], pages: list[int | None]) -> list[_Raw]:
    """Split Markdown lines into heading, bold, paragraph, list item and table units."""
    raws: list[_Raw] = []
    gap = 0
    bullet_pending = False
    for line, page in zip(lines, pages, strict=True):
        stripped = _EMPTY_BOLD.sub(_empty_bold, line).strip()
        if not stripped or _MD_RULE.match(stripped) or _MD_IMAGE_LINE.match(stripped):
            gap += 1 if not line.strip() else 0
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


def _md_line_raw(line: str, stripped: str, page: int | None, gap: int) -> _Raw:
    """Classify one non-blank Markdown line."""
    m = _MD_HEADING.match(stripped)
    if m:
        body = m.group(2)
        bold = bool(_BOLD_ONLY.fullmatch(body.strip()))
        return _Raw("h", body, len(m.group(1)), page, gap, bold=bold, lines=[body])
    if _BOLD_ONLY.fullmatch(stripped):
        return _Raw("b", stripped, 0, page, gap, bold=True, lines=[stripped])
    if _MD_TABLE_ROW.match(stripped):
        kind = "rule" if _MD_TABLE_RULE.match(stripped) else "tbl"
        return _Raw(kind, stripped, 0, page, gap, lines=[stripped])
    fn = _FOOTNOTE_DEF.match(stripped)
    if fn:
        text = f"[{fn.group(1)}] " + _links_with_urls(fn.group(2))
        return _Raw("p", text, 0, page, gap, lines=[text])
    item = _MD_ITEM.match(line)
    if item:
        level = len(item.group(1).expandtabs(4)) // 2 + 1
        text = (
            stripped if re.match(r"\d", stripped) else stripped[item.end() - len(item.group(1)) :]
        )
        return _Raw("li", text.strip(), level, page, gap, lines=[text])
    return _Raw("p", stripped, 0, page, gap, lines=[stripped])


def _continues_unit(prev: _Raw, raw: _Raw) -> bool:
    """Markdown joins lines without a blank between them into one paragraph or table."""
    if prev.kind == "tbl" and raw.kind in ("tbl", "rule"):
        return True
    return prev.kind in ("p", "li") and raw.kind == "p"


def _links_with_urls(text: str) -> str:
    """Markdown links as "text (url)", for footnotes where the address is the content."""
    return re.sub(r"(?<!\\)\[([^\]]+)\]\(([^)\s]+)\)", r"\1 (\2)", text)


def _raw_key(raw: _Raw) -> str:
    return _norm(_md_inline(raw.text))


def _drop_contents_raws(raws: list[_Raw]) -> list[_Raw]:
    """Remove a table of contents: from a "Contents" line to where its first entry recurs."""
    for i, raw in enumerate(raws[:200]):
        if raw.kind in ("h", "b", "p") and _raw_key(raw) in _CONTENTS_TITLES:
            end = _contents_end(raws, i)
            if end is not None:
                return raws[:i] + raws[end:]
    return raws


def _contents_end(raws: list[_Raw], start: int) -> int | None:
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


def _apply_outline(raws: list[_Raw], outline: list[tuple[int, str]]) -> list[_Raw]:
    """Use the PDF bookmarks listed at the end of a conversion to find the real headings.

    Entries are matched backwards, each at its last occurrence before the next entry's match,
    so a table of contents earlier in the text is not mistaken for the headings. A heading may
    be split over up to four lines ("1.1" / "What has government said about NHS" / ...).
    """
    keys = [_raw_key(r) for r in raws]
    matches: dict[int, tuple[int, int, str]] = {}
    limit = len(raws)
    for level, title in reversed(outline):
        target = _norm(title)
        hit = _find_window(keys, raws, target, limit)
        if hit is None:
            continue
        start, length = hit
        matches[start] = (length, level, title)
        limit = start
    out: list[_Raw] = []
    skip = 0
    for i, raw in enumerate(raws):
        if skip:
            skip -= 1
            continue
        if i in matches:
            length, level, title = matches[i]
            out.append(_Raw("h", title, level, raw.page, raw.gap, lines=[title]))
            skip = length - 1
            continue
        if raw.kind in ("h", "b"):
            raw.kind = "p"
        out.append(raw)
    return out


def _find_window(
    keys: list[str], raws: list[_Raw], target: str, limit: int
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


def _md_headings(raws: list[_Raw]) -> list[_Raw]:
    """Decide which # and bold lines are headings: join split ones, drop page-number ones,
    and treat runs of three or more bold lines as a table header, not as headings."""
    raws = [r for r in raws if not (r.kind in ("h", "b") and _PAGE_REF.match(_raw_key(r) or "0"))]
    raws = _join_split_headings(raws)
    _demote_bold_runs(raws)
    repeated = Counter(_raw_key(r) for r in raws if r.kind in ("h", "b") and r.bold)
    for raw in raws:
        if raw.kind not in ("h", "b"):
            continue
        plain = _clean_spaces(_md_inline(raw.text))
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


def _is_heading_like(raw: _Raw) -> bool:
    return raw.kind in ("h", "b")


def _join_split_headings(raws: list[_Raw]) -> list[_Raw]:
    """Join headings split over lines ("**2025/26 priorities and **" / "**operational ... **")."""
    out: list[_Raw] = []
    for i, raw in enumerate(raws):
        prev = out[-1] if out else None
        if (
            prev
            and _is_heading_like(prev)
            and _is_heading_like(raw)
            and _heading_continues(prev, raw, on_cover=i < _COVER_UNITS)
        ):
            prev.text = (
                _clean_spaces(_md_inline(prev.text)) + " " + _clean_spaces(_md_inline(raw.text))
            )
            prev.lines.append(raw.text)
            prev.bold = prev.bold and raw.bold
            if prev.kind == "b" and raw.kind == "h":
                prev.kind, prev.level = "h", raw.level
            continue
        out.append(raw)
    return out


def _heading_continues(prev: _Raw, raw: _Raw, on_cover: bool) -> bool:
    """Whether ``raw`` carries on the heading ``prev`` (cut by the line width)."""
    first = _clean_spaces(_md_inline(prev.text))
    second = _clean_spaces(_md_inline(raw.text))
    if not first or not second or first.endswith((".", ":", "?", "!")) or len(first) > 100:
        return False
    if _CONNECTOR_END.search(first) or second[0].islower():
        return True
    # On a cover page, a bold line ending in a space inside its markers was cut by the line
    # width ("**Medium Term **" / "**Planning **"); elsewhere such lines are table headers.
    cut = bool(re.search(r"\s\*\*\s*$", prev.lines[-1]))
    return on_cover and cut and len(first) <= 40 and raw.bold


def _demote_bold_runs(raws: list[_Raw]) -> None:
    """Three or more bold lines in a row are table headers or labels, not headings."""
    i = 0
    while i < len(raws):
        j = i
        while j < len(raws) and (raws[j].kind == "b" or (raws[j].kind == "h" and raws[j].bold)):
            j += 1
        if j - i >= 3:
            for raw in raws[i:j]:
                raw.kind = "p"
        i = max(j, i + 1)


def _pick_title_raw(raws: list[_Raw]) -> _Raw | None:
    """The first heading near the top that names the document; it becomes the level-1 heading."""
    for raw in raws[:30]:
        if raw.kind in ("h", "b") and _looks_like_title(_md_inline(raw.text)):
            raw.level = 1
            return raw
    return None


def _first_line(raws: list[_Raw]) -> str | None:
    """A title from the first short paragraph near the top (4-25 words, not a sentence)."""
    for raw in raws[:12]:
        words = raw.text.split()
        if raw.kind == "p" and 4 <= len(words) <= 25 and not raw.text.rstrip().endswith("."):
            return raw.text
    return raws[0].text if raws else None


def _drop_debris(raws: list[_Raw]) -> list[_Raw]:
    """Drop runs of tiny fragments: a rotated or shattered table converted letter by letter."""
    out: list[_Raw] = []
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


def _is_debris(text: str) -> bool:
    """Text made of word fragments ("local healthcar sionals members"): what is left of a
    rotated table after conversion. Capitalised words (names) and web addresses don't count."""
    words = [w for w in re.findall(r"[A-Za-z]+", _URL.sub(" ", text)) if w[0].islower()]
    if len(words) < 3:
        return False
    unknown = sum(1 for w in words if len(w) > 1 and not repair.is_known_word(w))
    return unknown > 0.34 * len(words)


def _has_fragment(text: str) -> bool:
    """A word the dictionary does not know (acronyms and web addresses aside)."""
    words = re.findall(r"[A-Za-z]+", _URL.sub(" ", text))
    return any(len(w) > 1 and not w.isupper() and not repair.is_known_word(w) for w in words)


def _drop_fragment_runs(raws: list[_Raw], min_run: int = 8) -> list[_Raw]:
    """Drop long runs of short, unpunctuated lines when many hold broken words: the cells of
    a table that the conversion shattered. Lists of short items in plain words are kept."""
    out: list[_Raw] = []
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


def _short_line(raw: _Raw) -> bool:
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


def _finish_inline(raw: _Raw, gate: bool) -> _Raw:
    """Plain text for a unit: markup removed and the lost "ll" restored if the document has it."""
    if raw.kind == "tbl":
        rows = [r for r in raw.text.split("\n") if not _MD_TABLE_RULE.match(r)]
        cells = [[_md_inline(c).strip() for c in r.strip().strip("|").split("|")] for r in rows]
        raw.text = "\n".join(" | ".join(c for c in row if c) for row in cells)
    else:
        raw.text = _md_inline(raw.text)
    if gate:
        raw.text = repair.repair_lost_ll(raw.text, force=True)
    if raw.kind != "tbl":
        raw.text = _clean_lines(raw.text)
    return raw


def _clean_lines(text: str) -> str:
    """Words hyphenated over lines joined, then all whitespace collapsed."""
    return _clean_spaces(repair.join_hyphenated(text))


def _merge_continuations(raws: list[_Raw]) -> list[_Raw]:
    """Join a paragraph to the previous paragraph or item when it continues its sentence."""
    out: list[_Raw] = []
    last = ""
    for raw in raws:
        prev = out[-1] if out else None
        if (
            prev
            and prev.kind in ("p", "li")
            and raw.kind == "p"
            and repair.continues_sentence(last, raw.text)
        ):
            prev.text = _join_texts(prev.text, raw.text)
        else:
            out.append(raw)
        last = raw.lines[-1] if raw.lines else raw.text
    return out


def _join_texts(first: str, second: str) -> str:
    """Two pieces of one sentence, re-joined across a line break."""
    if first.endswith(("-", "\u2010", "\u2011")):
        return _clean_spaces(repair.join_hyphenated(first + "\n" + second))
    return first + " " + second


def _raws_to_blocks(raws: list[_Raw]) -> list[Block]:
    kinds = {"h": "heading", "p": "paragraph", "li": "list_item", "tbl": "table", "b": "paragraph"}
    blocks: list[Block] = []
    for raw in raws:
        if raw.kind not in kinds or not raw.text.strip():
            continue
        kind = kinds[raw.kind]
        level = min(max(raw.level, 1), 6) if kind == "heading" else 0
        blocks.append(Block(kind=kind, text=raw.text, level=level, page=raw.page))
    return blocks


# ============================================================================================
# Plain text


def _load_text(data: bytes, file_name: str) -> _Draft:
    text = decode_text(data).replace("\r\n", "\n").replace("\r", "\n")
    gate = repair.has_lost_ll(text)
    lines, pages = repair.strip_running_heads(text.split("\n"))
    hard_wrapped = max((len(line) for line in lines), default=0) <= 200
    raws = _text_raws(lines, pages, hard_wrapped)
    _text_headings(raws)
    for raw in raws:
        raw.text = _clean_lines(repair.expand_ligature_glyphs(raw.text))
        if gate:
            raw.text = repair.repair_lost_ll(raw.text, force=True)
    if hard_wrapped:
        raws = _merge_continuations(raws)
    title = raws[0].text if raws and raws[0].kind == "h" else _first_line(raws)
    return _Draft(
        blocks=_drop_contents_sections(_raws_to_blocks(raws)),
        title=title,
        date=_find_date(lines[:40]),
    )


_TEXT_ITEM = re.compile(r"^\s*(?:[-*•▪◦●–]|\d{1,3}[.)])\s+")


def _text_raws(lines: list[str], pages: list[int | None], hard_wrapped: bool) -> list[_Raw]:
    """One unit per line (or per wrapped paragraph, when lines were wrapped at a fixed width)."""
    raws: list[_Raw] = []
    gap = 0
    for line, page in zip(lines, pages, strict=True):
        if not line.strip():
            gap += 1
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
            prev.text = _join_texts(prev.text, text)
            continue
        raws.append(_Raw(kind, text, 1 if item else 0, page, gap, lines=[text]))
        gap = 0
    return raws


def _text_headings(raws: list[_Raw]) -> None:
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
        ):
            raw.kind, raw.level = "h", 2


# ============================================================================================
# HTML

_HTML_SKIP = {"script", "style", "nav", "noscript", "template", "svg", "iframe", "form", "head"}
_HTML_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_HTML_TEXT_BLOCKS = {"p", "pre", "blockquote", "address", "figcaption", "dd", "dt", "caption"}
# An internal DTD subset in the prolog (anchored, and no lazy ".*?": both keep it linear on a
# page that repeats "<!DOCTYPE x [" without ever closing it).
_DTD_SUBSET = re.compile(
    r"\A\s*(?:<\?xml[^>]*\?>\s*)?<!DOCTYPE[^\[>]*\[[^\]]*\]\s*>", re.IGNORECASE
)
_ENTITY_DECLARATION = re.compile(r"<!ENTITY\b", re.IGNORECASE)


def _load_html(data: bytes, file_name: str) -> _Draft:
    from bs4 import BeautifulSoup, XMLParsedAsHTMLWarning

    text = decode_text(data)
    # HTML never declares entities: a page that does is refused, which closes the door on
    # "billion laughs" expansion whatever the parser. Any other internal DTD subset is dropped.
    if _ENTITY_DECLARATION.search(text):
        raise DocumentError(
            "the page declares XML entities (<!ENTITY>), which HTML never does: "
            "refused as a possible entity-expansion (billion laughs) bomb"
        )
    text = _DTD_SUBSET.sub("", text)
    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
        soup = BeautifulSoup(text, "lxml")  # bs4 keeps lxml's huge_tree off: bounded input
    title_tag = soup.find("title")
    title = _clean_spaces(title_tag.get_text(" ")) if title_tag else ""
    root = soup.body or soup
    blocks: list[Block] = []
    gate = repair.has_lost_ll(root.get_text(" "))
    _html_walk(root, blocks)
    blocks = [_finish_html_block(b, gate) for b in blocks]
    blocks = [b for b in blocks if b.text]
    if not title:
        title = next((b.text for b in blocks if b.kind == "heading"), "")
    return _Draft(
        blocks=_drop_contents_sections(blocks),
        title=title or None,
        date=_html_date(soup),
        publisher=_html_meta(soup, ("publisher", "og:site_name", "dc.publisher")),
    )


def _html_walk(node: Any, blocks: list[Block]) -> None:
    """Collect headings, paragraphs, list items and tables in document order."""
    from bs4 import NavigableString, Tag

    loose: list[str] = []

    def flush() -> None:
        text = _clean_spaces(" ".join(loose))
        if text:
            blocks.append(Block(kind="paragraph", text=text))
        loose.clear()

    for child in node.children:
        if isinstance(child, NavigableString):
            if type(child) is NavigableString:  # not a comment, CDATA or doctype
                loose.append(str(child))
            continue
        if not isinstance(child, Tag):
            continue
        name = child.name.lower()
        if name in _HTML_SKIP:
            continue
        if name in (
            "br",
            "span",
            "a",
            "em",
            "strong",
            "b",
            "i",
            "u",
            "small",
            "sup",
            "sub",
            "abbr",
            "code",
            "mark",
            "time",
            "q",
            "cite",
        ):
            loose.append(child.get_text(" "))
            continue
        flush()
        if name in _HTML_HEADINGS:
            blocks.append(
                Block(kind="heading", text=child.get_text(" "), level=_HTML_HEADINGS[name])
            )
        elif name in _HTML_TEXT_BLOCKS:
            blocks.append(Block(kind="paragraph", text=child.get_text(" ")))
        elif name == "li":
            _html_list_item(child, blocks)
        elif name == "table":
            blocks.append(Block(kind="table", text=_html_table(child)))
        else:
            _html_walk(child, blocks)
    flush()


def _html_list_item(item: Any, blocks: list[Block]) -> None:
    """A list item's own text, then any list nested in it."""
    from bs4 import Tag

    nested = [c for c in item.children if isinstance(c, Tag) and c.name in ("ul", "ol")]
    for sub in nested:
        sub.extract()
    blocks.append(Block(kind="list_item", text=item.get_text(" ")))
    for sub in nested:
        _html_walk(sub, blocks)


def _html_table(table: Any) -> str:
    """A table as one line per row, cells separated by " | "."""
    rows = []
    for tr in table.find_all("tr"):
        cells = [_clean_spaces(c.get_text(" ")) for c in tr.find_all(("td", "th"))]
        if any(cells):
            rows.append(" | ".join(c for c in cells if c))
    return "\n".join(rows)


def _finish_html_block(block: Block, gate: bool) -> Block:
    text = repair.expand_ligature_glyphs(block.text)
    if gate:
        text = repair.repair_lost_ll(text, force=True)
    if block.kind == "table":
        text = "\n".join(_clean_spaces(line) for line in text.split("\n"))
    else:
        text = _clean_spaces(text)
    return block.model_copy(update={"text": text})


def _html_meta(soup: Any, names: tuple[str, ...]) -> str | None:
    for name in names:
        tag = soup.find("meta", attrs={"name": name}) or soup.find("meta", attrs={"property": name})
        if tag and tag.get("content"):
            return _clean_spaces(str(tag["content"]))
    return None


def _html_date(soup: Any) -> str | None:
    value = _html_meta(
        soup, ("date", "dcterms.date", "dc.date", "article:published_time", "citation_date")
    )
    if value:
        m = re.match(r"(\d{4})[-/](\d{2})[-/](\d{2})", value)
        if m:
            return f"{m.group(1)}-{m.group(2)}-{m.group(3)}"
    return None


# ============================================================================================
# DOCX


def _load_docx(data: bytes, file_name: str) -> _Draft:
    _check_zip(data)
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise DocumentError(f"not a readable .docx file: {_one_line(exc)}") from exc
    except Exception as exc:  # lxml and python-docx raise many kinds on broken parts
        raise DocumentError(f"corrupt .docx file: {_one_line(exc)}") from exc
    blocks = list(_docx_blocks(document))
    gate = repair.has_lost_ll("\n".join(b.text for b in blocks))
    blocks = [_finish_html_block(b, gate) for b in blocks]
    blocks = [b for b in blocks if b.text]
    props = document.core_properties
    title = (props.title or "").strip()
    if not title or _useless_title(title, file_name):
        title = next((b.text for b in blocks if b.kind == "heading"), "") or _first_block_text(
            blocks
        )
    created = props.created
    return _Draft(
        blocks=_drop_contents_sections(blocks),
        title=title or None,
        date=created.date().isoformat() if created else None,
        publisher=(props.author or "").strip() or None,
    )


def _check_zip(data: bytes) -> None:
    """Refuse archives that would inflate past the limits, before anything is decompressed,
    and XML parts that declare a DTD (an entity-expansion bomb), before any is parsed."""
    entries = _zip_entry_count(data)
    if entries is not None and entries > MAX_DOCX_ENTRIES:
        raise DocumentError(
            f".docx archive lists {entries:,} entries (limit {MAX_DOCX_ENTRIES:,}): "
            "refused as a possible zip bomb"
        )
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            _check_inflated_size(infos)
            if "word/document.xml" not in {i.filename for i in infos}:
                raise DocumentError("not a .docx file: the archive has no word/document.xml")
            for info in infos:
                if info.filename.endswith((".xml", ".rels")) and _declares_dtd(archive, info):
                    raise DocumentError(
                        f".docx part {info.filename[:60]} declares a DTD (<!DOCTYPE>), which Word "
                        "never writes: refused as a possible entity-expansion (billion laughs) bomb"
                    )
    except (zipfile.BadZipFile, OSError, EOFError, NotImplementedError, RuntimeError) as exc:
        raise DocumentError(f"corrupt or truncated .docx file: {_one_line(exc)}") from exc


def _zip_entry_count(data: bytes) -> int | None:
    """Entries the end-of-central-directory record announces (read before any listing)."""
    eocd = data.rfind(b"PK\x05\x06", max(0, len(data) - 65_557))
    if eocd < 0 or eocd + 12 > len(data):
        return None  # no record: zipfile reports the archive as corrupt
    (count,) = struct.unpack_from("<H", data, eocd + 10)
    return MAX_DOCX_ENTRIES + 1 if count == 0xFFFF else count  # 0xFFFF: a Zip64 count follows


def _check_inflated_size(infos: list[zipfile.ZipInfo]) -> None:
    total = sum(i.file_size for i in infos)
    packed = sum(i.compress_size for i in infos) or 1
    if total > MAX_DOCX_UNCOMPRESSED:
        raise DocumentError(
            f".docx expands to {total // (1024 * 1024):,} MB (limit "
            f"{MAX_DOCX_UNCOMPRESSED // (1024 * 1024)} MB): refused as a possible zip bomb"
        )
    if total / packed > MAX_DOCX_RATIO:
        raise DocumentError(
            f".docx compression ratio {total / packed:.0f}:1 exceeds {MAX_DOCX_RATIO}:1: "
            "refused as a possible zip bomb"
        )


_DTD_MARKS = tuple(
    mark.encode(codec)
    for mark in ("<!DOCTYPE", "<!ENTITY")
    for codec in ("utf-8", "utf-16-le", "utf-16-be")
)


def _declares_dtd(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bool:
    """Whether an XML part's prolog declares a DTD (Word documents never have one)."""
    with archive.open(info) as part:
        head = part.read(DTD_SCAN_BYTES)
    return any(mark in head for mark in _DTD_MARKS)


def _docx_blocks(document: Any) -> Iterable[Block]:
    """Paragraphs and tables of a Word document, in body order."""
    from docx.oxml.ns import qn
    from docx.table import Table
    from docx.text.paragraph import Paragraph

    for child in document.element.body.iterchildren():
        if child.tag == qn("w:p"):
            block = _docx_paragraph(Paragraph(child, document))
            if block is not None:
                yield block
        elif child.tag == qn("w:tbl"):
            yield Block(kind="table", text=_docx_table(Table(child, document)))


def _docx_paragraph(paragraph: Any) -> Block | None:
    text = paragraph.text.strip()
    if not text:
        return None
    style = (paragraph.style.name if paragraph.style is not None else "") or ""
    m = re.match(r"heading\s*(\d)", style, re.IGNORECASE)
    if m:
        return Block(kind="heading", text=text, level=min(int(m.group(1)), 6))
    if style.lower() == "title":
        return Block(kind="heading", text=text, level=1)
    numbered = paragraph._p.pPr is not None and paragraph._p.pPr.numPr is not None
    if style.lower().startswith("list") or numbered:
        return Block(kind="list_item", text=text)
    return Block(kind="paragraph", text=text)


def _docx_table(table: Any) -> str:
    """Rows as lines, cells separated by " | " (merged cells, repeated by Word, shown once)."""
    rows = []
    for row in table.rows:
        cells: list[str] = []
        for cell in row.cells:
            text = _clean_spaces(cell.text)
            if text and (not cells or cells[-1] != text):
                cells.append(text)
        if cells:
            rows.append(" | ".join(cells))
    return "\n".join(rows)


def _first_block_text(blocks: list[Block]) -> str:
    return blocks[0].text[:200] if blocks else ""


def _one_line(exc: BaseException) -> str:
    """An exception as one short line."""
    text = str(exc).strip().split("\n")[0] or type(exc).__name__
    return text[:200]


# ============================================================================================
# PDF


@dataclass
class _Heading:
    title: str
    level: int
    page: int  # 0-based


@dataclass
class _Frag:
    text: str
    size: float
    y: float


_USELESS_TITLE = re.compile(
    r"^(?:untitled|report template|template|document\d*|title|presentation\d*|slide \d+|"
    r"microsoft (?:word|powerpoint|excel)\b.*|.*\.(?:docx?|pdf|pptx?))$",
    re.IGNORECASE,
)


def _useless_title(title: str, file_name: str) -> bool:
    """Metadata titles that name a template or a file, not the document."""
    t = _clean_spaces(title)
    stem = Path(file_name).stem
    return (
        len(t) < 4 or bool(_USELESS_TITLE.match(t)) or _norm(t) in (_norm(stem), _norm(file_name))
    )


def _load_pdf(data: bytes, file_name: str) -> _Draft:
    reader = _open_pdf(data)
    try:
        n_pages = len(reader.pages)
    except Exception as exc:
        raise DocumentError(f"corrupt or truncated PDF: {_one_line(exc)}") from exc
    entries = _outline_entries(reader, n_pages)
    use_outline = sum(1 for e in entries if e.page >= 2) >= 2
    texts, frags, failures = _pdf_text(reader, n_pages, all_fonts=not use_outline)
    if not any(t.strip() for t in texts):
        raise DocumentError(_no_pdf_text_reason(reader, n_pages, failures))
    texts = repair.strip_repeated_lines([repair.expand_ligature_glyphs(t) for t in texts])
    headings = entries if use_outline else _font_headings(frags)
    gate = repair.has_lost_ll("\n".join(texts))
    blocks = _drop_contents_sections(_pdf_blocks(texts, headings, gate))
    return _Draft(
        blocks=blocks,
        title=_pdf_title(reader, file_name, frags, entries, blocks),
        date=_pdf_date(reader),
        pages=n_pages,
    )


def _open_pdf(data: bytes) -> Any:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
    except (PyPdfError, ValueError, KeyError, TypeError, OSError, AssertionError) as exc:
        raise DocumentError(f"corrupt or truncated PDF: {_one_line(exc)}") from exc
    if reader.is_encrypted and not _opens_without_password(reader):
        raise DocumentError("encrypted PDF: remove the password and ingest again")
    return reader


def _opens_without_password(reader: Any) -> bool:
    """A PDF protected by an owner password only (no user password) opens with ""."""
    try:
        return bool(reader.decrypt(""))
    except Exception:  # wrong password, or an algorithm that needs an extra package
        return False


def _outline_entries(reader: Any, n_pages: int) -> list[_Heading]:
    """PDF bookmarks that look like headings, with their level and 0-based page."""
    try:
        outline = reader.outline
    except Exception as exc:
        log.debug("no usable outline: %s", exc)
        return []
    entries: list[_Heading] = []

    def walk(items: Any, depth: int) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item, depth + 1)
                continue
            try:
                page = reader.get_destination_page_number(item)
                title = _clean_spaces(str(item.title or ""))
            except Exception:
                continue
            if page is not None and 0 <= page < n_pages and _heading_title_ok(title):
                entries.append(_Heading(title, depth + 1, page))

    walk(outline, 0)
    # Bookmarks on the cover ("Full Report", "March 2021") only label the title page.
    if any(e.page > 0 for e in entries):
        entries = [e for e in entries if e.page > 0]
    return entries


def _heading_title_ok(title: str) -> bool:
    """Bookmarks that are whole sentences, truncated, e-mail addresses or dates are not headings."""
    if not title or len(title) > 250 or title.endswith(("...", "…")) or "@" in title:
        return False
    if title.endswith(".") and len(title.split()) > 8:
        return False
    return bool(re.search(r"[A-Za-z]{2}", title)) and not _MONTH_YEAR.match(title)


def _pdf_text(
    reader: Any, n_pages: int, all_fonts: bool
) -> tuple[list[str], list[list[_Frag]], dict[int, Exception]]:
    """Text of every page in one pass; font sizes for the cover pages (or all, if needed); and
    the pages (0-based) whose text could not be extracted, with the reason."""
    texts: list[str] = []
    frags: list[list[_Frag]] = []
    failures: dict[int, Exception] = {}
    for i in range(n_pages):
        page_frags: list[_Frag] = []
        try:
            page = reader.pages[i]
            if all_fonts or i < 2:
                texts.append(page.extract_text(visitor_text=_font_visitor(page_frags)) or "")
            else:
                texts.append(page.extract_text() or "")
        except Exception as exc:  # one bad page should not lose the document
            log.warning("page %d: text extraction failed: %s", i + 1, _one_line(exc))
            texts.append("")
            failures[i] = exc
        frags.append(page_frags)
    return texts, frags, failures


_NO_PDF_TEXT = "no extractable text: the PDF seems to be scanned images (run OCR first)"


def _no_pdf_text_reason(reader: Any, n_pages: int, failures: dict[int, Exception]) -> str:
    """Why a PDF gave no text: a decompression bomb, unreadable pages, blank pages or a scan."""
    from pypdf.errors import LimitReachedError

    bombs = [i for i, exc in failures.items() if isinstance(exc, LimitReachedError)]
    if bombs:
        return (
            f"page {bombs[0] + 1}'s content expands past the decompression limit: "
            "refused as a possible decompression bomb"
        )
    if n_pages and len(failures) == n_pages:
        return f"corrupt PDF: no page could be read ({_one_line(next(iter(failures.values())))})"
    if not n_pages:
        return "no text: the PDF has no pages"
    if all(_pdf_page_is_blank(reader, i) for i in range(n_pages)):
        return f"no text: all {n_pages:,} pages of the PDF are blank"
    return _NO_PDF_TEXT


def _pdf_page_is_blank(reader: Any, index: int) -> bool:
    """No images or forms, and no drawing operations at all."""
    try:
        page = reader.pages[index]
        resources = page.get("/Resources")
        if resources is not None and resources.get_object().get("/XObject"):
            return False
        contents = page.get_contents()
        return contents is None or not contents.get_data().strip()
    except Exception:  # unreadable is not blank
        return False


def _font_visitor(out: list[_Frag]) -> Callable[..., None]:
    def visit(text: str, cm: list[float], tm: list[float], font: Any, size: float) -> None:
        if text.strip():
            scale = (tm[0] ** 2 + tm[1] ** 2) ** 0.5 * (cm[0] ** 2 + cm[1] ** 2) ** 0.5
            out.append(_Frag(text, round(size * scale, 1), tm[5] * (cm[3] or 1) + cm[5]))

    return visit


def _body_size(frags: list[list[_Frag]]) -> float:
    sizes: Counter[float] = Counter()
    for page in frags:
        for f in page:
            sizes[f.size] += len(f.text)
    return sizes.most_common(1)[0][0] if sizes else 0.0


def _font_headings(frags: list[list[_Frag]]) -> list[_Heading]:
    """Headings from font size, for PDFs without useful bookmarks: runs of text set larger than
    the body text (the cover page is left to the title)."""
    body = _body_size(frags)
    if not body:
        return []
    runs: list[tuple[str, float, int]] = []
    for p, page in enumerate(frags):
        if p == 0:
            continue
        current: list[_Frag] = []
        for f in [*page, _Frag("x", 0.0, 0.0)]:
            if current and (f.size != current[0].size):
                text = _clean_spaces("".join(c.text for c in current))
                if 3 <= len(text) <= 150 and not text.isdigit():
                    runs.append((text, current[0].size, p))
                current = []
            if f.size >= body * 1.15:
                current.append(f)
    sizes = sorted({size for _, size, _ in runs}, reverse=True)
    return [_Heading(text, min(sizes.index(size) + 1, 3), p) for text, size, p in runs]


def _pdf_blocks(texts: list[str], headings: list[_Heading], gate: bool) -> list[Block]:
    lines = [(p, line) for p, text in enumerate(texts) for line in text.split("\n")]
    placed = _locate_headings(lines, headings, texts)
    builder = _PdfParagraphs(lines, gate)
    for idx, (page, line) in enumerate(lines):
        for heading, length in placed.get(idx, []):
            builder.heading(heading, length)
        builder.line(idx, page, line)
    return builder.finish()


def _locate_headings(
    lines: list[tuple[int, str]], headings: list[_Heading], texts: list[str]
) -> dict[int, list[tuple[_Heading, int]]]:
    """Where each heading starts in the page lines, and how many lines it covers.

    Headings are searched in order, from their bookmark's page (or the previous heading,
    whichever is later), since some PDFs point bookmarks at the wrong page. A heading that
    cannot be found is placed at the top of its page, covering no lines.
    """
    keys = [_norm(line) for _, line in lines]
    # Footnote marks glue digits to heading words ("DHSC1 and DSIT"): a second try ignores digits.
    loose = [re.sub(r"\d", "", k) for k in keys]
    page_first: list[int] = []
    for i, (p, _) in enumerate(lines):
        while len(page_first) <= p:
            page_first.append(i)
    while len(page_first) < len(texts) + 1:
        page_first.append(len(lines))
    placed: dict[int, list[tuple[_Heading, int]]] = {}
    cursor = 0
    for h in headings:
        target = _norm(h.title)
        start = max(cursor, page_first[h.page])
        end = page_first[min(h.page + 30, len(texts))]
        hit = _find_lines(keys, target, start, end)
        if hit is None and start > cursor:
            hit = _find_lines(keys, target, cursor, start)
        if hit is None:
            hit = _find_lines(loose, re.sub(r"\d", "", target), start, end)
        if hit is not None:
            placed.setdefault(hit[0], []).append((h, hit[1]))
            cursor = hit[0] + hit[1]
        elif page_first[h.page] >= cursor:
            placed.setdefault(page_first[h.page], []).append((h, 0))
            cursor = page_first[h.page]
    return placed


def _find_lines(keys: list[str], target: str, start: int, end: int) -> tuple[int, int] | None:
    """First line index in [start, end) where up to six lines spell ``target``."""
    if not target:
        return None
    for j in range(start, min(end, len(keys))):
        if not keys[j] or not target.startswith(keys[j]):
            continue
        acc = ""
        for k in range(j, min(j + 6, len(keys))):
            acc += keys[k]
            if acc == target:
                return j, k - j + 1
            if not target.startswith(acc):
                break
    return None


_PDF_BULLET = re.compile(r"^\s*(?:[•▪◦●■□➢►–]|o\s)\s*")


class _PdfParagraphs:
    """Builds blocks from PDF lines: a paragraph ends at a blank line, a bullet, a heading, or a
    line that ends a sentence well short of the text width."""

    def __init__(self, lines: list[tuple[int, str]], gate: bool) -> None:
        lengths = sorted(len(line.strip()) for _, line in lines if line.strip())
        self.width = lengths[int(len(lengths) * 0.9)] if lengths else 80
        self.gate = gate
        self.blocks: list[Block] = []
        self.parts: list[str] = []
        self.kind = "paragraph"
        self.page: int | None = None
        self.skip = 0

    def heading(self, heading: _Heading, length: int) -> None:
        self.flush()
        self.blocks.append(
            Block(
                kind="heading",
                text=heading.title,
                level=min(heading.level, 6),
                page=heading.page + 1,
            )
        )
        self.skip = max(self.skip, length)

    def line(self, idx: int, page: int, line: str) -> None:
        if self.skip:
            self.skip -= 1
            return
        text = line.strip()
        if not text:
            self.flush()
            return
        bullet = _PDF_BULLET.match(text)
        if bullet:
            self.flush()
            self.kind = "list_item"
            text = text[bullet.end() :]
        if not self.parts:
            self.page = page + 1
        self.parts.append(text)
        if repair.is_sentence_end(text) and len(text) < 0.85 * self.width:
            self.flush()

    def flush(self) -> None:
        if self.parts:
            text = _clean_lines("\n".join(self.parts))
            if self.gate:
                text = repair.repair_lost_ll(text, force=True)
            if text:
                self.blocks.append(Block(kind=self.kind, text=text, page=self.page))
        self.parts = []
        self.kind = "paragraph"

    def finish(self) -> list[Block]:
        self.flush()
        return self.blocks


def _pdf_title(
    reader: Any,
    file_name: str,
    frags: list[list[_Frag]],
    entries: list[_Heading],
    blocks: list[Block],
) -> str | None:
    """Metadata title, unless it names a template or the file; then the cover's largest text."""
    try:
        meta_title = _clean_spaces(str((reader.metadata or {}).get("/Title") or ""))
    except Exception:
        meta_title = ""
    if meta_title and not _useless_title(meta_title, file_name):
        return meta_title
    cover = _cover_title(frags)
    if cover:
        return cover
    for e in entries:
        if len(e.title.split()) >= 4:
            return e.title
    return next((b.text[:200] for b in blocks if b.text), None)


def _cover_title(frags: list[list[_Frag]]) -> str | None:
    """The longest group of largest-font lines on the first page with text, plus a short
    subtitle set in the same size just below it ("Full Report")."""
    page = next((p for p in frags[:2] if p), None)
    if not page:
        return None
    top = max(f.size for f in page)
    big = [f for f in page if f.size >= 0.9 * top]
    lines: list[tuple[float, str]] = []
    for f in big:
        if lines and abs(lines[-1][0] - f.y) < 0.5 * top:
            lines[-1] = (lines[-1][0], lines[-1][1] + " " + f.text)
        else:
            lines.append((f.y, f.text))
    groups: list[list[str]] = []
    last_y: float | None = None
    for y, text in lines:
        if last_y is None or abs(last_y - y) > 1.6 * top:
            groups.append([])
        groups[-1].append(text)
        last_y = y
    texts = [_clean_spaces(" ".join(g)) for g in groups]
    best = max(range(len(texts)), key=lambda i: len(texts[i]))
    title = texts[best]
    if len(title) < 8:
        return None
    if best + 1 < len(texts):
        sub = texts[best + 1]
        if len(sub.split()) <= 4 and not re.search(r"\d", sub):
            title = f"{title} – {sub}"
    return title


def _pdf_date(reader: Any) -> str | None:
    try:
        raw = str((reader.metadata or {}).get("/CreationDate") or "")
    except Exception:
        return None
    m = re.match(r"D?:?(\d{4})(\d{2})?(\d{2})?", raw)
    if not m:
        return None
    year, month, day = m.group(1), m.group(2), m.group(3)
    if month and day:
        return f"{year}-{month}-{day}"
    return f"{year}-{month}" if month else year


_LOADERS: dict[str, Callable[[bytes, str], _Draft]] = {
    "pdf": _load_pdf,
    "docx": _load_docx,
    "html": _load_html,
    "markdown": _load_markdown,
    "text": _load_text,
}
