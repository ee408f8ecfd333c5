"""The one place an embedder is made, for ingestion and for querying alike."""

from __future__ import annotations

from assistant.config import EmbeddingSettings
from assistant.embeddings.base import Embedder
from assistant.errors import ConfigurationError


def make_embedder(settings: EmbeddingSettings) -> Embedder:
    """Build the embedder named by ``settings.backend``."""
    if settings.backend == "minilm-onnx":
        from assistant.embeddings.onnx_minilm import OnnxMiniLMEmbedder

        tokenizer_file = onnx_file = None
        if settings.model_dir is not None:
            tokenizer_file = settings.model_dir / "tokenizer.json"
            onnx_file = settings.onnx_file or settings.model_dir / "model.onnx"
        elif settings.onnx_file is not None:
            onnx_file = settings.onnx_file
        return OnnxMiniLMEmbedder(
            tokenizer_file=tokenizer_file,
            onnx_file=onnx_file,
            name=settings.name,
            batch_size=settings.batch_size,
            max_tokens=settings.max_tokens,
            threads=settings.threads,
        )
    if settings.backend == "fake":
        from assistant.embeddings.fake import HashingEmbedder

        return HashingEmbedder(max_tokens=settings.max_tokens, name=settings.name or "fake-hashing")
    raise ConfigurationError(
        f"unknown embedding backend {settings.backend!r}; allowed: 'minilm-onnx', 'fake'"
    )
