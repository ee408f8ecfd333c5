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


def cite(n: int, chunk: RetrievedChunk, spans: list[Span]) -> Citation:
    """Citation ``n``: the chunk's details and the text at ``spans``, each a verbatim quote."""
    quotes = [chunk.text[a:b] for a, b in spans]
    return Citation(
        n=n,
        doc_id=chunk.doc_id,
        title=chunk.title,
        section=chunk.section,
        page=chunk.page_at(spans[0][0]) if spans else chunk.page_start,
        quote=QUOTE_JOINER.join(quotes),
        quotes=quotes,
        spans=spans,
        chunk_id=chunk.chunk_id,
        chunk_text=chunk.text,
        score=chunk.score,
        source_url=chunk.source_url,
        publisher=chunk.publisher,
    )
