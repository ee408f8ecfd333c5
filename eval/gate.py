"""The threshold gate: a thresholds file's bounds checked against a run's summary.

A thresholds file (``eval/thresholds.toml``, ``eval/thresholds-ci.toml``) bounds metrics of the
project's pipeline over all questions::

    [project]
    recall_at_k = { min = 0.90 }      # >=
    invalid_citations = { max = 0 }   # <=

Metric names are checked against the registry before the run starts, so a typo fails at once
with the known names listed, not after minutes of answering.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from assistant.errors import ConfigurationError
from eval.metrics import REGISTRY, MetricRegistry

DEFAULT_THRESHOLDS = Path(__file__).resolve().parent / "thresholds.toml"
BOUNDS = {"min": ">=", "max": "<="}

Thresholds = dict[str, dict[str, float]]


def load_thresholds(path: Path | None) -> Thresholds:
    """The ``[project]`` bounds of a thresholds file (default ``eval/thresholds.toml``); none
    when the file does not exist."""
    path = path or DEFAULT_THRESHOLDS
    if not path.exists():
        return {}
    try:
        return dict(tomllib.loads(path.read_text(encoding="utf-8")).get("project", {}))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigurationError(f"thresholds file {path} is not valid TOML: {exc}") from exc


def check_thresholds(
    thresholds: Thresholds, mode: str | None = None, registry: MetricRegistry = REGISTRY
) -> None:
    """Every name is a registered metric (measured in ``mode`` when given) with a min or max."""
    unknown = [name for name in thresholds if name not in registry]
    if unknown:
        raise ConfigurationError(
            f"thresholds name unknown metric(s) {', '.join(map(repr, unknown))}; "
            f"known metrics: {', '.join(registry.names())}"
        )
    for name, bound in thresholds.items():
        if not isinstance(bound, dict) or not bound or set(bound) - set(BOUNDS):
            raise ConfigurationError(
                f"threshold for {name!r} must be a table of min and/or max, "
                f"e.g. {name} = {{ min = 0.9 }}; got {bound!r}"
            )
        metric = registry.get(name)
        if mode is not None and not metric.measured_in(mode):
            modes = ", ".join(sorted(metric.modes or ()))
            raise ConfigurationError(
                f"thresholds name {name!r}, which is measured only in {modes} mode, "
                f"not in {mode} mode"
            )


def gate(
    summary: dict[str, float], thresholds: Thresholds, registry: MetricRegistry = REGISTRY
) -> list[dict[str, Any]]:
    """Each threshold checked against the project's summary: min (>=) or max (<=)."""
    check_thresholds(thresholds, registry=registry)
    out = []
    for metric, bound in thresholds.items():
        value = summary.get(metric)
        if value is None:
            raise ConfigurationError(f"metric {metric!r} was not measured in this run")
        for key, op in BOUNDS.items():
            if key in bound:
                ok = value >= bound[key] if key == "min" else value <= bound[key]
                out.append(
                    {"metric": metric, "value": value, "op": op, "threshold": bound[key], "ok": ok}
                )
    return out
