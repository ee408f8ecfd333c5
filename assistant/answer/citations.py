"""Citations built the one way every answerer builds them: quoted spans of a retrieved chunk."""

from __future__ import annotations

from collections.abc import Iterable

from assistant.schemas import Citation, RetrievedChunk

Span = tuple[int, int]
QUOTE_JOINER = " … "


def merge_spans(spans: Iterable[Span]) -> list[Span]:
    """Spans in order, merged where they overlap or touch.

    >>> merge_spans([(10, 20), (0, 5), (21, 30)])
    [(0, 5), (10, 30)]
    """
    out: list[Span] = []
    for a, b in sorted(spans):
        if out and a <= out[-1][1] + 1:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def section_within(title: str | None, section: str | None) -> str | None:
    """The section path below the document's own title: "Scheduling" for "Theatre list
    guide > Scheduling", nothing when the section is only the title again."""
    if not section:
        return None
    parts = [p.strip() for p in section.split(">")]
    if (
        title
        and parts
        and " ".join(parts[0].split()).casefold() == " ".join(title.split()).casefold()
    ):
        parts = parts[1:]
    return " > ".join(parts) or None


def pages(page: int | None, page_end: int | None = None, *, short: bool = True) -> str:
    """How a citation's page reads: "p. 4", or "pp. 4–5" for a quote running over a page
    break ("page 4" / "pages 4–5" when not ``short``); "" without a page.

    >>> pages(4), pages(4, 5), pages(4, 5, short=False), pages(None)
    ('p. 4', 'pp. 4–5', 'pages 4–5', '')
    """
    if page is None:
        return ""
    if page_end is not None and page_end != page:
        return f"pp. {page}–{page_end}" if short else f"pages {page}–{page_end}"
    return f"p. {page}" if short else f"page {page}"


def cite(n: int, chunk: RetrievedChunk, spans: list[Span]) -> Citation:
    """Citation ``n``: the chunk's details and the text at ``spans``, each a verbatim quote."""
    quotes = [chunk.text[a:b] for a, b in spans]
    page = chunk.page_at(spans[0][0]) if spans else chunk.page_start
    last = chunk.page_at(max(spans[-1][1] - 1, spans[-1][0])) if spans else page
    return Citation(
        n=n,
        doc_id=chunk.doc_id,
        title=chunk.title,
        # Where the quote stands, not where the chunk starts: a chunk may hold a short section
        # merged with the next one, and run over a page break.
        section=chunk.section_at(spans[0][0]) if spans else chunk.section,
        page=page,
        page_end=last if last != page else None,
        quote=QUOTE_JOINER.join(quotes),
        quotes=quotes,
        spans=spans,
        chunk_id=chunk.chunk_id,
        chunk_text=chunk.text,
        score=chunk.score,
        source_url=chunk.source_url,
        publisher=chunk.publisher,
    )
