"""Calibrating the answer-or-refuse threshold on one split and reporting it on others.

The extractive answerer refuses for several reasons: the evidence score is below
``answer.min_evidence``, a distinctive word of the question is nowhere in the chosen text, an
outcome is asked where only a plan is written, or no chosen sentence is similar enough to the
question. Only the first is a threshold. To calibrate it, run the evaluation once with the
threshold off (``NHS_ASSISTANT_ANSWER_MIN_EVIDENCE=0``): every refusal left is then one of the
other signals, and each question's evidence score is in the report. A threshold ``t`` would
refuse what the other signals refused plus every answer scoring below ``t``.

The threshold is chosen on the calibration split alone, as the one with the highest balanced
accuracy (the mean of the share of answerable questions answered and the share of unanswerable
ones refused; among tied thresholds, the middle one, farthest from those that do worse), and
then reported unchanged on every other split, so the figures there are what a user would see.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from eval.report import confusion_table, refusal_confusion

THRESHOLDS = tuple(round(0.05 * i, 2) for i in range(0, 15))  # 0.00 ... 0.70


@dataclass(frozen=True)
class Outcome:
    """The decision at one threshold on one set of questions."""

    threshold: float
    counts: dict[str, int]

    @property
    def refusal_rate(self) -> float:
        """Share of unanswerable questions refused."""
        n = self.counts["unanswerable_answered"] + self.counts["unanswerable_refused"]
        return self.counts["unanswerable_refused"] / n if n else 0.0

    @property
    def false_refusal_rate(self) -> float:
        """Share of answerable questions refused."""
        n = self.counts["answerable_answered"] + self.counts["answerable_refused"]
        return self.counts["answerable_refused"] / n if n else 0.0

    @property
    def balanced_accuracy(self) -> float:
        return (self.refusal_rate + 1 - self.false_refusal_rate) / 2


def decide(questions: Iterable[dict[str, Any]], threshold: float) -> Outcome:
    """The confusion counts if answers scoring below ``threshold`` were refused too.

    >>> qs = [{"answerable": True, "refused": False, "evidence_score": 0.6},
    ...       {"answerable": False, "refused": False, "evidence_score": 0.3},
    ...       {"answerable": False, "refused": True, "evidence_score": 0.9}]
    >>> decide(qs, 0.4).counts["unanswerable_refused"]
    2
    """
    decided = [{**q, "refused": q["refused"] or q["evidence_score"] < threshold} for q in questions]
    return Outcome(threshold, refusal_confusion(decided))


def calibrate(
    questions: Sequence[dict[str, Any]], thresholds: Sequence[float] = THRESHOLDS
) -> float:
    """The threshold with the best balanced accuracy on ``questions``; when several tie, the
    middle one of the first tied run, the one farthest from the thresholds that do worse."""
    scores = [decide(questions, t).balanced_accuracy for t in thresholds]
    best = max(scores)
    first = scores.index(best)
    last = first
    while last + 1 < len(scores) and scores[last + 1] == best:
        last += 1
    return thresholds[(first + last) // 2]


def render(threshold: float, splits: Mapping[str, Sequence[dict[str, Any]]], fitted_on: str) -> str:
    """A Markdown report: the chosen threshold and the confusion matrix on each split."""
    parts = [
        f"# Refusal threshold: min_evidence = {threshold:.2f} (chosen on {fitted_on})",
        "",
    ]
    for name, questions in splits.items():
        outcome = decide(questions, threshold)
        tag = " (calibration split)" if name == fitted_on else ""
        parts += [
            f"## {name}{tag}: {len(questions)} questions",
            "",
            confusion_table(outcome.counts),
            "",
            f"Refusal on unanswerable {outcome.refusal_rate:.3f}; false refusal on answerable "
            f"{outcome.false_refusal_rate:.3f}; balanced accuracy {outcome.balanced_accuracy:.3f}.",
            "",
        ]
    return "\n".join(parts)
