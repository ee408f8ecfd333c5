"""Eval metrics as a registry: one ``Metric`` record per metric, every list of metrics read from it.

A metric says what it measures on one question (``score``), which questions its figure is taken
over (``over``) and how (``aggregate``), how reports show it (``label``, ``fmt``), which way is
better, and in which answer modes it is measured. The runner scores every metric of the run's
mode on every question, ``summarise`` aggregates them, the reports list them and the threshold
gate accepts their names, so a new metric is one ``register`` call and no other edit (ragas and
RAGChecker keep their metrics the same way: a name, a per-item score, an aggregation)::

    from eval.metrics import Metric, count, register

    register(Metric(
        name="answer_words",
        label="answer words",
        score=lambda s: len(s.answer.answer.split()),
        over="answered",
        fmt=count,
        better="lower",
        description="words in an answer to an answerable question",
    ))

The built-in metrics are registered by ``eval.metrics.builtin`` (every mode) and
``eval.metrics.generation`` (llm mode), in the order the summary and the reports list them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar, get_args

from assistant.schemas import Answer, DocumentMeta
from eval.dataset import EvalItem
from eval.metrics.formulas import Supports, mean, percentile

T = TypeVar("T")

Subset = Literal["all", "answerable", "unanswerable", "answered"]
Better = Literal["higher", "lower"]
Aggregate = Callable[[Sequence[float]], float]
Format = Callable[[float], str]

# Summary fields that are counts of questions, not metrics: no metric may take these names.
COUNTS = ("questions", "answerable", "unanswerable")
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass
class Sample:
    """One question of a run and everything a metric may read about it.

    ``relevance[i]`` is the set of gold quotes the i-th of the top 10 retrieved chunks covers;
    ``k`` is how many chunks the answerer read; ``supports`` is the grounding verifier (do these
    passages support this sentence?); ``documents`` is the index's record of each document.
    """

    item: EvalItem
    answer: Answer
    relevance: list[set[int]]
    n_quotes: int
    k: int
    latency_ms: float
    supports: Supports
    # What the index says of each document (lifecycle metrics read it); empty when unknown.
    documents: Mapping[str, DocumentMeta] = field(default_factory=dict)
    _shared: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    def shared(self, compute: Callable[[Sample], T]) -> T:
        """``compute(self)``, worked out once per question and shared by every metric that asks.

        Several metrics read one costly result (citation recall and precision both need the
        verifier's verdicts on every cited sentence); the function itself is the key.
        """
        if compute not in self._shared:
            self._shared[compute] = compute(self)
        return self._shared[compute]


def in_subset(sample: Sample, subset: Subset) -> bool:
    """Whether a question belongs to a subset: answered = answerable and not refused."""
    if subset == "all":
        return True
    if subset == "answerable":
        return sample.item.answerable
    if subset == "unanswerable":
        return not sample.item.answerable
    return sample.item.answerable and not sample.answer.refused


# --- aggregations (each gives 0 for no values) ------------------------------------------------


def total(values: Sequence[float]) -> float:
    return float(sum(values))


def median(values: Sequence[float]) -> float:
    return percentile(values, 50)


def p95(values: Sequence[float]) -> float:
    return percentile(values, 95)


def max_of(values: Sequence[float]) -> float:
    return float(max(values, default=0.0))


# --- formats for report tables ---------------------------------------------------------------


def ratio(value: float) -> str:
    return f"{value:.3f}"


def count(value: float) -> str:
    return str(int(value))


def milliseconds(value: float) -> str:
    return f"{value:.1f}"


@dataclass(frozen=True)
class Metric:
    """One evaluation metric.

    * ``name``: its key in the summary, report.json and thresholds files (``recall_at_k``).
    * ``label``: its row in the report tables (``recall@k``).
    * ``score``: its value for one question, or None where it has none (a question with no
      draft has no draft citation scores); None values are left out of the aggregate.
    * ``over``: the questions its figure is taken over: all, answerable, unanswerable, or
      answered (answerable and not refused). ``score`` is called only for those, unless
      ``scored_on`` widens it (the per-question record then shows the wider set).
    * ``aggregate``: how the scores become one figure (``mean``, ``total``, ``median``, ``p95``).
    * ``fmt``: how a report writes the figure (``ratio``, ``count``, ``milliseconds``).
    * ``better``: which way is better, for readers and for checking thresholds files.
    * ``modes``: the answer modes it is measured in; None for every mode.
    * ``per_question``: also written in each question's record in report.json (rounded to
      ``record_digits`` when given; a question it does not score is written as 0).
    * ``chart``: a bar in report.html's chart (figures between 0 and 1).
    """

    name: str
    label: str
    score: Callable[[Sample], float | None]
    over: Subset = "all"
    aggregate: Aggregate = mean
    fmt: Format = ratio
    better: Better = "higher"
    modes: frozenset[str] | None = None
    scored_on: Subset | None = None
    per_question: bool = False
    record_digits: int | None = None
    chart: bool = False
    description: str = ""

    def __post_init__(self) -> None:
        if not _NAME.match(self.name) or self.name in COUNTS:
            raise ValueError(
                f"metric name {self.name!r} must be lower_snake_case and not one of {COUNTS}"
            )
        subsets = get_args(Subset)
        for subset in (self.over, self.scored_on or self.over):
            if subset not in subsets:
                raise ValueError(f"metric {self.name!r}: subset {subset!r} is not one of {subsets}")
        if self.better not in ("higher", "lower"):
            raise ValueError(f"metric {self.name!r}: better must be 'higher' or 'lower'")

    def measured_in(self, mode: str) -> bool:
        return self.modes is None or mode in self.modes

    def score_question(self, sample: Sample) -> float | None:
        """The per-question score, for the questions this metric scores (None for the rest)."""
        if not in_subset(sample, self.scored_on or self.over):
            return None
        return self.score(sample)

    def summarise(self, scored: Sequence[tuple[Sample, float | None]]) -> float:
        """The figure over the questions in ``over`` that have a score."""
        return self.aggregate([v for s, v in scored if v is not None and in_subset(s, self.over)])

    def record(self, value: float | None) -> float:
        """The per-question value as report.json writes it."""
        if value is None:
            return 0.0
        return round(value, self.record_digits) if self.record_digits is not None else value


class MetricRegistry:
    """The registered metrics in registration order: the order of summary keys and report rows.

    >>> registry = MetricRegistry()
    >>> _ = registry.register(Metric("answered_share", "answered", lambda s: 1.0))
    >>> registry.names()
    ['answered_share']
    """

    def __init__(self, metrics: Sequence[Metric] = ()) -> None:
        self._by_name: dict[str, Metric] = {}
        for metric in metrics:
            self.register(metric)

    def register(self, metric: Metric) -> Metric:
        """Add a metric; a second metric of the same name is an error, not a silent swap."""
        if metric.name in self._by_name:
            raise ValueError(f"a metric named {metric.name!r} is already registered")
        self._by_name[metric.name] = metric
        return metric

    def unregister(self, name: str) -> Metric:
        return self._by_name.pop(name)

    def get(self, name: str) -> Metric:
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(
                f"no metric named {name!r}; known metrics: {', '.join(self.names())}"
            ) from None

    def names(self) -> list[str]:
        return list(self._by_name)

    def for_mode(self, mode: str) -> list[Metric]:
        """The metrics measured when answers are given in ``mode`` (extractive or llm)."""
        return [m for m in self if m.measured_in(mode)]

    def __iter__(self) -> Iterator[Metric]:
        return iter(list(self._by_name.values()))

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def __len__(self) -> int:
        return len(self._by_name)


REGISTRY = MetricRegistry()


def register(metric: Metric) -> Metric:
    """Register a metric in the project's registry (see the module docstring)."""
    return REGISTRY.register(metric)
