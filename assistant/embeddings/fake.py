"""A deterministic embedder for tests: hashed bag of words, so similar texts stay similar."""

from __future__ import annotations

import hashlib
import re

import numpy as np

_WORD = re.compile(r"[a-z0-9]+")


class HashingEmbedder:
    """Feature-hashing embedder: no model, no randomness, instant.

    >>> HashingEmbedder(dimension=8).embed_query("care closer to home").shape
    (8,)
    """

    def __init__(self, dimension: int = 384, name: str = "fake-hashing", max_tokens: int = 256):
        self.name = name
        self.dimension = dimension
        self.max_tokens = max_tokens
        self.calls = 0  # passages embedded so far; tests use it to prove nothing was re-embedded

    def count_tokens(self, text: str) -> int:
        return len(text.split())

    def embed_query(self, text: str) -> np.ndarray:
        return self.embed_documents([text])[0]

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        self.calls += len(texts)
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for row, text in enumerate(texts):
            words = _WORD.findall(text.lower())[: self.max_tokens]
            for w in words:
                h = int.from_bytes(hashlib.blake2b(w.encode(), digest_size=8).digest(), "little")
                out[row, h % self.dimension] += 1.0 if (h >> 32) & 1 else -1.0
            norm = np.linalg.norm(out[row])
            if norm == 0:
                out[row, 0] = 1.0
            else:
                out[row] /= norm
        return out
