"""`nhs-assistant bench`: every stage in order, the figures, the targets and the quick gates."""

from __future__ import annotations

import json
import logging
import os
import platform
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from assistant.config import Settings
from assistant.embeddings.factory import make_embedder
from assistant.services import Services
from eval.baselines import CachingEmbedder, LangChainRecipe
from eval.bench import gates, stages
from eval.bench.measure import PROJECT_ROOT
from eval.bench.scale import QUICK_SCALE_SIZES, SCALE_SIZES, run_scale_point
from eval.bench.server import bench_api
from eval.dataset import EvalItem, load_dataset
from eval.run import corpus_files

logger = logging.getLogger(__name__)

DEFAULT_DATASET = PROJECT_ROOT / "eval" / "datasets" / "dev.jsonl"
DEFAULT_CORPUS = PROJECT_ROOT.parent / "shared" / "corpus"
EMBED_SAMPLE_SEED = 7
RECIPE_CACHE = "embedding-cache.sqlite"  # shared with `eval run`, in the benchmark index

Say = Callable[[str], None]


@dataclass(frozen=True)
class BenchConfig:
    """What one run measures; :func:`config_for` fills the full or quick defaults."""

    out: Path
    corpus: Path = DEFAULT_CORPUS
    dataset: Path = DEFAULT_DATASET
    data_dir: Path | None = None
    work_dir: Path | None = None
    quick: bool = False
    max_docs: int | None = None
    max_questions: int | None = None
    embed_passages: int = 128
    api_levels: tuple[int, ...] = (1, 10, 50)
    api_duration_s: float = 20.0
    api_warmup_s: float = 3.0
    scale_sizes: tuple[int, ...] = SCALE_SIZES

    @property
    def work(self) -> Path:
        """Scratch folder: the cold index, the recipe, the synthetic indexes, server log."""
        return self.work_dir or self.out / "work"


QUICK: dict[str, Any] = {
    "max_docs": 3,
    "max_questions": 20,
    # 16 passages (4 runs of 4 on two cores) put one-by-one ahead in 2 of 5 quiet runs: the
    # longest run finishes alone. 48 measure what ingestion does (1.08-1.23× in three runs).
    "embed_passages": 48,
    "api_levels": (1, 10),
    "api_duration_s": 4.0,
    "api_warmup_s": 1.0,
    "scale_sizes": QUICK_SCALE_SIZES,
}


def config_for(quick: bool, **given: Any) -> BenchConfig:
    """The run's configuration: quick mode's small subset, or everything."""
    config = BenchConfig(**{k: v for k, v in given.items() if v is not None})
    return replace(config, quick=True, **QUICK) if quick else config


def settings_for(base: Settings, data_dir: Path) -> Settings:
    """``base`` pointed at another index folder."""
    return base.model_copy(update={"data_dir": data_dir})


# -- choosing what to measure ---------------------------------------------------------------


def pick_questions(items: list[EvalItem], files: list[Path], limit: int | None) -> list[str]:
    """Questions for the run: all of them, or up to ``limit`` favouring the indexed documents.

    With a subset of the corpus, questions about those documents come first (so answers are
    answers, not refusals), then the rest in file order.
    """
    if limit is None or limit >= len(items):
        return [i.question for i in items]
    names = {f.name for f in files}
    on_subset = [i for i in items if i.answerable and set(i.docs) and set(i.docs) <= names]
    rest = [i for i in items if i not in on_subset]
    return [i.question for i in [*on_subset, *rest][:limit]]


# -- the run --------------------------------------------------------------------------------


def run_bench(settings: Settings, config: BenchConfig, say: Say | None = None) -> dict[str, Any]:
    """Measure everything the configuration asks for; the report (figures, targets, gates)."""
    say = say or (lambda message: logger.info("%s", message))
    started = time.perf_counter()
    work = _scratch(config)
    report: dict[str, Any] = {
        "mode": "quick" if config.quick else "full",
        "machine": _machine(),
        "settings": _settings_used(settings),
    }
    t0 = time.perf_counter()
    embedder = make_embedder(settings.embedding)
    report["model_load_s"] = time.perf_counter() - t0

    files = corpus_files([config.corpus])
    if config.max_docs:
        files = stages.smallest_files(files, config.max_docs)
    cold_dir, bench_dir = _index_dirs(settings, config)
    say(f"ingestion: {len(files)} files, cold, into {cold_dir}; then the recipe on the same")
    report["ingest"] = stages.bench_ingest(settings_for(settings, cold_dir), embedder, files)
    recipe, report["recipe_ingest"] = stages.build_recipe(embedder, files, work)

    services, timed = stages.query_services(settings_for(settings, bench_dir), embedder)
    recipe = _recipe_over_index(recipe, services, files, work, say)
    say(f"embedding throughput on {config.embed_passages} stored passages")
    texts = stages.sample_texts(services.store, config.embed_passages, EMBED_SAMPLE_SEED)
    report["embedding"] = stages.bench_embedding(embedder, texts)

    questions = pick_questions(load_dataset(config.dataset), files, config.max_questions)
    say(f"query path: {len(questions)} questions, project and recipe interleaved")
    report["index"] = {"path": str(bench_dir), "chunks": services.store.count()}
    report["query"] = stages.bench_queries(services, timed, recipe, questions)
    queries = stages.query_vectors(embedder, questions)
    report["hnsw"] = stages.hnsw_recall(services.store, queries)

    questions_file, queries_file = work / "questions.json", work / "queries.npy"
    questions_file.write_text(json.dumps(questions))
    np.save(queries_file, queries)
    say(f"API: /v1/ask at {', '.join(map(str, config.api_levels))} clients")
    report["api"] = bench_api(
        bench_dir,
        work / "api",
        questions_file,
        config.api_levels,
        config.api_duration_s,
        config.api_warmup_s,
    )
    model, generation = (embedder.name, embedder.dimension), services.store.generation()
    report["scale"] = []
    for n, size in enumerate(config.scale_sizes):
        say(f"scale: {size:,} chunks (build or reuse, then query in a fresh process)")
        # The smallest point is also timed in turn with the benchmark index, for its gate.
        baseline = bench_dir if n == 0 else None
        report["scale"].append(
            run_scale_point(
                bench_dir, size, work, questions_file, queries_file, model, generation, baseline
            )
        )
    return _conclude(report, config, started)


def _scratch(config: BenchConfig) -> Path:
    """The scratch folder, without the recipe indexes earlier runs left there."""
    config.work.mkdir(parents=True, exist_ok=True)
    for old in config.work.glob("recipe-*"):
        shutil.rmtree(old, ignore_errors=True)
    return config.work


def _recipe_over_index(
    recipe: LangChainRecipe, services: Services, files: list[Path], work: Path, say: Say
) -> LangChainRecipe:
    """The recipe to query beside the project: over the same documents as its index.

    The cold-built recipe serves when the index holds the files just ingested; a reused
    ``--data-dir`` gets a second recipe over its own documents, with vectors cached beside it
    (the cache ``eval run`` uses), so only the first run embeds them.
    """
    indexed = sorted(p for p in (Path(r.source_path) for r in services.store.list_documents()))
    if {p.resolve() for p in indexed} == {p.resolve() for p in files}:
        return recipe
    existing = [p for p in indexed if p.is_file()]
    say(f"the recipe over the benchmark index's {len(existing)} files (cached vectors)")
    cache = CachingEmbedder(services.embedder, services.settings.data_dir / RECIPE_CACHE)
    return LangChainRecipe(cache, existing, workdir=work)


def _conclude(report: dict[str, Any], config: BenchConfig, started: float) -> dict[str, Any]:
    """Add the run's length, the final load, the flat figures, the targets and the gates."""
    report["seconds"] = time.perf_counter() - started
    report["machine"]["load_after"] = list(os.getloadavg())
    report["figures"] = figures_of(report)
    report["targets"] = gates.evaluate(gates.TARGETS, report["figures"])
    report["gates"] = gates.evaluate(gates.QUICK_GATES, report["figures"]) if config.quick else []
    return report


def _index_dirs(settings: Settings, config: BenchConfig) -> tuple[Path, Path]:
    """(cold-ingest folder, benchmark index folder).

    An empty or missing ``--data-dir`` receives the cold ingest and becomes the benchmark
    index; one that already holds chunks is reused as it is, and the cold ingest goes to a
    fresh scratch folder. Without ``--data-dir`` the scratch index is the benchmark index.
    """
    scratch = config.work / "cold-index"
    data_dir = config.data_dir
    if data_dir is not None and not _holds_chunks(settings, data_dir):
        return data_dir, data_dir
    shutil.rmtree(scratch, ignore_errors=True)
    return scratch, data_dir or scratch


def _holds_chunks(settings: Settings, data_dir: Path) -> bool:
    return (data_dir / "chroma").is_dir() and (data_dir / "bm25" / "state.json").is_file()


def _settings_used(settings: Settings) -> dict[str, Any]:
    """The settings that move the figures most."""
    return {
        "embedding_threads": settings.embedding.threads or os.cpu_count(),
        "embedding_batch_size": settings.embedding.batch_size,
        "top_k": settings.retrieval.top_k,
        "dense_k": settings.retrieval.dense_k,
        "bm25_k": settings.retrieval.bm25_k,
        "hnsw_ef_search": settings.chroma.hnsw_ef_search,
    }


def _machine() -> dict[str, Any]:
    """Where the figures were measured, and how busy the machine was when the run began."""
    return {
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "load_before": list(os.getloadavg()),
    }


# -- the flat figures that targets and gates read -------------------------------------------


FLOOR_STAGES = ("embed_query", "dense_search", "bm25")


def figures_of(report: dict[str, Any]) -> dict[str, float]:
    """Every figure under a dotted name (``query.ask.median_ms``), for checks and tables."""
    f: dict[str, float] = {}
    ingest, recipe = report["ingest"], report["recipe_ingest"]
    for key in ("cold_s", "docs_per_s", "chunks_per_s", "embed_tokens_per_s", "chunks"):
        f[f"ingest.{key}"] = float(ingest[key])
        f[f"recipe.ingest.{key}"] = float(recipe[key])
    for prefix, side in (("ingest", ingest), ("recipe.ingest", recipe)):
        if "embed_tokens" not in side:
            continue
        tokens, chunks, cold_s = float(side["embed_tokens"]), float(side["chunks"]), side["cold_s"]
        f[f"{prefix}.tokens_per_chunk"] = tokens / chunks if chunks else 0.0
        f[f"{prefix}.tokens_per_s"] = tokens / float(cold_s) if cold_s else 0.0
    for stage, seconds in ingest.get("stages_s", {}).items():
        f[f"ingest.stage.{stage}_s"] = float(seconds)
    f["ingest.reingest_s"] = float(ingest["reingest_s"])
    emb = report["embedding"]
    for key in ("batched_per_s", "one_by_one_per_s", "speedup", "max_abs_diff"):
        f[f"embed.{key}"] = float(emb[key])
    f["embed.identical"] = float(emb["identical"])
    query = report["query"]
    for name in ("retrieve", "ask"):
        _latency(f, f"query.{name}", query[name])
        if query.get(f"recipe_{name}"):
            _latency(f, f"recipe.{name}", query[f"recipe_{name}"])
    for stage, summary in query["ask_stages"].items():
        _latency(f, f"query.stage.{stage}", summary)
    # The physical floor of a question on this machine: embedding it, the HNSW search and BM25,
    # the work no answer can skip (medians of the same run).
    f["query.floor.median_ms"] = sum(
        float(query["ask_stages"][s]["median"]) for s in FLOOR_STAGES if s in query["ask_stages"]
    )
    f["hnsw.recall_at_10"] = float(report["hnsw"]["recall"])
    api = report["api"]
    f["startup.ready_s"] = float(api["startup"]["ready_s"])
    f["startup.idle_rss_mb"] = float(api["startup"]["idle_rss_mb"])
    f["startup.rss_after_load_mb"] = float(api["startup"]["rss_after_load_mb"])
    for level, res in api["levels"].items():
        for key in ("rps", "median_ms", "p95_ms", "p99_ms", "errors"):
            f[f"api.c{level}.{key}"] = float(res[key])
        f[f"api.c{level}.repeats"] = float(res.get("repeats", 0))
    f["api.errors"] = float(sum(r["errors"] for r in api["levels"].values()))
    for point in report["scale"]:
        size = point["size"]
        f[f"scale.{size}.retrieve_p50_ms"] = float(point["retrieve_p50_ms"])
        f[f"scale.{size}.retrieve_p95_ms"] = float(point["retrieve_p95_ms"])
        f[f"scale.{size}.peak_rss_mb"] = float(point["peak_rss_mb"])
        f[f"scale.{size}.recall_at_10"] = float(point["build"]["recall_at_10"])
        if "paired" in point:
            paired = point["paired"]
            f[f"scale.{size}.paired_retrieve_p95_ms"] = float(paired["retrieve"]["p95"])
            f[f"scale.{size}.baseline_retrieve_p95_ms"] = float(paired["baseline_retrieve"]["p95"])
    return f


def _latency(f: dict[str, float], prefix: str, summary: dict[str, float]) -> None:
    f[f"{prefix}.median_ms"] = float(summary["median"])
    f[f"{prefix}.p95_ms"] = float(summary["p95"])
    f[f"{prefix}.p99_ms"] = float(summary["p99"])
