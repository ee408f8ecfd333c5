"""Page numbers left on lines of their own by a conversion that kept no page markers.

A converted document often shows its printed page numbers as lines of their own ("7", or "### 8"
where the converter took one for a heading). They are page furniture, and they are also the only
record of where each page ends: :func:`page_number_run` finds them, and
:func:`assistant.ingest.repair.strip_running_heads` drops them and numbers the pages from them.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

__all__ = ["page_number_run"]

# A run of lone numbers is read as page numbers when it has at least FOLIO_MIN_RUN members,
# each larger than the one before by at most FOLIO_MAX_STEP (a page number glued to a line of
# text is missed) and at least FOLIO_MIN_LINES non-blank lines after it (a page holds text),
# and when it names at least FOLIO_MIN_SHARE of the pages from its first to its last. A shorter
# run counts when its numbers follow one another exactly, a page of text apart.
FOLIO_MIN_RUN = 5
FOLIO_MAX_STEP = 4
FOLIO_MIN_LINES = 2
FOLIO_MIN_SHARE = 0.6
FOLIO_SHORT_RUN_LINES = 12  # non-blank lines between the members of a shorter run, at least
_LONE_FOLIO = re.compile(r"^\s*(?:#{1,6}\s*)?(\d{1,3})\s*$")


def page_number_run(lines: Sequence[str]) -> dict[int, int]:
    """Lines that are page numbers in a conversion without page markers: {index: number}.

    A page number left on its own line ("7", or "### 8" where the converter took it for a
    heading) is told from a number in the text by the company it keeps: the longest chain of
    such lines whose numbers rise with the document, a page or a few apart, with a page of text
    between each. Bold numbers ("**6**") are chapter numbers and never count. Linear time: each
    number extends the best chain ending at one of the few numbers just below it. A document
    with "Page 2 of 28" markers has its pages from them: the caller does not ask.
    """
    best: dict[int, tuple[int, int, int]] = {}  # number -> (length, line, filled lines before)
    links: dict[int, int] = {}  # line -> the line before it in its chain
    filled = 0
    for i, line in enumerate(lines):
        m = _LONE_FOLIO.match(line)
        if m:
            number = int(m.group(1))
            length, prev = 1, -1
            for step in range(1, FOLIO_MAX_STEP + 1):
                before = best.get(number - step)
                if before and filled - before[2] >= FOLIO_MIN_LINES and before[0] + 1 > length:
                    length, prev = before[0] + 1, before[1]
            if length >= best.get(number, (0, -1, 0))[0]:
                best[number] = (length, i, filled)
                links[i] = prev
        if line.strip():
            filled += 1
    if not best:
        return {}
    length, end, _ = max(best.values())
    run: dict[int, int] = {}
    while end >= 0:
        run[end] = int(_LONE_FOLIO.match(lines[end]).group(1))  # type: ignore[union-attr]
        end = links[end]
    if length < FOLIO_MIN_RUN and not _short_folio_run(run, lines):
        return {}
    numbers = run.values()
    if len(run) < FOLIO_MIN_SHARE * (max(numbers) - min(numbers) + 1):
        return {}
    return run


def _short_folio_run(run: dict[int, int], lines: Sequence[str]) -> bool:
    """A run too short to go by its length (a short document shows few page numbers) counts
    when its numbers follow one another exactly, each a full page of text after the last."""
    at = sorted(run)
    if len(at) < 2:
        return False
    for a, b in itertools.pairwise(at):
        filled = sum(1 for line in lines[a + 1 : b] if line.strip())
        if run[b] != run[a] + 1 or filled < FOLIO_SHORT_RUN_LINES:
            return False
    return True
