"""Column-interleaved text: detected per block, flagged on the chunk, and carried to retrieval.

The synthetic passages are the project's own words, wrapped into two printed columns and read
across the page row by row, as a faulty PDF conversion does.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from assistant.ingest.chunking import chunk_document
from assistant.ingest.columns import assess, assess_blocks, mark_document
from assistant.ingest.loaders import load_document
from assistant.schemas import Block, Chunk, DocumentMeta, ParsedDocument
from assistant.store.base import chunk_metadata, decode_spans

LEFT = (
    "Each ward keeps a short record of who is on shift and which patients need a review before "
    "noon. The record is checked at the morning huddle by the nurse in charge. We ask every "
    "team to use the same form so that cover staff can read it at a glance. This saves time "
    "at handover and means fewer calls to the bleep holder. The form should be kept on the "
    "shared drive and updated by the end of each shift."
)
RIGHT = (
    "Managers should plan leave at least six weeks ahead and share the rota with the team. "
    "When two requests clash, the earlier request is granted unless the service would fall "
    "below safe staffing. In that case the manager offers another week. Our aim is a fair "
    "pattern across the year. The same rule applies to study leave and to time owed for "
    "extra shifts, which are logged on the rota system."
)
CLEAN = [LEFT, RIGHT]


def interleave(left: str, right: str, width: int = 44) -> str:
    """Two columns of ``width`` characters read across the page, one printed row at a time."""
    a, b = textwrap.wrap(left, width), textwrap.wrap(right, width)
    rows = [line for pair in zip(a, b, strict=False) for line in pair]
    longer = a if len(a) > len(b) else b
    return " ".join(rows + longer[min(len(a), len(b)) :])


def test_interleaved_blocks_are_flagged_on_their_own() -> None:
    """A lone block is judged on its own marks: most are caught, a few show only one mark."""
    flagged = 0
    for width in range(36, 52, 2):
        for left, right in ((LEFT, RIGHT), (RIGHT, LEFT)):
            text = interleave(left, right, width)
            assert sorted(text.split()) == sorted((left + " " + right).split())
            verdict = assess(text)
            assert verdict.marks, width
            flagged += verdict.garbled
    assert flagged >= 12  # of 16 (measured: 13)


def test_a_document_of_interleaved_blocks_is_read_as_columnar() -> None:
    """One mark per block is enough once the document shows interleaving throughout."""
    blocks = [interleave(LEFT, RIGHT, w) for w in (38, 40, 44, 48)]
    blocks += [interleave(RIGHT, LEFT, w) for w in (38, 40, 44, 48)]
    verdicts = assess_blocks(blocks)
    assert all(v.columnar for v in verdicts)
    assert sum(v.garbled for v in verdicts) >= 7


def test_clean_prose_is_not_flagged() -> None:
    for text in CLEAN:
        assert not assess(text).garbled
    assert not any(v.garbled for v in assess_blocks(CLEAN))


@pytest.mark.parametrize(
    "pair",
    [
        "the service The King's Fund said",  # a name, not an opener
        "see e.g. the guidance",  # an abbreviation's full stop
        "a community-based model",  # a compound
        "the NHS Plan sets out",  # capitals that are names
    ],
)
def test_legitimate_patterns_are_not_marks(pair: str) -> None:
    assert assess(pair).marks == []


def _doc(blocks: list[Block]) -> ParsedDocument:
    meta = DocumentMeta(doc_id="d", title="Staffing note", file_name="d.md")
    return ParsedDocument(meta=meta, blocks=blocks)


def test_the_flag_reaches_the_chunk_its_spans_and_its_metadata() -> None:
    garbled = interleave(LEFT, RIGHT)
    doc = _doc(
        [
            Block(kind="heading", text="Rotas", level=1),
            Block(kind="paragraph", text=LEFT),
            Block(kind="paragraph", text=garbled),
        ]
    )
    assert mark_document(doc) == 1
    assert [b.garbled for b in doc.blocks] == [False, False, True]
    chunks = chunk_document(doc, lambda t: len(t.split()), max_tokens=400)
    assert len(chunks) == 1
    chunk = chunks[0]
    assert chunk.garbled  # more than half of its characters are interleaved
    [(start, end)] = chunk.garbled_spans
    assert chunk.text[start:end] == garbled
    assert LEFT in chunk.text[:start]
    md = chunk_metadata(doc.meta, chunk)
    assert md["garbled"] is True and decode_spans(md["garbled_spans"]) == [(start, end)]


def test_clean_chunks_keep_their_metadata_as_before() -> None:
    doc = _doc([Block(kind="paragraph", text=LEFT), Block(kind="paragraph", text=RIGHT)])
    assert mark_document(doc) == 0
    chunk = chunk_document(doc, lambda t: len(t.split()))[0]
    assert not chunk.garbled and chunk.garbled_spans == []
    md = chunk_metadata(doc.meta, chunk)
    assert "garbled" not in md and "garbled_spans" not in md


def test_retrieval_reads_the_flag_back() -> None:
    from assistant.retrieval.pipeline import _to_retrieved
    from assistant.store.base import StoredChunk

    chunk = Chunk(chunk_id="d:1", doc_id="d", ordinal=0, text="x" * 50, garbled=True,
                  garbled_spans=[(0, 50)])  # fmt: skip
    meta = DocumentMeta(doc_id="d", title="t", file_name="d.md")
    stored = StoredChunk("d:1", chunk.text, chunk_metadata(meta, chunk))
    got = _to_retrieved(stored, 1, 1.0, None, None)
    assert got.garbled and got.garbled_spans == [(0, 50)]
    plain = _to_retrieved(StoredChunk("d:2", "y", {"doc_id": "d"}), 2, 0.5, None, None)
    assert not plain.garbled and plain.garbled_spans == []


def test_cost_is_linear_in_the_text() -> None:
    import time

    text = "word " * 200_000  # 1 MB of one repeated word
    t0 = time.perf_counter()
    assess_blocks([text])
    assert time.perf_counter() - t0 < 10


# --------------------------------------------------------------------------------------------
# The real corpus: thresholds from measurements on it (see the module docstring of columns.py)

INTERLEAVED = [
    "nhse-medium-term-planning-framework-2026-27-to-2028-29.md",
    "dhsc-10-year-health-plan-executive-summary-2025.md",
    "bmc-defining-integrated-neighbourhood-model-2025.md",
]


def _flagged_share(path: Path) -> tuple[int, float]:
    doc = load_document(path, "x", {})
    mark_document(doc)
    text = [b for b in doc.blocks if b.kind in ("paragraph", "list_item")]
    chars = sum(len(b.text) for b in text)
    return sum(b.garbled for b in text), sum(len(b.text) for b in text if b.garbled) / chars


@pytest.mark.corpus
@pytest.mark.parametrize("name", INTERLEAVED)
def test_known_interleaved_documents_are_flagged(shared_corpus: Path, name: str) -> None:
    blocks, share = _flagged_share(shared_corpus / name)
    # Measured: 106, 35 and 55 blocks; 36%, 35% and 51% of the characters.
    assert blocks >= 20 and share >= 0.25


@pytest.mark.corpus
def test_clean_documents_are_almost_never_flagged(shared_corpus: Path) -> None:
    for path in sorted(shared_corpus.iterdir()):
        if path.name in INTERLEAVED:
            continue
        blocks, share = _flagged_share(path)
        # Measured: no block in any of the eleven.
        assert blocks <= 3 and share <= 0.02, (path.name, blocks, share)


# --------------------------------------------------------------------------------------------
# PDF pages whose content stream runs across both columns


def two_column_pdf(row_by_row: bool, width: int = 44) -> bytes:
    """One page, LEFT and RIGHT set in two columns; the stream writes each printed row across
    both columns (``row_by_row``) or one column after the other."""
    import io

    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    a, b = textwrap.wrap(LEFT, width), textwrap.wrap(RIGHT, width)
    items = [(0, i, 50, 750 - 14 * i, t) for i, t in enumerate(a)]
    items += [(1, i, 310, 750 - 14 * i, t) for i, t in enumerate(b)]
    items.sort(key=lambda it: (it[1], it[0]) if row_by_row else (it[0], it[1]))
    ops = ["BT /F1 10 Tf"] + [f"1 0 0 1 {x} {y} Tm ({t}) Tj" for _, _, x, y, t in items] + ["ET"]
    writer = PdfWriter()
    page = writer.add_blank_page(612, 792)
    font = DictionaryObject({NameObject("/Type"): NameObject("/Font"),
                             NameObject("/Subtype"): NameObject("/Type1"),
                             NameObject("/BaseFont"): NameObject("/Helvetica")})  # fmt: skip
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})}
    )
    stream = DecodedStreamObject()
    stream.set_data("\n".join(ops).encode("latin-1"))
    page.replace_contents(stream)  # type: ignore[arg-type]
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


@pytest.mark.parametrize("row_by_row", [True, False])
def test_two_column_pdf_is_read_column_by_column(tmp_path: Path, row_by_row: bool) -> None:
    path = tmp_path / "two-columns.pdf"
    path.write_bytes(two_column_pdf(row_by_row))
    doc = load_document(path, "two-columns", {})
    text = " ".join(b.text for b in doc.blocks)
    assert LEFT in text and RIGHT in text
    assert mark_document(doc) == 0


@pytest.mark.corpus
def test_real_pdfs_keep_their_page_text(shared_corpus: Path) -> None:
    """No page of the corpus's PDFs reads as interleaved columns, so none is re-read."""
    from pypdf import PdfReader

    from assistant.ingest.loaders.pdf_columns import reading_order

    for name in ("hee-data-driven-healthcare-2030-summary-2021.pdf",
                 "operating-patterns-dynamic-nhs-2026.pdf"):  # fmt: skip
        for page in PdfReader(shared_corpus / name).pages:
            text = page.extract_text() or ""
            assert reading_order(page, text) == text


def test_gutter_is_found_only_where_both_sides_hold_text() -> None:
    from assistant.ingest.loaders.pdf_columns import find_gutter, split_columns

    rows = min(len(textwrap.wrap(LEFT, 44)), len(textwrap.wrap(RIGHT, 44)))
    left, right = textwrap.wrap(LEFT, 44)[:rows], textwrap.wrap(RIGHT, 44)[:rows]
    layout = "\n".join(f"{a:<44}      {b}" for a, b in zip(left, right, strict=True))
    assert split_columns(layout) == "\n".join(left + right)
    assert find_gutter(textwrap.wrap(LEFT, 60)) is None  # one column: no gutter
    assert find_gutter(["x" * 5000, "y" * 5000]) is None  # too wide to scan


def test_in_a_long_two_column_document_a_long_paragraph_without_marks_is_flagged_too() -> None:
    # Most joins of two interleaved columns read plausibly: in a document that is plainly
    # two-column, a long paragraph with no mark is still taken for interleaved text.
    quiet = "Ward managers agree the rota with the staff side each month and publish it. " * 5
    blocks = [Block(kind="paragraph", text=interleave(LEFT, RIGHT)) for _ in range(40)]
    doc = _doc([*blocks, Block(kind="paragraph", text=quiet)])
    mark_document(doc)
    assert doc.blocks[-1].garbled
    # A short document's verdict does not reach its unmarked paragraphs.
    small = _doc(
        [Block(kind="paragraph", text=interleave(LEFT, RIGHT)), Block(kind="paragraph", text=quiet)]
    )
    mark_document(small)
    assert not small.blocks[-1].garbled


def _columnar_document(tail: list[Block]) -> ParsedDocument:
    """A long two-column document (so its verdict stands for every passage), then ``tail``."""
    body = [interleave(LEFT, RIGHT, w) for w in (38, 40, 42, 44, 46, 48)] * 5
    assert sum(map(len, body)) >= 20_000
    return _doc([Block(kind="paragraph", text=t) for t in body] + tail)


def test_short_blocks_that_run_on_are_judged_as_one_passage() -> None:
    """Interleaved bullets a few words long, with no sentence ending between them, are read
    back together by the sentence splitter: in a two-column document they are garbled."""
    words, lines = interleave(LEFT, RIGHT, 40).split(), [""]
    for word in words[:80]:  # lines of about eight words, none ending a sentence
        lines[-1] = f"{lines[-1]} {word}".strip()
        if len(lines[-1].split()) >= 8 and not word.endswith("."):
            lines.append("")
    bullets = [Block(kind="list_item", text=line) for line in lines if line]
    assert sum(len(b.text) for b in bullets) >= 150
    assert not any(b.text.rstrip().endswith(".") for b in bullets[:-1])
    doc = _columnar_document([Block(kind="heading", text="Quality", level=2), *bullets])
    mark_document(doc)
    assert all(b.garbled for b in bullets)


def test_short_complete_sentences_in_a_columnar_document_stay_quotable() -> None:
    """Only runs are joined: short blocks that each end a sentence are judged one by one."""
    short = [
        Block(kind="list_item", text="Each ward keeps a record of who is on shift."),
        Block(kind="list_item", text="Managers plan leave six weeks ahead."),
        Block(kind="paragraph", text="The rota is shared with the team."),
    ]
    doc = _columnar_document([Block(kind="heading", text="Rotas", level=2), *short])
    mark_document(doc)
    assert not any(b.garbled for b in short)
