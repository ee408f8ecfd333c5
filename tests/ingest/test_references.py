"""Source references in the briefings become readable citations at ingestion."""

from __future__ import annotations

from pathlib import Path

from assistant.ingest.manifest import Manifest
from assistant.ingest.references import make_references_readable
from assistant.schemas import Block, DocumentMeta, ParsedDocument
from assistant.services import build_services
from tests.conftest import PROJECT_ROOT, fake_settings

MANIFEST = Manifest([{"id": "plan-2025", "title": "The Plan", "files": ["plan.md"]}])


def _doc(text: str) -> ParsedDocument:
    meta = DocumentMeta(doc_id="b", title="Briefing", file_name="b.md")
    return ParsedDocument(meta=meta, blocks=[Block(kind="paragraph", text=text)])


def test_a_source_tag_becomes_the_title_and_section_of_the_source() -> None:
    doc = _doc(
        "Waits must fall [src: plan-2025, 3.7 Workforce]. Teams form [src: plan-2025]. "
        "Others agree [src: unknown-report-2024, Part 2]."
    )
    assert make_references_readable(doc, MANIFEST) == 3
    assert doc.blocks[0].text == (
        "Waits must fall (The Plan, section “3.7 Workforce”). Teams form (The Plan). "
        "Others agree (unknown report 2024, section “Part 2”)."
    )


def test_no_briefing_passage_keeps_a_raw_tag(tmp_path: Path) -> None:
    services = build_services(fake_settings(tmp_path / "data", chroma__backend="memory"))
    report = services.ingest([PROJECT_ROOT / "corpus" / "briefings"])
    assert report.chunks > 0 and not report.failed
    texts = [
        c.text
        for info in services.documents.list()
        for c in services.store.get_chunks(services.store.get_document(info.doc_id).chunk_ids)  # type: ignore[union-attr]
    ]
    assert texts and not any("[src:" in t for t in texts)
    assert any("Medium term planning framework" in t and "section “" in t for t in texts)
