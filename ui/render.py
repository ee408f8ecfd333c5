"""Turning answers into what the page shows: chat Markdown and the sources panel's HTML.

Everything here is formatting. Text from documents and from users is escaped before it reaches
the page, so a source that contains HTML, a script, or a Markdown image pointing elsewhere shows
as plain text and fetches nothing. The only links are the assistant's own: citation markers that
open a source in the panel, and each source's public address from the corpus manifest.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

from assistant.answer.citations import pages, section_within
from assistant.schemas import Answer, Citation, DocumentMeta, RetrievedChunk
from assistant.transcript import Exchange, page_link

CITE_ID_PREFIX = "cite"
REFUSAL_HEADING = "Not covered by the corpus"
STREAMING_CURSOR = " …"
RETRIEVED_SHOWN = 8

# Every ASCII character Markdown may treat as syntax. A backslash makes each one literal. ":"
# and "@" too: the page's renderer turns "https://..." and "name@host" into links on sight,
# escapes and all, and "https\://" or "name\@host" are the only spellings it leaves as text.
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>:@])")
_MARKER = re.compile(r"\\\[(\d{1,3})\\\]")
_STEP = re.compile(r"^(\d{1,3})\\\.", re.M)
_QUOTE_END = re.compile(rf"(\]\(#{CITE_ID_PREFIX}-\d+-\d+\)) (?=\S)")  # a marker link, a space


def cite_id(turn: int, n: int) -> str:
    """The element id of citation ``n`` of answer ``turn`` (both counted in the page)."""
    return f"{CITE_ID_PREFIX}-{turn}-{n}"


def escape_markdown(text: str) -> str:
    """``text`` as literal Markdown: HTML escaped, every syntax character backslashed.

    >>> escape_markdown("<b>2%</b> ![x](http://e.org)")
    '&lt;b&gt;2%&lt;/b&gt; \\\\!\\\\[x\\\\]\\\\(http\\\\://e\\\\.org\\\\)'
    """
    return _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))


def answer_markdown(answer: Answer, turn: int) -> str:
    """The answer for the chat: literal text, numbered steps kept, ``[n]`` linking to source n."""
    known = {c.n for c in answer.citations}
    text = _STEP.sub(r"\1.", escape_markdown(answer.answer))

    def link(m: re.Match[str]) -> str:
        n = int(m.group(1))
        return f"[\\[{n}\\]](#{cite_id(turn, n)})" if n in known else m.group(0)

    body = _MARKER.sub(link, text)
    if answer.mode != "llm" and "\n" not in body:
        # Quotes come from different places: one paragraph each reads better than a wall.
        body = _QUOTE_END.sub(r"\1\n\n", body)
    if answer.refused:
        body = f"**{REFUSAL_HEADING}.** {body}"
    return "\n\n".join([*_notes_before(answer), body, *_notes_after(answer)])


def _notes_before(answer: Answer) -> list[str]:
    notes = []
    if answer.standalone_question:
        notes.append(f"*Read as: {escape_markdown(answer.standalone_question)}*")
    if answer.mode == "extractive-fallback":
        notes.append(
            "*The generated answer could not be used, so these are quotes from the sources.*"
        )
    return notes


def _notes_after(answer: Answer) -> list[str]:
    """What the grounding check did to a generated answer, said plainly."""
    notes = []
    if answer.removed:
        s = "" if answer.removed == 1 else "s"
        notes.append(
            f"*{answer.removed} generated sentence{s} removed: the cited sources did not "
            "support them.*"
        )
    marked = sum(1 for x in answer.sentences if x.supported is False)
    if marked:
        notes.append(f"*{marked} sentence(s) marked unverified: check them against the sources.*")
    return notes


def partial_markdown(text: str) -> str:
    """Answer text still arriving, shown literally with a trailing cursor."""
    return escape_markdown(text) + STREAMING_CURSOR


def error_markdown(message: str) -> str:
    """An error, as a readable chat message rather than a traceback."""
    return f"**Sorry, no answer this time.** {escape_markdown(message)}"


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def _highlighted(c: Citation) -> str:
    """The cited chunk's text with the quoted spans marked."""
    out: list[str] = []
    at = 0
    for start, end in sorted(c.spans):
        out += [_e(c.chunk_text[at:start]), f"<mark>{_e(c.chunk_text[start:end])}</mark>"]
        at = end
    out.append(_e(c.chunk_text[at:]))
    return "".join(out)


def _link_html(url: str | None, page: int | None, text: str) -> str:
    link = page_link(url, page)
    if link is None:
        return ""
    return (
        f'<a class="source-link" href="{_e(link)}" target="_blank" '
        f'rel="noopener noreferrer">{_e(text)}</a>'
    )


def citation_html(c: Citation, turn: int, open_: bool = False) -> str:
    """One citation: a summary line that opens to the passage, the quote highlighted, a link."""
    section = section_within(c.title, c.section)
    meta = " · ".join(
        _e(x)
        for x in (
            c.publisher,
            section and f"Section: {section}",
            pages(c.page, c.page_end, short=False).capitalize(),
        )
        if x
    )
    link_to = page_link(c.source_url, c.page)
    at_page = link_to is not None and "#page=" in link_to
    link = _link_html(
        c.source_url,
        c.page,
        f"Open page {c.page} on the publisher's site" if at_page else "Open the source online",
    )
    return (
        f'<details class="citation" id="{cite_id(turn, c.n)}"{" open" if open_ else ""}>'
        f'<summary><span class="cite-n">[{c.n}]</span> {_e(c.title or c.doc_id)}'
        f"{lifecycle_badge_html(c)}</summary>"
        f'<p class="cite-meta">{meta}</p>'
        f"{lifecycle_warning_html(c)}"
        f"{quarantine_warning_html(c)}"
        f'<blockquote class="cite-passage">{_highlighted(c)}</blockquote>'
        f"{link}</details>"
    )


def lifecycle_badge_html(c: Citation) -> str:
    """A short badge in the citation's summary line when its document may be out of date."""
    if not c.document_warning:
        return ""
    label = "superseded" if c.document_warning.startswith("Superseded") else "check date"
    return f' <span class="badge-warning">{_e(label)}</span>'


def lifecycle_warning_html(c: Citation) -> str:
    """The warning in full, under the citation's title: superseded, withdrawn, or dated."""
    if not c.document_warning:
        return ""
    return f'<p class="cite-warning" role="note">⚠ {_e(c.document_warning)}</p>'


def quarantine_warning_html(c: Citation) -> str:
    """A short warning when the cited document had passages held back as planted text."""
    n = c.document_quarantined
    if not n:
        return ""
    what = "passage" if n == 1 else "passages"
    return (
        f'<p class="cite-warning" role="note">⚠ {n} {what} of this document looked like '
        "instructions planted for an AI and were held back; the quote here is not one of "
        "them. Read the document with care.</p>"
    )


def _retrieved_html(chunks: Sequence[RetrievedChunk], cited: set[str]) -> str:
    items = []
    for ch in chunks[:RETRIEVED_SHOWN]:
        label = _e(source_label_of(ch))
        tag = ' <span class="tag">cited</span>' if ch.chunk_id in cited else ""
        link = _link_html(ch.source_url, ch.page_start, "open")
        items.append(f"<li>{label}{tag} {link}</li>")
    return f'<ol class="retrieved">{"".join(items)}</ol>' if items else "<p>Nothing found.</p>"


def source_label_of(ch: RetrievedChunk) -> str:
    section = section_within(ch.title, ch.section)
    label = " — ".join(x for x in (ch.title or ch.doc_id, section) if x)
    return f"{label}, p. {ch.page_start}" if ch.page_start is not None else label


def searching_html(chunks: Sequence[RetrievedChunk]) -> str:
    """The panel while an answer is being written: what retrieval found."""
    return f'<h2 class="panel-h">Passages found</h2>{_retrieved_html(chunks, set())}'


def _answer_sources(answer: Answer, turn: int, latest: bool) -> str:
    heading = "Nearest sources" if answer.refused else "Sources cited"
    parts = [f'<h3 class="panel-h3">{heading}</h3>']
    if answer.refused:
        parts.append(
            '<p class="refusal-note" role="status">The corpus does not answer this question. '
            "These are the closest passages, for you to check.</p>"
        )
    parts += [
        citation_html(c, turn, open_=latest and i == 0) for i, c in enumerate(answer.citations)
    ]
    if latest and answer.retrieved:
        cited = {c.chunk_id for c in answer.citations}
        parts.append(
            '<details class="retrieved-all"><summary>All passages retrieved</summary>'
            f"{_retrieved_html(answer.retrieved, cited)}</details>"
        )
    return "".join(parts)


def sources_html(exchanges: Sequence[Exchange]) -> str:
    """The sources panel: the latest answer's sources open, earlier answers' folded below."""
    answered = [(t, ex) for t, ex in enumerate(exchanges, 1) if ex.answer is not None]
    if not answered:
        return (
            '<h2 class="panel-h">Sources</h2><p class="panel-empty">Ask a question: the passages '
            "behind the answer appear here, with the quoted words highlighted.</p>"
        )
    turn, latest = answered[-1]
    assert latest.answer is not None
    parts = [f'<h2 class="panel-h">Sources for question {turn}</h2>']
    parts.append(_answer_sources(latest.answer, turn, latest=True))
    for t, ex in reversed(answered[:-1]):
        assert ex.answer is not None
        parts.append(
            f'<details class="earlier"><summary>Sources for question {t}</summary>'
            f"{_answer_sources(ex.answer, t, latest=False)}</details>"
        )
    return "".join(parts)


# --- the page's header and filter chips ---------------------------------------------------------

PROJECT_PUBLISHER = "NHS leaders' assistant project"  # the bundled briefings' publisher


def _and_list(items: Sequence[str]) -> str:
    items = list(items)
    return (
        ", ".join(items[:-1]) + (" and " if len(items) > 1 else "") + (items[-1] if items else "")
    )


def index_summary(docs: Sequence[DocumentMeta]) -> str:
    """One sentence on what the index holds: how many publications, from whom, of what years.
    A publication indexed in two formats counts once; the project's own briefings are named
    as such, so nobody mistakes them for the national documents they summarise."""
    publications = {" ".join(d.title.split()).casefold(): d for d in docs}.values()
    if not publications:
        return (
            "The index is empty: add documents with nhs-assistant ingest FOLDER (or upload them "
            "through the API) and reload this page."
        )
    briefings = [d for d in publications if (d.publisher or "").startswith(PROJECT_PUBLISHER)]
    others = [d for d in publications if d not in briefings]
    parts = []
    if others:
        publishers = sorted({d.publisher for d in others if d.publisher})
        years = sorted({d.date[:4] for d in others if d.date and d.date[:4].isdigit()})
        n = len(others)
        text = f"{n} publication{'s' if n != 1 else ''}"
        if publishers:
            shown = publishers[:4] + (
                [f"{len(publishers) - 4} more"] if len(publishers) > 4 else []
            )
            text += f" from {_and_list(shown)}"
        if years:
            text += f" ({years[0]}–{years[-1]})" if len(years) > 1 else f" ({years[0]})"
        parts.append(text)
    if briefings:
        n = len(briefings)
        parts.append(
            f"{n} briefing{'s' if n != 1 else ''} written by this project that summarise the "
            "national documents"
        )
    return f"Answers from {' and '.join(parts)}, with a citation for every sentence."


def empty_chat_text(docs: Sequence[DocumentMeta]) -> str:
    """What the empty chat says: the newest publications indexed, so a reader knows what to
    ask about (and that the index is empty, when it is)."""
    publications = {" ".join(d.title.split()).casefold(): d for d in docs}.values()
    if not publications:
        return "No documents are indexed yet, so there is nothing to answer from."
    newest = sorted(publications, key=lambda d: d.date or "", reverse=True)[:3]
    more = len(publications) - len(newest)
    listed = "; ".join(d.title for d in newest) + (f"; and {more} more" if more else "")
    return f"Ask about what these documents say: {listed}."


EMPTY_CHAT = "Ask about the documents listed under Filters."


def header_html(title: str, docs: Sequence[DocumentMeta] | None) -> str:
    """The page header: the title and what the index actually holds (``None``: not known yet,
    until the page has loaded)."""
    summary = (
        index_summary(docs) if docs is not None else "Cited answers from the documents indexed."
    )
    return f'<h1>{_e(title)}</h1><p id="index-summary">{_e(summary)}</p>'


def filter_chips_html(documents: Sequence[str], publishers: Sequence[str]) -> str:
    """The filters in force, as chips visible while the filter accordion is closed."""
    chips = [f'<span class="chip">{_e(d)}</span>' for d in documents]
    chips += [f'<span class="chip">{_e(p)}</span>' for p in publishers]
    if not chips:
        return ""
    return f'<p class="filter-chips" role="status">Answers only from: {"".join(chips)}</p>'
