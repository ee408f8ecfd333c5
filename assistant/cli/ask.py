"""`retrieve` and `ask` (one question, a conversation on a terminal, or a batch file)."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import ValidationError

from assistant.cli.common import (
    DataDir,
    DocFilter,
    JsonOut,
    ModeOption,
    PublisherFilter,
    ThemeFilter,
    console,
    err_console,
    fail,
    filters_from,
    invalid_input,
    services_for,
    settings_for,
)
from assistant.cli.render import answer_json, chunks_json, print_chunks, print_streamed
from assistant.errors import AssistantError, InvalidInputError
from assistant.schemas import AskRequest, ChatMessage, Filters

if TYPE_CHECKING:
    from assistant.asking import AskService
    from assistant.services import Services

RETRIEVED_IN_OUTPUT = 10  # ranked chunks reported with every answer
MAX_HISTORY_MESSAGES = 50  # what a request may carry; the condenser reads far fewer turns


def retrieve(
    question: Annotated[str, typer.Argument(help="The question.")],
    k: Annotated[int, typer.Option("--k", help="How many chunks.")] = 10,
    doc: DocFilter = None,
    publisher: PublisherFilter = None,
    theme: ThemeFilter = None,
    data_dir: DataDir = None,
    json_out: JsonOut = False,
) -> None:
    """Ranked chunks for a question, without an answer."""
    services = services_for(settings_for(data_dir))
    try:
        chunks = services.retrieve(question, k=k, filters=filters_from(doc, publisher, theme))
    except InvalidInputError as exc:
        raise fail(exc, 2) from exc
    except AssistantError as exc:
        raise fail(exc) from exc
    if json_out:
        console.print_json(chunks_json(chunks))
    else:
        print_chunks(chunks)


def ask(
    question: Annotated[
        str | None, typer.Argument(help="The question (or use --questions).")
    ] = None,
    questions: Annotated[
        Path | None,
        typer.Option(help="JSONL file of {id, question}; prints one JSON answer per line."),
    ] = None,
    doc: DocFilter = None,
    publisher: PublisherFilter = None,
    theme: ThemeFilter = None,
    data_dir: DataDir = None,
    json_out: JsonOut = False,
    mode: ModeOption = None,
    as_of: Annotated[
        datetime | None,
        typer.Option(
            "--as-of",
            formats=["%Y-%m-%d"],
            help="Answer as of this date (YYYY-MM-DD): sources superseded or past their period "
            "by then carry a warning. Default: today (or NHS_ASSISTANT_ANSWER_AS_OF).",
        ),
    ] = None,
) -> None:
    """Answer a question from the indexed documents, with numbered sources.

    With no question on a terminal, asks for questions one after another (follow-ups
    understood). The answer is printed as it is written, then checked against the sources.
    """
    if question is not None and questions is not None:
        err_console.print("[red]error:[/red] give a QUESTION or --questions FILE.jsonl, not both")
        raise typer.Exit(2)
    if question is None and questions is None and not sys.stdin.isatty():
        err_console.print("[red]error:[/red] give a QUESTION or --questions FILE.jsonl")
        raise typer.Exit(2)
    settings = settings_for(data_dir)
    if as_of is not None:
        settings.answer.as_of = as_of.date()
    services = services_for(settings)
    asker = services.asker
    filters = filters_from(doc, publisher, theme)
    try:
        mode = asker.answerer_for(mode).mode
    except InvalidInputError as exc:
        raise fail(exc, 2) from exc
    if question is None and questions is None:
        _interactive(services, filters, mode)
        return
    if questions is not None:
        _ask_batch(asker, questions, filters, mode)
        return
    assert question is not None
    try:
        request = question_request(question, filters, mode)
        if json_out:
            result = asker.ask(request, report_k=RETRIEVED_IN_OUTPUT, record=False)
            console.print_json(json.dumps(answer_json(result)))
        else:
            print_streamed(asker.stream(request, record=False))
    except InvalidInputError as exc:
        raise fail(exc, 2) from exc
    except AssistantError as exc:
        raise fail(exc) from exc


def question_request(
    question: object,
    filters: Filters | None,
    mode: str | None,
    history: list[ChatMessage] | None = None,
) -> AskRequest:
    """The request for a question typed or read from a file; InvalidInputError if malformed."""
    try:
        return AskRequest.model_validate(
            {
                "question": question,
                "filters": filters,
                "mode": mode,
                "history": (history or [])[-MAX_HISTORY_MESSAGES:],
            }
        )
    except ValidationError as exc:
        raise invalid_input(exc) from exc


def _interactive(services: Services, filters: Filters | None, mode: str) -> None:
    asker = services.asker
    console.print(
        f"[bold]NHS leaders' assistant[/bold] — {services.store.count()} passages indexed. Ask a "
        "question about the documents; an empty line quits. Not for patient-identifiable "
        "information; not clinical advice."
    )
    history: list[ChatMessage] = []
    while True:
        try:
            question = console.input("\n[bold blue]Question:[/bold blue] ").strip()
        except (EOFError, KeyboardInterrupt):
            return
        if not question:
            return
        try:
            request = question_request(question, filters, mode, history)
            answer = print_streamed(asker.stream(request, record=False))
        except AssistantError as exc:
            err_console.print(f"[red]error:[/red] {exc}")
            continue
        history += [
            ChatMessage(role="user", content=question),
            ChatMessage(role="assistant", content=answer.answer),
        ]


def _ask_batch(asker: AskService, path: Path, filters: Filters | None, mode: str) -> None:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        err_console.print(f"[red]error:[/red] cannot read {path}: {exc.strerror}")
        raise typer.Exit(2) from exc
    out = sys.stdout
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            qid, q = str(item["id"]), item["question"]
        except (ValueError, KeyError, TypeError):
            out.write(
                json.dumps(
                    {"line": lineno, "error": "expected a JSON object with 'id' and 'question'"}
                )
                + "\n"
            )
            continue
        try:
            request = question_request(q, filters, mode)
            result = asker.ask(request, report_k=RETRIEVED_IN_OUTPUT, record=False)
            out.write(json.dumps(answer_json(result, qid), ensure_ascii=False) + "\n")
        except AssistantError as exc:
            out.write(json.dumps({"id": qid, "error": str(exc)}) + "\n")
        out.flush()
