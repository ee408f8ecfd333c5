"""The project's own briefings (corpus/briefings/*.md): structure, citations, grounding, own words.

Each briefing cites the documents of corpus/sources.toml with markers
``[src: <source id>, <section heading or "p. N">]``. The grounding, copying and locator tests
read the cited documents from ../shared/corpus and skip without it (``shared_corpus``).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from eval.briefings import (
    ACTIONS_SECTION,
    REQUIRED_FRONT_MATTER,
    REQUIRED_SECTIONS,
    Briefing,
    SourceLibrary,
    briefing_paths,
    build_copy_index,
    load_manifest,
    parse_briefing,
    split_sentences,
    strip_markers,
    strip_titles,
)

EXPECTED = {
    "operational-management.md": "operational management",
    "procurement.md": "procurement",
    "staff.md": "staff",
    "technology-and-ai.md": "technology and AI",
    "patient-choice-and-voice.md": "patient choice and voice",
}
DATE = "2026-11-28"
PUBLISHER = "NHS leaders' assistant project"
LICENCE = "MIT (project's own text)"
MIN_WORDS, MAX_WORDS = 450, 1000  # "roughly 500-900"

# Citations whose locator may match no section or page of the document, each with the reason.
# Keep this empty: a locator a reader cannot find is a broken citation.
ALLOWED_UNMATCHED_LOCATORS: dict[tuple[str, str], str] = {}

MANIFEST = load_manifest()


def _briefings() -> list[Briefing]:
    return [parse_briefing(p) for p in briefing_paths()]


BRIEFINGS = _briefings()
IDS = [b.path.name for b in BRIEFINGS]


@pytest.fixture(scope="module")
def library(shared_corpus: Path) -> SourceLibrary:
    return SourceLibrary(shared_corpus, MANIFEST)


# --------------------------------------------------------------------------------------------
# The parser itself (no corpus needed)


def test_parser_splits_sentences_and_reads_markers():
    text = (
        "ICBs must act by March 2026 [src: a-doc, p. 15]. Then (e.g. this) holds. "
        "[src: b-doc, Live within our means, reducing waste] Consider a pilot."
    )
    sentences = split_sentences(text)
    assert len(sentences) == 3
    plain, cites = strip_markers(sentences[0])
    assert plain == "ICBs must act by March 2026."
    assert [(c.source_id, c.locator) for c in cites] == [("a-doc", "p. 15")]
    plain, cites = strip_markers(sentences[1])
    assert plain == "Then (e.g. this) holds."
    assert cites[0].locator == "Live within our means, reducing waste"


def test_parser_reads_front_matter_sections_and_advice(tmp_path: Path):
    path = tmp_path / "b.md"
    path.write_text(
        "---\ntitle: T\nsources:\n  - a-doc\n---\n\n# T\n\nSummary [src: a-doc, Intro].\n\n"
        "## Practical actions\n\n1. **ICB leads:** do this by Q1 2026/27.\n\n"
        "## Other\n\nWe suggest 3 things. Trusts must comply by 2027.\n",
        encoding="utf-8",
    )
    b = parse_briefing(path)
    assert b.front_matter["sources"] == ["a-doc"]
    assert b.title == "T"
    assert b.sections == ["Practical actions", "Other"]
    action, advice, claim = b.sentences[1:]
    assert action.is_advice and not action.needs_citation
    assert advice.is_advice and not advice.needs_citation
    assert claim.needs_citation and claim.line == 17


# --------------------------------------------------------------------------------------------
# 1. Structure and citation hygiene


def test_all_five_briefings_exist():
    assert sorted(p.name for p in briefing_paths()) == sorted(EXPECTED)


@pytest.mark.parametrize("briefing", BRIEFINGS, ids=IDS)
def test_front_matter(briefing: Briefing):
    fm = briefing.front_matter
    missing = [k for k in REQUIRED_FRONT_MATTER if not fm.get(k)]
    assert not missing, f"front matter lacks {missing}"
    assert fm["date"] == DATE
    assert fm["publisher"] == PUBLISHER
    assert fm["licence"] == LICENCE
    assert fm["theme"] == EXPECTED[briefing.path.name]
    assert fm["title"] == briefing.title, "front matter title differs from the # heading"
    listed = set(fm["sources"])
    cited = {c.source_id for s in briefing.cited for c in s.citations}
    assert listed == cited, (
        f"listed not cited: {listed - cited}; cited not listed: {cited - listed}"
    )


@pytest.mark.parametrize("briefing", BRIEFINGS, ids=IDS)
def test_sections_summary_and_length(briefing: Briefing):
    assert briefing.title, "no '# ' title"
    assert briefing.sections == list(REQUIRED_SECTIONS)
    summary = [s for s in briefing.sentences if s.section == ""]
    assert len(summary) >= 2, "no summary paragraph before the first section"
    actions = [s for s in briefing.sentences if s.section == ACTIONS_SECTION and s.list_item]
    assert len({s.line for s in actions}) >= 4, "practical actions should be a numbered list"
    assert "\n1. " in briefing.body, "practical actions should be numbered"
    words = briefing.word_count()
    assert MIN_WORDS <= words <= MAX_WORDS, f"{words} words"


@pytest.mark.parametrize("briefing", BRIEFINGS, ids=IDS)
def test_citations_are_well_formed_and_name_known_sources(briefing: Briefing):
    body = briefing.body
    assert body.count("[src:") == sum(len(s.citations) for s in briefing.sentences), (
        "a [src: ...] marker is malformed"
    )
    unknown = sorted({c.source_id for s in briefing.cited for c in s.citations} - set(MANIFEST))
    assert not unknown, f"not in corpus/sources.toml: {unknown}"


@pytest.mark.parametrize("briefing", BRIEFINGS, ids=IDS)
def test_claims_carry_citations(briefing: Briefing):
    uncited = [
        f"line {s.line}: {s.text}"
        for s in briefing.sentences
        if s.needs_citation and not s.citations
    ]
    assert not uncited, "claims without a citation:\n" + "\n".join(uncited)


# --------------------------------------------------------------------------------------------
# 2. Grounding: the cited passages support each cited sentence


@pytest.mark.corpus
def test_cited_sentences_are_supported_by_their_passages(library: SourceLibrary):
    from assistant.answer.verifier import GroundingVerifier

    verifier = GroundingVerifier()
    failures: list[str] = []
    checked = 0
    for briefing in BRIEFINGS:
        for s in briefing.cited:
            found = [library.passages_for(c, s.text) for c in s.citations]
            if any(f is None for f in found):
                continue  # a source that is not in the shared corpus
            checked += 1
            passages = [t for f in found if f is not None for t in f.texts]
            v = verifier.verify(s.text, passages)
            if v.supported:
                continue
            reasons = []
            if v.missing_quantities:
                reasons.append(f"missing quantities {v.missing_quantities}")
            if v.negation_mismatch:
                reasons.append("negation differs from the best passage sentence")
            if v.missing_actors:
                reasons.append(f"actors not in the best passage sentence {v.missing_actors}")
            if v.coverage < verifier.min_coverage:
                reasons.append(f"coverage {v.coverage:.2f} < {verifier.min_coverage}")
            unmatched = [str(f.citation) for f in found if f is not None and not f.matched]
            if unmatched:
                reasons.append(f"unmatched locator {unmatched}")
            failures.append(
                f"{briefing.path.name}:{s.line}: {s.text}\n    {'; '.join(reasons)}\n"
                f"    best: {v.best_sentence[:200]!r}"
            )
    assert checked > 0
    assert not failures, f"{len(failures)} of {checked} unsupported:\n" + "\n".join(failures)


# --------------------------------------------------------------------------------------------
# 3. Own words: no run of 8 normalised words shared with a corpus document


@pytest.mark.corpus
@pytest.mark.slow
def test_no_briefing_copies_a_corpus_document(shared_corpus: Path, library: SourceLibrary):
    index = build_copy_index(shared_corpus, library)
    assert len(index) > 100_000  # every document was read
    copied: list[str] = []
    for briefing in BRIEFINGS:
        texts = [(0, briefing.title)] + [(s.line, s.text) for s in briefing.sentences]
        for line, text in texts:
            for run, doc in index.shared_runs(strip_titles(text, MANIFEST)):
                copied.append(f"{briefing.path.name}:{line}: '{run}' (from {doc})")
    assert not copied, "runs of 8+ words copied from the corpus:\n" + "\n".join(copied)


# --------------------------------------------------------------------------------------------
# 4. Every locator names a section or page of its document


@pytest.mark.corpus
def test_every_locator_matches_a_section_or_page(library: SourceLibrary):
    unmatched: list[str] = []
    for briefing in BRIEFINGS:
        for s in briefing.cited:
            for c in s.citations:
                found = library.passages_for(c, s.text)
                if found is None or found.matched:
                    continue
                if (c.source_id, c.locator) in ALLOWED_UNMATCHED_LOCATORS:
                    continue
                doc = library.document(c.source_id)
                sections = "; ".join(doc.sections[:40]) if doc else ""
                unmatched.append(f"{briefing.path.name}:{s.line}: {c}\n    sections: {sections}")
    assert not unmatched, "locators that match no section or page:\n" + "\n".join(unmatched)
