"""Text helpers shared by ingestion, retrieval, answering and evaluation.

This package holds the word-level helpers (tokens, the stemmer, content terms); the shared word
lists are in :mod:`assistant.text.lexicon` and the one sentence splitter in
:mod:`assistant.text.sentences`.
"""

from __future__ import annotations

import re
from functools import lru_cache

from assistant.text.lexicon import STOP_WORDS

__all__ = ["STOP_WORDS", "clean_question", "stem", "terms", "words"]

_WORD = re.compile(r"[a-z0-9]+(?:[.'’][a-z0-9]+)*")


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
            f"question is too long: {len(text):,} characters, and the limit is {max_chars:,}. "
            "Please shorten it to the question itself; there is no need to paste documents, "
            "which the assistant already has"
        )
    return text


def words(text: str) -> list[str]:
    """Lower-cased word tokens (numbers kept, so '2026/27' gives '2026' and '27')."""
    return _WORD.findall(text.lower())


def terms(text: str) -> list[str]:
    """Stemmed content words, stop words removed: the unit BM25 and sentence scoring count."""
    return [stem(w) for w in words(text) if w not in STOP_WORDS]
