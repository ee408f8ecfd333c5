"""The project's embedder as a LangChain ``Embeddings`` (for LangChain vector stores and chains)."""

from __future__ import annotations

from langchain_core.embeddings import Embeddings

from assistant.embeddings.base import Embedder


class LangChainEmbeddings(Embeddings):
    """Wraps an ``Embedder`` so LangChain components use the same model as the project.

    >>> from assistant.embeddings.fake import HashingEmbedder
    >>> len(LangChainEmbeddings(HashingEmbedder(dimension=8)).embed_query("plans"))
    8
    """

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.embedder.embed_documents(list(texts)).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.embedder.embed_query(text).tolist()
