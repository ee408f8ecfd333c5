"""Repairs for text damaged by PDF-to-text and PDF-to-Markdown conversion.

The defects handled here are the ones seen in real NHS documents:

* Markdown escapes left in plain prose (``\\(ICBs\\)``).
* Ligature glyphs (``ﬁ``) and, in NHS England print-to-PDF conversions, the lost "ll" ligature:
  the second "l" became a space ("wil deliver", "chal enging", "Ful er Stocktake").
* Words hyphenated across line breaks ("trans-" / "formation").
* Paragraphs broken at every printed line, with blank lines in between.
* Running page headers and footers, and bare page numbers.

Every repair is conservative: text without the defect comes out byte-identical. The lost-"ll"
repair is gated on the document showing the defect at all, because its dictionary rule could
otherwise touch a rare correct word.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence

from assistant.ingest.folios import page_number_run
from assistant.text.dictionary import word_frequency

__all__ = [
    "continues_sentence",
    "expand_ligature_glyphs",
    "has_lost_ll",
    "is_known_word",
    "is_sentence_end",
    "join_broken_lines",
    "join_hyphenated",
    "page_number_of",
    "repair_lost_ll",
    "repair_text",
    "strip_repeated_lines",
    "strip_running_heads",
    "unescape_markdown",
    "word_frequency",
]

# --------------------------------------------------------------------------------------------
# Character-level repairs

_MD_ESCAPE = re.compile(r"\\([\\`*_{}\[\]()#+\-.!&|<>~^$%=\"':;,/@])")


def unescape_markdown(text: str) -> str:
    """Turn Markdown backslash escapes (``\\(``, ``\\_``, ``\\#``...) into the plain character."""
    return _MD_ESCAPE.sub(r"\1", text)


_GLYPHS = {
    "\ufb00": "ff",
    "\ufb01": "fi",
    "\ufb02": "fl",
    "\ufb03": "ffi",
    "\ufb04": "ffl",
    "\ufb05": "st",
    "\ufb06": "st",
}
_GLYPH_RE = re.compile("[" + "".join(_GLYPHS) + "]")


def expand_ligature_glyphs(text: str) -> str:
    """Replace typographic ligature characters (ﬁ, ﬀ, ﬂ...) by their letters."""
    return _GLYPH_RE.sub(lambda m: _GLYPHS[m.group(0)], text)


# --------------------------------------------------------------------------------------------
# Lost "ll" ligature

# Tokens that never occur in correct English but are frequent when "ll" became "l ".
_LL_MARKERS = re.compile(
    r"(?<![\w’'])(?:wil|shal|stil|wel|smal|ful|cal ed|al ow(?:ed|s|ing)?|fol ow\w*|"
    r"col ab\w*|chal eng\w*|\w+cal y|\w+al y|(?<!et )al)(?= )",
    re.IGNORECASE,
)
_LL_GATE = 3  # markers needed before a text is treated as damaged
_TOKEN = re.compile(r"[A-Za-z]+")


def has_lost_ll(text: str) -> bool:
    """True when the text shows the lost-"ll" defect ("wil", "al parts", "ful y") often enough."""
    markers = _LL_MARKERS.finditer(text)
    return len(list(itertools.islice(markers, _LL_GATE))) >= _LL_GATE


def _with_l(token: str) -> str:
    """``token`` plus the lost "l", in the case of the token ("AL" -> "ALL", "Ful" -> "Full")."""
    return token + ("L" if len(token) > 1 and token.isupper() else "l")


def _merge_ok(token: str, nxt: str) -> bool:
    """True if ``token`` + "l" + ``nxt`` is a known word ("chal enging" -> "challenging")."""
    merged = _known_form(token + "l" + nxt)
    # Require a real word, and not one far rarer than the next token on its own: "al ways"
    # must stay two words. A one- or two-letter tail ("y", "er") is a fragment, not a word.
    return merged >= 20 and (len(nxt) <= 2 or merged * 50 >= word_frequency(nxt))


_UK_TO_US = (
    ("is", "iz"),
    ("our", "or"),
    ("tre", "ter"),
    ("ll", "l"),
    ("ogue", "og"),
    ("ae", "e"),
    ("oe", "e"),
    ("yse", "yze"),
)


def is_known_word(word: str) -> bool:
    """Whether a word is in the dictionary, allowing plurals and British spellings."""
    lower = word.lower()
    if word_frequency(lower):
        return True
    forms = [lower[:-1]] if lower.endswith("s") else []
    for form in [lower, *forms]:
        if any(a in form and word_frequency(form.replace(a, b)) for a, b in _UK_TO_US):
            return True
    return bool(forms and word_frequency(forms[0]))


def _known_form(word: str) -> int:
    """Frequency of a word, or of its singular or US spelling when the dictionary lacks it
    ("collaboratives", "signalled" and "organisations" are not all listed)."""
    freq = word_frequency(word)
    if freq:
        return freq
    lower = word.lower()
    variants = [lower[:-1]] if lower.endswith("s") else []
    variants += [v.replace("is", "iz") for v in [lower, *variants] if "is" in v]
    return max((word_frequency(v) for v in variants), default=0)


def _add_l_ok(token: str) -> bool:
    """True if ``token`` + "l" is much more frequent than ``token`` ("wil" -> "will")."""
    return word_frequency(token + "l") >= 10 * word_frequency(token) + 100


# "et al": "et" as a word of its own ("meet al health" is "meet all health").
_ET_BEFORE = re.compile(r"(?:^|[^A-Za-z])et $", re.IGNORECASE)
_LL_SITE = re.compile(r"(?<![\w’'@.])([A-Za-z]*l) (?:(-)|([A-Za-z]+))?")


def repair_lost_ll(text: str, *, force: bool = False) -> str:
    """Restore "ll" where a conversion turned it into "l " ("wil deliver" -> "will deliver").

    Only texts that show the defect (see :func:`has_lost_ll`) are changed, unless ``force``.
    "et al" is left alone, and capitals are kept ("Ful er" -> "Fuller").
    """
    if not force and not has_lost_ll(text):
        return text
    out: list[str] = []
    pos = 0
    while True:
        m = _LL_SITE.search(text, pos)
        if m is None:
            break
        token, hyphen, nxt = m.group(1), m.group(2), m.group(3)
        start = m.start()
        if token.lower() == "al" and _ET_BEFORE.search(text[max(0, start - 4) : start]):
            out.append(text[pos : m.end(1) + 1])
            pos = m.end(1) + 1
            continue
        if nxt and _merge_ok(token, nxt):
            out.append(text[pos:start] + _with_l(token) + nxt)
            pos = m.end()
        elif _add_l_ok(token):
            # "wel -informed" -> "well-informed", "overal ." -> "overall.": the space stood for
            # the lost letter.
            after = text[m.end(1) + 1 : m.end(1) + 2]
            glued = hyphen or (after != "" and after in ".,;:!?)]")
            out.append(text[pos:start] + _with_l(token) + ("" if glued else " "))
            pos = m.end(1) + 1
        else:
            out.append(text[pos : m.end(1) + 1])
            pos = m.end(1) + 1
    out.append(text[pos:])
    return "".join(out)


# --------------------------------------------------------------------------------------------
# Hyphenation across line breaks

_HYPHENS = "-\u2010\u2011"
# The lookbehind starts a match only at the start of a word: without it, a long run of letters
# with no hyphen after it is retried from every position inside it (quadratic: a 100,000-letter
# line took four minutes).
_BROKEN_WORD = re.compile(
    rf"(?<![A-Za-z0-9])([A-Za-z0-9]+)[{_HYPHENS}][ \t]*\n(?:[ \t]*\n)*[ \t]*"
    r"([A-Za-z0-9][A-Za-z0-9']*)"
)


def _join_decision(first: str, second: str) -> str:
    """How to join ``first-`` and ``second`` split over lines: as one word or with a hyphen."""
    joined = first + second
    if not (first.isalpha() and second.isalpha()):
        return first + "-" + second  # "2016-" / "17": a range of years, not a word
    if second[0].isupper() or first.isupper():
        return first + "-" + second  # "NHS-" / "Based": names and acronyms keep the hyphen
    if word_frequency(joined) >= 100:
        return joined  # "trans-formation" -> "transformation"
    if word_frequency(second) == 0 and first[-1].islower():
        return joined  # "organ-isation": the second half is no word on its own
    return first + "-" + second  # "long-term", "framework-for" (inside a URL)


def join_hyphenated(text: str) -> str:
    """Join words hyphenated across line breaks; keep the hyphen when the joined word is unknown."""
    return _BROKEN_WORD.sub(lambda m: _join_decision(m.group(1), m.group(2)), text)


# --------------------------------------------------------------------------------------------
# Lines broken mid-sentence

_SENTENCE_END = re.compile(r"[.!?:;][\"'”’)\]*]*(?:\s+\d{1,3})?\s*$")
_BULLET = re.compile(r"^\s*(?:[-*+•▪◦●–]\s+|\d{1,2}[.)]\s+|[a-z][.)]\s+|\(\w{1,3}\)\s+)")
_HEADINGISH = re.compile(r"^\s*(?:#{1,6}\s|\*\*[^*].*\*\*\s*$|\|)")
_CONTINUES = re.compile(r"^\s*(?:[a-z(\[\\]|\d+(?:\.\d+)?%|[,;:)])")
_CONNECTOR_END = re.compile(
    r"(?:,|\b(?:and|or|of|the|a|an|to|in|for|with|by|on|at|from|as|that|which|is|are|was|"
    r"were|be|their|its|our|this|these|than|between|including|such|per|into|via))\s*$"
)
_FOOTNOTE_START = re.compile(r"^\s*\d{1,3}\s+[A-Z‘“'\"]")
_MIN_FULL_LINE = 55  # a line at least this long was most likely cut by the page width


def is_sentence_end(line: str) -> bool:
    """True if a line ends a sentence (a footnote number after the full stop is allowed)."""
    return bool(_SENTENCE_END.search(line))


def _is_structural(line: str) -> bool:
    """Headings, list items and table rows are never glued to their neighbours."""
    return bool(_HEADINGISH.match(line) or _BULLET.match(line))


def continues_sentence(prev: str, nxt: str) -> bool:
    """Whether plain-text ``nxt`` carries on the sentence that ``prev`` left unfinished."""
    prev_s = prev.rstrip()
    if not prev_s or not nxt.strip() or is_sentence_end(prev_s):
        return False
    if prev_s.endswith(tuple(_HYPHENS)):
        return True
    if _FOOTNOTE_START.match(nxt):
        return False  # "2 Bagenal J, ..." is the next footnote, not the rest of a sentence
    if _CONTINUES.match(nxt):
        return len(prev_s) >= 25 or bool(_CONNECTOR_END.search(prev_s))
    # An upper-case start only continues a line cut by the page width ("Jeremy" / "Hunt,").
    return len(prev_s) >= _MIN_FULL_LINE and bool(
        _CONNECTOR_END.search(prev_s) or prev_s[-1].isalnum()
    )


def _continues(first: str, last: str, nxt: str) -> bool:
    """Like :func:`continues_sentence`, but headings, list items and table rows never join.

    ``first`` and ``last`` are the first and last line of the paragraph built so far.
    """
    if _is_structural(first) or _HEADINGISH.match(nxt) or _BULLET.match(nxt):
        return False
    return continues_sentence(last, nxt)


def join_broken_lines(text: str) -> str:
    """Join paragraphs that are really one sentence broken over lines (blank lines between)."""
    pieces = re.split(r"(\n[ \t]*\n\s*)", text)
    out = [pieces[0]]
    first = last = pieces[0]
    for sep, part in zip(pieces[1::2], pieces[2::2], strict=True):
        if _continues(first, last, part):
            prev = out[-1].rstrip()
            if prev.endswith(tuple(_HYPHENS)):
                out[-1] = join_hyphenated(prev + "\n" + part.lstrip())
            else:
                out[-1] = prev + " " + part.lstrip()
        else:
            out.extend((sep, part))
            first = part
        last = part
    return "".join(out)


# --------------------------------------------------------------------------------------------
# Running headers, footers and page numbers

_PAGE_OF = re.compile(r"^\s*page\s+(\d{1,4})\s+(?:of|/)\s+\d{1,4}\s*$", re.IGNORECASE)
_BARE_NUMBER = re.compile(r"^\s*[-–—]?\s*(\d{1,4})\s*[-–—]?\s*$")
_MARKUP = re.compile(r"[*_\\#]+")
_EDGE_NUMBER = re.compile(r"^\s*(\d{1,4})\b|\b(\d{1,4})\s*$")


def page_number_of(line: str) -> int | None:
    """The page number a line stands for: "Page 3 of 28" -> 3, "12" -> 12, else None."""
    bare = _MARKUP.sub("", line)
    m = _PAGE_OF.match(bare) or _BARE_NUMBER.match(bare)
    return int(m.group(1)) if m else None


def _line_key(line: str) -> str:
    """A line reduced to what repeats across pages: no markup, digits, case or spacing."""
    key = _MARKUP.sub("", line)
    key = re.sub(r"\d+", "#", key)
    return re.sub(r"\s+", " ", key).strip().lower()


def _edge_lines(lines: list[str], depth: int) -> list[int]:
    """Indices of the first and last ``depth`` non-blank lines of a page (fewer on a short
    page, so that its body is never all "edge")."""
    filled = [i for i, line in enumerate(lines) if line.strip()]
    depth = max(1, min(depth, len(filled) // 3))
    return sorted(set(filled[:depth] + filled[-depth:]))


def _edge_number(line: str) -> int | None:
    """The number at the start or end of a line ("Part 1. The problem 14" -> 14)."""
    m = _EDGE_NUMBER.search(line.strip())
    return int(m.group(1) or m.group(2)) if m else None


def _repeated_keys(split: list[list[str]], depth: int) -> tuple[set[str], set[tuple[str, int]]]:
    """Lines that recur at page edges: their keys, and (key, page - number) pairs for running
    heads whose number counts up with the page ("Part 1. The problem 14" on a few pages)."""
    hits: Counter[str] = Counter()
    numbered: Counter[tuple[str, int]] = Counter()
    for p, lines in enumerate(split):
        seen: set[str] = set()
        for i in _edge_lines(lines, depth):
            key = _line_key(lines[i])
            if not key or len(key) > 120 or key in seen:
                continue
            seen.add(key)
            hits[key] += 1
            number = _edge_number(lines[i])
            if number is not None and "#" in key:
                numbered[(key, p - number)] += 1
    needed = max(3, len(split) // 5)
    repeated = {key for key, n in hits.items() if n >= needed}
    counting = {pair for pair, n in numbered.items() if n >= 2}
    return repeated, counting


def strip_repeated_lines(pages: list[str], depth: int = 3) -> list[str]:
    """Remove running headers/footers and page numbers from the text of each PDF page.

    A line near the top or bottom of a page is dropped when, with digits masked, it recurs at
    the edge of many pages (at least 3, and a fifth of them), when it recurs with a number that
    counts up with the pages, or when it is a page number.
    """
    split = [page.split("\n") for page in pages]
    repeated, counting = _repeated_keys(split, depth)
    cleaned: list[str] = []
    for p, lines in enumerate(split):

        def furniture(i: int, lines: list[str] = lines, p: int = p) -> bool:
            key = _line_key(lines[i])
            number = _edge_number(lines[i])
            return (
                key in repeated
                or page_number_of(lines[i]) is not None
                or (number is not None and (key, p - number) in counting)
            )

        drop = {i for i in _edge_lines(lines, depth) if furniture(i)}
        drop |= _peeled(lines, furniture, depth)
        cleaned.append("\n".join(line for i, line in enumerate(lines) if i not in drop))
    return cleaned


def _peeled(lines: list[str], furniture: Callable[[int], bool], depth: int) -> set[int]:
    """Furniture peeled off each end of a page, line by line, up to ``depth`` lines a side.

    On a short page (a figure with its caption) the edge zone of :func:`_edge_lines` shrinks to
    one line, so the page number under a running head was kept ("Report title" / "23" /
    "Figure 3.1 ..."); peeling takes each line that has become the edge once the one outside it
    went.
    """
    filled = [i for i, line in enumerate(lines) if line.strip()]
    peeled: set[int] = set()
    for side in (filled, filled[::-1]):
        for i in side[:depth]:
            if not furniture(i):
                break
            peeled.add(i)
    return peeled


def _is_candidate_head(line: str) -> bool:
    """Short lines with letters that are not headings or bullets may be running heads."""
    stripped = line.strip()
    if not stripped or len(stripped) > 90 or stripped.startswith("#"):
        return False
    if re.fullmatch(r"\*\*[^*]+\*\*", stripped):
        return False  # a bold line is a heading or a table header, not a running head
    return bool(re.search(r"[A-Za-z]{2}", stripped))


class _Lines:
    """A document's lines with their keys and the blank lines before each, computed once."""

    def __init__(self, lines: Sequence[str]) -> None:
        self.lines = list(lines)
        self.keys = [_line_key(line) for line in self.lines]
        self.candidate = [_is_candidate_head(line) for line in self.lines]
        self.gaps: list[int] = []
        gap = 0
        for line in self.lines:
            self.gaps.append(gap)
            gap = gap + 1 if not line.strip() else 0

    def neighbour_key(self, i: int, step: int) -> str | None:
        """Key of the next (step=1) or previous (step=-1) non-blank line."""
        j = i + step
        while 0 <= j < len(self.lines) and not self.lines[j].strip():
            j += step
        return self.keys[j] if 0 <= j < len(self.lines) else None


def _running_keys(doc: _Lines, min_count: int) -> tuple[set[str], list[str]]:
    """Keys of running heads, and those of them also found glued to the start of body lines."""
    counts = Counter(k for k, c in zip(doc.keys, doc.candidate, strict=True) if c)
    keys = {key for key, n in counts.items() if n >= min_count}
    after_gap = [k for k, g in zip(doc.keys, doc.gaps, strict=True) if g >= 2]
    glued_heads: list[str] = []
    for key, exact in counts.items():
        if exact < 2 or len(key) < 12:
            continue
        glued = sum(1 for k in after_gap if k.startswith(key + " "))
        if glued and exact + glued >= min_count:
            keys.add(key)
            glued_heads.append(key)
    return keys, glued_heads


def strip_running_heads(
    lines: Sequence[str], min_count: int = 5
) -> tuple[list[str], list[int | None]]:
    """Remove running heads, footers and page numbers from a conversion without page breaks.

    Returns the kept lines and, for each, the page it is on when the conversion still shows
    page markers ("Page 2 of 28", or a page number next to a running footer), else None.
    A short line counts as a running head when it repeats ``min_count`` times or more; a
    running head glued to the start of a line after a page gap is cut off too.
    """
    doc = _Lines(lines)
    keys, glued_heads = _running_keys(doc, min_count)
    # A document with "Page 2 of 28" markers has its pages from them: no run is looked for.
    paged = sum(1 for line in lines if _PAGE_OF.match(_MARKUP.sub("", line))) >= 2
    folios = {} if paged else page_number_run(doc.lines)
    kept: list[str] = []
    pages: list[int | None] = []
    page: int | None = None
    for i, line in enumerate(doc.lines):
        if _PAGE_OF.match(_MARKUP.sub("", line)):
            page = page_number_of(line)
            continue
        if i in folios:
            page = folios[i] + 1  # a page number on its own line ends its page
            continue
        if doc.candidate[i] and doc.keys[i] in keys:
            continue
        if _is_footer_number(doc, i, keys, page):
            page = (page_number_of(line) or 0) + 1  # a footer: what follows is on the next page
            continue
        if doc.gaps[i] >= 2 and glued_heads:
            line, page = _cut_glued_head(doc.keys[i], line, glued_heads, kept, pages, page)
        kept.append(line)
        pages.append(page)
    return kept, _backfill_pages(pages)


def _is_footer_number(doc: _Lines, i: int, keys: set[str], page: int | None) -> bool:
    """A plain page number next to a running footer, counting up from the last one seen.

    Bold numbers are chapter numbers ("**6**" before "**Regional comparisons**"), not pages.
    """
    line = doc.lines[i]
    number = page_number_of(line)
    if number is None or "*" in line or "#" in line:
        return False
    if page is not None and not page <= number <= page + 5:
        return False
    near = {doc.neighbour_key(i, 1), doc.neighbour_key(i, -1)}
    return any(k in keys and len(k) >= 10 for k in near if k)


def _backfill_pages(pages: list[int | None]) -> list[int | None]:
    """Lines before the first page marker are on the page before it."""
    first = next((p for p in pages if p is not None), None)
    if first is None:
        return pages
    return [max(1, first - 1) if p is None else p for p in pages]


_TRAILING_NUMBER = re.compile(r"(?:^|\s)(\d{1,3})\s*$")


def _cut_glued_head(
    key: str,
    line: str,
    heads: Iterable[str],
    kept: list[str],
    pages: list[int | None],
    page: int | None,
) -> tuple[str, int | None]:
    """Cut a running head glued to ``line``, and the page number that ended the page before."""
    for head in heads:
        if not key.startswith(head + " "):
            continue
        line = _drop_prefix_words(line, len(head.split()))
        last = len(kept) - 1
        while last >= 0 and not kept[last].strip():
            last -= 1
        m = _TRAILING_NUMBER.search(kept[last]) if last >= 0 else None
        if m:
            page = int(m.group(1)) + 1
            if page_number_of(kept[last]) is not None:
                del kept[last], pages[last]
            else:
                kept[last] = kept[last][: m.start()] + " "
        break
    return line, page


def _drop_prefix_words(line: str, n_words: int) -> str:
    """``line`` without its first ``n_words`` whitespace-separated words."""
    parts = line.lstrip().split(None, n_words)
    return parts[n_words] if len(parts) > n_words else ""


# --------------------------------------------------------------------------------------------
# Everything at once


def repair_text(text: str) -> str:
    """Apply all text-level repairs: escapes, ligatures, lost "ll", hyphenation, broken lines."""
    text = unescape_markdown(text)
    text = expand_ligature_glyphs(text)
    text = repair_lost_ll(text)
    text = join_hyphenated(text)
    return join_broken_lines(text)
