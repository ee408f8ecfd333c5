"""A conversation written out as Markdown, with the sources behind every answer.

Managers download this from the UI to keep or forward; what they typed is redacted
(:mod:`assistant.redact`) so an identifier typed by mistake does not travel with the file.

Everything that came from a document or a user (questions, answers, titles, quotes, error
messages) is written as literal Markdown: ``<``, ``[``, ``]`` and backslashes are escaped, so a
viewer that renders the file (a Markdown preview, a wiki) shows a planted ``<img onerror=...>``
or ``![x](https://...)`` as text and fetches or runs nothing. The only live links are the
sources' public addresses from the corpus manifest (``http``/``https`` only).

>>> print(conversation_markdown([Exchange("What is it?", answer)]))  # doctest: +SKIP
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

from assistant.answer.citations import pages, section_within
from assistant.redact import redact
from assistant.schemas import Answer, Citation

TRANSCRIPT_TITLE = "Conversation with the NHS leaders' assistant"
TRANSCRIPT_NOTICE = (
    "Answers quote the documents in the assistant's corpus and cite them; check each source "
    "before acting. This is not clinical advice."
)


# The characters through which Markdown text turns into HTML, an image or a link.
_MD_LIVE = re.compile(r"([\\<\[\]]|&(?=#?\w+;))")  # and "&" starting an entity
_ESCAPED_MARKER = re.compile(r"\\\[(\d{1,3})\\\]")
# Characters that would end an autolink early (and let what follows be read as HTML).
_URL_SAFE = ":/?#[]@!$&'()*+,;=%~"


def literal(text: str) -> str:
    r"""``text`` as Markdown that renders as itself: no HTML, no image, no link.

    >>> print(literal('<img src=x onerror="go()"> ![a](https://e.org/?q=1)'))
    \<img src=x onerror="go()"> !\[a\](https://e.org/?q=1)
    """
    return _MD_LIVE.sub(r"\\\1", text)


def _answer_text(text: str) -> str:
    """An answer as literal Markdown, its citation markers ``[n]`` left readable (no link
    definition can exist in the file, since every ``[`` from a source is escaped)."""
    return _ESCAPED_MARKER.sub(r"[\1]", literal(text))


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
    url = quote(url, safe=_URL_SAFE)  # no space, quote or angle bracket ends it early
    if page is not None and url.lower().split("?")[0].split("#")[0].endswith(".pdf"):
        return f"{url.split('#')[0]}#page={page}"
    return url


def source_label(c: Citation) -> str:
    """``Title — section, p. 4``."""
    label = " — ".join(x for x in (c.title or c.doc_id, section_within(c.title, c.section)) if x)
    where = pages(c.page, c.page_end)
    return f"{label}, {where}" if where else label


def _quote_block(text: str) -> str:
    return "\n".join(f"> {literal(line)}" if line else ">" for line in text.splitlines())


def _citation_markdown(c: Citation) -> str:
    lines = [f"[{c.n}] {literal(_one_line(source_label(c)))}"]
    if c.publisher:
        lines[0] += f" ({literal(_one_line(c.publisher))})"
    link = page_link(c.source_url, c.page)
    if link:
        lines.append(f"<{link}>")
    if c.document_warning:
        lines += ["", f"**⚠ {literal(_one_line(c.document_warning))}**"]
    lines.append("")
    lines.append(_quote_block(c.quote))
    return "\n".join(lines)


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _exchange_markdown(i: int, ex: Exchange) -> str:
    parts = [f"## {i}. {literal(_one_line(redact(ex.question)))}", ""]
    if ex.error is not None:
        parts.append(f"*No answer: {literal(_one_line(redact(ex.error)))}*")
        return "\n".join(parts)
    assert ex.answer is not None
    if ex.answer.refused:
        parts.append("*Not covered by the corpus.*")
        parts.append("")
    parts.append(_answer_text(ex.answer.answer))
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
