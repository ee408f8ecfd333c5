"""PDF (.pdf): text by page, headings from the bookmarks or the font sizes, the cover's title.

Files that cannot give text are refused with the reason: encrypted, corrupt, a page that
inflates past pypdf's decompression limit (a decompression bomb), blank pages, or a scan.
Headings come from the bookmarks or, failing those, from text set larger than the body; the
lines between them become paragraphs.
"""

from __future__ import annotations

import io
import logging
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from assistant.errors import DocumentError
from assistant.ingest import repair
from assistant.ingest.loaders.base import Draft, DraftLoader, Precedence, Sample
from assistant.ingest.loaders.cleanup import clean_lines, clean_spaces, drop_contents_sections, norm
from assistant.ingest.loaders.furniture import caption_kind, is_note_start, set_aside_footnotes
from assistant.ingest.loaders.guards import one_line
from assistant.ingest.loaders.metadata import MONTH_YEAR, useless_title
from assistant.ingest.loaders.pdf_columns import reading_order
from assistant.ingest.loaders.tables import rows_from_lines, table_runs
from assistant.schemas import Block, BlockKind

__all__ = ["NO_PDF_TEXT", "PdfLoader"]

log = logging.getLogger(__name__)

NO_PDF_TEXT = "no extractable text: the PDF seems to be scanned images (run OCR first)"
SIGNATURE_BYTES = 1024  # readers accept the %PDF header anywhere in the first kilobyte


class PdfLoader(DraftLoader):
    """PDF files; a PDF behind any other extension is read as a PDF too."""

    kind = "pdf"
    extensions = (".pdf",)
    precedence = Precedence.BINARY
    parser_modules = ("pypdf",)
    slow_to_read = True  # pypdf reads a page's text in about 0.15 s
    no_text_message = NO_PDF_TEXT

    def sniff(self, sample: Sample) -> bool:
        return b"%PDF-" in sample.data[:SIGNATURE_BYTES]

    def check(self, sample: Sample) -> None:
        if not self.sniff(sample):
            raise DocumentError("not a PDF: no %PDF header (the file is corrupt or mislabelled)")

    def parse(self, data: bytes, file_name: str) -> Draft:
        reader = _open_pdf(data)
        try:
            n_pages = len(reader.pages)
        except Exception as exc:
            raise DocumentError(f"corrupt or truncated PDF: {one_line(exc)}") from exc
        entries = _outline_entries(reader, n_pages)
        use_outline = sum(1 for e in entries if e.page >= 2) >= 2
        texts, frags, failures = _pdf_text(reader, n_pages, all_fonts=not use_outline)
        if not any(t.strip() for t in texts):
            raise DocumentError(_no_pdf_text_reason(reader, n_pages, failures))
        texts = repair.strip_repeated_lines([repair.expand_ligature_glyphs(t) for t in texts])
        headings = entries if use_outline else _font_headings(frags)
        gate = repair.has_lost_ll("\n".join(texts))
        blocks = drop_contents_sections(_pdf_blocks(texts, headings, gate))
        return Draft(
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
        raise DocumentError(f"corrupt or truncated PDF: {one_line(exc)}") from exc
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
                title = clean_spaces(str(item.title or ""))
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
    return bool(re.search(r"[A-Za-z]{2}", title)) and not MONTH_YEAR.match(title)


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
                text = page.extract_text(visitor_text=_font_visitor(page_frags)) or ""
            else:
                text = page.extract_text() or ""
            # A page whose stream interleaves two columns row by row, read again in order.
            texts.append(reading_order(page, text))
        except Exception as exc:  # one bad page should not lose the document
            log.warning("page %d: text extraction failed: %s", i + 1, one_line(exc))
            texts.append("")
            failures[i] = exc
        frags.append(page_frags)
    return texts, frags, failures


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
        return f"corrupt PDF: no page could be read ({one_line(next(iter(failures.values())))})"
    if not n_pages:
        return "no text: the PDF has no pages"
    if all(_pdf_page_is_blank(reader, i) for i in range(n_pages)):
        return f"no text: all {n_pages:,} pages of the PDF are blank"
    return NO_PDF_TEXT


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


def _pdf_title(
    reader: Any,
    file_name: str,
    frags: list[list[_Frag]],
    entries: list[_Heading],
    blocks: list[Block],
) -> str | None:
    """Metadata title, unless it names a template or the file; then the cover's largest text."""
    try:
        meta_title = clean_spaces(str((reader.metadata or {}).get("/Title") or ""))
    except Exception:
        meta_title = ""
    if meta_title and not useless_title(meta_title, file_name):
        return meta_title
    cover = _cover_title(frags)
    if cover:
        return cover
    for e in entries:
        if len(e.title.split()) >= 4:
            return e.title
    return next((b.text[:200] for b in blocks if b.text), None)


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


# --------------------------------------------------------------------------------------------
# Layout: headings, paragraphs and the cover's title from the page text and font sizes


@dataclass
class _Heading:
    """A heading found by bookmark or font size, and the page it is on."""

    title: str
    level: int
    page: int  # 0-based


@dataclass
class _Frag:
    """A piece of page text with its font size and vertical position."""

    text: str
    size: float
    y: float


def _font_visitor(out: list[_Frag]) -> Callable[..., None]:
    """A pypdf text visitor that records each piece of text with its rendered size."""

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
                text = clean_spaces("".join(c.text for c in current))
                if 3 <= len(text) <= 150 and not text.isdigit():
                    runs.append((text, current[0].size, p))
                current = []
            if f.size >= body * 1.15:
                current.append(f)
    sizes = sorted({size for _, size, _ in runs}, reverse=True)
    return [_Heading(text, min(sizes.index(size) + 1, 3), p) for text, size, p in runs]


def _pdf_blocks(texts: list[str], headings: list[_Heading], gate: bool) -> list[Block]:
    """Blocks from the pages' text: the headings placed where they occur, paragraphs between.

    Footnote blocks at the foot of a page are moved out of the text flow first (a sentence
    that runs over the page break then reads as one), and flattened tables are kept together
    as rows (see :mod:`.furniture` and :mod:`.tables`).
    """
    flat = [line for text in texts for line in text.split("\n")]
    pages: list[int | None] = [p for p, text in enumerate(texts) for _ in text.split("\n")]
    flat, pages, notes = set_aside_footnotes(flat, pages)
    lines = [(p or 0, line) for p, line in zip(pages, flat, strict=True)]
    placed = _locate_headings(lines, headings, texts)
    builder = _PdfParagraphs(lines, gate)
    roles = ["note" if note else "text" for note in notes]
    for start, end in table_runs(flat, builder.width):
        roles[start:end] = ["table"] * (end - start)
    for idx, (page, line) in enumerate(lines):
        for heading, length in placed.get(idx, []):
            builder.heading(heading, length)
        builder.line(idx, page, line, roles[idx])
    return builder.finish()


def _locate_headings(
    lines: list[tuple[int, str]], headings: list[_Heading], texts: list[str]
) -> dict[int, list[tuple[_Heading, int]]]:
    """Where each heading starts in the page lines, and how many lines it covers.

    Headings are searched in order, from their bookmark's page (or the previous heading,
    whichever is later), since some PDFs point bookmarks at the wrong page. A heading that
    cannot be found is placed at the top of its page, covering no lines.
    """
    keys = [norm(line) for _, line in lines]
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
        target = norm(h.title)
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


CAPTION_MAX_LINES = 3  # a caption wraps to at most this many lines; then text resumes
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
        self.kind: BlockKind = "paragraph"
        self.page: int | None = None
        self.last_page: int | None = None  # the page of the last line taken
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

    def line(self, idx: int, page: int, line: str, role: str = "text") -> None:
        """One line of page text; ``role`` is "text", "note" (a footnote line) or "table" (a
        line of a flattened table, blank lines included)."""
        if self.skip:
            self.skip -= 1
            return
        text = line.strip()
        if role == "table":
            self._start("table", page)
            self.parts.append(text)
            return
        if self.kind == "table":
            self.flush()
        if not text:
            self.flush()
            return
        if role == "note":
            if self.kind != "footnote" or is_note_start(text) is not None:
                self._start("footnote", page, new=True)
            self.parts.append(text)
            return
        if self.kind == "footnote":
            self.flush()
        if (
            self.parts
            and page != self.last_page
            and not repair.continues_sentence(self.parts[-1], text)
        ):
            self.flush()  # a new page: text is joined over the break only mid-sentence
        self.last_page = page
        bullet = _PDF_BULLET.match(text)
        if bullet:
            self.flush()
            self.kind = "list_item"
            text = text[bullet.end() :]
        elif caption_kind(text) is not None:
            self._start("caption", page, new=True)
        elif self.kind == "caption" and (
            len(self.parts) >= CAPTION_MAX_LINES
            or not repair.continues_sentence(self.parts[-1], text)
        ):
            self.flush()  # the text resumes: a caption never takes a sentence of it
        if not self.parts:
            self.page = page + 1
        self.parts.append(text)
        if repair.is_sentence_end(text) and len(text) < 0.85 * self.width:
            self.flush()

    def _start(self, kind: BlockKind, page: int, new: bool = False) -> None:
        """Go on with a block of ``kind``, or begin one (always, when ``new``)."""
        if new or self.kind != kind:
            self.flush()
            self.kind = kind
        if not self.parts:
            self.page = page + 1

    def flush(self) -> None:
        if self.parts:
            if self.kind == "table":
                rows = [clean_spaces(row) for row in rows_from_lines(self.parts)]
                text = "\n".join(rows)
            else:
                text = clean_lines("\n".join(self.parts))
            if self.gate:
                text = repair.repair_lost_ll(text, force=True)
            if text:
                self.blocks.append(Block(kind=self.kind, text=text, page=self.page))
        self.parts = []
        self.kind = "paragraph"

    def finish(self) -> list[Block]:
        self.flush()
        return self.blocks


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
    texts = [clean_spaces(" ".join(g)) for g in groups]
    best = max(range(len(texts)), key=lambda i: len(texts[i]))
    title = texts[best]
    if len(title) < 8:
        return None
    if best + 1 < len(texts):
        sub = texts[best + 1]
        if len(sub.split()) <= 4 and not re.search(r"\d", sub):
            title = f"{title} – {sub}"
    return title
