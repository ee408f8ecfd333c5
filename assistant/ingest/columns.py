"""Column-interleaved text: find it per block, at ingest.

Some PDF-to-Markdown conversions read each printed row across both columns of a two-column
page, so a paragraph comes out as alternating lines of the left and the right column: "revealed
the sheer extent of its current Over the past 8 months, we have spoken to failings, ...". Every
place where one column's line meets the other's is a *break*: two words side by side that no
writer puts side by side. Most breaks read fluently by chance, but a steady share of them show
one of a few marks that clean prose almost never has:

* a sentence opener in the middle of a sentence: a lower-case word, then a capitalised function
  word ("current Over the past", "services The plan");
* a full stop, then a lower-case word ("... figures. and patients are");
* a line-end hyphen glued to the other column's line ("communi-Medline", "iden-the");
* two function words that do not follow each other ("the of", "our will").

A block is *garbled* when it holds enough such marks for its length (:func:`assess`). The
rules read the words only, so they cost one pass over the text: any valid text is bounded.
The verdict travels with the block into its chunks (``Chunk.garbled``), and the answerer never
quotes such text as a sentence.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from assistant.ingest.repair import is_known_word
from assistant.schemas import Block, ParsedDocument

__all__ = ["CaseStats", "Verdict", "assess", "assess_blocks", "breaks", "mark_document"]


# Words that open sentences and are otherwise written in lower case. "A" and "I" are left
# out ("Annex A", "Plan A"), and so are words that start names ("The King's Fund" is handled by
# requiring a lower-case word after the opener).
def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_OPENERS = _words(
    """the this these that those there their they we our it its in as for by to with over
    however when where while what how why although since through across each all some many
    most every both such if and but or so also only after before during within without
    between from on at of into under"""
)
_DETERMINERS = _words("the a an our their its his your")
# Words that never follow a determiner directly ("the of", "their will", "an and").
_NOT_AFTER_DETERMINER = _words(
    """the a an of to in for with by from on at into and or but nor is are was were be been
    will would can could should may might must shall has have had does did that which who
    whom whose than before after during within without between through across"""
)
_ABBREVIATIONS = _words(
    "al etc e.g i.e vs cf approx fig figs no nos p pp para paras ref refs vol eds ed st dr mr "
    "mrs ms prof inc ltd co"
)
_BULLETS = frozenset("•▪◦●")
_PREFIXES = _words(
    "multi non co pre post re sub inter intra cross self anti semi socio bio micro macro mid "
    "pan neo tele cyber eco geo psycho trans ultra"
)
_WORD = re.compile(r"^[\"'‘“(\[]*([A-Za-z][A-Za-z'’]*)")
_GLUED = re.compile(r"^([a-z]{2,})[-\u2010]([A-Za-z]{2,})")


@dataclass(frozen=True)
class Break:
    """One mark of interleaving: the character offset of the second word, and which rule."""

    start: int
    rule: str


def _bare(token: str) -> str:
    m = _WORD.match(token)
    return m.group(1) if m else ""


def breaks(text: str, case: CaseStats | None = None) -> list[Break]:
    """The marks of column interleaving in ``text``, in order (see the module's docstring).
    ``case``: how the document writes its words mid-sentence, for the "capital" mark."""
    out: list[Break] = []
    tokens = [(m.start(), m.group(0)) for m in re.finditer(r"\S+", text)]
    for k, ((_, a), (start, b)) in enumerate(itertools.pairwise(tokens)):
        after = tokens[k + 2][1] if k + 2 < len(tokens) else ""
        rule = _pair_rule(a, b, after)
        if not rule and case is not None and after.islower() and case.stray_capital(a, b):
            rule = "capital"  # followed by a lower-case word: an opener, not a name's first word
        if not rule and b in _BULLETS and a[-1].isalpha():
            rule = "bullet"  # another column's list item, mid-sentence
        if rule:
            out.append(Break(start, rule))
    for start, token in tokens:
        m = _GLUED.match(token)
        repeated = case is not None and case.hyphenated[token.lower()] > 1
        if m and not repeated and _glued_across_columns(m.group(1), m.group(2)):
            out.append(Break(start, "glued"))
    out.sort(key=lambda b: b.start)
    return out


def _pair_rule(a: str, b: str, after: str) -> str:
    """Which mark, if any, the pair of neighbouring tokens ``a b`` (then ``after``) shows."""
    wa, wb = _bare(a), _bare(b)
    if not wa or not wb or a != a.rstrip("\"'”’)]") or b[0] in "\"'‘“([":
        return ""  # quotes and brackets: titles and asides break the rules legitimately
    la, lb = wa.lower(), wb.lower()
    if a[-1].isalpha() and wa.islower() and a == wa:
        # "current Over the": an opener mid-sentence, followed by a lower-case word (a name
        # such as "The King's Fund" goes on in capitals).
        opener = wb[0].isupper() and wb[1:].islower() and lb in _OPENERS and b == wb
        if opener and not after[:1].isupper():
            return "opener"
        if la in _DETERMINERS and lb in _NOT_AFTER_DETERMINER and b == wb:
            return "pair"
    if a.endswith(".") and wb.islower() and b[0].islower() and len(wa) >= 3:
        core = a.rstrip(".").lower()
        if wa.isalpha() and core == la and la not in _ABBREVIATIONS and a.count(".") == 1:
            return "stop"
    return ""


def _mid_sentence(a: str, b: str) -> str | None:
    """``b``'s lower-case form when it follows a lower-case word with no punctuation between
    (mid-sentence), written as a plain word in lower case or Title case; else None."""
    if not (a.isalpha() and a.islower() and b.isalpha()):
        return None
    if b.islower() or (b[0].isupper() and b[1:].islower() and len(b) > 1):
        return b.lower()
    return None


class CaseStats:
    """How a document writes each word after a lower-case word: in lower case, or capitalised.

    A name ("Spending Review", "Medline") is capitalised wherever it stands. A common word
    capitalised mid-sentence where the same document writes it in lower case far more often
    ("trusts Provider and system finance directors") is a sentence opener brought in by the
    other column.
    """

    def __init__(self, texts: Iterable[str]) -> None:
        self.lower: Counter[str] = Counter()
        self.capital: Counter[str] = Counter()
        # A hyphenated word the document uses twice is its own ("multi-year"): a line of one
        # column glued to a line of the other makes a word that occurs once.
        self.hyphenated: Counter[str] = Counter()
        for text in texts:
            tokens = text.split()
            self.hyphenated.update(t.lower() for t in tokens if _GLUED.match(t))
            for a, b in itertools.pairwise(tokens):
                word = _mid_sentence(a, b)
                if word is not None:
                    (self.lower if b.islower() else self.capital)[word] += 1

    def stray_capital(self, a: str, b: str) -> bool:
        word = _mid_sentence(a, b)
        if word is None or b.islower() or len(word) < 3:
            return False
        low = self.lower[word]
        return low >= CAPITAL_MIN_LOWER and low >= CAPITAL_RATIO * self.capital[word]


CAPITAL_MIN_LOWER = 3
CAPITAL_RATIO = 3


def _glued_across_columns(stem: str, head: str) -> bool:
    """ "communi-Medline", "iden-the": a line-end hyphen whose word the next line does not
    finish. A compound ("community-based", "multi-year") has a word or a prefix before the
    hyphen; a word broken at a line end and rejoined by the other column has a stem that is no
    word."""
    if is_known_word(stem + head.lower()) or stem in _PREFIXES:
        return False
    if head[0].isupper():
        return not head.isupper()  # "communi-Medline"; "pre-NHS" is a compound
    return not is_known_word(stem)


# A block is garbled when its marks are at least MIN_BREAKS and at least one per CHARS_PER_BREAK
# characters. Conversion defects belong to a document, so in a document whose text shows at
# least COLUMNAR_MARKS per 10,000 characters (it was converted from two-column pages), one mark
# per COLUMNAR_CHARS_PER_BREAK characters is enough, and the "capital" mark counts too. Measured
# on ../shared/corpus (marks other than "capital"): the three interleaved documents show 9.0 to
# 21.5 per 10,000 characters, the eleven others 0.4 to 2.2 (flattened tables and lists).
MIN_BREAKS = 2
CHARS_PER_BREAK = 400
COLUMNAR_MARKS = 5.0
COLUMNAR_CHARS_PER_BREAK = 700
COLUMNAR_LONG_BLOCK = 300  # in a two-column document, a paragraph this long is taken as garbled
COLUMNAR_MIN_CHARS = 20_000  # ... when the document has this much text (a verdict to trust)
# There, a passage split over several blocks with no sentence ending between them (the
# conversion broke it at printed lines, where the other column's lines come in) this long too.
COLUMNAR_RUN_CHARS = 150


@dataclass(frozen=True)
class Verdict:
    """The detector's view of one block; ``columnar``: its document shows interleaving."""

    marks: list[Break]
    length: int
    columnar: bool = False
    # The document is long enough (COLUMNAR_MIN_CHARS) for its columnar verdict to stand for
    # every long paragraph in it, not just the marked ones.
    whole_document: bool = False

    @property
    def garbled(self) -> bool:
        n = len(self.marks)
        if self.columnar:
            # Most joins of two interleaved columns read plausibly, so a long paragraph of a
            # two-column document with no mark is still most likely interleaved (five of five
            # sampled in the Medium term planning framework were).
            long = self.whole_document and self.length >= COLUMNAR_LONG_BLOCK
            return long or (n >= 1 and n * COLUMNAR_CHARS_PER_BREAK >= self.length)
        return n >= MIN_BREAKS and n * CHARS_PER_BREAK >= self.length


def assess(text: str, case: CaseStats | None = None) -> Verdict:
    """Whether ``text`` (one block) reads as two columns interleaved line by line."""
    return Verdict(breaks(text, case), len(text))


def assess_blocks(texts: Sequence[str]) -> list[Verdict]:
    """The verdict on each block of one document (whose word case the "capital" mark reads)."""
    case = CaseStats(texts)
    verdicts = [assess(t, case) for t in texts]
    chars = sum(v.length for v in verdicts)
    # The "capital" mark is the weakest (names written with lower-case words inside, such as
    # "Health and Well being Board"): it neither makes a document columnar nor counts outside one.
    marks = sum(1 for v in verdicts for m in v.marks if m.rule != "capital")
    if chars and marks * 10_000 >= COLUMNAR_MARKS * chars:
        whole = chars >= COLUMNAR_MIN_CHARS
        return [Verdict(v.marks, v.length, columnar=True, whole_document=whole) for v in verdicts]
    return [Verdict([m for m in v.marks if m.rule != "capital"], v.length) for v in verdicts]


def mark_document(doc: ParsedDocument) -> int:
    """Set ``garbled`` on the document's interleaved text blocks; returns how many.

    Headings and tables are left alone: a heading is one short line, and a table's cells are
    not prose (its rows break every rule above by design).
    """
    blocks = [b for b in doc.blocks if b.kind in ("paragraph", "list_item")]
    verdicts = assess_blocks([b.text for b in blocks])
    garbled = [v.garbled for v in verdicts]
    if verdicts and verdicts[0].whole_document:
        # Short blocks that run on into each other (no sentence ends between them) are read
        # as one passage: a column's list cut into bullets and lines of a few words each is
        # as interleaved as one long paragraph, and the sentence splitter joins it back up.
        by_id = {id(b): k for k, b in enumerate(blocks)}
        for run in _runs(doc.blocks):
            ks = [by_id[id(b)] for b in run if id(b) in by_id]
            if len(ks) > 1 and sum(verdicts[k].length for k in ks) >= COLUMNAR_RUN_CHARS:
                for k in ks:
                    garbled[k] = True
    n = 0
    for block, is_garbled in zip(blocks, garbled, strict=True):
        if is_garbled:
            block.garbled = True
            n += 1
    return n


_SENTENCE_END = re.compile(r"[.!?][\"'”’)\]]*$")


def _runs(blocks: Sequence[Block]) -> list[list[Block]]:
    """Consecutive prose blocks with no sentence end between them; a heading or a table, or a
    block ending a sentence, closes a run."""
    runs: list[list[Block]] = []
    current: list[Block] = []
    for block in blocks:
        if block.kind not in ("paragraph", "list_item"):
            if current:
                runs.append(current)
            current = []
            continue
        current.append(block)
        if _SENTENCE_END.search(block.text.rstrip()):
            runs.append(current)
            current = []
    if current:
        runs.append(current)
    return runs
