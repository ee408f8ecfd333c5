"""In-process measurements: ingestion, embedding throughput, the query path, the recipe, recall."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from assistant.answer.extractive import ExtractiveAnswerer
from assistant.config import Settings
from assistant.embeddings.base import Embedder
from assistant.services import Services, build_services
from assistant.store.base import VectorStore
from eval.baselines import RECIPE_TOP_K, LangChainRecipe
from eval.bench.measure import (
    RETRIEVAL_STAGES,
    WARMUP_QUESTIONS,
    TimingEmbedder,
    elapsed_ms,
    forget_questions,
    latency_summary,
    model_tokens,
    per_second,
    timed_retrieve,
)
from eval.bench.recall import RECALL_K, recall_at_k, stored_vectors

logger = logging.getLogger(__name__)

EMBED_ATOL = 1e-5  # batched and one-by-one vectors must agree to float32 rounding
EMBED_REPEATS = 2  # each path timed twice, in ABBA order


def smallest_files(files: Sequence[Path], count: int) -> list[Path]:
    """The ``count`` smallest files (quick mode's subset), in name order."""
    chosen = sorted(files, key=lambda p: (p.stat().st_size, p.name))[:count]
    return sorted(chosen, key=lambda p: p.name)


# -- ingestion ------------------------------------------------------------------------------


def bench_ingest(settings: Settings, embedder: Embedder, files: list[Path]) -> dict[str, Any]:
    """Cold ingest of ``files`` into an empty index, then the re-ingest of the same files."""
    timed = TimingEmbedder(embedder)
    services = build_services(settings, embedder=timed)
    if services.store.count():
        raise ValueError(f"the cold-ingest index {settings.data_dir} is not empty")
    t0 = time.perf_counter()
    cold = services.ingest(files)
    cold_s = time.perf_counter() - t0
    embed_s, tokens = timed.seconds, model_tokens(embedder, timed.texts)
    timed.reset()
    t0 = time.perf_counter()
    again = services.ingest(files)
    reingest_s = time.perf_counter() - t0
    documents = len(files) - len(cold.failed)
    return {
        "files": len(files),
        "documents": documents,
        "chunks": cold.chunks,
        "failed": [f.path for f in cold.failed],
        "cold_s": cold_s,
        "docs_per_s": per_second(documents, cold_s),
        "chunks_per_s": per_second(cold.chunks, cold_s),
        "embed_s": embed_s,
        "embed_tokens": tokens,
        "embed_tokens_per_s": per_second(tokens, embed_s),
        "stages_s": cold.stage_seconds,
        "reingest_s": reingest_s,
        "reingest_embedded": again.embedded,
        "reingest_unchanged": again.count("unchanged"),
    }


def build_recipe(
    embedder: Embedder, files: list[Path], workdir: Path
) -> tuple[LangChainRecipe, dict[str, Any]]:
    """The LangChain recipe built cold (every chunk embedded) over the same files."""
    timed = TimingEmbedder(embedder)
    recipe = LangChainRecipe(timed, files, workdir=workdir)
    tokens = model_tokens(embedder, timed.texts)
    return recipe, {
        "files": len(files),
        "chunks": recipe.chunks,
        "cold_s": recipe.build_seconds,
        "docs_per_s": per_second(len(files), recipe.build_seconds),
        "chunks_per_s": per_second(recipe.chunks, recipe.build_seconds),
        "embed_s": timed.seconds,
        "embed_tokens": tokens,
        "embed_tokens_per_s": per_second(tokens, timed.seconds),
    }


# -- embedding throughput -------------------------------------------------------------------


def one_by_one(embedder: Embedder, texts: list[str]) -> np.ndarray:
    """The naive path: one passage per model run, in the given order."""
    naive = getattr(embedder, "embed_unsorted_one_by_one", None)
    if naive is not None:
        return np.asarray(naive(texts))
    return np.vstack([embedder.embed_documents([t]) for t in texts])


def _timed(fn: Callable[[], np.ndarray]) -> tuple[np.ndarray, float]:
    t0 = time.perf_counter()
    vectors = fn()
    return vectors, time.perf_counter() - t0


def bench_embedding(embedder: Embedder, texts: list[str]) -> dict[str, Any]:
    """Batched, length-sorted ``embed_documents`` against one-by-one on the same passages.

    Timed in the order one-by-one, batched, batched, one-by-one, so a change in the machine's
    load during the measurement weighs on both paths alike.
    """
    embedder.embed_documents(texts)  # warm both paths (the per-core sessions too) first
    naive, naive_s = _timed(lambda: one_by_one(embedder, texts))
    batched, batched_s = _timed(lambda: embedder.embed_documents(texts))
    batched_s += _timed(lambda: embedder.embed_documents(texts))[1]
    naive_s += _timed(lambda: one_by_one(embedder, texts))[1]
    diff = float(np.max(np.abs(batched - naive))) if len(texts) else 0.0
    tokens = model_tokens(embedder, texts) * EMBED_REPEATS
    passages = len(texts) * EMBED_REPEATS
    return {
        "passages": len(texts),
        "repeats": EMBED_REPEATS,
        "tokens": tokens,
        "batch_size": getattr(embedder, "batch_size", None),
        "batched_s": batched_s,
        "one_by_one_s": naive_s,
        "batched_per_s": per_second(passages, batched_s),
        "one_by_one_per_s": per_second(passages, naive_s),
        "batched_tokens_per_s": per_second(tokens, batched_s),
        "one_by_one_tokens_per_s": per_second(tokens, naive_s),
        "speedup": per_second(naive_s, batched_s),
        "max_abs_diff": diff,
        "identical": bool(np.allclose(batched, naive, atol=EMBED_ATOL)),
    }


def sample_texts(store: VectorStore, count: int, seed: int) -> list[str]:
    """``count`` stored passages picked at random (the same ones for the same seed and index)."""
    ids = sorted(store.chunk_ids())
    rng = np.random.default_rng(seed)
    picked = sorted(rng.choice(len(ids), size=min(count, len(ids)), replace=False))
    return [c.text for c in store.get_chunks([ids[int(i)] for i in picked])]


# -- the query path -------------------------------------------------------------------------


def query_services(settings: Settings, embedder: Embedder) -> tuple[Services, TimingEmbedder]:
    """Services over the benchmark index whose extractive answerer's embedder is timed.

    The answerer uses the embedder only for its refusal check (question-to-sentence similarity),
    so the time it spends there is the "verification" stage.
    """
    services = build_services(settings, embedder=embedder)
    timed = TimingEmbedder(embedder)
    services.asker.answerers["extractive"] = ExtractiveAnswerer(settings.answer, timed)
    return services, timed


def _warm_up(services: Services, recipe: LangChainRecipe | None) -> None:
    """Load the HNSW index, BM25 and the model's kernels before anything is timed."""
    for q in WARMUP_QUESTIONS:
        services.ask(q)
        if recipe is not None:
            recipe.retrieve(q, k=RECIPE_TOP_K)


def _ask_once(services: Services, timed: TimingEmbedder, question: str) -> dict[str, float]:
    timed.reset()
    forget_questions(services.embedder)
    t0 = time.perf_counter()
    answer = services.ask(question)
    total = elapsed_ms(t0)
    t = answer.timings_ms
    # The answerer reports its two halves; older answerers only the whole, so then the time its
    # refusal check spent in the embedder stands in for verification.
    verification = t.get("verify", timed.seconds * 1000)
    stages = {s: t.get(s, 0.0) for s in RETRIEVAL_STAGES}
    return {
        "total": total,
        **stages,
        "retrieve_other": max(0.0, t.get("retrieve", 0.0) - sum(stages.values())),
        "sentence_selection": t.get("select", max(0.0, t.get("answer", 0.0) - verification)),
        "verification": verification,
        "refused": float(answer.refused),
    }


def _recipe_ask_once(recipe: LangChainRecipe, answerer: ExtractiveAnswerer, question: str) -> float:
    t0 = time.perf_counter()
    answerer.answer(question, recipe.retrieve(question, k=RECIPE_TOP_K))
    return elapsed_ms(t0)


def _recipe_retrieve_once(recipe: LangChainRecipe, question: str) -> float:
    forget_questions(recipe.embedder)
    t0 = time.perf_counter()
    recipe.retrieve(question, k=RECIPE_TOP_K)
    return elapsed_ms(t0)


def _column(rows: list[dict[str, float]], key: str) -> list[float]:
    return [r[key] for r in rows]


def bench_queries(
    services: Services,
    timed: TimingEmbedder,
    recipe: LangChainRecipe | None,
    questions: list[str],
) -> dict[str, Any]:
    """retrieve and ask latency (and stages) per question, the recipe interleaved with them.

    Each question is timed for the project and then for the recipe, so a burst of load on a
    shared machine hits both alike.
    """
    _warm_up(services, recipe)
    recipe_answerer = ExtractiveAnswerer(services.settings.answer, services.embedder)
    retrieves, recipe_retrieves = [], []
    for q in questions:
        retrieves.append(timed_retrieve(services, q))
        if recipe is not None:
            recipe_retrieves.append(_recipe_retrieve_once(recipe, q))
    asks, recipe_asks = [], []
    for q in questions:
        asks.append(_ask_once(services, timed, q))
        if recipe is not None:
            recipe_asks.append(_recipe_ask_once(recipe, recipe_answerer, q))
    ask_stages = [*RETRIEVAL_STAGES, "retrieve_other", "sentence_selection", "verification"]
    return {
        "questions": len(questions),
        "retrieve": latency_summary(_column(retrieves, "total")),
        "retrieve_stages": {s: latency_summary(_column(retrieves, s)) for s in RETRIEVAL_STAGES},
        "ask": latency_summary(_column(asks, "total")),
        "ask_stages": {s: latency_summary(_column(asks, s)) for s in ask_stages},
        "refused": int(sum(_column(asks, "refused"))),
        "recipe_retrieve": latency_summary(recipe_retrieves) if recipe else None,
        "recipe_ask": latency_summary(recipe_asks) if recipe else None,
    }


# -- HNSW recall ----------------------------------------------------------------------------


def query_vectors(embedder: Embedder, questions: list[str]) -> np.ndarray:
    """The questions embedded as the retriever embeds them."""
    return np.vstack([embedder.embed_query(q) for q in questions]).astype(np.float32)


def hnsw_recall(store: VectorStore, queries: np.ndarray) -> dict[str, float]:
    """HNSW recall@10 of the store against exact search over its own vectors."""
    ids, matrix, _ = stored_vectors(store)

    def search(query: np.ndarray, k: int) -> list[str]:
        return [h.chunk_id for h in store.search(query, k)]

    return {**recall_at_k(matrix, ids, queries, search, RECALL_K), "chunks": float(len(ids))}
