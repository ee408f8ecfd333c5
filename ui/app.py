"""The Gradio UI: a chat for managers beside a panel of the sources behind each answer.

Callbacks are thin: each reads the page, calls the answering service or the feedback store that
``build_services`` made (the same ones the HTTP API uses), and formats the result with
:mod:`ui.render`. Run it alone with ``nhs-assistant ui`` or inside the API with
``nhs-assistant serve --ui`` (at ``/ui``).

>>> demo = build_ui(build_services(Settings()))         # doctest: +SKIP
>>> launch_ui(demo, host="127.0.0.1", port=7860)        # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Gradio reports usage to its makers unless told not to; this must be set before import.
os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")

import gradio as gr
from fastapi import FastAPI
from pydantic import ValidationError

from assistant.asking import AskResult
from assistant.errors import AssistantError
from assistant.feedback import Rating
from assistant.redact import redact
from assistant.schemas import (
    AskRequest,
    ChatMessage,
    DeltaEvent,
    Filters,
    SourcesEvent,
)
from assistant.services import Services
from assistant.transcript import Exchange, conversation_markdown
from ui import render
from ui.examples import examples_for
from ui.theme import CSS, HEAD, nhs_theme

logger = logging.getLogger(__name__)

TITLE = "NHS leaders' assistant"
FORMAT_NAMES = {
    ".pdf": "PDF",
    ".md": "Markdown",
    ".markdown": "Markdown",
    ".html": "HTML",
    ".htm": "HTML",
    ".docx": "Word",
    ".txt": "text",
}
NOTICE = (
    "**Do not enter patient-identifiable information.** This assistant is not for clinical "
    "advice. It answers only from the documents listed under *Filters*; check the cited source "
    "before you act."
)
SEARCHING = "Searching the documents …"
UNEXPECTED_ERROR = (
    "Something went wrong on our side while answering. Please try again; if it keeps happening, "
    "tell the team that runs this service."
)
CONCURRENT_ANSWERS = 4  # answers computed at once; more wait in Gradio's queue
UI_PATH = "/ui"
TRANSCRIPT_DIR = Path(tempfile.gettempdir()) / "nhs-assistant-ui"

Messages = list[dict[str, str]]


@dataclass
class ChatSession:
    """One browser tab's conversation: its exchanges, their answer ids, the last rating."""

    exchanges: list[Exchange] = field(default_factory=list)
    answer_ids: list[str | None] = field(default_factory=list)
    last_feedback_id: str | None = None
    transcript: str = field(default_factory=lambda: uuid.uuid4().hex)

    def history(self) -> list[ChatMessage]:
        """Earlier turns for follow-up questions. A refused turn stays: "and who decides
        that?" after it is about that question, not one further back. Failed turns are left
        out (nothing was answered or refused)."""
        turns: list[ChatMessage] = []
        for ex in self.exchanges:
            if ex.answer is not None:
                turns.append(ChatMessage(role="user", content=ex.question))
                turns.append(ChatMessage(role="assistant", content=ex.answer.answer))
        return turns


DOC_ID_SEPARATOR = "|"  # a filter choice stands for every format of one publication


def _filters(doc_ids: list[str] | None, publishers: list[str] | None) -> Filters | None:
    ids = [i for choice in doc_ids or [] for i in choice.split(DOC_ID_SEPARATOR) if i]
    filters = Filters(doc_ids=ids or None, publishers=publishers or None)
    return None if filters.is_empty() else filters


def _replace_last(messages: Messages, content: str) -> Messages:
    """A new list with the last (assistant) message's text replaced; yielded lists stay as sent."""
    return [*messages[:-1], {"role": "assistant", "content": content}]


def _transcript_file(session: ChatSession) -> str:
    """Write the conversation as Markdown and return its path, for the download button."""
    TRANSCRIPT_DIR.mkdir(parents=True, exist_ok=True)
    path = TRANSCRIPT_DIR / f"conversation-{session.transcript}.md"
    path.write_text(conversation_markdown(session.exchanges), encoding="utf-8")
    return str(path)


class UiHandlers:
    """The page's callbacks: parse, call the shared services, format."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.asker = services.asker

    # --- asking -------------------------------------------------------------------------

    def respond(
        self,
        question: str,
        messages: Messages,
        session: ChatSession,
        doc_ids: list[str] | None,
        publishers: list[str] | None,
        mode: str | None,
    ) -> Iterator[tuple[Any, ...]]:
        """Stream an answer into the chat; outputs: box, chat, session, panel, download, status."""
        if not (question or "").strip():
            yield gr.update(), messages, session, gr.update(), gr.update(), "Type a question first."
            return
        try:
            request = AskRequest(
                question=question,
                history=session.history(),
                filters=_filters(doc_ids, publishers),
                mode=mode or None,
            )
        except ValidationError as exc:
            problem = str(exc.errors()[0]["msg"]).removeprefix("Value error, ")
            yield (
                gr.update(),
                messages,
                session,
                gr.update(),
                gr.update(),
                (f"That question could not be read: it {problem}. Please type it again."),
            )
            return
        turn = len(session.exchanges) + 1
        messages = [
            *messages,
            {"role": "user", "content": render.escape_markdown(redact(question))},
            {"role": "assistant", "content": SEARCHING},
        ]
        yield "", messages, session, gr.update(), gr.update(), ""
        text = ""
        try:
            for event in self.asker.stream(request):
                if isinstance(event, SourcesEvent):
                    yield (
                        gr.update(),
                        messages,
                        session,
                        render.searching_html(event.retrieved),
                        gr.update(),
                        "",
                    )
                elif isinstance(event, DeltaEvent):
                    text += event.text
                    messages = _replace_last(messages, render.partial_markdown(text))
                    yield gr.update(), messages, session, gr.update(), gr.update(), ""
                elif isinstance(event, AskResult):
                    yield self._finish(question, event, turn, messages, session)
        except AssistantError as exc:
            yield self._fail(question, str(exc), messages, session)
        except Exception:
            logger.exception("unexpected error while answering in the UI")
            yield self._fail(question, UNEXPECTED_ERROR, messages, session)

    def _finish(
        self, question: str, result: AskResult, turn: int, messages: Messages, session: ChatSession
    ) -> tuple[Any, ...]:
        session.exchanges.append(Exchange(question, answer=result.answer))
        session.answer_ids.append(result.answer_id)
        messages = _replace_last(messages, render.answer_markdown(result.answer, turn))
        panel = render.sources_html(session.exchanges)
        download = gr.update(value=_transcript_file(session), interactive=True)
        return gr.update(), messages, session, panel, download, ""

    def _fail(
        self, question: str, message: str, messages: Messages, session: ChatSession
    ) -> tuple[Any, ...]:
        session.exchanges.append(Exchange(question, error=message))
        session.answer_ids.append(None)
        messages = _replace_last(messages, render.error_markdown(message))
        download = gr.update(value=_transcript_file(session), interactive=True)
        return gr.update(), messages, session, gr.update(), download, ""

    # --- feedback -----------------------------------------------------------------------

    def rate(self, session: ChatSession, like: gr.LikeData) -> tuple[Any, ...]:
        """Store a thumbs up or down on the answer it was given to; offer a comment box."""
        index = like.index if isinstance(like.index, int) else like.index[0]
        exchange = index // 2  # messages alternate: question, answer
        answer_id = session.answer_ids[exchange] if exchange < len(session.answer_ids) else None
        if answer_id is None or not isinstance(like.liked, bool):
            return session, "There is no answer to rate there.", gr.update(visible=False)
        rating: Rating = "up" if like.liked else "down"
        session.last_feedback_id = self.services.feedback.add_feedback(answer_id, rating)
        thanks = "Thank you: your rating is saved." + (
            " Tell us what was wrong, if you can." if rating == "down" else ""
        )
        return session, thanks, gr.update(visible=True)

    def comment(self, text: str, session: ChatSession) -> tuple[Any, ...]:
        """Attach a comment to the rating just given."""
        if session.last_feedback_id is None:
            return session, "Rate an answer first (thumbs up or down).", gr.update()
        if not (text or "").strip():
            return session, "Type a comment first.", gr.update()
        self.services.feedback.set_comment(session.last_feedback_id, text.strip())
        return session, "Thank you: your comment is saved.", gr.update(value="")

    # --- page ---------------------------------------------------------------------------

    def new_conversation(self) -> tuple[Any, ...]:
        """A fresh start: chat, sources, download, status, comment, question and filters."""
        panel = render.sources_html([])
        download = gr.update(value=None, interactive=False)
        hidden = gr.update(visible=False)
        return [], ChatSession(), panel, download, "", hidden, "", [], [], ""

    def filter_choices(self) -> tuple[Any, ...]:
        """Documents and publishers in the index now (uploads may have added some), and the
        header that says what the index holds. A publication indexed in two formats (a PDF
        and its Markdown conversion) is one choice, labelled with both."""
        docs = [d.meta for d in self.services.store.list_documents()]
        publications: dict[str, list[Any]] = {}
        for meta in docs:
            publications.setdefault(" ".join(meta.title.split()).casefold(), []).append(meta)
        choices = []
        for twins in publications.values():
            twins.sort(key=lambda m: m.doc_id)
            formats = sorted({_format_name(m.file_name) for m in twins})
            label = twins[0].title + (f" ({', '.join(formats)})" if len(twins) > 1 else "")
            choices.append((label, DOC_ID_SEPARATOR.join(m.doc_id for m in twins)))
        choices.sort(key=lambda x: x[0].lower())
        publishers = sorted({m.publisher for m in docs if m.publisher})
        return (
            gr.update(choices=choices),
            gr.update(choices=publishers),
            render.header_html(TITLE, docs),
            gr.update(placeholder=render.escape_markdown(render.empty_chat_text(docs))),
        )

    def filter_chips(self, doc_ids: list[str] | None, publishers: list[str] | None) -> str:
        """What the filters hold, shown while the filter accordion is closed."""
        titles = {d.meta.doc_id: d.meta.title for d in self.services.store.list_documents()}
        first = [choice.split(DOC_ID_SEPARATOR)[0] for choice in doc_ids or []]
        return render.filter_chips_html([titles.get(i, i) for i in first], list(publishers or []))

    def themes(self) -> list[str]:
        return [t for d in self.services.store.list_documents() for t in d.meta.themes]


def _format_name(file_name: str) -> str:
    return FORMAT_NAMES.get(Path(file_name).suffix.lower(), Path(file_name).suffix.lstrip("."))


def build_ui(services: Services) -> gr.Blocks:
    """The page, wired to ``services`` (their answering service and feedback store)."""
    h = UiHandlers(services)
    modes = services.asker.modes
    with gr.Blocks(title=TITLE, analytics_enabled=False) as demo:
        session = gr.State(ChatSession())
        # What the index holds comes with the page's first load, not in its config: titles
        # and publishers are untrusted text, and the config is a script.
        header = gr.HTML(render.header_html(TITLE, None), elem_id="nhs-header")
        gr.Markdown(NOTICE, elem_id="nhs-notice")
        with gr.Row(equal_height=False):
            with gr.Column(scale=3, min_width=300):
                chatbot = gr.Chatbot(
                    label="Conversation",
                    elem_id="chat",
                    height=520,
                    latex_delimiters=[],
                    buttons=["copy"],
                    feedback_options=("Like", "Dislike"),
                    placeholder=render.EMPTY_CHAT,
                )
                question = gr.Textbox(
                    label="Your question",
                    placeholder="For example: how do I set up a neighbourhood health team?",
                    lines=1,  # Enter sends, as in any chat
                    max_lines=6,
                    elem_id="question",
                )
                with gr.Row():
                    ask_button = gr.Button("Ask", variant="primary", elem_id="ask", scale=1)
                    new_button = gr.Button("New conversation", elem_id="new-conversation")
                    download = gr.DownloadButton(
                        "Download (Markdown)",
                        interactive=False,
                        elem_id="download",
                    )
                status = gr.Markdown("", elem_id="feedback-status")
                with gr.Row(visible=False) as comment_row:
                    comment = gr.Textbox(
                        label="Comment on your rating (optional)", elem_id="comment", scale=3
                    )
                    comment_button = gr.Button("Send comment", elem_id="send-comment")
                examples = gr.Examples(
                    examples=[[q] for q in examples_for(h.themes())],
                    inputs=[question],
                    label="Example questions (click one to ask it)",
                )
                chips = gr.HTML("", elem_id="filter-chips")
                with gr.Accordion("Filters and answer mode", open=False, elem_id="filters"):
                    doc_filter = gr.Dropdown(
                        label="Only these documents", multiselect=True, choices=[], value=[]
                    )
                    publisher_filter = gr.Dropdown(
                        label="Only these publishers", multiselect=True, choices=[], value=[]
                    )
                    mode = gr.Radio(
                        choices=modes,
                        value=modes[0],
                        label="Answer mode (extractive quotes, or LLM-written and checked)",
                        visible=len(modes) > 1,
                        elem_id="mode",
                    )
            with gr.Column(scale=2, min_width=280):
                sources = gr.HTML(render.sources_html([]), elem_id="sources-panel")

        ask_inputs = [question, chatbot, session, doc_filter, publisher_filter, mode]
        ask_outputs = [question, chatbot, session, sources, download, status]
        for trigger in (ask_button.click, question.submit):
            trigger(
                h.respond,
                ask_inputs,
                ask_outputs,
                concurrency_limit=CONCURRENT_ANSWERS,
                show_progress="hidden",
            )
        chatbot.like(h.rate, [session], [session, status, comment_row])
        comment_button.click(h.comment, [comment, session], [session, status, comment])
        # An example is asked at once, as if typed and sent.
        examples.load_input_event.then(
            h.respond,
            ask_inputs,
            ask_outputs,
            concurrency_limit=CONCURRENT_ANSWERS,
            show_progress="hidden",
        )
        reset_outputs = [
            chatbot,
            session,
            sources,
            download,
            status,
            comment_row,
            question,
            doc_filter,
            publisher_filter,
            chips,
        ]
        new_button.click(h.new_conversation, None, reset_outputs)
        chatbot.clear(h.new_conversation, None, reset_outputs)  # the chat's own bin icon
        for dropdown in (doc_filter, publisher_filter):
            dropdown.change(h.filter_chips, [doc_filter, publisher_filter], [chips])
        demo.load(h.filter_choices, None, [doc_filter, publisher_filter, header, chatbot])
    return demo


def launch_ui(demo: gr.Blocks, host: str, port: int, block: bool = True) -> None:
    """Serve the page on ``host:port`` (blocks until stopped unless ``block`` is False)."""
    demo.queue(default_concurrency_limit=CONCURRENT_ANSWERS).launch(
        server_name=host,
        server_port=port,
        theme=nhs_theme(),
        css=CSS,
        head=HEAD,
        show_error=False,
        footer_links=[],
        prevent_thread_lock=not block,
        quiet=True,
    )


def mount_ui(app: FastAPI, demo: gr.Blocks, path: str = UI_PATH) -> FastAPI:
    """Serve the page inside the FastAPI app at ``path``."""
    demo.queue(default_concurrency_limit=CONCURRENT_ANSWERS)
    return gr.mount_gradio_app(
        app, demo, path=path, theme=nhs_theme(), css=CSS, head=HEAD, footer_links=[]
    )
