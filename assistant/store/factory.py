"""The one place a vector store is made, for ingestion and for querying alike."""

from __future__ import annotations

from pathlib import Path

from assistant.config import ChromaSettings
from assistant.errors import ConfigurationError
from assistant.store.base import VectorStore


def make_vector_store(
    settings: ChromaSettings, data_dir: Path, model_name: str, dimension: int
) -> VectorStore:
    """Chroma on disk under ``data_dir/chroma``, a Chroma server when ``host`` is set, or memory."""
    if settings.backend == "chroma":
        from assistant.store.chroma import ChromaStore

        return ChromaStore(
            model_name=model_name,
            dimension=dimension,
            collection=settings.collection,
            path=None if settings.host else data_dir / "chroma",
            host=settings.host,
            port=settings.port,
            ssl=settings.ssl,
            ef_search=settings.hnsw_ef_search,
        )
    if settings.backend == "memory":
        from assistant.store.memory import InMemoryStore

        return InMemoryStore(model_name=model_name, dimension=dimension)
    raise ConfigurationError(
        f"unknown store backend {settings.backend!r}; allowed: 'chroma', 'memory'"
    )
