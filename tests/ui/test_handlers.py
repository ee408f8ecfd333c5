"""The page's callbacks without a browser: they call the shared services and format the result."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import SimpleNamespace

import pytest

from assistant.feedback import FeedbackStore
from assistant.services import build_services
from tests.conftest import fake_settings, free_port
from tests.ingest.test_pipeline import write_corpus
from ui.app import SEARCHING, ChatSession, UiHandlers, _filters, build_ui

QUESTION = "Who must agree a joint plan with partner trusts?"


@pytest.fixture
def handlers(tmp_path) -> UiHandlers:
    services = build_services(fake_settings(tmp_path / "data", chroma__backend="memory"))
    services.ingest([write_corpus(tmp_path / "corpus")])
    return UiHandlers(
        dataclasses.replace(services, feedback_store=FeedbackStore(tmp_path / "feedback.sqlite"))
    )


def _run(handlers: UiHandlers, question: str, session: ChatSession, **kw):
    args = {"doc_ids": None, "publishers": None, "mode": None, **kw}
    return list(handlers.respond(question, [], session, **args))


def test_an_answer_streams_then_lands_in_the_chat_panel_session_and_download(handlers):
    session = ChatSession()
    updates = _run(handlers, QUESTION, session)
    assert updates[0][1][-1]["content"] == SEARCHING  # the question shows at once
    _, messages, session, panel, download, _ = updates[-1]
    assert "integrated care board" in messages[-1]["content"]
    assert "#cite-1-1" in messages[-1]["content"]
    assert 'id="cite-1-1"' in panel
    assert session.answer_ids[0] and len(session.exchanges) == 1
    transcript = Path(download["value"]).read_text(encoding="utf-8")
    assert QUESTION in transcript and "### Sources" in transcript


def test_an_empty_question_asks_for_one_and_answers_nothing(handlers):
    session = ChatSession()
    [update] = _run(handlers, "   ", session)
    assert update[-1] == "Type a question first." and not session.exchanges


def test_a_too_long_question_is_a_readable_message_not_an_exception(handlers):
    session = ChatSession()
    update = _run(handlers, "plan " * 2000, session)[-1]
    assert update[1][-1]["content"].startswith("**Sorry, no answer this time.**")
    assert "Traceback" not in update[1][-1]["content"]
    assert session.exchanges[0].error


def test_an_empty_index_says_so_in_the_chat(tmp_path):
    services = build_services(fake_settings(tmp_path / "data", chroma__backend="memory"))
    h = UiHandlers(
        dataclasses.replace(services, feedback_store=FeedbackStore(tmp_path / "f.sqlite"))
    )
    update = _run(h, QUESTION, ChatSession())[-1]
    assert "the index is empty" in update[1][-1]["content"]


def test_a_document_filter_limits_the_sources(handlers):
    docs = {d.meta.file_name: d.meta.doc_id for d in handlers.services.store.list_documents()}
    session = ChatSession()
    _run(handlers, "Who meets weekly?", session, doc_ids=[docs["notes.txt"]])
    answer = session.exchanges[0].answer
    assert answer is not None and answer.retrieved
    assert {c.doc_id for c in answer.retrieved} == {docs["notes.txt"]}


def test_a_rating_then_a_comment_are_stored_against_the_answer(handlers):
    session = ChatSession()
    _run(handlers, QUESTION, session)
    like = SimpleNamespace(index=1, liked=True)
    session, status, row = handlers.rate(session, like)  # type: ignore[arg-type]
    assert "saved" in status and row["visible"] is True
    session, status, _ = handlers.comment("Clear, thanks. Call 020 7946 0000", session)
    [record] = list(handlers.services.feedback.records())
    assert record.answer_id == session.answer_ids[0] and record.rating == "up"
    assert record.comment and "7946" not in record.comment


def test_rating_the_question_bubble_or_an_error_stores_nothing(handlers):
    session = ChatSession()
    _run(handlers, "plan " * 2000, session)  # an error, no answer id
    _, status, _ = handlers.rate(session, SimpleNamespace(index=1, liked=False))  # type: ignore[arg-type]
    assert "no answer to rate" in status and not list(handlers.services.feedback.records())


def test_follow_ups_carry_the_earlier_answered_turns(handlers):
    session = ChatSession()
    _run(handlers, QUESTION, session)
    history = session.history()
    assert [m.role for m in history] == ["user", "assistant"] and history[0].content == QUESTION


def test_a_follow_up_after_a_refused_turn_continues_that_turn(handlers):
    """A refused turn stays in the conversation: "and who decides that?" after it is about
    that question, not the answered one before it; a new topic is read on its own."""
    session = ChatSession()
    _run(handlers, QUESTION, session)
    refused = "What are the car parking charges at St Elsewhere's hospital?"
    _run(handlers, refused, session)
    assert session.exchanges[-1].answer is not None and session.exchanges[-1].answer.refused
    _run(handlers, "And who decides that?", session)
    read_as = session.exchanges[-1].answer.standalone_question  # type: ignore[union-attr]
    assert read_as is not None and refused in read_as
    _run(handlers, "What are the three shifts?", session)
    assert session.exchanges[-1].answer.standalone_question is None  # type: ignore[union-attr]


def test_filter_choices_list_indexed_documents_and_publishers(handlers):
    docs, _, header, _ = handlers.filter_choices()
    titles = [label for label, _ in docs["choices"]]
    assert len(titles) == 2
    assert "Answers from 2 publications" in header


def test_a_publication_in_two_formats_is_one_filter_choice_that_selects_both(tmp_path):
    services = build_services(fake_settings(tmp_path / "data", chroma__backend="memory"))
    corpus = write_corpus(tmp_path / "corpus")
    (corpus / "guide.txt").write_text(  # the same publication again, as plain text
        (corpus / "guide.md").read_text(encoding="utf-8").replace("#", ""), encoding="utf-8"
    )
    services.ingest([corpus])
    handlers = UiHandlers(services)
    docs, _, header, _ = handlers.filter_choices()
    labels = dict(docs["choices"])
    [(label, value)] = [(k, v) for k, v in labels.items() if "(" in k]
    assert label.endswith("(Markdown, text)") and value.count("|") == 1
    assert "Answers from 2 publications" in header  # the twins count once
    filters = _filters([value], None)
    assert filters is not None and len(filters.doc_ids or []) == 2
    chips = handlers.filter_chips([value], ["NHS England"])
    assert label.split(" (")[0] in chips and "NHS England" in chips


def test_new_conversation_resets_the_chat_sources_and_filters(handlers):
    session = ChatSession()
    _run(handlers, QUESTION, session)
    reset = handlers.new_conversation()
    chat, new_session, panel, *_, question, docs, pubs, chips = reset
    assert chat == [] and new_session.exchanges == [] and docs == [] and pubs == [] and not chips
    assert "Ask a question" in panel and question == ""


def test_the_mode_switch_shows_only_when_an_llm_is_configured(handlers):
    demo = build_ui(handlers.services)
    [radio] = [b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "mode"]
    assert radio.visible is False


def _llm_handlers(tmp_path, **llm: object) -> UiHandlers:
    overrides = {f"llm__{k}": v for k, v in llm.items()}
    settings = fake_settings(tmp_path / "data", chroma__backend="memory", **overrides)
    services = build_services(settings)
    services.ingest([write_corpus(tmp_path / "corpus")])
    return UiHandlers(
        dataclasses.replace(services, feedback_store=FeedbackStore(tmp_path / "feedback.sqlite"))
    )


def test_with_an_llm_configured_the_mode_switch_shows_and_llm_answers_are_checked(tmp_path):
    reply = "Every integrated care board must agree a joint plan with its partner trusts [1]."
    h = _llm_handlers(tmp_path, backend="fake", fake_responses=[reply])
    demo = build_ui(h.services)
    [radio] = [b for b in demo.blocks.values() if getattr(b, "elem_id", None) == "mode"]
    assert radio.visible is True and [c[1] for c in radio.choices] == ["extractive", "llm"]
    session = ChatSession()
    _run(h, QUESTION, session, mode="llm")
    answer = session.exchanges[0].answer
    assert answer is not None and answer.mode == "llm"
    assert answer.citations and all(s.supported is not False for s in answer.sentences)


def test_a_dead_llm_endpoint_is_a_readable_message_when_fallback_is_off(tmp_path):
    closed = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens there
    h = _llm_handlers(tmp_path, base_url=closed, on_failure="error", max_retries=0, timeout_s=2.0)
    update = _run(h, QUESTION, ChatSession(), mode="llm")[-1]
    text = update[1][-1]["content"]
    assert text.startswith("**Sorry, no answer this time.**") and "Traceback" not in text


def test_a_dead_llm_endpoint_falls_back_to_quotes_and_says_so(tmp_path):
    closed = f"http://127.0.0.1:{free_port()}/v1"
    h = _llm_handlers(tmp_path, base_url=closed, max_retries=0, timeout_s=2.0)
    session = ChatSession()
    update = _run(h, QUESTION, session, mode="llm")[-1]
    assert "could not be used" in update[1][-1]["content"]
    assert session.exchanges[0].answer is not None
    assert session.exchanges[0].answer.mode == "extractive-fallback"


def test_a_question_that_is_not_unicode_text_is_a_readable_message(handlers):
    session = ChatSession()
    update = _run(handlers, "plan \ud800", session)[-1]
    assert "could not be read" in update[-1] and "invalid Unicode" in update[-1]
    assert session.exchanges == []
