"""The scale test: synthetic indexes of 2k, 20k and 200k chunks, each queried in a child process.

Two child processes per size, so each figure belongs to one job:

* ``build`` reads the real chunks and vectors of the benchmark index, writes real plus synthetic
  chunks (see ``synthetic.py``) into a new Chroma collection and BM25 index through the
  project's own classes, and measures HNSW recall@10 against exact search there. An index
  already built with the same size, seed and source is reused.
* ``query`` opens that index the way the CLI does (``build_services``), retrieves every
  question and reports retrieve p50/p95 and its own peak RSS, which is then the memory a
  serving process needs for that many chunks.

Run by the benchmark as ``python -m eval.bench.scale build|query ...``.
"""

from __future__ import annotations

import argparse
import json
import logging
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np

from assistant.config import Settings
from assistant.retrieval.bm25 import BM25Index
from assistant.services import build_services
from assistant.store.base import StoredChunk
from assistant.store.factory import make_vector_store
from eval.bench.measure import (
    RETRIEVAL_STAGES,
    WARMUP_QUESTIONS,
    elapsed_ms,
    latency_summary,
    peak_rss_mb,
    run_child,
    timed_retrieve,
)
from eval.bench.recall import recall_at_k, stored_vectors
from eval.bench.synthetic import index_plan, synthetic_chunks

logger = logging.getLogger(__name__)


SCALE_SIZES = (2_000, 20_000, 200_000)
QUICK_SCALE_SIZES = (2_000,)
SYNTHETIC_SEED = 20_260_101
UPSERT_BATCH = 5_000  # synthetic chunks generated and written at a time
MARKER = "synthetic.json"
MARKER_VERSION = 2  # bump when the generator changes, so old indexes are rebuilt
CHILD_TIMEOUT_S = 3_600


def _open_store(settings: Settings, model_name: str, dimension: int) -> Any:
    return make_vector_store(settings.chroma, settings.data_dir, model_name, dimension)


# -- build (child process) ------------------------------------------------------------------


def _write_chunks(
    store: Any, real: list[StoredChunk], size: int, seed: int
) -> tuple[list[str], np.ndarray, list[StoredChunk]]:
    """Real chunks, then synthetic ones batch by batch, into ``store``.

    Returns the ids and vectors written (for exact search) and the chunks without vectors
    (for BM25), so nothing has to be read back from Chroma.
    """
    kept, extra = index_plan(len(real), size)
    written = list(real[:kept])
    store.upsert_chunks(written)
    ids = [c.chunk_id for c in written]
    vectors = [np.vstack([c.embedding for c in written])]  # type: ignore[misc]
    lexical = [StoredChunk(c.chunk_id, c.text, c.metadata) for c in written]
    for start in range(0, extra, UPSERT_BATCH):
        batch = list(synthetic_chunks(real, min(UPSERT_BATCH, extra - start), seed, start))
        store.upsert_chunks(batch)
        ids.extend(c.chunk_id for c in batch)
        vectors.append(np.vstack([c.embedding for c in batch]))  # type: ignore[misc]
        lexical.extend(StoredChunk(c.chunk_id, c.text, c.metadata) for c in batch)
    return ids, np.vstack(vectors), lexical


def build_index(
    source: Settings, dest: Settings, size: int, seed: int, queries: np.ndarray, model_name: str
) -> dict[str, Any]:
    """Write ``size`` chunks (real first, then synthetic) into ``dest``; measure recall there."""
    t0 = time.perf_counter()
    dimension = queries.shape[1]
    _, _, real = stored_vectors(_open_store(source, model_name, dimension))
    store = _open_store(dest, model_name, dimension)
    if store.count():
        raise ValueError(f"{dest.data_dir} already holds chunks; remove it to rebuild")
    ids, matrix, lexical = _write_chunks(store, real, size, seed)
    write_s = time.perf_counter() - t0
    bm25 = BM25Index(dest.data_dir / "bm25", k1=dest.retrieval.bm25_k1, b=dest.retrieval.bm25_b)
    bm25.build(lexical, store.bump_generation())
    build_s = time.perf_counter() - t0

    def search(query: np.ndarray, k: int) -> list[str]:
        return [h.chunk_id for h in store.search(query, k)]

    recall = recall_at_k(matrix, ids, queries, search)
    kept, extra = index_plan(len(real), size)
    return {
        "size": size,
        "real_chunks": kept,
        "synthetic_chunks": extra,
        "chunks": store.count(),
        "write_s": write_s,
        "build_s": build_s,
        "recall_at_10": recall["recall"],
        "recall_worst": recall["worst"],
        "build_peak_rss_mb": peak_rss_mb(),
    }


# -- query (child process) ------------------------------------------------------------------


def _warm(services: Any) -> None:
    for q in WARMUP_QUESTIONS:
        services.retriever.retrieve(services.retriever.validate(q))


def query_index(
    settings: Settings, questions: list[str], baseline: Settings | None = None
) -> dict[str, Any]:
    """Open the index as the CLI does, retrieve every question, report latency and peak RSS.

    With ``baseline`` (the benchmark index), every question is then retrieved once more from
    this index and from the baseline in turn, in this process, so a gate can compare the two
    without a burst of load on a shared machine falling on one side only. The baseline opens
    after the peak RSS is read and shares this index's embedder.
    """
    t0 = time.perf_counter()
    services = build_services(settings)
    chunks = services.store.count()
    open_ms = elapsed_ms(t0)
    _warm(services)
    rows = [timed_retrieve(services, q) for q in questions]
    summary = latency_summary([r["total"] for r in rows])
    result: dict[str, Any] = {
        "chunks": chunks,
        "open_ms": open_ms,
        "retrieve": summary,
        "retrieve_p50_ms": summary["median"],
        "retrieve_p95_ms": summary["p95"],
        "stages_median_ms": {
            s: latency_summary([r[s] for r in rows])["median"] for s in RETRIEVAL_STAGES
        },
        "peak_rss_mb": peak_rss_mb(),
    }
    if baseline is not None:
        result["paired"] = _paired(
            services, build_services(baseline, embedder=services.embedder), questions
        )
    return result


def _paired(services: Any, base: Any, questions: list[str]) -> dict[str, Any]:
    """This index and the baseline retrieving the same questions in turn."""
    _warm(base)
    ours, theirs = [], []
    for q in questions:
        ours.append(timed_retrieve(services, q)["total"])
        theirs.append(timed_retrieve(base, q)["total"])
    return {
        "baseline_chunks": base.store.count(),
        "retrieve": latency_summary(ours),
        "baseline_retrieve": latency_summary(theirs),
    }


# -- parent side ----------------------------------------------------------------------------


def _child(args: list[str], out: Path) -> dict[str, Any]:
    return run_child("eval.bench.scale", args, out, CHILD_TIMEOUT_S)


def run_scale_point(
    source: Path,
    size: int,
    workdir: Path,
    questions_file: Path,
    queries_file: Path,
    model: tuple[str, int],
    source_generation: int,
    baseline: Path | None = None,
) -> dict[str, Any]:
    """Build (or reuse) the index of ``size`` chunks, then query it in a fresh process.

    ``model`` is the embedder's (name, dimension) recorded in the index; ``source_generation``
    is the benchmark index's counter, so a synthetic index is rebuilt when its source changed.
    ``baseline`` (an index folder) is also queried by the same child, in turn with this one.
    """
    dest = workdir / f"scale-{size}"
    marker = {
        "version": MARKER_VERSION,
        "size": size,
        "seed": SYNTHETIC_SEED,
        "source": str(source.resolve()),
        "generation": source_generation,
        "model": list(model),
    }
    marker_file = dest / MARKER
    saved = json.loads(marker_file.read_text()) if marker_file.exists() else {}
    if saved.get("marker") == marker:
        built = {**saved["build"], "reused": True}
    else:
        shutil.rmtree(dest, ignore_errors=True)
        args = ["build", "--source", str(source), "--dest", str(dest), "--size", str(size)]
        args += ["--queries", str(queries_file), "--model-name", model[0]]
        built = {**_child(args, workdir / f"build-{size}.json"), "reused": False}
        marker_file.write_text(json.dumps({"marker": marker, "build": built}))
    query_args = ["query", "--data-dir", str(dest), "--questions", str(questions_file)]
    if baseline is not None:
        query_args += ["--baseline-data-dir", str(baseline)]
    queried = _child(query_args, workdir / f"query-{size}.json")
    return {"size": size, "build": built, **queried}


def _settings_for(data_dir: Path) -> Settings:
    settings = Settings()
    settings.data_dir = data_dir
    return settings


def main(argv: list[str] | None = None) -> None:
    """Entry point of the child processes."""
    parser = argparse.ArgumentParser(prog="python -m eval.bench.scale")
    sub = parser.add_subparsers(dest="cmd", required=True)
    build = sub.add_parser("build")
    build.add_argument("--source", type=Path, required=True)
    build.add_argument("--dest", type=Path, required=True)
    build.add_argument("--size", type=int, required=True)
    build.add_argument("--seed", type=int, default=SYNTHETIC_SEED)
    build.add_argument("--queries", type=Path, required=True)
    build.add_argument("--model-name", required=True)
    build.add_argument("--out", type=Path, required=True)
    query = sub.add_parser("query")
    query.add_argument("--data-dir", type=Path, required=True)
    query.add_argument("--questions", type=Path, required=True)
    query.add_argument("--baseline-data-dir", type=Path, default=None)
    query.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.cmd == "build":
        queries = np.load(args.queries)
        result = build_index(
            _settings_for(args.source),
            _settings_for(args.dest),
            args.size,
            args.seed,
            queries,
            args.model_name,
        )
    else:
        questions = json.loads(args.questions.read_text())
        base = _settings_for(args.baseline_data_dir) if args.baseline_data_dir else None
        result = query_index(_settings_for(args.data_dir), questions, base)
    args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
