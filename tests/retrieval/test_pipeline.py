"""The project's retriever as a pipeline: hybrid ranking, filters, BM25 freshness, validation,
timings, and the seam where a stage is added, replaced or removed."""

from __future__ import annotations

import pytest

from assistant.config import RetrievalSettings
from assistant.errors import EmptyIndexError, InvalidInputError
from assistant.retrieval.base import RetrievalState, Retriever
from assistant.retrieval.bm25 import BM25Index
from assistant.retrieval.pipeline import RetrievalPipeline, default_stages, make_retriever
from assistant.retrieval.stages import (
    DropNearDuplicates,
    MaximalMarginalRelevance,
    WeightedRRF,
)
from assistant.schemas import Filters
from assistant.store.memory import InMemoryStore
from tests.retrieval.conftest import TEXTS


class Reverse:
    """A test stage: turns the ranking upside down."""

    name, timing = "reverse", "reverse"

    def run(self, state: RetrievalState) -> None:
        state.candidates.reverse()


class DropDocument:
    """A test stage: a filter that removes one document's chunks (as a date filter would)."""

    name, timing = "drop_doc", None

    def __init__(self, doc_id: str) -> None:
        self.doc_id = doc_id

    def run(self, state: RetrievalState) -> None:
        state.candidates = [
            c for c in state.candidates if state.chunks[c].metadata["doc_id"] != self.doc_id
        ]


class Record:
    """A test stage: remembers the question the stages were given."""

    name, timing = "record", None

    def __init__(self) -> None:
        self.questions: list[str] = []

    def run(self, state: RetrievalState) -> None:
        self.questions.append(state.question)


def test_the_pipeline_is_a_retriever(parts):
    _, _, retriever = parts
    assert isinstance(retriever, Retriever)


def test_exact_terms_reach_the_top_through_bm25(parts):
    _, _, retriever = parts
    top = retriever.retrieve("What is Core20PLUS5?", k=3)
    assert top[0].chunk_id == "nbh:2"
    assert top[0].bm25_score and top[0].bm25_score > 0
    assert top[0].dense_score is not None  # filled in even for chunks only BM25 found
    assert [c.rank for c in top] == [1, 2, 3]


def test_k_defaults_to_the_configured_top_k(parts):
    _, _, retriever = parts
    assert len(retriever.retrieve("plans and teams")) == 3


def test_filters_apply_to_both_dense_and_lexical_search(parts):
    _, _, retriever = parts
    got = retriever.retrieve(
        "five-year plan procurement", k=5, filters=Filters(publishers=["DHSC"])
    )
    assert got and {c.doc_id for c in got} == {"nbh"}


def test_bm25_is_persisted_and_reloaded(parts, tmp_path):
    _emb, store, retriever = parts
    retriever.retrieve("plan", k=1)
    again = BM25Index(tmp_path / "bm25")
    assert again.load() and len(again) == len(TEXTS)
    assert again.generation == store.generation()


def test_bm25_follows_changes_in_the_store(parts):
    _emb, store, retriever = parts
    assert retriever.retrieve("procurement frameworks", k=1)[0].chunk_id == "buy:1"
    store.delete_chunks(["buy:1"])
    store.bump_generation()
    retriever.sync(force=True)
    assert all(c.chunk_id != "buy:1" for c in retriever.retrieve("procurement frameworks", k=5))


def test_an_empty_index_is_reported(parts, tmp_path):
    emb, _, _ = parts
    empty = InMemoryStore(emb.name, emb.dimension)
    retriever = make_retriever(RetrievalSettings(), emb, empty, BM25Index(tmp_path / "e"))
    with pytest.raises(EmptyIndexError):
        retriever.retrieve("plan")


def test_validate_refuses_empty_and_overlong_questions(parts):
    _, _, retriever = parts
    assert retriever.validate("  plan \n") == "plan"
    with pytest.raises(InvalidInputError, match="empty"):
        retriever.validate("   ")
    with pytest.raises(InvalidInputError, match="too long"):
        retriever.validate("x" * 5000)


def test_retrieve_does_not_clean_the_question_again(parts):
    """The caller validates once; the stages get the question exactly as it was passed."""
    _, _, retriever = parts
    record = Record()
    retriever.inserted(record).retrieve(retriever.validate("  plan  "), k=1)
    assert record.questions == ["plan"]


def test_timings_are_reported_under_the_bench_keys(parts):
    _, _, retriever = parts
    timings: dict[str, float] = {"condense": 1.0}
    retriever.retrieve("neighbourhood teams", timings_ms=timings)
    # Fetching, scoring and MMR count in "fusion"; duplicate removal is untimed.
    assert set(timings) == {"condense", "embed_query", "dense_search", "bm25", "fusion"}
    assert all(v >= 0 for v in timings.values())


def test_an_added_stage_gets_its_own_timing_key(parts):
    _, _, retriever = parts
    timings: dict[str, float] = {}
    retriever.inserted(Reverse(), before=DropNearDuplicates).retrieve("plan", timings_ms=timings)
    assert "reverse" in timings


def test_an_added_stage_is_used_by_retrieve(parts):
    _, _, retriever = parts
    question = "plans and neighbourhood teams"
    plain = [c.chunk_id for c in retriever.retrieve(question, k=5)]
    reversed_ = retriever.inserted(Reverse(), before=DropNearDuplicates)
    got = reversed_.retrieve(question, k=5)
    assert [c.chunk_id for c in got] == plain[::-1]
    assert [c.rank for c in got] == [1, 2, 3, 4, 5]  # ranks follow the new order
    assert retriever.retrieve(question, k=5)[0].chunk_id == plain[0]  # the original is unchanged


def test_a_filter_stage_removes_candidates_and_the_next_ones_fill_in(parts):
    _, _, retriever = parts
    filtered = retriever.inserted(DropDocument("plan"), before=DropNearDuplicates)
    got = filtered.retrieve("five-year plan review", k=3)
    assert len(got) == 3 and "plan" not in {c.doc_id for c in got}


def test_a_stage_can_be_replaced_or_removed(parts):
    _, _, retriever = parts
    bm25_only = retriever.replaced(
        WeightedRRF, retriever.stage(WeightedRRF).with_weights({"dense": 0.0, "bm25": 1.0})
    )
    got = bm25_only.retrieve("Core20PLUS5 deprived", k=5)
    assert got and all(c.bm25_score for c in got)  # only BM25's ranking feeds the fusion
    assert all(c.dense_score is not None for c in got)  # the dense search still reports
    assert len(retriever.without(DropNearDuplicates).stages) == len(retriever.stages) - 1
    with pytest.raises(LookupError):
        retriever.stage(MaximalMarginalRelevance)  # MMR is off by default


def test_settings_choose_the_stages(parts, tmp_path):
    emb, store, _ = parts
    bm25 = BM25Index(tmp_path / "b")
    names = [s.name for s in default_stages(RetrievalSettings(), emb, store, bm25)]
    assert names == [
        "embed_query",
        "dense_search",
        "bm25",
        "named_document",
        "fusion",
        "fetch",
        "period",
        "dense_fill",
        "dedupe",
    ]
    timeless = default_stages(RetrievalSettings(period_weight=0), emb, store, bm25)
    assert "period" not in [s.name for s in timeless]
    unnamed = default_stages(RetrievalSettings(named_document_weight=0), emb, store, bm25)
    assert "named_document" not in [s.name for s in unnamed]
    with_mmr = default_stages(RetrievalSettings(mmr=True), emb, store, bm25)
    assert [s.name for s in with_mmr][-2:] == ["mmr", "dedupe"]


def test_derived_pipelines_share_one_bm25_sync(parts):
    _, _, retriever = parts
    derived = retriever.inserted(Reverse())
    assert isinstance(derived, RetrievalPipeline) and derived.index is retriever.index


def test_a_question_naming_a_document_by_its_title_lifts_that_documents_passages(tmp_path):
    from assistant.embeddings.fake import HashingEmbedder
    from assistant.schemas import DocumentMeta
    from assistant.store.base import DocumentRecord, StoredChunk

    emb = HashingEmbedder(dimension=256)
    store = InMemoryStore(emb.name, emb.dimension)
    texts = {
        # Second-hand documents restate the plan's aims, word for word, many times over.
        "brief:1": ("brief", "The Widget Safety Plan aims are audits. Widget Safety Plan aims."),
        "brief:2": ("brief", "Widget Safety Plan aims: the Widget Safety Plan aims at audits."),
        "note:1": ("note", "The Widget Safety Plan aims, in short, are audits and aims."),
        "plan:1": ("plan", "Its three aims are fewer incidents, open reporting and audits."),
    }
    titles = {"brief": "Briefing", "note": "Note", "plan": "Widget Safety Plan: 2030 edition"}
    vecs = emb.embed_documents([t for _, t in texts.values()])
    store.upsert_chunks(
        [
            StoredChunk(cid, text, {"doc_id": doc, "title": titles[doc], "section": "S"}, vecs[i])
            for i, (cid, (doc, text)) in enumerate(texts.items())
        ]
    )
    for doc, title in titles.items():
        meta = DocumentMeta(doc_id=doc, title=title, file_name=f"{doc}.md")
        store.put_document(DocumentRecord(meta, [c for c in texts if c.startswith(doc)], doc))
    store.bump_generation()
    question = "What are the aims of the Widget Safety Plan?"
    plain = make_retriever(
        RetrievalSettings(top_k=4, named_document_weight=0), emb, store, BM25Index(tmp_path / "a")
    )
    named = make_retriever(RetrievalSettings(top_k=4), emb, store, BM25Index(tmp_path / "b"))
    plain_rank = [c.doc_id for c in plain.retrieve(question)].index("plan")
    named_rank = [c.doc_id for c in named.retrieve(question)].index("plan")
    assert named_rank == 0 and plain_rank > 0
