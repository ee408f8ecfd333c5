"""Calibrates the grounding verifier against hand labels and reports its agreement.

Thresholds are chosen on the "calib" half of ``eval/datasets/verifier_labels.jsonl`` and
judged on the held-out "test" half: accuracy and Cohen's kappa (agreement beyond chance).
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.answer.verifier import GroundingVerifier
from assistant.embeddings.base import Embedder
from eval.dataset import EvidenceResolver
from eval.verifier_labels import LabelledPair, load_verifier_labels

COVERAGE_GRID = [0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7, 0.75, 0.8]
SIMILARITY_GRID = [0.0, 0.3, 0.4, 0.45, 0.5, 0.55, 0.6, 0.65, 0.7]


@dataclass
class Agreement:
    n: int
    accuracy: float
    kappa: float
    precision: float  # of "supported" verdicts, how many were labelled supported
    recall: float  # of labelled-supported pairs, how many were judged supported


def agreement(labels: list[bool], predictions: list[bool]) -> Agreement:
    """Accuracy, Cohen's kappa, precision and recall of ``predictions`` against ``labels``."""
    n = len(labels)
    if n == 0:
        return Agreement(0, 0.0, 0.0, 0.0, 0.0)
    tp = sum(a and b for a, b in zip(labels, predictions, strict=True))
    tn = sum(not a and not b for a, b in zip(labels, predictions, strict=True))
    po = (tp + tn) / n
    p_yes = (sum(labels) / n) * (sum(predictions) / n)
    p_no = (1 - sum(labels) / n) * (1 - sum(predictions) / n)
    pe = p_yes + p_no
    kappa = (po - pe) / (1 - pe) if pe < 1 else 1.0
    precision = tp / sum(predictions) if sum(predictions) else 0.0
    recall = tp / sum(labels) if sum(labels) else 0.0
    return Agreement(n, po, kappa, precision, recall)


@dataclass
class _Features:
    pair: LabelledPair
    coverage: float
    similarity: float | None
    hard_fail: bool  # a missing quantity or a negation mismatch


def _features(pairs: list[LabelledPair], verifier: GroundingVerifier) -> list[_Features]:
    out = []
    for p in pairs:
        v = verifier.verify(p.sentence, p.passages)
        out.append(
            _Features(
                p,
                v.coverage,
                v.similarity,
                bool(v.missing_quantities) or v.negation_mismatch or bool(v.missing_actors),
            )
        )
    return out


def _predict(f: _Features, min_cov: float, min_sim: float) -> bool:
    return (
        not f.hard_fail
        and f.coverage >= min_cov
        and (f.similarity is None or f.similarity >= min_sim)
    )


def calibrate(
    labels_path: Path, corpus_dirs: list[Path], embedder: Embedder | None = None
) -> dict[str, Any]:
    """Grid-search thresholds on the calib half; report both halves and per-kind errors."""
    # raw=True: anchors resolve to the documents' own text, as the verifier sees it in use.
    pairs = load_verifier_labels(labels_path, EvidenceResolver(corpus_dirs), raw=True)
    verifier = GroundingVerifier(embedder, min_coverage=0.0, min_similarity=-1.0)
    feats = _features(pairs, verifier)
    calib = [f for f in feats if f.pair.split == "calib"]
    test = [f for f in feats if f.pair.split == "test"]
    sims = SIMILARITY_GRID if embedder is not None else [0.0]
    best = max(
        itertools.product(COVERAGE_GRID, sims),
        key=lambda t: (
            agreement([f.pair.supported for f in calib], [_predict(f, *t) for f in calib]).kappa,
            -t[0],
        ),
    )

    def judged(fs: list[_Features]) -> Agreement:
        return agreement([f.pair.supported for f in fs], [_predict(f, *best) for f in fs])

    kinds: dict[str, dict[str, int]] = {}
    for f in test:
        k = kinds.setdefault(f.pair.kind, {"n": 0, "wrong": 0})
        k["n"] += 1
        k["wrong"] += _predict(f, *best) != f.pair.supported
    return {
        "pairs": len(pairs),
        "embedder": embedder.name if embedder is not None else None,
        "min_coverage": best[0],
        "min_similarity": best[1] if embedder is not None else None,
        "calib": judged(calib).__dict__,
        "test": judged(test).__dict__,
        "test_errors_by_kind": kinds,
    }
