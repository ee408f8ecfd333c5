"""What one API worker holds in memory at 20k, 200k and 1M chunks, when the vectors live on a
Chroma server.

A worker in the service deployment keeps the vector index out of its process (the Chroma
server holds it), but it holds its own lexical index: the bm25s matrix and every chunk's text
and metadata (``BM25Index``), beside the embedding model. That part grows with the corpus, so
it is what limits how many workers fit on a machine.

``nhs-assistant bench-worker-memory`` measures it for real at each size, two child processes
per size so each figure belongs to one job:

* ``build`` writes the real chunks of an index plus synthetic ones (``synthetic.py``) into a
  BM25 index alone (no vector store: the server holds those);
* ``hold`` starts as a worker does (the embedding model loaded, one question embedded), reads
  its resident memory, loads the lexical index, answers the questions' lexical searches and
  reads its resident and peak memory again.

The worker's memory at size N is then what ``hold`` measured; the same run holds the real
corpus's index too, so the figure sits beside a measured worker of ``bench-workers``. The
Chroma server's side (the vectors and the HNSW graph) is worked out from the vector count.

Run as ``python -m eval.bench.worker_memory build|hold ...`` by the parent.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import time
from pathlib import Path
from typing import Any

from eval.bench.measure import elapsed_ms, peak_rss_mb, rss_mb, run_child

logger = logging.getLogger(__name__)

MEMORY_SIZES = (20_000, 200_000, 1_000_000)
SEED = 20_260_101
CHILD_TIMEOUT_S = 3_600
BUILD_BATCH = 50_000  # synthetic chunks generated at a time (the index is built once, at the end)
SEARCH_K = 40  # the retriever's lexical fetch depth
HNSW_M = 16  # Chroma's default links per node
BYTES_PER_FLOAT = 4
BYTES_PER_MIB = 1024 * 1024


def build(source: Path, dest: Path, size: int, seed: int) -> dict[str, Any]:
    """A BM25 index of ``size`` chunks (the real ones of ``source``, then synthetic) at ``dest``."""
    from assistant.config import Settings
    from assistant.embeddings.factory import make_embedder
    from assistant.retrieval.bm25 import BM25Index
    from assistant.store.factory import make_vector_store
    from eval.bench.recall import stored_vectors
    from eval.bench.synthetic import index_plan, synthetic_chunks

    t0 = time.perf_counter()
    settings = Settings()
    embedder = make_embedder(settings.embedding)
    store = make_vector_store(settings.chroma, source, embedder.name, embedder.dimension)
    _, _, real = stored_vectors(store)
    kept, extra = index_plan(len(real), size or len(real))  # 0: the real chunks alone
    chunks = [c.__class__(c.chunk_id, c.text, c.metadata) for c in real[:kept]]
    for start in range(0, extra, BUILD_BATCH):
        for c in synthetic_chunks(real, min(BUILD_BATCH, extra - start), seed, start):
            chunks.append(c.__class__(c.chunk_id, c.text, c.metadata))
    made_s = time.perf_counter() - t0
    shutil.rmtree(dest, ignore_errors=True)
    dest.parent.mkdir(parents=True, exist_ok=True)
    BM25Index(dest).build(chunks, generation=0)
    return {
        "size": size,
        "real_chunks": kept,
        "synthetic_chunks": extra,
        "text_mib": sum(len(c.text.encode()) for c in chunks) / BYTES_PER_MIB,
        "generate_s": made_s,
        "build_s": time.perf_counter() - t0 - made_s,
        "on_disk_mib": _folder_mib(dest),
        "build_peak_rss_mb": peak_rss_mb(),
    }


def hold(index: Path, questions: list[str]) -> dict[str, Any]:
    """Start as a worker, then load the lexical index at ``index`` and search it."""
    from assistant.config import Settings
    from assistant.embeddings.factory import make_embedder
    from assistant.retrieval.bm25 import BM25Index

    embedder = make_embedder(Settings().embedding)
    embedder.embed_query("warm-up question about neighbourhood health")
    before = rss_mb(os.getpid())
    t0 = time.perf_counter()
    lexical = BM25Index(index)
    if not lexical.load():
        raise RuntimeError(f"no BM25 index at {index}")
    load_ms = elapsed_ms(t0)
    loaded = rss_mb(os.getpid())
    timings = []
    for q in questions:
        t1 = time.perf_counter()
        lexical.search(q, SEARCH_K)
        timings.append(elapsed_ms(t1))
    timings.sort()
    return {
        "chunks": len(lexical),
        "rss_before_index_mb": before,
        "rss_after_load_mb": loaded,
        "rss_after_search_mb": rss_mb(os.getpid()),
        "peak_rss_mb": peak_rss_mb(),
        "index_mb": rss_mb(os.getpid()) - before,
        "load_ms": load_ms,
        "search_median_ms": timings[len(timings) // 2] if timings else 0.0,
    }


def chroma_side_mib(chunks: int, dimension: int) -> float:
    """Worked out, not measured: the server's vectors plus an HNSW graph of ``HNSW_M`` links
    per node at level 0 (4-byte ids, twice M there), the bulk of what hnswlib holds in memory."""
    vectors = chunks * dimension * BYTES_PER_FLOAT
    graph = chunks * 2 * HNSW_M * 4
    return (vectors + graph) / BYTES_PER_MIB


def _folder_mib(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / BYTES_PER_MIB


def _child(args: list[str], out: Path) -> dict[str, Any]:
    return run_child("eval.bench.worker_memory", args, out, CHILD_TIMEOUT_S)


def bench_worker_memory(
    source: Path,
    questions: list[str],
    work: Path,
    sizes: tuple[int, ...] = MEMORY_SIZES,
    dimension: int = 384,
) -> dict[str, Any]:
    """For the real index at ``source`` and each of ``sizes``: build, then hold, each in a child."""
    work.mkdir(parents=True, exist_ok=True)
    questions_file = work / "questions.json"
    questions_file.write_text(json.dumps(questions))
    points = []
    for size in (0, *sizes):  # 0: the real corpus alone
        dest = work / f"lexical-{size or 'real'}"
        built = _child(
            ["build", "--source", str(source), "--dest", str(dest), "--size", str(size)],
            work / f"build-{size}.json",
        )
        held = _child(
            ["hold", "--index", str(dest), "--questions", str(questions_file)],
            work / f"hold-{size}.json",
        )
        chunks = int(held["chunks"])
        points.append(
            {
                "size": chunks,
                "build": built,
                **held,
                "chroma_side_mib_projected": chroma_side_mib(chunks, dimension),
            }
        )
        shutil.rmtree(dest, ignore_errors=True)
    return {"source": str(source), "cores": os.cpu_count(), "points": points}


def main(argv: list[str] | None = None) -> None:
    """Entry point of the child processes."""
    parser = argparse.ArgumentParser(prog="python -m eval.bench.worker_memory")
    sub = parser.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build")
    b.add_argument("--source", type=Path, required=True)
    b.add_argument("--dest", type=Path, required=True)
    b.add_argument("--size", type=int, required=True)
    b.add_argument("--seed", type=int, default=SEED)
    b.add_argument("--out", type=Path, required=True)
    h = sub.add_parser("hold")
    h.add_argument("--index", type=Path, required=True)
    h.add_argument("--questions", type=Path, required=True)
    h.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    if args.cmd == "build":
        result = build(args.source, args.dest, args.size, args.seed)
    else:
        result = hold(args.index, json.loads(args.questions.read_text()))
    args.out.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
