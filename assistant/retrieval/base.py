"""The retrieval role: what surfaces and the answering service need from a retriever."""

from __future__ import annotations

from typing import Protocol

from assistant.schemas import Filters, RetrievedChunk


class Retriever(Protocol):
    """Ranks indexed passages for a cleaned question, best first."""

    def retrieve(
        self,
        question: str,
        k: int | None = None,
        filters: Filters | None = None,
        timings_ms: dict[str, float] | None = None,
    ) -> list[RetrievedChunk]: ...

    def sync(self, force: bool = False) -> None:
        """Catch up with the store (after ingestion or another process's writes)."""
        ...
