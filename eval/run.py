"""`nhs-assistant eval run`: index the corpus, answer every question, score, report, gate."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from assistant.answer.base import final_answer
from assistant.answer.verifier import GroundingVerifier
from assistant.config import Settings
from assistant.errors import ConfigurationError
from assistant.schemas import Answer
from assistant.services import Services, build_services
from eval.baselines import RECIPE_TOP_K, CachingEmbedder, LangChainRecipe, ablated_retriever
from eval.dataset import NO_KIND, EvalItem, EvidenceResolver, load_dataset
from eval.gate import check_thresholds, gate, load_thresholds
from eval.metrics import REGISTRY
from eval.report import write_html, write_json, write_markdown
from eval.runner import (
    TOP_N_REPORTED,
    Evaluator,
    System,
    question_record,
    summarise,
)

logger = logging.getLogger(__name__)


def corpus_files(corpus: list[Path]) -> list[Path]:
    files: list[Path] = []
    for c in corpus:
        files.extend(sorted(p for p in c.rglob("*") if p.is_file()) if c.is_dir() else [c])
    return files


def _project_system(services: Services, mode: str) -> System:
    def ask(question: str, as_of: date | None = None) -> Answer:
        return services.ask(question, report_k=TOP_N_REPORTED, mode=mode, as_of=as_of)

    return System("project", ask, services.settings.retrieval.top_k, ask_as_of=ask)


def _retriever_system(name: str, services: Services, dense: bool, bm25: bool, mode: str) -> System:
    retriever = ablated_retriever(services.retriever, dense=dense, bm25=bm25)
    k = services.settings.retrieval.top_k

    def ask(question: str) -> Answer:
        chunks = retriever.retrieve(retriever.validate(question), k=TOP_N_REPORTED)
        answer = final_answer(services.asker.answerer_for(mode).stream(question, chunks[:k]))
        answer.retrieved = chunks
        return answer

    return System(name, ask, k)


def _recipe_system(services: Services, files: list[Path], cache: Path, mode: str) -> System:
    recipe = LangChainRecipe(CachingEmbedder(services.embedder, cache), files, workdir=cache.parent)
    logger.info("langchain recipe: %d chunks in %.1f s", recipe.chunks, recipe.build_seconds)

    def ask(question: str) -> Answer:
        chunks = recipe.retrieve(question, k=TOP_N_REPORTED)
        answerer = services.asker.answerer_for(mode)
        answer = final_answer(answerer.stream(question, chunks[:RECIPE_TOP_K]))
        answer.retrieved = chunks
        return answer

    return System("langchain-recipe", ask, RECIPE_TOP_K)


def run_evaluation(
    settings: Settings,
    dataset: Path,
    corpus: list[Path],
    out: Path,
    mode: str = "extractive",
    baselines: bool = False,
    split: str = "all",
    limit: int | None = None,
    thresholds: Path | None = None,
    verifier_embeddings: bool = False,
    progress: Callable[[str, int], Callable[[], None]] | None = None,
) -> tuple[dict[str, Any], bool]:
    """Run the evaluation; returns the report and whether every threshold holds."""
    items: list[EvalItem] = load_dataset(dataset)
    if split != "all":
        items = [i for i in items if i.split == split]
    if limit:
        items = items[:limit]
    if not items:
        raise ConfigurationError(f"no questions in {dataset} for split {split!r}")
    bounds = load_thresholds(thresholds)
    check_thresholds(bounds, mode)
    services = build_services(settings)
    if mode not in services.asker.answerers:
        # Say so rather than silently scoring extractive answers under another name.
        raise ConfigurationError(
            f"answer mode {mode!r} is not available: no LLM is configured "
            "(set NHS_ASSISTANT_LLM_BASE_URL, e.g. a local llama.cpp server)"
        )
    report_ingest = services.ingest(corpus)
    if report_ingest.failed:
        logger.warning("%d corpus files failed to ingest", len(report_ingest.failed))
    resolver = EvidenceResolver([c if c.is_dir() else c.parent for c in corpus])
    verifier = GroundingVerifier(services.embedder if verifier_embeddings else None)
    evaluator = Evaluator(
        resolver,
        verifier,
        REGISTRY.for_mode(mode),
        documents=lambda: {r.meta.doc_id: r.meta for r in services.store.list_documents()},
    )

    systems = [_project_system(services, mode)]
    if baselines:
        systems += [
            _retriever_system("bm25-only", services, dense=False, bm25=True, mode=mode),
            _retriever_system("dense-only", services, dense=True, bm25=False, mode=mode),
            _recipe_system(
                services, corpus_files(corpus), settings.data_dir / "embedding-cache.sqlite", mode
            ),
        ]
    progress = progress or (lambda name, total: lambda: None)
    results = {s.name: evaluator.run(items, s, progress(s.name, len(items))) for s in systems}

    splits = ["all", *sorted({i.split for i in items})]
    summary = {
        sp: {
            name: summarise([r for r in rs if sp == "all" or r.item.split == sp], evaluator.metrics)
            for name, rs in results.items()
        }
        for sp in splits
    }
    kinds = sorted({i.kind or NO_KIND for i in items})
    by_kind = {
        k: summarise(
            [r for r in results["project"] if (r.item.kind or NO_KIND) == k], evaluator.metrics
        )
        for k in kinds
    }
    checks = gate(summary["all"]["project"], bounds)
    report = {
        "dataset": str(dataset),
        "corpus": [str(c) for c in corpus],
        "mode": mode,
        "k": settings.retrieval.top_k,
        "ingest": {
            "chunks": services.store.count(),
            "failed": [f.path for f in report_ingest.failed],
        },
        "summary": summary,
        "by_kind": by_kind,
        "gate": checks,
        "questions": {
            name: [question_record(r, evaluator.metrics) for r in rs]
            for name, rs in results.items()
        },
    }
    out.mkdir(parents=True, exist_ok=True)
    write_json(report, out)
    write_markdown(report, out)
    write_html(report, out)
    return report, all(c["ok"] for c in checks)
