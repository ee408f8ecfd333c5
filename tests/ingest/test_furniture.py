"""Page furniture and tables: never in a chunk's quotable text, never spliced into a sentence.

Synthetic documents pin each rule (a running head and page numbers, a footnote block between two
pages, a caption, a cover, a table); the real corpus checks that what a reader would call
furniture is rare in prose chunks and that every table chunk reads as rows.
"""

from __future__ import annotations

import itertools
from functools import cache
from pathlib import Path

import pytest

from assistant.ingest.chunking import chunk_document
from assistant.ingest.loaders import load_bytes, load_document
from assistant.ingest.loaders.tables import (
    CELL_SEPARATOR,
    head_rows,
    rows_from_lines,
    table_runs,
)
from assistant.schemas import Chunk
from assistant.services import build_services
from tests.conftest import fake_settings
from tests.ingest.furniture_probe import count_furniture, source_running_lines
from tests.ingest.test_loaders import make_pdf

HEAD = "Example Trust workforce plan 2025"
_AREAS = ["north", "south", "east", "west", "central", "coastal", "rural"]
_VERBS = ["reviews", "publishes", "audits", "improves", "funds", "tracks", "explains", "shares"]
_TOPICS = ["rotas", "leave", "training", "appraisals", "recruitment", "retention", "sickness"]
_WITH = ["board", "union", "council", "director"]


def _sentence(page: int, k: int) -> str:
    """A distinct body sentence (repeated lines would be taken for running heads)."""
    i = page * 3 + k
    return (
        f"Each {_AREAS[page % 7]} team {_VERBS[i % 8]} its {_TOPICS[(i + k) % 7]} "
        f"with the {_WITH[k % 4]}."
    )


def _page(number: int, body: list[str]) -> list[str]:
    """One converted page: the running head, the body, the page number on its own line."""
    return [HEAD, "", *body, "", str(number), ""]


def _plan_markdown() -> str:
    """Six pages with a cover, a running head and page numbers; a sentence runs from page 1 to
    page 2 over a footnote block; page 2 holds a figure's caption between two paragraphs."""
    lines = ["Research Briefing", "", "23 July 2025", "", "# Example Trust workforce plan", ""]
    lines += _page(
        1,
        [
            _sentence(1, 1),
            "",
            _sentence(1, 2)[:-1] + ".2",
            "",
            "The trust will expand community nursing1 across the three",
            "",
            "1 NHS England, Example community guidance, May 2024",
            "2 Example Trust (2023) Annual report",
        ],
    )
    lines += _page(
        2,
        [
            "localities by March 2026. Recruitment starts in the spring.",
            "",
            _sentence(2, 1),
            "",
            "Figure 3.1: Projected nurse supply by locality",
            "",
            "Vacancy rates fell in every locality last year.",
            "",
            _sentence(2, 2),
        ],
    )
    for n in range(3, 7):
        lines += _page(n, [_sentence(n, 1), "", _sentence(n, 2), "", _sentence(n, 3)])
    return "\n".join(lines)


def _chunks_of(data: bytes, name: str) -> list[Chunk]:
    doc = load_bytes(data, name, Path(name).stem)
    return chunk_document(doc, lambda text: len(text.split()), max_tokens=400)


def _prose(chunks: list[Chunk]) -> str:
    return "\n".join(c.text for c in chunks if c.kind == "text")


# --------------------------------------------------------------------------------------------
# Synthetic documents


def test_running_head_and_page_numbers_are_never_in_a_chunk() -> None:
    chunks = _chunks_of(_plan_markdown().encode(), "plan.md")
    prose = _prose(chunks)
    assert HEAD not in prose
    assert not any(line.strip().isdigit() for c in chunks for line in c.text.split("\n"))


def test_footnote_block_between_pages_is_left_out_and_the_sentence_reads_as_one() -> None:
    chunks = _chunks_of(_plan_markdown().encode(), "plan.md")
    text = "\n".join(c.text for c in chunks)
    assert "Example community guidance" not in text and "Annual report" not in text
    # The sentence the page break (and the notes) interrupted is one line of source text, and
    # the note marks went with their notes.
    sentence = "The trust will expand community nursing across the three localities by March 2026."
    assert sentence in text
    assert "nursing1" not in text and _sentence(1, 2) in text.split("\n")


def test_caption_and_cover_are_never_quotable_and_text_around_them_is_not_joined() -> None:
    chunks = _chunks_of(_plan_markdown().encode(), "plan.md")
    text = "\n".join(c.text for c in chunks)
    assert "Projected nurse supply" not in text
    assert "Research Briefing" not in text and "23 July 2025" not in text
    lines = text.split("\n")
    # The paragraphs on each side of the caption stay whole sentences of their own.
    assert "Vacancy rates fell in every locality last year." in lines
    assert _sentence(2, 1) in lines


def test_text_on_two_pages_is_not_joined_when_the_first_ended_its_sentence() -> None:
    chunks = _chunks_of(_plan_markdown().encode(), "plan.md")
    lines = "\n".join(c.text for c in chunks).split("\n")
    # Page 3 ends a sentence; page 4 opens a new one: neither runs into the other.
    assert _sentence(3, 3) in lines and _sentence(4, 1) in lines


def test_pdf_caption_and_footnote_stay_out_and_the_split_sentence_is_joined() -> None:
    pages = [
        [(24, "Example Trust workforce plan"), (12, "Spring 2025")],
        [
            (9, HEAD),
            (11, "Community teams meet every week to plan care for people at risk of"),
            (11, "admission, and they agree one plan per person with the family.1"),
            (11, "Figure 2: Admissions avoided by team, 2024"),
            (11, "Each team names a lead professional who keeps the plan up to date"),
            (11, "and shares it with the practice and the council."),
            (8, "1 NHS England, Example neighbourhood guidance, January 2025"),
            (9, "2"),
        ],
        *[
            [(9, HEAD), (11, _sentence(n, 1)), (11, _sentence(n, 2)), (9, str(n))]
            for n in range(3, 7)
        ],
    ]
    chunks = _chunks_of(make_pdf(pages), "plan.pdf")
    text = "\n".join(c.text for c in chunks)
    assert "Admissions avoided" not in text
    assert "Example neighbourhood guidance" not in text
    assert HEAD not in text and "Spring 2025" not in text
    # The cover's last line and the next page's first are not one sentence: never joined.
    assert any(line.startswith("Community teams meet") for line in text.split("\n"))
    assert (
        "Each team names a lead professional who keeps the plan up to date and shares it with "
        "the practice and the council." in text
    )


TABLE_MD = """# Activity plan

The plan sets the activity that each trust must deliver over the next three years.

| Measure | 2026/27 | 2028/29 |
|---|---|---|
| Elective activity | 103% | 107% |
| Cancer 62-day | 75% | 80% |
| Urgent care 4-hour |  | 82% |

Trusts report their progress against these figures every quarter to the board.
"""


def test_table_rows_keep_their_cells_and_never_share_a_chunk_with_prose() -> None:
    chunks = _chunks_of(TABLE_MD.encode(), "activity.md")
    tables = [c for c in chunks if c.kind == "table"]
    assert len(tables) == 1
    rows = tables[0].text.split("\n")
    assert "Measure | 2026/27 | 2028/29" in rows
    assert "Elective activity | 103% | 107%" in rows
    assert "Urgent care 4-hour |  | 82%" in rows  # an empty cell keeps the figure in its column
    assert "every quarter" not in tables[0].text and "three years" not in tables[0].text
    assert all("103%" not in c.text for c in chunks if c.kind == "text")


def test_a_flattened_table_is_rebuilt_as_rows() -> None:
    lines = [
        "The waiting list fell in every region last year.",
        "",
        "Table 2: Waiting list by region",
        "Region",
        "2023 2024 Change",
        "North 12,610 12,315 -2%",
        "Midlands 9,400 9,020 -4%",
        "South 7,745 7,801 +1%",
        "",
        "Regions publish their own figures each month.",
    ]
    runs = table_runs(lines, 80)
    assert runs == [(2, 8)]
    rows = rows_from_lines(lines[2:8])
    assert rows[0] == "Table 2: Waiting list by region"
    assert "North | 12,610 | 12,315 | -2%" in rows
    assert all(CELL_SEPARATOR in row for row in rows if row[0] in "NMS")


def test_a_table_chunk_reaches_the_answerer_marked_as_a_table(tmp_path: Path) -> None:
    folder = tmp_path / "corpus"
    folder.mkdir()
    (folder / "activity.md").write_text(TABLE_MD, encoding="utf-8")
    services = build_services(fake_settings(tmp_path / "data", chroma__backend="memory"))
    services.ingest([folder])
    hits = services.retrieve("Elective activity 2026/27 Cancer 62-day", k=5)
    kinds = {hit.text.split("\n")[0]: hit.kind for hit in hits}
    assert kinds.get("Measure | 2026/27 | 2028/29") == "table"
    assert all(hit.kind == "text" for hit in hits if CELL_SEPARATOR not in hit.text)


# --------------------------------------------------------------------------------------------
# The real corpus

CORPUS_TEXTS = [
    "commons-library-nhs-productivity-cbp10313-2025.md",
    "hee-data-driven-healthcare-2030-full-report-2021.pdf",
    "hee-data-driven-healthcare-2030-summary-2021.pdf",
    "nhse-medium-term-planning-framework-2026-27-to-2028-29.md",
    "nhse-neighbourhood-health-guidelines-2025-26.md",
    "nhse-oversight-framework-2025-26-methodology-manual.md",
    "nhse-planning-framework-2025.md",
    "nhse-priorities-operational-planning-guidance-2025-26.md",
    "operating-patterns-dynamic-nhs-2026.md",
    "operating-patterns-dynamic-nhs-2026.pdf",
]


@cache
def _corpus_chunks(corpus: Path, name: str) -> tuple[Chunk, ...]:
    doc = load_document(corpus / name, Path(name).stem)
    return tuple(chunk_document(doc, lambda text: len(text.split()) * 4 // 3, max_tokens=220))


# Lines of furniture a reader would notice, per 100 prose chunks, at most. The probe is written
# apart from the ingestion rules; a rule that stops working shows up here.
MAX_FURNITURE_PER_100 = {
    "page_number": 2,
    "running_head": 2,
    "publication": 1,
    "footnote": 6,
}


@pytest.mark.corpus
@pytest.mark.slow
@pytest.mark.parametrize("name", CORPUS_TEXTS)
def test_corpus_prose_chunks_hold_little_furniture(shared_corpus: Path, name: str) -> None:
    chunks = list(_corpus_chunks(shared_corpus, name))
    found = count_furniture(chunks, source_running_lines(shared_corpus / name))
    per_100 = {kind: 100 * found[kind] / len(chunks) for kind in MAX_FURNITURE_PER_100}
    assert all(per_100[k] <= limit for k, limit in MAX_FURNITURE_PER_100.items()), per_100


@pytest.mark.corpus
@pytest.mark.slow
def test_corpus_table_chunks_read_as_rows_and_hold_no_prose(shared_corpus: Path) -> None:
    tables = [
        c for name in CORPUS_TEXTS for c in _corpus_chunks(shared_corpus, name) if c.kind == "table"
    ]
    assert len(tables) >= 5  # the HEE reports and the oversight manual hold tables of figures
    for chunk in tables:
        rows = [row for row in chunk.text.split("\n") if row.strip()]
        body = rows[head_rows(rows) :]  # the caption and header lines may stand alone
        with_cells = [row for row in body if CELL_SEPARATOR in row]
        assert 2 * len(with_cells) >= len(body), chunk.text


@pytest.mark.corpus
@pytest.mark.slow
def test_corpus_cover_labels_are_not_quotable(shared_corpus: Path) -> None:
    name = "commons-library-nhs-productivity-cbp10313-2025.md"
    doc = load_document(shared_corpus / name, Path(name).stem)
    cover = [b.text for b in doc.blocks[:12] if b.kind == "caption"]
    assert cover, "the briefing's cover labels are marked"
    first = _corpus_chunks(shared_corpus, name)[0].text
    assert not any(label in first.split("\n") for label in cover)


def test_a_table_cut_in_two_repeats_its_header_not_its_rows() -> None:
    places = ["Ashby", "Brent", "Crewe", "Derby", "Ealing", "Frome", "Goole", "Hythe", "Ilford"]
    pairs = list(itertools.pairwise(places))
    rows = [f"{p} {q} | {100 + n}% | {90 + n}%" for n, (p, q) in enumerate(pairs)]
    rows += [f"{q} {p} | {110 + n}% | {80 + n}%" for n, (p, q) in enumerate(pairs)]
    text = (
        "# Activity\n\n| Locality | 2026/27 | 2028/29 |\n|---|---|---|\n"
        + "\n".join(f"| {r} |" for r in rows)
        + "\n"
    )
    doc = load_bytes(text.encode(), "activity.md", "activity")
    chunks = chunk_document(doc, lambda t: len(t.split()), max_tokens=60)
    tables = [c for c in chunks if c.kind == "table"]
    assert len(tables) >= 2
    for chunk in tables:
        assert chunk.text.split("\n")[0] == "Locality | 2026/27 | 2028/29"
    body = [row for c in tables for row in c.text.split("\n")[1:]]
    assert body == rows  # every row once, in order


def test_text_after_a_removed_page_number_is_not_read_into_the_finished_sentence() -> None:
    from assistant.schemas import Block, DocumentMeta, ParsedDocument
    from assistant.text.sentences import split_sentences

    # Column-interleaved text: page 4 ends a sentence, page 5 opens mid-column in lower case.
    blocks = [
        Block(kind="heading", text="Staff survey", level=1, page=4),
        Block(kind="paragraph", text="Boards have long known about these issues.", page=4),
        Block(kind="paragraph", text="a full analysis of all comments from the survey", page=5),
    ]
    doc = ParsedDocument(meta=DocumentMeta(doc_id="d", title="D", file_name="d.md"), blocks=blocks)
    (chunk,) = chunk_document(doc, lambda t: len(t.split()), max_tokens=200)
    assert split_sentences(chunk.text) == [
        "Boards have long known about these issues.",
        "a full analysis of all comments from the survey",
    ]
