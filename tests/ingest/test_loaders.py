"""Loaders: synthetic documents of every type, the error messages, and the real corpus."""

from __future__ import annotations

import io
import time
import zipfile
from collections.abc import Sequence
from functools import cache
from pathlib import Path

import pytest
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject, NumberObject

from assistant.errors import DocumentError
from assistant.ingest.loaders import MAX_DOCX_ENTRIES, load_bytes, load_document
from assistant.schemas import Block, ParsedDocument

# --------------------------------------------------------------------------------------------
# Helpers


def make_pdf(
    pages: Sequence[Sequence[tuple[float, str]]],
    title: str | None = None,
    outline: tuple[tuple[str, int], ...] = (),
    password: str | None = None,
) -> bytes:
    """A PDF whose pages hold the given (font size, line) pairs, set in Helvetica."""
    writer = PdfWriter()
    font = DictionaryObject(
        {
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        }
    )
    for lines in pages:
        page = writer.add_blank_page(612, 792)
        page[NameObject("/Resources")] = DictionaryObject(
            {NameObject("/Font"): DictionaryObject({NameObject("/F1"): font})}
        )
        y, ops = 740.0, []
        for size, text in lines:
            escaped = text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")
            ops.append(f"BT /F1 {size} Tf 72 {y:.1f} Td ({escaped}) Tj ET")
            y -= size * 1.5
        stream = DecodedStreamObject()
        stream.set_data("\n".join(ops).encode("latin-1"))
        page.replace_contents(stream)  # type: ignore[arg-type]  # a decoded stream works too
    for text, page_number in outline:
        writer.add_outline_item(title=text, page_number=page_number)
    if title is not None:
        writer.add_metadata({"/Title": title, "/CreationDate": "D:20240315120000+00'00'"})
    if password:
        writer.encrypt(password)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


BODY = [
    "Integrated teams in Example Town now meet every week to plan care for",
    "older people with frailty, and the plan sets out how they will share records.",
    "Each team has a named coordinator who agrees actions with the family.",
]


def sample_pdf(title: str = "Report template", **kwargs: object) -> bytes:
    """Four pages: a cover in large type, then pages with a running header and a footer."""
    pages = [
        [(26, "A Plan for Better Care"), (26, "in Example Town"), (12, "Spring 2024")],
        [(10, "Example Town care plan"), (16, "Introduction"), *[(11, t) for t in BODY], (10, "2")],
        [
            (10, "Example Town care plan"),
            (16, "Next steps"),
            (11, "Teams will meet in May."),
            (10, "3"),
        ],
        [(10, "Example Town care plan"), (11, "Budgets are agreed each spring."), (10, "4")],
    ]
    outline = (("Introduction", 1), ("Next steps", 2))
    return make_pdf(pages, title=title, outline=outline, **kwargs)  # type: ignore[arg-type]


def make_docx(build: object = None) -> bytes:
    import docx

    document = docx.Document()
    document.core_properties.title = "Example Board Paper"
    document.core_properties.author = "Example Trust"
    document.add_heading("Example Board Paper", level=0)
    document.add_heading("Purpose", level=1)
    document.add_paragraph("This paper asks the board to note progress on discharge.")
    document.add_paragraph("Shorter stays", style="List Bullet")
    document.add_heading("Figures", level=2)
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text, table.cell(0, 1).text = "Measure", "Value"
    table.cell(1, 0).text, table.cell(1, 1).text = "Delayed discharges", "120"
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def texts(doc: ParsedDocument, kind: str | None = None) -> list[str]:
    return [b.text for b in doc.blocks if kind is None or b.kind == kind]


def headings(doc: ParsedDocument) -> list[tuple[int, str]]:
    return [(b.level, b.text) for b in doc.blocks if b.kind == "heading"]


# --------------------------------------------------------------------------------------------
# Markdown


def test_markdown_headings_lists_tables_and_inline_markup() -> None:
    text = (
        "# Example care plan\n\n"
        "Intro with a [link](https://example.org) and **bold** words.[^1]\n\n"
        "## Aims\n\n"
        "- first aim\n"
        "- second aim\n\n"
        "| Measure | Value |\n|---|---|\n| Waits | 12 |\n\n"
        "[^1]: [A source](https://example.org/source)\n"
    )
    doc = load_bytes(text.encode(), "plan.md", "plan")
    assert doc.meta.title == "Example care plan"
    assert headings(doc) == [(1, "Example care plan"), (2, "Aims")]
    assert "Intro with a link and bold words." in texts(doc, "paragraph")
    assert texts(doc, "list_item") == ["first aim", "second aim"]
    assert texts(doc, "table") == ["Measure | Value\nWaits | 12"]
    assert "[1] A source (https://example.org/source)" in texts(doc)


def test_markdown_bold_lines_are_headings_and_split_titles_are_joined() -> None:
    text = (
        "**2025/26 example planning and **\n\n**operational guidance **\n\n"
        "**Why change is needed**\n\n"
        "Systems should plan together \\(see annex\\).\n\n"
        "**Table 1: Measures**\n\n**Measure**\n\n**Target**\n\n"
        "Waits fall every year.\n"
    )
    doc = load_bytes(text.encode(), "guide.md", "guide")
    assert doc.meta.title == "2025/26 example planning and operational guidance"
    assert headings(doc) == [
        (1, "2025/26 example planning and operational guidance"),
        (2, "Why change is needed"),
    ]
    assert "Systems should plan together (see annex)." in texts(doc)
    assert "Measure" in texts(doc, "paragraph")  # a run of bold table headers is no heading


def test_markdown_table_of_contents_is_dropped() -> None:
    text = (
        "**Example guidelines**\n\n**Content**\n\nWhy act now\n\nWhat to do\n\n"
        "**Why act now**\n\nBecause waits are long and rising across the region.\n\n"
        "**What to do**\n\nPlan neighbourhood teams with local partners.\n"
    )
    doc = load_bytes(text.encode(), "g.md", "g")
    assert headings(doc) == [(1, "Example guidelines"), (2, "Why act now"), (2, "What to do")]
    assert "Why act now" not in texts(doc, "paragraph")


def test_markdown_document_outline_gives_headings_and_levels() -> None:
    text = (
        "**Example briefing**\n\nContents\n\n1 \n\nCosts \n\n3\n\n"
        "**1** \n\n**Costs **\n\nCosts rose in every region last year.\n\n"
        "1.1 \n\nWhy costs rose so \n\nquickly? \n\nDemand grew faster than funding.\n\n"
        "# Document Outline\n\n+ 1 Costs \n\t+ 1.1 Why costs rose so quickly? \n"
    )
    doc = load_bytes(text.encode(), "b.md", "b")
    assert headings(doc) == [(1, "1 Costs"), (2, "1.1 Why costs rose so quickly?")]
    assert "Document Outline" not in " ".join(texts(doc))
    assert texts(doc, "paragraph")[-1] == "Demand grew faster than funding."
    assert doc.meta.title == "Example briefing"


def test_markdown_front_matter_title_and_broken_lines() -> None:
    text = (
        '---\ntitle: "Example paper"\n---\n\n## Summary\n\n'
        "The teams agreed that the new service should be\n\n"
        "available to everyone who needs it.\n"
    )
    doc = load_bytes(text.encode(), "p.md", "p")
    assert doc.meta.title == "Example paper"
    assert texts(doc, "paragraph") == [
        "The teams agreed that the new service should be available to everyone who needs it."
    ]


def test_markdown_repairs_lost_ligatures_only_when_the_document_has_them() -> None:
    damaged = (
        "# Example\n\nTeams wil col aborate with al partners. It is chal enging but "
        "wel understood, and clinical y led.\n"
    )
    doc = load_bytes(damaged.encode(), "d.md", "d")
    assert texts(doc, "paragraph") == [
        "Teams will collaborate with all partners. It is challenging but well understood, "
        "and clinically led."
    ]
    correct = (
        "# Example\n\nThe local hospital in Bristol will help all wards (Smith et al. 2020).\n"
    )
    assert texts(load_bytes(correct.encode(), "c.md", "c"), "paragraph") == [
        "The local hospital in Bristol will help all wards (Smith et al. 2020)."
    ]


def test_markdown_keeps_prose_in_other_languages_and_drops_conversion_debris() -> None:
    # Invented text: a Welsh and a Polish paragraph beside English guidance, then a reference
    # whose web address the conversion broke apart and a run of table fragments.
    text = (
        "# Ward guidance\n\n"
        "Record every absence on the rostering system on the first day.\n\n"
        "Rhaid cofnodi pob absenoldeb ar y system rota ar y diwrnod cyntaf un.\n\n"
        "Każdą nieobecność należy zapisać w systemie grafików już pierwszego dnia.\n\n"
        "wp\u2011 conte nt/ uploa ds/ 2021/ 02/ works hop\u2011 serie report.\n\n"
        "local healthcar sionals membe ommunit\n"
    )
    paragraphs = texts(load_bytes(text.encode(), "g.md", "g"), "paragraph")
    assert paragraphs[0].startswith("Record every absence")
    assert any(p.startswith("Rhaid cofnodi") for p in paragraphs)  # Welsh, no accents
    assert any(p.startswith("Każdą nieobecność") for p in paragraphs)  # Polish
    assert not any("conte nt" in p or "healthcar" in p for p in paragraphs)


# --------------------------------------------------------------------------------------------
# Plain text


def test_text_headings_from_short_lines() -> None:
    text = (
        "Example briefing on local care\n"
        "The moment\n"
        "Leaders across the region have agreed a shared plan for care closer to home.\n"
        "- first action\n"
        "Next steps\n"
        "The plan will be reviewed after six months by all partners involved.\n"
    )
    doc = load_bytes(text.encode(), "b.txt", "b")
    assert doc.meta.title == "Example briefing on local care"
    assert headings(doc) == [
        (1, "Example briefing on local care"),
        (2, "The moment"),
        (2, "Next steps"),
    ]
    assert texts(doc, "list_item") == ["first action"]


def test_text_accepts_utf8_and_utf16_byte_order_marks() -> None:
    text = "Title line\nA sentence about care that is long enough to be a paragraph.\n"
    for data in (b"\xef\xbb\xbf" + text.encode(), text.encode("utf-16")):
        doc = load_bytes(data, "t.txt", "t")
        assert doc.meta.title == "Title line"


# --------------------------------------------------------------------------------------------
# HTML


def test_html_blocks_title_and_dropped_elements() -> None:
    html = """<!doctype html><html><head><title>Example page</title>
    <meta name="date" content="2024-05-01"><style>p {color: red}</style></head>
    <body><nav><a href="/">Home</a></nav><script>var x = 1;</script>
    <h1>Example page</h1><p>First <b>paragraph</b> here.</p>
    <h2>Actions</h2><ul><li>Plan <ul><li>Nested step</li></ul></li><li>Review</li></ul>
    <table><tr><th>Measure</th><th>Value</th></tr><tr><td>Waits</td><td>12</td></tr></table>
    </body></html>"""
    doc = load_bytes(html.encode(), "page.html", "page")
    assert doc.meta.title == "Example page"
    assert doc.meta.date == "2024-05-01"
    assert headings(doc) == [(1, "Example page"), (2, "Actions")]
    assert texts(doc, "paragraph") == ["First paragraph here."]
    assert texts(doc, "list_item") == ["Plan", "Nested step", "Review"]
    assert texts(doc, "table") == ["Measure | Value\nWaits | 12"]
    assert "var x" not in " ".join(texts(doc)) and "Home" not in texts(doc)


def test_html_entity_bomb_is_refused_without_expanding_it() -> None:
    levels = ['<!ENTITY a0 "boom">']
    for n in range(1, 10):
        levels.append(f'<!ENTITY a{n} "{"".join(f"&a{n - 1};" for _ in range(10))}">')
    html = f"<!DOCTYPE html [{''.join(levels)}]><html><body><p>Safe &a9; text</p></body></html>"
    start = time.perf_counter()
    with pytest.raises(DocumentError, match=r"declares XML entities .*billion laughs"):
        load_bytes(html.encode(), "bomb.html", "bomb")
    assert time.perf_counter() - start < 2


def test_html_internal_dtd_without_entities_is_dropped_and_the_page_read() -> None:
    html = b'<?xml version="1.0"?><!DOCTYPE html [ <!ATTLIST p x CDATA "y"> ]><html><body><p>Kept.</p></body></html>'
    assert texts(load_bytes(html, "dtd.html", "dtd")) == ["Kept."]


def test_html_of_only_scripts_and_styles_says_so() -> None:
    html = b"<html><head><style>p { color: red }</style></head><body><script>var x = 1;</script></body></html>"
    with pytest.raises(DocumentError, match="only scripts, styles"):
        load_bytes(html, "s.html", "s")


def test_html_content_behind_a_markdown_extension_is_read_as_html() -> None:
    html = b"<!DOCTYPE html><html><body><h1>Hello</h1><p>World of care.</p></body></html>"
    doc = load_bytes(html, "page.md", "page")
    assert headings(doc) == [(1, "Hello")]


# --------------------------------------------------------------------------------------------
# DOCX


def test_docx_headings_lists_tables_and_properties() -> None:
    doc = load_bytes(make_docx(), "paper.docx", "paper")
    assert doc.meta.title == "Example Board Paper"
    assert doc.meta.publisher == "Example Trust"
    assert doc.meta.date is not None
    assert headings(doc) == [(1, "Example Board Paper"), (1, "Purpose"), (2, "Figures")]
    assert texts(doc, "list_item") == ["Shorter stays"]
    assert texts(doc, "table") == ["Measure | Value\nDelayed discharges | 120"]


def test_docx_zip_bomb_is_refused_before_parsing() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", b"<a>" + b"0" * 20_000_000 + b"</a>")
    with pytest.raises(DocumentError, match="zip bomb"):
        load_bytes(buffer.getvalue(), "bomb.docx", "bomb")


def test_docx_with_too_many_entries_is_refused_before_listing_them() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("word/document.xml", "<a/>")
        for i in range(MAX_DOCX_ENTRIES):
            archive.writestr(f"x/{i}", b"")
    with pytest.raises(DocumentError, match=r"lists 10,001 entries .*zip bomb"):
        load_bytes(buffer.getvalue(), "many.docx", "many")


def test_docx_part_declaring_a_dtd_is_refused_before_parsing() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(make_docx())) as source, zipfile.ZipFile(buffer, "w") as out:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "word/styles.xml":
                data = data.replace(b"?>", b'?><!DOCTYPE w:styles [<!ENTITY e "x">]>', 1)
            out.writestr(info, data)
    with pytest.raises(DocumentError, match=r"word/styles\.xml declares a DTD"):
        load_bytes(buffer.getvalue(), "dtd.docx", "dtd")


def test_password_protected_word_file_is_named_as_such() -> None:
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)
    with pytest.raises(DocumentError, match=r"password-protected Word document or an old \.doc"):
        load_bytes(ole, "locked.docx", "locked")


# --------------------------------------------------------------------------------------------
# PDF


def test_pdf_outline_pages_headers_and_title_from_the_cover() -> None:
    doc = load_bytes(sample_pdf(), "plan.pdf", "plan")
    assert doc.meta.title == "A Plan for Better Care in Example Town"  # not "Report template"
    assert doc.meta.date == "2024-03-15"
    assert doc.meta.pages == 4
    assert headings(doc) == [(1, "Introduction"), (1, "Next steps")]
    assert all(b.page is not None for b in doc.blocks)
    body = [b for b in doc.blocks if b.kind == "paragraph"]
    assert body[0].text == " ".join(BODY) and body[0].page == 2
    # The cover's lines are a label, kept out of the quotable text (the title is in the metadata).
    assert [b.page for b in doc.blocks if b.kind == "caption"] == [1]
    assert not any("Example Town care plan" in b.text for b in doc.blocks)
    assert [b.page for b in doc.blocks if b.kind == "heading"] == [2, 3]


def test_pdf_metadata_title_is_used_when_meaningful() -> None:
    doc = load_bytes(sample_pdf(title="Better care in Example Town"), "plan.pdf", "plan")
    assert doc.meta.title == "Better care in Example Town"


def test_pdf_without_outline_takes_headings_from_font_size() -> None:
    pages = [
        [(24, "Example Review")],
        [(18, "Findings"), *[(11, t) for t in BODY]],
        [(18, "Recommendations"), (11, "Fund the coordinators for three more years.")],
    ]
    doc = load_bytes(make_pdf(pages), "r.pdf", "r")
    assert headings(doc) == [(1, "Findings"), (1, "Recommendations")]
    assert doc.meta.title == "Example Review"


def test_overrides_from_the_manifest_win() -> None:
    overrides = {
        "title": "Manifest title",
        "publisher": "Example Council",
        "date": "2024-01-31",
        "source_url": "https://example.org/plan",
        "licence": "OGL-UK-3.0",
        "themes": ["neighbourhood health"],
    }
    doc = load_bytes(sample_pdf(), "plan.pdf", "plan", overrides)
    meta = doc.meta
    assert (meta.title, meta.publisher, meta.date) == (
        "Manifest title",
        "Example Council",
        "2024-01-31",
    )
    assert meta.source_url == "https://example.org/plan" and meta.licence == "OGL-UK-3.0"
    assert meta.themes == ["neighbourhood health"]
    assert meta.sha256 and meta.file_name == "plan.pdf" and meta.doc_id == "plan"


def test_load_document_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "note.md"
    path.write_text("# Note\n\nA short note about discharge planning.\n", encoding="utf-8")
    doc = load_document(path, "note")
    assert doc.meta.file_name == "note.md" and texts(doc, "paragraph")


# --------------------------------------------------------------------------------------------
# Errors: one clear line each


ERRORS = {
    "corrupt pdf": (b"%PDF-1.7\n" + b"\x00garbage\x13" * 40, "x.pdf", "corrupt or truncated PDF"),
    "not a pdf": (b"hello, not a pdf at all", "x.pdf", "not a PDF"),
    "empty": (b"", "x.md", "empty file"),
    "blank": (b"  \n\n ", "x.txt", "empty file"),
    "nul bytes": (b"# Title\n\x00\x01\x02binary", "x.md", "binary content"),
    "utf-16 without bom": (
        "Theatre lists are agreed.".encode("utf-16-le"),
        "x.txt",
        "UTF-16 text without a byte order mark",
    ),
    "cp1252": (
        "Caf\u00e9 costs \u2013 \u00a35".encode("cp1252"),
        "x.txt",
        r"not UTF-8 text: invalid byte 0xe9 at offset 3",
    ),
    "unsupported": (b"a,b\n1,2\n", "x.csv", "unsupported file type .csv"),
    "docx not zip": (b"plain text", "x.docx", "not a .docx file"),
    "zip behind md": (b"PK\x03\x04rest", "x.md", "binary content"),
}


@pytest.mark.parametrize("case", list(ERRORS))
def test_unreadable_files_raise_one_line_document_errors(case: str) -> None:
    data, name, message = ERRORS[case]
    with pytest.raises(DocumentError, match=message) as info:
        load_bytes(data, name, "x")
    assert "\n" not in str(info.value)


def test_a_few_stray_nul_and_control_bytes_in_text_are_dropped() -> None:
    data = b"# Notes\n\nBeds are\x00 reviewed\x1b daily by the " + b"ward team. " * 40
    doc = load_bytes(data, "n.md", "n")
    assert texts(doc, "paragraph")[0].startswith("Beds are reviewed daily by the ward team.")
    assert not any(ch in "".join(texts(doc)) for ch in "\x00\x1b")


def test_a_100000_letter_word_loads_in_linear_time() -> None:
    started = time.perf_counter()
    doc = load_bytes(b"Intro line.\n" + b"a" * 100_000 + b"\n", "w.txt", "w")
    assert time.perf_counter() - started < 3  # quadratic regex backtracking took minutes
    assert sum(len(t) for t in texts(doc)) >= 100_000


def test_truncated_pdf() -> None:
    data = sample_pdf()
    with pytest.raises(DocumentError, match="corrupt or truncated PDF") as info:
        load_bytes(data[: len(data) // 2], "t.pdf", "t")
    assert "\n" not in str(info.value)


def test_encrypted_pdf() -> None:
    with pytest.raises(DocumentError) as info:
        load_bytes(sample_pdf(password="secret"), "e.pdf", "e")
    assert str(info.value) == "encrypted PDF: remove the password and ingest again"


def test_pdf_of_blank_pages_says_they_are_blank() -> None:
    with pytest.raises(DocumentError, match="no text: all 2 pages of the PDF are blank"):
        load_bytes(make_pdf([[], []]), "b.pdf", "b")


def test_pdf_of_images_only_is_refused_as_scanned() -> None:
    writer = PdfWriter()
    page = writer.add_blank_page(612, 792)
    image = DecodedStreamObject()
    image.set_data(bytes(3 * 4 * 4))
    image.update(
        {
            NameObject("/Type"): NameObject("/XObject"),
            NameObject("/Subtype"): NameObject("/Image"),
            NameObject("/Width"): NumberObject(4),
            NameObject("/Height"): NumberObject(4),
            NameObject("/ColorSpace"): NameObject("/DeviceRGB"),
            NameObject("/BitsPerComponent"): NumberObject(8),
        }
    )
    page[NameObject("/Resources")] = DictionaryObject(
        {NameObject("/XObject"): DictionaryObject({NameObject("/Im1"): writer._add_object(image)})}
    )
    contents = DecodedStreamObject()
    contents.set_data(b"q 612 0 0 792 0 0 cm /Im1 Do Q")
    page.replace_contents(contents)  # type: ignore[arg-type]  # a decoded stream works too
    buffer = io.BytesIO()
    writer.write(buffer)
    with pytest.raises(DocumentError, match=r"no extractable text: .*scanned images"):
        load_bytes(buffer.getvalue(), "scan.pdf", "scan")


def test_pdf_page_that_inflates_past_the_limit_is_a_decompression_bomb(tmp_path: Path) -> None:
    from tests.reliability.hostile_files import write_pdf_flate_bomb

    data = write_pdf_flate_bomb(tmp_path).read_bytes()
    with pytest.raises(DocumentError, match=r"page 1's content expands past .*decompression bomb"):
        load_bytes(data, "bomb.pdf", "bomb")


def test_pdf_whose_page_tree_loops_is_corrupt(tmp_path: Path) -> None:
    from tests.reliability.hostile_files import write_page_tree_loop_pdf

    with pytest.raises(DocumentError, match=r"corrupt or truncated PDF: .*cyclic"):
        load_bytes(write_page_tree_loop_pdf(tmp_path).read_bytes(), "loop.pdf", "loop")


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DocumentError, match="cannot read the file"):
        load_document(tmp_path / "missing.md", "m")


# --------------------------------------------------------------------------------------------
# The real corpus


CORPUS_FILES = [
    "bmc-defining-integrated-neighbourhood-model-2025.md",
    "commons-library-nhs-productivity-cbp10313-2025.md",
    "dhsc-10-year-health-plan-executive-summary-2025.md",
    "hee-data-driven-healthcare-2030-full-report-2021.pdf",
    "hee-data-driven-healthcare-2030-summary-2021.pdf",
    "ippr-building-foundations-for-nhs-transformation-2025.txt",
    "nhse-board-paper-nhs-productivity-dec-2024.md",
    "nhse-medium-term-planning-framework-2026-27-to-2028-29.md",
    "nhse-neighbourhood-health-guidelines-2025-26.md",
    "nhse-oversight-framework-2025-26-methodology-manual.md",
    "nhse-planning-framework-2025.md",
    "nhse-priorities-operational-planning-guidance-2025-26.md",
    "operating-patterns-dynamic-nhs-2026.md",
    "operating-patterns-dynamic-nhs-2026.pdf",
]


@cache
def _load(corpus: Path, name: str) -> ParsedDocument:
    return load_document(corpus / name, Path(name).stem)


@pytest.mark.corpus
def test_corpus_lists_the_fourteen_files(shared_corpus: Path) -> None:
    assert sorted(p.name for p in shared_corpus.iterdir() if p.is_file()) == CORPUS_FILES


@pytest.mark.corpus
@pytest.mark.slow
@pytest.mark.parametrize("name", CORPUS_FILES)
def test_every_corpus_file_loads(shared_corpus: Path, name: str) -> None:
    doc = _load(shared_corpus, name)
    body: list[Block] = [b for b in doc.blocks if b.kind != "heading"]
    assert len(body) >= 10
    assert doc.meta.title and len(doc.meta.title) < 250
    assert any(b.kind == "heading" for b in doc.blocks)
    assert all(b.text.strip() == b.text and b.text for b in doc.blocks)
    if name.endswith(".pdf"):
        assert all(b.page is not None for b in doc.blocks)
        assert doc.meta.pages and max(b.page or 0 for b in doc.blocks) <= doc.meta.pages


@pytest.mark.corpus
@pytest.mark.slow
@pytest.mark.parametrize(
    "name",
    [
        "hee-data-driven-healthcare-2030-full-report-2021.pdf",
        "hee-data-driven-healthcare-2030-summary-2021.pdf",
    ],
)
def test_hee_titles_come_from_the_cover(shared_corpus: Path, name: str) -> None:
    title = _load(shared_corpus, name).meta.title
    assert title != "Report template"
    assert title.startswith("Data Driven Healthcare in 2030")


@pytest.mark.corpus
def test_markdown_conversions_with_page_markers_get_pages(shared_corpus: Path) -> None:
    for name in (
        "commons-library-nhs-productivity-cbp10313-2025.md",
        "bmc-defining-integrated-neighbourhood-model-2025.md",
    ):
        doc = _load(shared_corpus, name)
        pages = [b.page or 0 for b in doc.blocks]
        assert all(pages)
        assert pages == sorted(pages), f"{name}: pages go backwards"
