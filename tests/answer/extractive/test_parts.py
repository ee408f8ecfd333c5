"""The extractive answerer's parts on their own: the refusal check and its vector cache, the
selection of sentences, and the word lists it shares with the rest of the project."""

from __future__ import annotations

import re

from assistant.answer.extractive.features import Sentence, traits
from assistant.answer.extractive.lexicon import MONTHS, NUMBER_WORDS
from assistant.answer.extractive.question import analyse_question
from assistant.answer.extractive.refusal import EvidenceCheck, SentenceVectors, nearest_sources
from assistant.answer.extractive.scoring import RELATIVE_CUTOFF, Scored, near_duplicate, select
from assistant.config import AnswerSettings
from assistant.embeddings.fake import HashingEmbedder
from assistant.schemas import RetrievedChunk
from assistant.text.lexicon import MONTH_ABBREVIATIONS, MONTH_NAMES


def sentence(text: str, terms: set[str], *, chunk: int = 0, start: int = 0) -> Sentence:
    return Sentence(chunk, start, start + len(text), text, text, frozenset(terms), False, 0)


def scored(s: Sentence, score: float) -> Scored:
    return Scored(s, traits(s), lex=score, score=score)


def test_sentence_vectors_drop_the_least_recently_used_beyond_their_size() -> None:
    embedder = HashingEmbedder(dimension=8)
    vectors = SentenceVectors(embedder, size=2)
    vectors(["a plan", "b plan"])
    vectors(["a plan"])  # "a plan" is now the most recently used
    vectors(["c plan"])  # so "b plan" goes
    assert embedder.calls == 3
    vectors(["a plan", "c plan"])
    assert embedder.calls == 3
    vectors(["b plan"])
    assert embedder.calls == 4


def test_evidence_check_without_an_embedder_goes_by_the_evidence_score_alone() -> None:
    settings = AnswerSettings()
    check = EvidenceCheck(settings)
    chosen = [scored(sentence("Boards publish plans.", {"board", "publish", "plan"}), 1.0)]
    assert check.vectors is None
    assert check.is_weak("q", [], 1.0, []) is True  # nothing chosen
    assert check.is_weak("q", chosen, settings.min_evidence - 0.01, []) is True
    assert check.is_weak("q", chosen, settings.min_evidence, []) is False


def test_strong_lexical_evidence_borne_out_by_one_sentence_skips_the_similarity_checks() -> None:
    """Words and sentence agree: answered even when the passage's MiniLM similarity is below
    the refusal bound (a preamble such as "Trust CFO." dilutes it); weaker evidence still goes
    to the similarity checks."""
    settings = AnswerSettings()
    embedder = HashingEmbedder(dimension=8)
    check = EvidenceCheck(settings, embedder)
    text = "Reduce spend on temporary staffing by April."
    chunk = RetrievedChunk(chunk_id="c", doc_id="d", title="T", text=text, dense_score=0.2)
    terms = {"reduc", "spend", "temporary", "staf"}
    strong = Scored(sentence(text, terms), traits(sentence(text, terms)), lex=0.6, score=0.6)
    weak = Scored(strong.sentence, strong.traits, lex=0.3, score=0.3)
    assert check.is_weak("q", [strong], 0.55, [chunk]) is False
    assert embedder.calls == 0
    assert check.is_weak("q", [weak], 0.55, [chunk]) is True  # passage below the refuse bound
    assert check.is_weak("q", [strong], 0.45, [chunk]) is True
    off = EvidenceCheck(AnswerSettings(lexical_accept=1.0), embedder)
    assert off.is_weak("q", [strong], 0.55, [chunk]) is True


def test_selection_keeps_sentences_near_the_best_and_drops_near_duplicates() -> None:
    best = sentence("ICBs publish plans each spring.", {"icb", "publish", "plan", "spring"})
    copy = sentence(
        "ICBs publish plans each spring", {"icb", "publish", "plan", "spring"}, start=40
    )
    other = sentence("Trusts report staffing.", {"trust", "report", "staff"}, start=80)
    weak = sentence("Boards meet.", {"board", "meet"}, start=120)
    assert near_duplicate(best, copy) and not near_duplicate(best, other)
    q = analyse_question("Who publishes plans and reports staffing?")
    idf = dict.fromkeys(("icb", "publish", "plan", "spring", "trust", "report", "staff"), 1.0)
    chunk = RetrievedChunk(chunk_id="c", doc_id="d", title="Plan", text=".")
    chosen = select(
        [scored(best, 1.0), scored(copy, 0.9), scored(other, 0.6), scored(weak, 0.4)],
        idf,
        q,
        [chunk],
        limit=5,
    )
    assert [x.sentence for x in chosen] == [best, other]
    assert 0.4 < RELATIVE_CUTOFF * 1.0 <= 0.6


def test_nearest_sources_are_one_per_title_and_section() -> None:
    def chunk(n: int, section: str) -> RetrievedChunk:
        return RetrievedChunk(chunk_id=f"c{n}", doc_id="d", title="Plan", section=section, text=".")

    chunks = [chunk(0, "A"), chunk(1, "a "), chunk(2, "B"), chunk(3, "C"), chunk(4, "D")]
    assert nearest_sources(chunks) == [0, 2, 3]


def test_question_analysis_reads_what_is_asked() -> None:
    q = analyse_question("What must ICBs publish in their three plans, and by when?")
    assert q.how_to and q.wants_date and not q.wants_quantity
    assert "3" in q.terms and "icb" in q.terms


def test_the_answerer_reads_the_shared_month_and_number_lists() -> None:
    assert set(MONTHS.split("|")) == {*MONTH_NAMES, *MONTH_ABBREVIATIONS}
    assert re.fullmatch(MONTHS, "sept") and NUMBER_WORDS["twenty"] == "20"


def test_so_far_asks_what_happened_but_so_far_behind_does_not() -> None:
    """ "What has the ICB delivered so far?" asks for an outturn; "Why are the ONS figures so
    far behind?" asks about a lag, and is answered from what the documents explain."""
    assert analyse_question("What has the ICB delivered so far?").outturn
    assert not analyse_question("Why are the official productivity figures so far behind?").outturn
    assert not analyse_question("How is the new model so far ahead of the old one?").outturn
