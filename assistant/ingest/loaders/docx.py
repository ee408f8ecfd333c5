"""Word (.docx): paragraphs by style (headings, lists), tables, and the file's properties.

The archive is checked for zip and entity-expansion bombs (:func:`.guards.check_zip`) before
python-docx inflates or parses anything. (This module's name is the format's; ``import docx``
below is python-docx, since imports are absolute.)
"""

from __future__ import annotations

import io
import re
import zipfile
from collections.abc import Iterable
from typing import Any

from assistant.errors import DocumentError
from assistant.ingest import repair
from assistant.ingest.loaders.base import Draft, DraftLoader, Precedence, Sample
from assistant.ingest.loaders.cleanup import clean_spaces, drop_contents_sections, finish_block
from assistant.ingest.loaders.guards import OLE_SIGNATURE, ZIP_SIGNATURE, check_zip, one_line
from assistant.ingest.loaders.metadata import useless_title
from assistant.ingest.loaders.tables import render_row
from assistant.schemas import Block

__all__ = ["DocxLoader"]


class DocxLoader(DraftLoader):
    """Word documents; the title comes from the properties unless it names a template."""

    kind = "docx"
    extensions = (".docx",)
    precedence = Precedence.BINARY
    # Any zip is sniffed as a .docx, and a zip behind another extension is refused: no other
    # format reads archives.
    mislabelled = "binary content (a zip archive) behind a {ext} extension"
    parser_modules = ("docx",)

    def sniff(self, sample: Sample) -> bool:
        return sample.data[:4] == ZIP_SIGNATURE

    def check(self, sample: Sample) -> None:
        if self.sniff(sample):
            return
        if sample.data.startswith(OLE_SIGNATURE):
            raise DocumentError(
                "not a .docx file but an OLE container: a password-protected Word document or an "
                "old .doc file; remove the password, or save it as .docx"
            )
        raise DocumentError("not a .docx file: it is not a zip archive (corrupt or mislabelled)")

    def parse(self, data: bytes, file_name: str) -> Draft:
        check_zip(data)
        import docx
        from docx.opc.exceptions import PackageNotFoundError

        try:
            document = docx.Document(io.BytesIO(data))
        except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile) as exc:
            raise DocumentError(f"not a readable .docx file: {one_line(exc)}") from exc
        except Exception as exc:  # lxml and python-docx raise many kinds on broken parts
            raise DocumentError(f"corrupt .docx file: {one_line(exc)}") from exc
        blocks = list(_docx_blocks(document))
        gate = repair.has_lost_ll("\n".join(b.text for b in blocks))
        blocks = [finish_block(b, gate) for b in blocks]
        blocks = [b for b in blocks if b.text]
        props = document.core_properties
        title = (props.title or "").strip()
        if not title or useless_title(title, file_name):
            title = next((b.text for b in blocks if b.kind == "heading"), "") or _first_block_text(
                blocks
            )
        created = props.created
        return Draft(
            blocks=drop_contents_sections(blocks),
            title=title or None,
            date=created.date().isoformat() if created else None,
            publisher=(props.author or "").strip() or None,
        )


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
    """Rows as lines, cells separated by " | ", an empty cell kept in its place (see
    :func:`.tables.render_row`); a merged cell, which python-docx repeats, is shown once."""
    rows = []
    for row in table.rows:
        cells: list[str] = []
        last = None
        for cell in row.cells:
            if cell._tc is last:
                continue  # the same merged cell again
            last = cell._tc
            cells.append(clean_spaces(cell.text))
        rows.append(render_row(cells))
    return "\n".join(row for row in rows if row)


def _first_block_text(blocks: list[Block]) -> str:
    return blocks[0].text[:200] if blocks else ""
