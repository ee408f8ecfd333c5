"""Example questions for first-time users, one or two per corpus theme.

Only themes that the indexed documents carry (``themes`` in corpus/sources.toml) are offered,
so the examples always point at something the corpus covers.
"""

from __future__ import annotations

from collections.abc import Iterable

EXAMPLES_BY_THEME: dict[str, list[str]] = {
    "neighbourhood health": [
        "How do I set up a neighbourhood health team?",
        "Which patients should neighbourhood health services focus on first?",
    ],
    "planning": ["What must my ICB submit in the five-year plan, and by when?"],
    "procurement": ["What does the plan expect from trusts on procurement?"],
    "digital": ["What does the plan say about the NHS App?"],
    "productivity": ["What is the NHS productivity growth target?"],
    "workforce": ["How will the plan support and retain NHS staff?"],
    "oversight": ["How are trusts placed into segments in the oversight framework?"],
    "prevention": ["What does the plan mean by the shift from sickness to prevention?"],
    "operating model": ["What will integrated care boards stop doing under the new model?"],
}
DEFAULT_EXAMPLES = [
    "What are the three shifts in the 10 Year Health Plan?",
    "How do I set up a neighbourhood health team?",
]
MAX_EXAMPLES = 6


def examples_for(themes: Iterable[str]) -> list[str]:
    """Example questions for the themes present, in the order above, at most MAX_EXAMPLES.

    >>> examples_for(["procurement"])
    ['What does the plan expect from trusts on procurement?']
    """
    present = {t.strip().lower() for t in themes}
    chosen = [q for theme, qs in EXAMPLES_BY_THEME.items() if theme in present for q in qs]
    return (chosen or DEFAULT_EXAMPLES)[:MAX_EXAMPLES]
