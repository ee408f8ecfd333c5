"""How a quoted sentence is shown: the verbatim span cleaned for reading, and nothing live.

The span of a sentence (:func:`assistant.text.sentences.sentence_spans`) stays verbatim, so a
quote is an exact substring of its chunk; ``display_text`` is what a reader sees of it (marker,
bold and escapes removed, white space collapsed, no markup that a renderer would act on).
"""

from __future__ import annotations

import re

from assistant.answer.untrusted import strip_markup
from assistant.text.sentences import strip_marker

_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|&])")
_EMPHASIS = re.compile(r"\*\*|__")
# Bold markers the conversion split apart ("model** * * by * * continuing"): lone asterisks
# standing between spaces are never text.
_STRAY_ASTERISKS = re.compile(r"(?<!\S)\*(?:\s+\*)+(?!\S)")
_HEADING_HASHES = re.compile(r"^#{1,6}\s+")
# A footnote number glued to the start of a sentence by PDF conversion ("44 The wider ...").
# Only before a capitalised function word, so "18 ICBs have ..." keeps its number.
# A footnote number left before the sentence it follows ("77 There are ...", "10 At the heart
# ..."): a number, then a capitalised word that never names what is counted (a function word).
_FOOTNOTE_NUMBER = re.compile(
    r"^\d{1,3}\s+(?=(?:The|This|These|That|Those|There|It|Its|In|At|On|By|To|From|With|We|Our"
    r"|A|An|As|For|However|Some|Many|Each|All|When|While|If|Although|Since|Over|Under|Across"
    r"|Between|During|After|Before|Following|Despite|Through|Where|What|How|Why|One)\s)"
)
_SPACE = re.compile(r"\s+")
# "[19]", "[3, 4]" (a source's footnotes) and "[src: id, section]" (the briefings' citations).
_SOURCE_REFERENCE = re.compile(r"\s?\[(?:\d+(?:\s*[,–-]\s*\d+)*|src:[^\]]*)\]")
_BRACKETED_URL = re.compile(r"\s?\((?:https?://|www\.)[^)\s]*\)")
# A web or email address in a quote: shown as code, so no Markdown renderer or chat client turns
# it into a link, with the whole address (its domain included) visible.
_ADDRESS = re.compile(
    r"(?:https?://|www\.)[^\s<>()\[\]`]*[^\s<>()\[\]`.,;:!?'\"”’]"
    r"|[\w.+-]+@[\w-]+(?:\.[\w-]+)+",
    re.IGNORECASE,
)


def display_text(sentence: str) -> str:
    """A sentence as shown to a user: no marker, no markdown bold or escapes, one-line spacing;
    no image, HTML tag or link target from the source, so no renderer fetches or runs anything."""
    text = strip_marker(sentence.strip())
    text = _HEADING_HASHES.sub("", text)
    text = _FOOTNOTE_NUMBER.sub("", text)
    text = _EMPHASIS.sub("", text)
    text = _STRAY_ASTERISKS.sub("", text)
    text = strip_markup(_ESCAPE.sub(r"\1", text))
    # The source's own reference marks ("[19]", "[3, 4]") would read as the answer's citations.
    text = _SOURCE_REFERENCE.sub("", text)
    # A bare link in brackets is noise in an answer; the citation carries the source URL.
    text = _BRACKETED_URL.sub("", text)
    text = _ADDRESS.sub(lambda m: f"`{m.group(0)}`", text)
    return _SPACE.sub(" ", text).strip()


def without_urls(text: str) -> str:
    """``text`` with URLs removed (to tell a sentence from a bare link)."""
    return _URL.sub(" ", text)
