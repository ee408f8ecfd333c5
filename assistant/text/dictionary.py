"""English word frequencies (pyspellchecker's list, offline): is a word ordinary English?

Shared by ingestion (ligature and hyphenation repair) and answering (telling a proper name such
as "Frimley" from an ordinary word a question happens to capitalise).
"""

from __future__ import annotations

from functools import lru_cache
from typing import Protocol


class _Frequencies(Protocol):
    def __getitem__(self, word: str) -> int: ...


@lru_cache(maxsize=1)
def _dictionary() -> _Frequencies:
    """Load pyspellchecker's English word counts once, on first use (about 0.3 s)."""
    from spellchecker import SpellChecker

    return SpellChecker(language="en", distance=1).word_frequency


def word_frequency(word: str) -> int:
    """How often a lower-cased word occurs in the English frequency list (0 = unknown)."""
    return int(_dictionary()[word.lower()])
