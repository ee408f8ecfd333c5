"""Text repair: conversion defects are fixed, and correct text is left exactly as it was.

Example phrases are written for these tests; the real documents are only read at run time.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest

from assistant.ingest import repair
from assistant.ingest.chunking import chunk_document
from assistant.ingest.loaders import load_document
from assistant.schemas import Chunk

# A paragraph of correct English full of words the lost-"ll" repair must not touch.
CORRECT = (
    "All staff will see the plan. Smith et al. (2021) found that all wards in Bristol and "
    "the local hospital improved; see also Jones et al., 2019, e.g. in general practice.\n\n"
    "The long-term goal is well understood: a total of £1.5bn in 2025/26, rising to 4.2% by "
    "2028/29, i.e. an annual rise.\n\n"
    "Read more at https://www.example.org/al-services/full_report.pdf or email "
    "team@example.nhs.uk. Will it fall? Overall, yes: the model is usual, real and vital.\n\n"
    "Illness fell. Fuller, smaller, well-informed teams call it a skill; it is a local call."
)

# The same kind of text after a print-to-PDF conversion lost its "ll" ligatures.
DAMAGED = (
    "We wil deliver care for al parts of the system. It is chal enging to col aborate, and "
    "clinical y led model ing is needed overal . National y, a wel -informed view of il -health "
    "is ful y shared in the Ful er Stocktake. Al teams agree, as Smith et al reported. Providers "
    "should fol ow the smal er pilots and work with provider col aboratives."
)
REPAIRED = (
    "We will deliver care for all parts of the system. It is challenging to collaborate, and "
    "clinically led modelling is needed overall. Nationally, a well-informed view of ill-health "
    "is fully shared in the Fuller Stocktake. All teams agree, as Smith et al reported. Providers "
    "should follow the smaller pilots and work with provider collaboratives."
)


# --------------------------------------------------------------------------------------------
# Correct text is never touched


def test_repair_text_leaves_correct_text_byte_identical() -> None:
    assert repair.repair_text(CORRECT) == CORRECT


def test_correct_text_does_not_trigger_the_ligature_gate() -> None:
    assert not repair.has_lost_ll(CORRECT)
    assert repair.repair_lost_ll(CORRECT) == CORRECT


@pytest.mark.parametrize(
    "text",
    [
        "The hospital is in Bristol and all of it will be rebuilt.",
        "A long-term plan, e.g. for 2025/26, costs £1.5bn (see p. 4).",
        "Line one ends here.\n\nLine two starts here.",
        "# Heading\n\nBody text follows the heading.",
        "- first item\n- second item",
    ],
)
def test_small_correct_texts_are_unchanged(text: str) -> None:
    assert repair.repair_text(text) == text


# --------------------------------------------------------------------------------------------
# Defects are fixed


def test_lost_ll_ligatures_are_restored() -> None:
    assert repair.has_lost_ll(DAMAGED)
    assert repair.repair_lost_ll(DAMAGED) == REPAIRED


@pytest.mark.parametrize(
    ("damaged", "fixed"),
    [
        ("wil deliver", "will deliver"),
        ("al parts", "all parts"),
        # "et" inside a word is not "et al": "meet al health needs" lost its "ll" too.
        ("to meet al health needs", "to meet all health needs"),
        ("as Smith et al reported", "as Smith et al reported"),
        ("chal enging", "challenging"),
        ("col aborate", "collaborate"),
        ("clinical y", "clinically"),
        ("model ing", "modelling"),
        ("wel -informed", "well-informed"),
        ("il -health", "ill-health"),
        ("ful y", "fully"),
        ("Ful er Stocktake", "Fuller Stocktake"),
        ("Al organisations", "All organisations"),
        ("the overal picture", "the overall picture"),
        ("et al found", "et al found"),
    ],
)
def test_single_ligature_repairs(damaged: str, fixed: str) -> None:
    assert repair.repair_lost_ll(damaged, force=True) == fixed


def test_ligature_repair_is_gated_on_the_defect() -> None:
    # One odd token in otherwise correct text is not enough evidence to change anything.
    text = "The team wil meet again. Everything else here is spelled correctly."
    assert repair.repair_lost_ll(text) == text


def test_markdown_escapes_are_removed() -> None:
    text = r"Boards \(ICBs\) see \[12\] and \#tag, file\_name, 5\* rating, A\-B, end\. \& more"
    assert (
        repair.unescape_markdown(text)
        == "Boards (ICBs) see [12] and #tag, file_name, 5* rating, A-B, end. & more"
    )


def test_ligature_glyphs_are_expanded() -> None:
    assert repair.expand_ligature_glyphs("signi\ufb01cant e\ufb00ort, \ufb02ow") == (
        "significant effort, flow"
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("the trans-\nformation of care", "the transformation of care"),
        ("com\u2011\n\nmunity services", "community services"),
        ("a long-\nterm plan", "a long-term plan"),
        ("re-\norganisation", "reorganisation"),
        ("How-\never, it works", "However, it works"),
        ("NHS-\nwide", "NHS-wide"),
        ("in 2016-\n17 and", "in 2016-17 and"),
        (
            "/intermediate-care-framework-\nfor-rehabilitation/",
            "/intermediate-care-framework-for-rehabilitation/",
        ),
    ],
)
def test_words_hyphenated_across_lines(text: str, expected: str) -> None:
    assert repair.join_hyphenated(text) == expected


def test_broken_lines_are_joined_but_structure_is_kept() -> None:
    text = (
        "## Planning together\n\n"
        "Systems are asked to agree a plan with their local partners and to set out how\n\n"
        "services will change over the next five years.\n\n"
        "- a first bullet that has no full stop\n\n"
        "- a second bullet\n\n"
        "Table A\n\n"
        "value"
    )
    expected = (
        "## Planning together\n\n"
        "Systems are asked to agree a plan with their local partners and to set out how "
        "services will change over the next five years.\n\n"
        "- a first bullet that has no full stop\n\n"
        "- a second bullet\n\n"
        "Table A\n\n"
        "value"
    )
    assert repair.join_broken_lines(text) == expected


def test_a_cut_line_joins_even_before_a_capital() -> None:
    text = "In March the then Chancellor of the Exchequer, who was appointed by Prime Minister\n\nSunak, set a new target."
    assert repair.join_broken_lines(text) == (
        "In March the then Chancellor of the Exchequer, who was appointed by Prime Minister "
        "Sunak, set a new target."
    )


def test_footnotes_are_not_glued_together() -> None:
    text = "1 Example Trust, A report on waiting times, May 2025\n\n2 Example Fund, Another report"
    assert repair.join_broken_lines(text) == text


# --------------------------------------------------------------------------------------------
# Headers, footers and page numbers


@pytest.mark.parametrize(
    ("line", "page"),
    [
        ("Page 3 of 28", 3),
        ("12", 12),
        ("- 7 -", 7),
        ("**4**", 4),
        ("Page three", None),
        ("2025/26", None),
    ],
)
def test_page_number_of(line: str, page: int | None) -> None:
    assert repair.page_number_of(line) == page


# Distinct sentences for synthetic page bodies (a body line never repeats across pages).
TOPICS = [
    "waiting lists",
    "community nursing",
    "urgent care",
    "mental health beds",
    "dental access",
    "digital records",
    "estates",
    "workforce supply",
]


def _body(n: int) -> list[str]:
    topic = TOPICS[n % len(TOPICS)]
    return [
        f"This page discusses {topic} in some detail.",
        f"Local teams report on {topic} every month.",
        f"Funding for {topic} is set by the board.",
        f"A review of {topic} is due next spring.",
    ]


def test_strip_repeated_lines_removes_pdf_headers_and_footers() -> None:
    pages = [
        "\n".join(["Example Health Report 2030", f" {n}", *_body(n), f"Page {n} of 6"])
        for n in range(1, 7)
    ]
    cleaned = repair.strip_repeated_lines(pages)
    for n, page in enumerate(cleaned, start=1):
        assert page.split("\n") == _body(n)


def test_strip_repeated_lines_removes_a_chapter_head_with_counting_page_numbers() -> None:
    pages = ["\n".join(_body(0))]
    pages += ["\n".join([f"Chapter one {n}", *_body(n)]) for n in (2, 3)]
    pages += ["\n".join(_body(4))]
    cleaned = repair.strip_repeated_lines(pages)
    assert cleaned == ["\n".join(_body(n)) for n in (0, 2, 3, 4)]


def test_strip_repeated_lines_keeps_a_sentence_that_recurs_inside_pages() -> None:
    pages = ["\n".join([*_body(n), "The same sentence.", *_body(n + 1)]) for n in range(5)]
    assert repair.strip_repeated_lines(pages) == pages


def test_strip_running_heads_in_a_conversion_without_page_breaks() -> None:
    lines: list[str] = ["**Example briefing**", ""]
    for n in range(1, 7):
        lines += [
            *_body(n),
            "",
            str(n),
            "",
            "Example Library Briefing, 1 May 2025",
            "",
            "Topic",
            "",
        ]
    lines += ["Closing text."]
    kept, pages = repair.strip_running_heads(lines)
    text = "\n".join(kept)
    assert "Example Library Briefing" not in text
    assert "**Example briefing**" in text
    assert not any(line.strip().isdigit() for line in kept)
    # What follows a footer with page number n is on page n + 1; before the first, page 1.
    assert pages[kept.index(_body(1)[0])] == 1
    assert pages[kept.index(_body(3)[0])] == 3
    assert pages[kept.index("Closing text.")] == 7


def test_strip_running_heads_records_page_of_markers() -> None:
    lines = []
    for n in range(1, 7):
        lines += ["Doe et al. Example Journal (2025) 1:23", f"Page {n} of 6", _body(n)[0]]
    kept, pages = repair.strip_running_heads(lines)
    assert kept == [_body(n)[0] for n in range(1, 7)]
    assert pages == [1, 2, 3, 4, 5, 6]


def test_strip_running_heads_cuts_a_head_glued_to_the_first_line_of_a_page() -> None:
    head = "Example operational planning guidance"
    lines = ["Intro paragraph.", "", head, "", "**Foreword**", ""]
    for n in range(1, 7):
        lines += [
            *_body(n),
            f"the {TOPICS[n]} plan {n}",
            "",
            "",
            "",
            f"{head} goes on with {TOPICS[n]}.",
        ]
    lines += ["", "", "", head, "", "**Annex**"]
    kept, pages = repair.strip_running_heads(lines)
    assert not any(head in line for line in kept)
    assert sum(line.startswith("goes on with ") for line in kept) == 6
    # The page number that ended each page is cut, and counts the pages.
    assert f"the {TOPICS[3]} plan " in kept
    assert pages[-1] == 7


# --------------------------------------------------------------------------------------------
# The real documents


NHSE_CONVERSIONS = [
    "nhse-neighbourhood-health-guidelines-2025-26.md",
    "nhse-planning-framework-2025.md",
    "nhse-priorities-operational-planning-guidance-2025-26.md",
    "nhse-oversight-framework-2025-26-methodology-manual.md",
    "nhse-board-paper-nhs-productivity-dec-2024.md",
    "nhse-medium-term-planning-framework-2026-27-to-2028-29.md",
]

# Tokens that only exist when "ll" became "l " ("et al" is excluded).
DEFECT = re.compile(
    r"\b(?:wil|shal|stil|smal|ful y|chal eng\w*|col ab\w*|fol ow\w*|\w+cal y|(?<!et )al)(?= )",
    re.IGNORECASE,
)


@cache
def _chunks(corpus: Path, name: str) -> tuple[Chunk, ...]:
    doc = load_document(corpus / name, Path(name).stem)
    return tuple(chunk_document(doc, lambda text: len(text.split())))


@pytest.mark.corpus
@pytest.mark.parametrize("name", NHSE_CONVERSIONS)
def test_no_nhse_chunk_keeps_the_ligature_defect(shared_corpus: Path, name: str) -> None:
    raw = (shared_corpus / name).read_text(encoding="utf-8")
    chunks = _chunks(shared_corpus, name)
    left = [m.group(0) for c in chunks for m in DEFECT.finditer(c.text)]
    assert len(left) <= 2, f"{name}: defects left after repair: {left[:10]}"
    if repair.has_lost_ll(raw):
        assert len(DEFECT.findall(raw)) > 20 * max(1, len(left))


def _running_lines(raw: str) -> set[str]:
    """Short lines of at least four words that repeat five times or more in a conversion."""
    counts: dict[str, int] = {}
    for line in raw.split("\n"):
        plain = re.sub(r"[*\\]", "", line).strip()
        if (
            len(plain.split()) >= 4
            and len(plain) <= 80
            and not line.lstrip().startswith(("#", "**", "+", "-"))
        ):
            counts[plain] = counts.get(plain, 0) + 1
    return {line for line, n in counts.items() if n >= 5}


@pytest.mark.corpus
@pytest.mark.parametrize(
    "name",
    [
        "commons-library-nhs-productivity-cbp10313-2025.md",
        "bmc-defining-integrated-neighbourhood-model-2025.md",
        "nhse-priorities-operational-planning-guidance-2025-26.md",
    ],
)
def test_no_running_header_survives(shared_corpus: Path, name: str) -> None:
    raw = (shared_corpus / name).read_text(encoding="utf-8")
    text = "\n".join(c.text for c in _chunks(shared_corpus, name))
    for head in _running_lines(raw):
        assert text.count(head) <= 1, f"{name}: running header kept: {head!r}"
    assert not re.search(r"\bPage \d+ of \d+\b", text)
