"""The embedder role: text in, unit-length vectors out."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Embedder(Protocol):
    """Turns passages and questions into L2-normalised float32 vectors of one dimension.

    ``name`` is recorded in the index so that a different model cannot query it.
    ``count_tokens`` measures text in the model's own units (word pieces for MiniLM), so
    chunking and embedding agree on what fits.
    """

    name: str
    dimension: int
    max_tokens: int

    def embed_documents(self, texts: list[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...

    def count_tokens(self, text: str) -> int: ...
