"""Source references inside a document, made readable: the project's briefings cite the
national documents they summarise as ``[src: source-id, section]``. A manager should never see
that tag; at ingestion it becomes ``(Title of the source, section “section”)``, with the title
from the manifest (``corpus/sources.toml``), so a quote from a briefing names where its claim
comes from in words that can be checked.
"""

from __future__ import annotations

import re

from assistant.ingest.manifest import Manifest
from assistant.schemas import ParsedDocument

SOURCE_TAG = re.compile(r"\s?\[src:\s*([^\],\]]+?)\s*(?:,\s*([^\]]*?))?\s*\]")


def readable_reference(source_id: str, section: str | None, manifest: Manifest) -> str:
    """``(Title, section “X”)`` for a source id; an unknown id is named as written."""
    title = manifest.title_for_id(source_id) or source_id.replace("-", " ")
    return f" ({title}, section “{section}”)" if section else f" ({title})"


def make_references_readable(doc: ParsedDocument, manifest: Manifest) -> int:
    """Rewrite every ``[src: …]`` tag in the document's blocks; returns how many there were."""
    count = 0

    def replace(m: re.Match[str]) -> str:
        nonlocal count
        count += 1
        return readable_reference(m.group(1), (m.group(2) or "").strip() or None, manifest)

    for block in doc.blocks:
        if "[src:" in block.text:
            block.text = SOURCE_TAG.sub(replace, block.text)
    return count
