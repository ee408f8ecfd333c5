"""Sentence spans for extractive answers.

``split_sentences`` returns ``(start, end)`` character offsets rather than strings, so that a
quote taken from a span is always an exact substring of the chunk text. The text it sees is what
ingestion produced from PDFs, Word files, HTML and Markdown: paragraphs numbered "12.", bullet
lists, headings without a full stop, lines wrapped in the middle of a sentence, markdown bold and
escaped brackets, URLs, money and decimals. The rules below are heuristics tuned for that mix.

Two passes:

1. Lines are grouped into *segments* that no sentence may cross: a list item, a heading, a table
   row or a paragraph. A line break inside a paragraph (a wrapped line) does not end a sentence.
2. Inside a segment, a sentence ends at ``.``, ``!`` or ``?`` (plus any closing quotes or brackets)
   followed by white space and a capital letter or digit, unless the word before the full stop is
   an abbreviation or the "sentence" so far is only a paragraph number.

``display_text`` cleans a sentence for showing (marker, bold and escapes removed, white space
collapsed) while the span, and so the quote, stays verbatim.
"""

from __future__ import annotations

import itertools
import re

from assistant.answer.untrusted import strip_markup


def _word_set(text: str) -> frozenset[str]:
    """A word list written as one string, for readability."""
    return frozenset(text.split())


# Bullets, markdown list markers, numbered paragraphs and list items, and numbered headings.
_MARKER = re.compile(
    r"""^[ \t]*(?:
        [•▪◦●○■□‣⁃∙·►➢✓\uf0b7\uf0a7*+-]      # bullets and markdown list markers
      | \\\*                                 # an escaped markdown asterisk
      | [–—](?=[ \t]+[A-Z])                  # a dash used as a bullet (before a capital only:
                                             #   a dash before a lower-case word continues a sentence)
      | \(?\d{1,3}[.)]                       # 12.   1)   (3)
      | \(?[a-z][.)]                         # a.   b)   (c)
      | \([A-Z]\) | [A-Z]\)                  # (A)  B)
      | \(?(?:ii|iii|iv|vi|vii|viii|ix|xi|xii)[.)]   # roman numerals beyond one letter
      | \d{1,2}(?:\.\d{1,2})+\.?(?=[ \t]+[A-Z])      # 2.3 Primary care (not "2.8 million")
    )[ \t]+""",
    re.VERBOSE,
)
# A "sentence" that is nothing but a paragraph number or list letter: "12." or "(b)".
_MARKER_ONLY = re.compile(r"\(?(?:\d{1,3}|[A-Za-z]|[ivx]{1,4})[.)]")
# Bullets that also start a new unit in the middle of a line (PDF text flattens lists).
_INLINE_BULLET = re.compile(r"(?<=\s)[•▪●■‣\uf0b7](?=\s)")
# End of a sentence: terminal punctuation plus closing quotes, brackets or markdown emphasis.
_SENTENCE_END = re.compile(r"""[.!?]+(?:["'”’»)\]]|\*\*|_)*(?=\s)""")
# What may stand between a sentence end and the first letter of the next sentence.
_OPENERS = "\"'“‘«([*_ \t\n\r\f\v"
_NEXT_START_SYMBOLS = "£$€•"
_TERMINAL = re.compile(r"""[.!?:;]["'”’»)\]*_]*$""")
_URL = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
_LETTER = re.compile(r"[A-Za-z]")
_ALNUM = re.compile(r"[A-Za-z0-9]")
_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!|&])")
_EMPHASIS = re.compile(r"\*\*|__")
_HEADING_HASHES = re.compile(r"^#{1,6}\s+")
# A footnote number glued to the start of a sentence by PDF conversion ("44 The wider ...").
# Only before a capitalised function word, so "18 ICBs have ..." keeps its number.
_FOOTNOTE_NUMBER = re.compile(
    r"^\d{1,3}\s+(?=(?:The|This|These|That|Those|It|Its|In|We|Our|A|An|As|For|However)\s)"
)
_SPACE = re.compile(r"\s+")

# A full stop after these never ends a sentence ("e.g. The", "Dr. Smith").
NEVER_FINAL_ABBREVIATIONS = _word_set(
    "e.g eg i.e ie vs v dr mr mrs ms prof st cf al viz incl esp approx c ca"
)
# A full stop after these does not end a sentence when a number follows ("No. 10", "para. 4").
NUMBER_ABBREVIATIONS = _word_set("no nos para paras p pp fig figs vol ch sec sect art tab ref")
# A line ending in one of these is the first half of a wrapped sentence, not a heading.
_CONTINUING_WORDS = _word_set(
    "a an and as at by for from in into of on or the to with that which than our their its "
    "including such between"
)
# Short, unpunctuated lines of up to this many words, standing alone, are treated as headings.
HEADING_MAX_WORDS = 12


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Character spans ``(start, end)`` of the sentences, list items and headings in ``text``.

    Spans are in text order, do not overlap, carry no leading or trailing white space, and each
    contains at least one letter or digit. ``text[start:end]`` is the verbatim sentence.
    """
    spans: list[tuple[int, int]] = []
    for seg_start, seg_end in _segments(text):
        spans.extend(_split_segment(text, seg_start, seg_end))
    return spans


def marker_length(sentence: str) -> int:
    """Length of a leading paragraph number or bullet ("12. ", "• ", "(b) "), else 0."""
    m = _MARKER.match(sentence)
    return m.end() if m else 0


def is_list_item(sentence: str) -> bool:
    """True when the sentence starts with a bullet or a list/paragraph number."""
    return marker_length(sentence) > 0


def strip_marker(sentence: str) -> str:
    """The sentence without its leading paragraph number or bullet, for display."""
    return sentence[marker_length(sentence) :]


# "[19]", "[3, 4]" (a source's footnotes) and "[src: id, section]" (the briefings' citations).
_SOURCE_REFERENCE = re.compile(r"\s?\[(?:\d+(?:\s*[,–-]\s*\d+)*|src:[^\]]*)\]")
_BRACKETED_URL = re.compile(r"\s?\((?:https?://|www\.)[^)\s]*\)")


def display_text(sentence: str) -> str:
    """A sentence as shown to a user: no marker, no markdown bold or escapes, one-line spacing;
    no image, HTML tag or link target from the source, so no renderer fetches or runs anything."""
    text = strip_marker(sentence.strip())
    text = _HEADING_HASHES.sub("", text)
    text = _FOOTNOTE_NUMBER.sub("", text)
    text = _EMPHASIS.sub("", text)
    text = strip_markup(_ESCAPE.sub(r"\1", text))
    # The source's own reference marks ("[19]", "[3, 4]") would read as the answer's citations.
    text = _SOURCE_REFERENCE.sub("", text)
    # A bare link in brackets is noise in an answer; the citation carries the source URL.
    text = _BRACKETED_URL.sub("", text)
    return _SPACE.sub(" ", text).strip()


def without_urls(text: str) -> str:
    """``text`` with URLs removed (to tell a sentence from a bare link)."""
    return _URL.sub(" ", text)


def ends_with_terminal(line: str) -> bool:
    """True when a line ends with sentence-final punctuation (closing quotes allowed)."""
    return bool(_TERMINAL.search(line.rstrip()))


# --- pass 1: segments -------------------------------------------------------------------------


def _lines(text: str) -> list[tuple[int, int]]:
    """Spans of the non-blank lines, without their line breaks."""
    return [(m.start(), m.end()) for m in re.finditer(r"[^\n]+", text) if m.group().strip()]


def _segments(text: str) -> list[tuple[int, int]]:
    """Group lines into units that a sentence may not cross."""
    lines = _lines(text)
    if not lines:
        return []
    segments: list[tuple[int, int]] = []
    seg_start = lines[0][0]
    starts_sentence = True  # does the previous line begin a sentence (heading candidate)?
    for (p_start, p_end), (n_start, n_end) in itertools.pairwise(lines):
        prev, nxt = text[p_start:p_end].strip(), text[n_start:n_end].strip()
        blank = text.count("\n", p_end, n_start) >= 2
        if _is_break(prev, nxt, blank=blank, prev_starts_sentence=starts_sentence):
            segments.append((seg_start, p_end))
            seg_start = n_start
            starts_sentence = True
        else:
            starts_sentence = ends_with_terminal(prev)
    segments.append((seg_start, lines[-1][1]))
    return segments


def _is_break(prev: str, nxt: str, *, blank: bool, prev_starts_sentence: bool) -> bool:
    """Whether the line break between two non-blank lines ends a unit."""
    if _MARKER.match(nxt) or nxt.startswith(("#", "|")) or prev.startswith(("#", "|")):
        return True
    if _is_bold_line(prev) or _is_bold_line(nxt):
        return True
    if blank:
        # PDF conversions leave blank lines inside sentences; only join when the first line
        # clearly runs on into the second.
        return not (not ends_with_terminal(prev) and _runs_on(prev, nxt))
    if prev.endswith(":") and _starts_upper(nxt):
        return True  # a lead-in line ("ICBs should:") followed by its own sentence
    return prev_starts_sentence and _looks_like_heading(prev) and _starts_upper(nxt)


def _runs_on(prev: str, nxt: str) -> bool:
    last_word = prev.rsplit(maxsplit=1)[-1].lower()
    return nxt[0].islower() or prev.endswith((",", "-", "–")) or last_word in _CONTINUING_WORDS


def _is_bold_line(line: str) -> bool:
    return (
        len(line) > 4 and line.startswith("**") and line.endswith("**") and "**" not in line[2:-2]
    )


def _looks_like_heading(line: str) -> bool:
    if ends_with_terminal(line) or line.endswith(","):
        return False
    words = line.split()
    if not words or len(words) > HEADING_MAX_WORDS or not _LETTER.search(line):
        return False
    return words[-1].lower() not in _CONTINUING_WORDS


def _starts_upper(line: str) -> bool:
    first = line.lstrip(_OPENERS)[:1]
    return first.isupper() or first.isdigit() or (first in _NEXT_START_SYMBOLS and first != "")


# --- pass 2: sentences inside a segment ----------------------------------------------------------


def _split_segment(text: str, start: int, end: int) -> list[tuple[int, int]]:
    cuts = [start]
    for m in _SENTENCE_END.finditer(text, start, end):
        if _is_sentence_end(text, cuts[-1], m, end):
            cuts.append(m.end())
    cuts.extend(b.start() for b in _INLINE_BULLET.finditer(text, start, end))
    cuts = [*sorted(set(cuts)), end]
    spans = (_trim(text, a, b) for a, b in itertools.pairwise(cuts))
    return [s for s in spans if s is not None]


def _is_sentence_end(text: str, sent_start: int, m: re.Match[str], seg_end: int) -> bool:
    nxt = m.end()
    while nxt < seg_end and text[nxt] in _OPENERS:
        nxt += 1
    if nxt >= seg_end:
        return False  # the segment ends here anyway
    first = text[nxt]
    if not (first.isupper() or first.isdigit() or first in _NEXT_START_SYMBOLS):
        return False  # "e.g. the", a wrapped line, a lower-case continuation
    if text[m.start()] == "." and _is_abbreviation(text, m.start(), next_char=first):
        return False
    return not _MARKER_ONLY.fullmatch(text[sent_start : m.end()].strip())


def _is_abbreviation(text: str, dot: int, *, next_char: str) -> bool:
    word_start = dot
    while word_start > 0 and not text[word_start - 1].isspace():
        word_start -= 1
    word = text[word_start:dot].lstrip("\"'“‘([*_")
    low = word.lower()
    if low in NEVER_FINAL_ABBREVIATIONS or re.fullmatch(r"(?:[a-z]\.)+[a-z]", low):
        return True
    if low in NUMBER_ABBREVIATIONS and next_char.isdigit():
        return True
    return len(word) == 1 and word.isupper()  # an initial: "J. Smith"


def _trim(text: str, start: int, end: int) -> tuple[int, int] | None:
    """Drop surrounding white space and an orphan bold marker; None when nothing is left."""
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    # "**  We have..." left over when a bold run closed after the previous full stop.
    if text.startswith("**", start) and text[start + 2 : start + 3].isspace():
        start += 2
        while start < end and text[start].isspace():
            start += 1
    if start >= end or not _ALNUM.search(text, start, end):
        return None
    return start, end
