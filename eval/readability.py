"""Readability defects of an answer, found the way a reviewer finds them, not by asking the
answerer: scrambled text, a sentence that points back to nothing, a list announced but not
given, page furniture quoted as prose, and an answer too long to act on.

Each detector reads the answer as shown (its sentences and text) and, for scrambled text, the
passages it cites. They are deliberately independent of the answerer's own rules, so a defect
the answerer fails to avoid shows up here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistant.schemas import Answer

MAX_WORDS = 250  # longer than this is too long to act on (issue 15)

# Two columns read across: a sentence-opening word, capitalised, straight after a lower-case
# word with no punctuation between ("... genomics population This Plan will ..."); a bullet or a
# bold heading in mid-line; a word hyphenated across a line joined to another column's word.
_COLUMN_JOIN = re.compile(
    r"\b[a-z]{2,}\s+(?:This|These|The|We|Our|It|However|They|There|When|Each)\s+[a-z]"
)
_MID_BULLET = re.compile(r"\w[,;:]?\s+[•▪●]\s+\w")
_MID_HEADING = re.compile(r"[a-z,]\s+\*\*[A-Z][^*\n]{2,80}\*\*\s+[a-z]")
_BROKEN_HYPHEN = re.compile(r"\b[a-z]{2,}-[A-Z][a-z]{2,}\b")
# Points back to something the answer has not said.
_BACK_REFERENCE = re.compile(
    r"^(?:this|these|those|they|them|it|its|their|such|that)\b(?!\s+(?:document|plan|guidance"
    r"|framework|paper|report|publication|section|chapter|review|briefing|year|programme))",
    re.IGNORECASE,
)
_EXPLETIVE = re.compile(
    r"^it (?:is|was|will be|would be|may be|remains) (?:\w+ ){0,3}?(?:to|that|for)\b", re.I
)
# Announces a list.
_ANNOUNCES = re.compile(r"(?::|\bthe following|\bas follows)\s*$", re.IGNORECASE)
# Page furniture: running heads and feet, page numbers, publication and copyright lines.
_FURNITURE = re.compile(
    r"^(?:page \d+(?: of \d+)?|\d+|contents|publication (?:reference|approval)|©|copyright"
    r"|classification:|official(?:-sensitive)?)\b|\bpage \d+ of \d+\b",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Defects:
    garbled: bool = False
    dangling: bool = False
    cut_list: bool = False
    furniture: bool = False
    too_long: bool = False

    @property
    def any(self) -> bool:
        return self.garbled or self.dangling or self.cut_list or self.furniture or self.too_long


def words_in(answer: Answer) -> int:
    return len(re.sub(r"\[\d+\]", " ", answer.answer).split())


def _strip_marker(text: str) -> str:
    return re.sub(r"^\s*(?:\d+\.|[-•])\s+", "", text).strip(' “”"')


def scrambled(text: str) -> bool:
    """Surface signs of two columns read across as one line."""
    return bool(
        _COLUMN_JOIN.search(text)
        or _MID_BULLET.search(text)
        or _MID_HEADING.search(text)
        or _BROKEN_HYPHEN.search(text)
    )


def defects(answer: Answer) -> Defects:
    """The readability defects of a given (not refused) answer."""
    # Quoted text that ingestion found interleaved from two columns, or that reads scrambled.
    spoiled = {c.chunk_id: c.garbled_spans for c in answer.retrieved if c.garbled_spans}
    sentences = [_strip_marker(s.text) for s in answer.sentences]
    garbled = any(
        a < y and x < b
        for c in answer.citations
        for a, b in c.spans
        for x, y in spoiled.get(c.chunk_id, [])
    ) or any(scrambled(s) for s in sentences)
    dangling = False
    for i, (s, raw) in enumerate(zip(sentences, answer.sentences, strict=True)):
        if _BACK_REFERENCE.match(s) and not _EXPLETIVE.match(s):
            before = answer.sentences[i - 1] if i else None
            # Fine when the sentence before it is quoted from the same passage, just before it.
            if before is None or before.citations != raw.citations:
                dangling = True
    cut_list = any(
        _ANNOUNCES.search(line.rstrip(" *_"))
        and not re.search(r"\n\s*(?:- |\d+\.)", s.text[s.text.find(line) + len(line) :])
        for s in answer.sentences
        for line in [s.text.split("\n")[0]]
    )
    furniture = any(_FURNITURE.search(s) or len(s.split()) < 3 for s in sentences)
    return Defects(garbled, dangling, cut_list, furniture, words_in(answer) > MAX_WORDS)
