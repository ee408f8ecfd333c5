"""A conversation written out as Markdown, with the sources behind every answer.

Managers download this from the UI to keep or forward; what they typed is redacted
(:mod:`assistant.redact`) so an identifier typed by mistake does not travel with the file.

>>> print(conversation_markdown([Exchange("What is it?", answer)]))  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from assistant.redact import redact
from assistant.schemas import Answer, Citation

TRANSCRIPT_TITLE = "Conversation with the NHS leaders' assistant"
TRANSCRIPT_NOTICE = (
    "Answers quote the documents in the assistant's corpus and cite them; check each source "
    "before acting. This is not clinical advice."
)


@dataclass
class Exchange:
    """One question and what came back: an answer, or an error message."""

    question: str
    answer: Answer | None = None
    error: str | None = None


def page_link(url: str | None, page: int | None) -> str | None:
    """The public address of a source, at its page when it is a PDF (``#page=N``).

    >>> page_link("https://example.org/plan.pdf", 12)
    'https://example.org/plan.pdf#page=12'
    >>> page_link("https://example.org/guide", 3)
    'https://example.org/guide'
    """
    if not url or not url.startswith(("https://", "http://")):
        return None
    if page is not None and url.lower().split("?")[0].split("#")[0].endswith(".pdf"):
        return f"{url.split('#')[0]}#page={page}"
    return url


def source_label(c: Citation) -> str:
    """``Title — section, p. 4``."""
    label = " — ".join(x for x in (c.title or c.doc_id, c.section) if x)
    return f"{label}, p. {c.page}" if c.page is not None else label


def _quote_block(text: str) -> str:
    return "\n".join(f"> {line}" if line else ">" for line in text.splitlines())


def _citation_markdown(c: Citation) -> str:
    lines = [f"[{c.n}] {source_label(c)}"]
    if c.publisher:
        lines[0] += f" ({c.publisher})"
    link = page_link(c.source_url, c.page)
    if link:
        lines.append(f"<{link}>")
    lines.append("")
    lines.append(_quote_block(c.quote))
    return "\n".join(lines)


def _exchange_markdown(i: int, ex: Exchange) -> str:
    parts = [f"## {i}. {redact(ex.question)}", ""]
    if ex.error is not None:
        parts.append(f"*No answer: {ex.error}*")
        return "\n".join(parts)
    assert ex.answer is not None
    if ex.answer.refused:
        parts.append("*Not covered by the corpus.*")
        parts.append("")
    parts.append(ex.answer.answer)
    if ex.answer.citations:
        parts += ["", "### Sources" if not ex.answer.refused else "### Nearest sources", ""]
        parts += [_citation_markdown(c) + "\n" for c in ex.answer.citations]
    return "\n".join(parts).rstrip()


def conversation_markdown(exchanges: Sequence[Exchange], now: datetime | None = None) -> str:
    """The whole conversation, oldest first, each answer followed by its sources and quotes."""
    when = (now or datetime.now(UTC)).strftime("%d %B %Y, %H:%M UTC")
    head = f"# {TRANSCRIPT_TITLE}\n\n{when}\n\n*{TRANSCRIPT_NOTICE}*"
    body = [_exchange_markdown(i, ex) for i, ex in enumerate(exchanges, 1)]
    return "\n\n".join([head, *body]) + "\n"
