"""Evaluation metrics: the formulas, the registry, and the metrics registered in it.

``from eval.metrics import ...`` gives the pure formulas (``recall_at_k``, ``mean``, ...) and the
registry (``Metric``, ``register``, ``REGISTRY``); importing the package registers the built-in
metrics (every mode), the generation metrics (llm mode) and the lifecycle metrics, in report
order.
"""

from eval.metrics import builtin, generation, lifecycle  # noqa: F401  (registers them)
from eval.metrics.formulas import (
    Supports,
    citation_scores,
    covered_quotes,
    draft_citation_scores,
    invalid_markers,
    key_fact_recall,
    mean,
    mrr_at_k,
    ndcg_at_k,
    percentile,
    recall_at_k,
)
from eval.metrics.registry import (
    COUNTS,
    REGISTRY,
    Metric,
    MetricRegistry,
    Sample,
    Subset,
    count,
    in_subset,
    median,
    milliseconds,
    p95,
    ratio,
    register,
    total,
)

__all__ = [
    "COUNTS",
    "REGISTRY",
    "Metric",
    "MetricRegistry",
    "Sample",
    "Subset",
    "Supports",
    "citation_scores",
    "count",
    "covered_quotes",
    "draft_citation_scores",
    "in_subset",
    "invalid_markers",
    "key_fact_recall",
    "mean",
    "median",
    "milliseconds",
    "mrr_at_k",
    "ndcg_at_k",
    "p95",
    "percentile",
    "ratio",
    "recall_at_k",
    "register",
    "total",
]
