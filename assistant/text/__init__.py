"""Word-level text helpers shared by BM25, the extractive answerer and the verifier."""

from __future__ import annotations

import re
from functools import lru_cache

_WORD = re.compile(r"[a-z0-9]+(?:[.'’][a-z0-9]+)*")

STOP_WORDS = frozenset(
    [
        "a",
        "about",
        "above",
        "after",
        "again",
        "against",
        "all",
        "am",
        "an",
        "and",
        "any",
        "are",
        "as",
        "at",
        "be",
        "because",
        "been",
        "before",
        "being",
        "below",
        "between",
        "both",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "doing",
        "down",
        "during",
        "each",
        "few",
        "for",
        "from",
        "further",
        "had",
        "has",
        "have",
        "having",
        "he",
        "her",
        "here",
        "hers",
        "herself",
        "him",
        "himself",
        "his",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "itself",
        "just",
        "me",
        "more",
        "most",
        "my",
        "myself",
        "no",
        "nor",
        "not",
        "now",
        "of",
        "off",
        "on",
        "once",
        "only",
        "or",
        "other",
        "our",
        "ours",
        "ourselves",
        "out",
        "over",
        "own",
        "same",
        "she",
        "should",
        "so",
        "some",
        "such",
        "than",
        "that",
        "the",
        "their",
        "theirs",
        "them",
        "themselves",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "through",
        "to",
        "too",
        "under",
        "until",
        "up",
        "very",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "whom",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "yours",
        "yourself",
        "yourselves",
        "may",
        "might",
        "must",
        "shall",
        "also",
        "us",
        "within",
        "per",
        "via",
        "across",
        "upon",
        "whether",
        "yet",
        "i'm",
        "we're",
        "it's",
        "get",
        "got",
        "make",
        "made",
        "one",
        "two",
    ]
)


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A light, fast English stemmer: enough to match plans/planning, organise/organisation."""
    w = word.replace("’", "'")
    if w.endswith("'s"):
        w = w[:-2]
    if len(w) <= 3 or w.isdigit():
        return w
    w = re.sub(r"yze$|yse$", "yz", w)
    w = re.sub(r"is(e|ed|es|ing|ation|ations)$", r"iz\1", w)
    for suffix, repl in (
        ("izations", "iz"),
        ("ization", "iz"),
        ("ational", "ate"),
        ("fulness", "ful"),
        ("iveness", "ive"),
        ("ements", ""),
        ("ement", ""),
        ("ments", ""),
        ("ment", ""),
        ("ities", ""),
        ("ity", ""),
        ("ingly", ""),
        ("edly", ""),
        ("ings", ""),
        ("ing", ""),
        ("ies", "y"),
        ("ied", "y"),
        ("ers", ""),
        ("er", ""),
        ("ed", ""),
        ("es", ""),
        ("ly", ""),
        ("s", ""),
    ):
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            w = w[: len(w) - len(suffix)] + repl
            break
    if w.endswith("e") and len(w) > 4:
        w = w[:-1]
    if len(w) > 4 and w[-1] == w[-2] and w[-1] not in "lsz":
        w = w[:-1]
    return w


def clean_question(question: str, max_chars: int) -> str:
    """The question without surrounding white space; raises when it is empty or too long."""
    from assistant.errors import InvalidInputError

    text = (question or "").strip()
    if not text:
        raise InvalidInputError("question is empty: type a question about the NHS documents")
    if len(text) > max_chars:
        raise InvalidInputError(
            f"question is too long ({len(text)} characters; the limit is {max_chars})"
        )
    return text


def words(text: str) -> list[str]:
    """Lower-cased word tokens (numbers kept, so '2026/27' gives '2026' and '27')."""
    return _WORD.findall(text.lower())


def terms(text: str) -> list[str]:
    """Stemmed content words, stop words removed: the unit BM25 and sentence scoring count."""
    return [stem(w) for w in words(text) if w not in STOP_WORDS]
