"""The one sentence splitter, used by ingestion (chunking), answering and evaluation.

The text it sees is what ingestion produced from PDFs, Word files, HTML and Markdown: paragraphs
numbered "12.", bullet lists, headings without a full stop, lines wrapped in the middle of a
sentence, markdown bold and escaped brackets, URLs, money and decimals. The rules below are
heuristics tuned for that mix.

Two passes:

1. Lines are grouped into *segments* that no sentence may cross: a list item, a heading, a table
   row or a paragraph. A line break inside a paragraph (a wrapped line) does not end a sentence.
2. Inside a segment, a sentence ends at ``.``, ``!`` or ``?`` (plus any closing quotes or brackets)
   followed by white space and a capital letter or digit, unless the word before the full stop is
   an abbreviation (:data:`assistant.text.lexicon.NEVER_FINAL_ABBREVIATIONS`, and
   :data:`~assistant.text.lexicon.NUMBER_ABBREVIATIONS` before a number), an initial ("J. Smith"),
   or the "sentence" so far is only a paragraph number ("12.", "(b)"). A bullet in the middle of
   a line ("... • next item", flattened PDF lists) starts a new unit too.

Two forms of the result:

* :func:`sentence_spans` gives ``(start, end)`` offsets, trimmed of white space and of scraps
  without a letter or digit, so that a quote taken from a span is an exact substring of the
  chunk: what the answerers quote and the grounding check compares.
* :func:`split_sentences` gives strings and drops nothing but the white space between them:
  what chunking packs (a chunk must hold all of its text) and evaluation reads.

``cautious=True`` is chunking's setting. A chunk boundary inside a sentence costs more than a
unit too long, so a cautious split never cuts at a bullet inside a line and reads a word ending
in a single letter ("a.", "J.", "2020s.", "6A.") as an initial or a list letter. Chunk ids hash
the chunk text, so these two rules stay as they were when chunking had its own splitter: without
them, three passages of the shared corpus would be cut differently and re-embedded.
"""

from __future__ import annotations

import itertools
import re

from assistant.text.lexicon import NEVER_FINAL_ABBREVIATIONS, NUMBER_ABBREVIATIONS, word_set

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
_LETTER = re.compile(r"[A-Za-z]")
_ALNUM = re.compile(r"[A-Za-z0-9]")
_DOTTED_ACRONYM = re.compile(r"(?:[a-z]\.)+[a-z]")  # "u.k", "a.m": a full stop inside the word
_TRAILING_LETTERS = re.compile(r"[A-Za-z][A-Za-z.]*$")

# A line ending in one of these is the first half of a wrapped sentence, not a heading.
_CONTINUING_WORDS = word_set(
    "a an and as at by for from in into of on or the to with that which than our their its "
    "including such between"
)
# Short, unpunctuated lines of up to this many words, standing alone, are treated as headings.
HEADING_MAX_WORDS = 12


def sentence_spans(
    text: str, *, cautious: bool = False, lists: bool | None = None
) -> list[tuple[int, int]]:
    """Character spans ``(start, end)`` of the sentences, list items and headings in ``text``.

    Spans are in text order, do not overlap, carry no leading or trailing white space, and each
    contains at least one letter or digit. ``text[start:end]`` is the verbatim sentence.
    ``lists`` (default: not ``cautious``) reads short lines after a lead-in ending in a colon
    as list items whose bullets the conversion dropped; the grounding check turns it off, as a
    claim is checked against whole sentences.
    """
    lists = not cautious if lists is None else lists
    spans = (_trim(text, a, b) for a, b in _pieces(text, cautious=cautious, lists=lists))
    return [s for s in spans if s is not None]


def split_sentences(text: str, *, cautious: bool = False) -> list[str]:
    """The sentences of ``text`` as strings. Unlike :func:`sentence_spans`, nothing but the white
    space between sentences is dropped: a stray bracket or bold marker stays in its piece, so
    the pieces joined again hold all of the text."""
    pieces = (text[a:b].strip() for a, b in _pieces(text, cautious=cautious, lists=not cautious))
    return [p for p in pieces if p]


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


def ends_with_terminal(line: str) -> bool:
    """True when a line ends with sentence-final punctuation (closing quotes allowed)."""
    return bool(_TERMINAL.search(line.rstrip()))


# --- pass 1: segments -------------------------------------------------------------------------


def _lines(text: str) -> list[tuple[int, int]]:
    """Spans of the non-blank lines, without their line breaks."""
    return [(m.start(), m.end()) for m in re.finditer(r"[^\n]+", text) if m.group().strip()]


def _segments(text: str, *, lists: bool = False) -> list[tuple[int, int]]:
    """Group lines into units that a sentence may not cross. With ``lists``, the short lines
    after a lead-in ending in a colon are list items whose bullets the conversion dropped
    ("...encompassing:" / "acute care" / "social care"), one unit each."""
    lines = _lines(text)
    if not lines:
        return []
    segments: list[tuple[int, int]] = []
    seg_start = lines[0][0]
    starts_sentence = True  # does the previous line begin a sentence (heading candidate)?
    in_list = False  # inside the items after a lead-in
    for (p_start, p_end), (n_start, n_end) in itertools.pairwise(lines):
        prev, nxt = text[p_start:p_end].strip(), text[n_start:n_end].strip()
        blank = text.count("\n", p_end, n_start) >= 2
        if lists:
            in_list = (prev.rstrip(" *_").endswith(":") and _is_item_line(nxt)) or (
                in_list and _is_item_line(prev) and not ends_with_terminal(prev)
            )
        if (in_list and _is_item_line(nxt)) or _is_break(
            prev, nxt, blank=blank, prev_starts_sentence=starts_sentence
        ):
            segments.append((seg_start, p_end))
            seg_start = n_start
            starts_sentence = True
        else:
            starts_sentence = ends_with_terminal(prev)
    segments.append((seg_start, lines[-1][1]))
    return segments


def _is_item_line(line: str) -> bool:
    """A short line that could be one item of a list whose bullets were lost: not a wrapped
    line (it does not end on "and", "the", "to" ...)."""
    words = line.split()
    last = words[-1].lower().strip(",;") if words else ""
    return (
        0 < len(words) <= HEADING_MAX_WORDS
        and last not in _CONTINUING_WORDS
        and last not in _RUNNING_VERBS
        and _LETTER.search(line) is not None
    )


# A line ending on one of these runs on into the next ("plans that are" / "ambitious").
_RUNNING_VERBS = word_set("is are be been being was were will would must should can could has have")


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


def _pieces(text: str, *, cautious: bool, lists: bool) -> list[tuple[int, int]]:
    """Consecutive ``(start, end)`` pieces of every segment, cut at each sentence boundary."""
    pieces: list[tuple[int, int]] = []
    for seg_start, seg_end in _segments(text, lists=lists):
        cuts = [*_cuts(text, seg_start, seg_end, cautious=cautious), seg_end]
        pieces.extend(itertools.pairwise(cuts))
    return pieces


def _cuts(text: str, start: int, end: int, *, cautious: bool) -> list[int]:
    """Where the units of one segment start: its start, each sentence end, each inline bullet."""
    cuts = [start]
    for m in _SENTENCE_END.finditer(text, start, end):
        if _is_sentence_end(text, cuts[-1], m, end, cautious=cautious):
            cuts.append(m.end())
    if not cautious:
        cuts.extend(b.start() for b in _INLINE_BULLET.finditer(text, start, end))
    return sorted(set(cuts))


def _is_sentence_end(
    text: str, sent_start: int, m: re.Match[str], seg_end: int, *, cautious: bool
) -> bool:
    nxt = m.end()
    while nxt < seg_end and text[nxt] in _OPENERS:
        nxt += 1
    if nxt >= seg_end:
        return False  # the segment ends here anyway
    first = text[nxt]
    if not (first.isupper() or first.isdigit() or first in _NEXT_START_SYMBOLS):
        return False  # "e.g. the", a wrapped line, a lower-case continuation
    if text[m.start()] == "." and _is_abbreviation(
        text, m.start(), next_char=first, cautious=cautious
    ):
        return False
    return not _MARKER_ONLY.fullmatch(text[sent_start : m.end()].strip())


def _is_abbreviation(text: str, dot: int, *, next_char: str, cautious: bool) -> bool:
    word_start = dot
    while word_start > 0 and not text[word_start - 1].isspace():
        word_start -= 1
    word = text[word_start:dot].lstrip("\"'“‘([*_")
    low = word.lower()
    if low in NEVER_FINAL_ABBREVIATIONS or _DOTTED_ACRONYM.fullmatch(low):
        return True
    if low in NUMBER_ABBREVIATIONS and next_char.isdigit():
        return True
    if cautious:
        # Any lone letter closing the word: "a." (a list letter), "J.", but also "2020s.".
        letters = _TRAILING_LETTERS.search(word)
        return letters is not None and len(letters.group()) == 1
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
