"""HTML (.html, .htm): headings, paragraphs, list items and tables in document order.

Scripts, styles, navigation and forms are dropped. A page that declares XML entities is refused
before it is parsed (see :mod:`.guards`). A Markdown or text file that is really a saved web
page (it starts with a doctype or ``<html>``) is read here too.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

from assistant.ingest import repair
from assistant.ingest.loaders.base import Draft, DraftLoader, Precedence, Sample
from assistant.ingest.loaders.cleanup import clean_spaces, drop_contents_sections, finish_block
from assistant.ingest.loaders.decoding import decode_text
from assistant.ingest.loaders.guards import refuse_entity_declarations, strip_internal_dtd
from assistant.ingest.loaders.tables import render_row
from assistant.schemas import Block

__all__ = ["HtmlLoader"]

_HTML_SKIP = {"script", "style", "nav", "noscript", "template", "svg", "iframe", "form", "head"}
_HTML_HEADINGS = {f"h{n}": n for n in range(1, 7)}
_HTML_TEXT_BLOCKS = {"p", "pre", "blockquote", "address", "figcaption", "dd", "dt", "caption"}
# Inline elements: their text joins the paragraph around them.
_HTML_INLINE = {
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
}


class HtmlLoader(DraftLoader):
    """Web pages; the ``<title>`` (or the first heading) is the title."""

    kind = "html"
    extensions = (".html", ".htm")
    precedence = Precedence.MARKUP
    parser_modules = ("bs4",)
    no_text_message = "no text found: the page holds only scripts, styles, navigation or markup"

    def sniff(self, sample: Sample) -> bool:
        """A page behind a text extension: it starts with a doctype or an ``<html>`` tag."""
        return sample.head.startswith(("<!doctype html", "<html"))

    def parse(self, data: bytes, file_name: str) -> Draft:
        from bs4 import BeautifulSoup, XMLParsedAsHTMLWarning

        text = decode_text(data)
        # Entities are refused outright; any other internal DTD subset is dropped.
        refuse_entity_declarations(text)
        text = strip_internal_dtd(text)
        text = re.sub(r"^\s*<\?xml[^>]*\?>", "", text)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", XMLParsedAsHTMLWarning)
            soup = BeautifulSoup(text, "lxml")  # bs4 keeps lxml's huge_tree off: bounded input
        title_tag = soup.find("title")
        title = clean_spaces(title_tag.get_text(" ")) if title_tag else ""
        root = soup.body or soup
        blocks: list[Block] = []
        gate = repair.has_lost_ll(root.get_text(" "))
        _html_walk(root, blocks)
        blocks = [finish_block(b, gate) for b in blocks]
        blocks = [b for b in blocks if b.text]
        if not title:
            title = next((b.text for b in blocks if b.kind == "heading"), "")
        return Draft(
            blocks=drop_contents_sections(blocks),
            title=title or None,
            date=_html_date(soup),
            publisher=_html_meta(soup, ("publisher", "og:site_name", "dc.publisher")),
        )


def _html_walk(node: Any, blocks: list[Block]) -> None:
    """Collect headings, paragraphs, list items and tables in document order."""
    from bs4 import NavigableString, Tag

    loose: list[str] = []

    def flush() -> None:
        text = clean_spaces(" ".join(loose))
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
        if name in _HTML_INLINE:
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
    """A table as one line per row, cells separated by " | ", an empty cell kept in its place
    (see :func:`.tables.render_row`)."""
    rows = (render_row([clean_spaces(c.get_text(" ")) for c in tr.find_all(("td", "th"))])
            for tr in table.find_all("tr"))  # fmt: skip
    return "\n".join(row for row in rows if row)


def _html_meta(soup: Any, names: tuple[str, ...]) -> str | None:
    for name in names:
        tag = soup.find("meta", attrs={"name": name}) or soup.find("meta", attrs={"property": name})
        if tag and tag.get("content"):
            return clean_spaces(str(tag["content"]))
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
