"""Lifecycle metrics: is an answer taken from guidance that governs the period asked about, and
does every citation of a superseded or lapsed document carry its warning?

Rows of kind ``lifecycle`` say which documents answer for the period asked (``docs``), which
would be the wrong year's (``stale_docs``), which sort of question they are (``lifecycle``:
``period``, ``changed`` or ``superseded-only``), and may give the day they are asked on
(``as_of``). Other rows are not scored by ``period_correct``; ``unwarned_citations`` counts over
every answer.
"""

from __future__ import annotations

from datetime import date

from assistant.lifecycle import warning
from eval.dataset import Anchor, asked_on
from eval.metrics.registry import Metric, Sample, count, register, total


def _as_of(sample: Sample) -> date:
    return asked_on(sample.item) or date.today()


def _is_doc(doc_id: str, names: list[str]) -> bool:
    return doc_id.lower() in {n.lower() for n in names}


def period_correct(sample: Sample) -> float | None:
    """1 when a lifecycle question is answered from the right documents: for ``changed``, each
    document holding evidence is cited; otherwise the first citation is from ``docs``."""
    extra = sample.item.model_extra or {}
    kind = extra.get("lifecycle")
    if not kind:
        return None
    answer = sample.answer
    if answer.refused or not answer.citations:
        return 0.0
    cited = [c.doc_id for c in answer.citations]
    if kind == "changed":
        sides = {e.doc for e in sample.item.evidence if isinstance(e, Anchor)}
        sides = sides or set(sample.item.docs)
        return float(all(any(_is_doc(d, [side]) for d in cited) for side in sides))
    return float(_is_doc(cited[0], sample.item.docs))


def unwarned_citations(sample: Sample) -> float:
    """Citations of a superseded, withdrawn, historical or lapsed document (as of the row's day)
    that do not carry the warning a reader needs."""
    missing = 0
    for c in sample.answer.citations:
        meta = sample.documents.get(c.doc_id)
        if meta is not None and warning(meta, _as_of(sample)) and not c.document_warning:
            missing += 1
    return float(missing)


register(
    Metric(
        name="period_correct",
        label="period-correct",
        score=period_correct,
        over="answerable",
        per_question=True,
        chart=True,
        description="lifecycle questions answered from the documents governing the period asked "
        "(what-changed questions: each side cited)",
    )
)
register(
    Metric(
        name="unwarned_citations",
        label="unwarned stale citations",
        score=unwarned_citations,
        over="all",
        aggregate=total,
        fmt=count,
        better="lower",
        description="citations of superseded, withdrawn, historical or lapsed documents "
        "without their warning (target 0)",
    )
)
