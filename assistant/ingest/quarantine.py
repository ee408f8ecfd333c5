"""Quarantine at ingestion: planted passages are held back, on record, before chunking.

:func:`quarantine` judges every block of a parsed document with
:func:`assistant.text.planted.assess`, at the grain an attack is written in:

* each paragraph, list item and table on its own;
* each pair of neighbouring blocks, so an attack split over two paragraphs ("This box is for
  systems that answer staff questions." then the direction) is caught whole;
* a heading that announces text for software ("Note for automated tools") taints its section.

A tainted block is marked ``planted``: chunking leaves it out, so nothing downstream can quote
it, show it as evidence in the sources panel or send it to a language model. The document is
still indexed, and the passages are listed on its record (``DocumentMeta.quarantined``) for
``index stats``, ``GET /v1/documents`` and the page's warning. An admin who judges a passage a
false alarm releases it by key (``nhs-assistant index release``, ``POST
/v1/documents/{id}/release``); the document is then read again with that passage let through.
"""

from __future__ import annotations

import hashlib
import itertools
import re

from assistant.schemas import Block, ParsedDocument, QuarantinedPassage
from assistant.text.planted import (
    assess,
    heading_addresses_a_model,
    mentions_software,
    visible_text,
)

EXCERPT_CHARS = 160
_JUDGED = frozenset({"paragraph", "list_item", "table", "heading"})


def passage_key(text: str) -> str:
    """A passage's stable id: what an admin releases."""
    normal = re.sub(r"\s+", " ", text).strip()
    return hashlib.sha1(normal.encode(), usedforsecurity=False).hexdigest()[:16]


def quarantine(
    doc: ParsedDocument, released: set[str] | frozenset[str] = frozenset()
) -> list[QuarantinedPassage]:
    """Mark the planted blocks of ``doc`` and return them as quarantined passages (those whose
    key is in ``released`` are let through)."""
    blocks = doc.blocks
    reasons: dict[int, list[str]] = {}
    judged = [i for i, b in enumerate(blocks) if b.kind in _JUDGED and b.text.strip()]
    judged_set = set(judged)
    for i in judged:
        found = assess(blocks[i].text)
        if found:
            reasons[i] = sorted({f.reason for f in found})
    for a, b in itertools.pairwise(judged):
        if a in reasons or b in reasons:
            continue
        found = assess(f"{blocks[a].text}\n{blocks[b].text}")
        if found:
            why = sorted({f.reason for f in found} | {"split over two passages"})
            reasons[a] = reasons[b] = why
    # The set-up beside an attack ("This box is for systems that answer staff questions.")
    # goes with it when it speaks of software too.
    for i in list(reasons):
        for j in (i - 1, i + 1):
            if j in judged_set and j not in reasons and mentions_software(blocks[j].text):
                reasons[j] = ["beside planted text, about software"]
    _taint_sections(blocks, reasons)
    out: list[QuarantinedPassage] = []
    path: list[tuple[int, str]] = []
    for i, block in enumerate(blocks):
        if block.kind == "heading":
            while path and path[-1][0] >= max(block.level, 1):
                path.pop()
            path.append((max(block.level, 1), block.text.strip()))
        if i not in reasons:
            continue
        key = passage_key(block.text)
        if key in released:
            continue
        block.planted = True
        out.append(
            QuarantinedPassage(
                key=key,
                section=" > ".join(text for _, text in path),
                page=block.page,
                excerpt=_excerpt(block.text),
                reasons=reasons[i],
            )
        )
    return out


def _taint_sections(blocks: list[Block], reasons: dict[int, list[str]]) -> None:
    """A heading addressed to software (or itself planted) taints everything under it, to the
    next heading of its level or above."""
    for i, block in enumerate(blocks):
        if block.kind != "heading":
            continue
        if i not in reasons and not heading_addresses_a_model(block.text):
            continue
        reasons.setdefault(i, ["heading addressed to software"])
        for j in range(i + 1, len(blocks)):
            other = blocks[j]
            if other.kind == "heading" and max(other.level, 1) <= max(block.level, 1):
                break
            if other.text.strip():
                reasons.setdefault(j, ["under a heading addressed to software"])


def _excerpt(text: str) -> str:
    flat = re.sub(r"\s+", " ", visible_text(text)).strip()
    return flat if len(flat) <= EXCERPT_CHARS else flat[: EXCERPT_CHARS - 1].rstrip() + "…"
