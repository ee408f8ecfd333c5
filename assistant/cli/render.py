"""Answers and passages as the terminal shows them (text) or prints them (``--json``)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from assistant.answer.citations import pages, section_within
from assistant.asking import AskEvent, AskResult, retrieved_info
from assistant.cli.common import console
from assistant.errors import AssistantError
from assistant.schemas import Answer, DeltaEvent, RetrievedChunk


def answer_json(result: AskResult, qid: str | None = None) -> dict[str, Any]:
    """The detailed response (``AskResult.to_response(detail=True)``), with the batch id."""
    out: dict[str, Any] = {} if qid is None else {"id": qid}
    out.update(result.to_response(detail=True).model_dump(mode="json"))
    return out


def chunks_json(chunks: list[RetrievedChunk]) -> str:
    return json.dumps([retrieved_info(c).model_dump(mode="json") for c in chunks])


def heading(answer: Answer) -> str:
    return "Not covered by the corpus" if answer.refused else "Answer"


def grounding_notes(answer: Answer) -> list[str]:
    """What the grounding check did to a generated answer, in words."""
    notes = []
    if answer.standalone_question:
        notes.append(f"Read as: {answer.standalone_question}")
    if answer.removed:
        s = "" if answer.removed == 1 else "s"
        notes.append(f"{answer.removed} sentence{s} removed: not supported by the cited passages.")
    if answer.dropped_citations:
        notes.append(
            f"{answer.dropped_citations} citation(s) to passages that do not exist dropped."
        )
    if answer.mode == "extractive-fallback":
        notes.append(
            f"The generated answer was not used ({answer.fallback_reason}); this is the "
            "extractive answer, quoted from the sources."
        )
    return notes


def print_streamed(events: Iterable[AskEvent]) -> Answer:
    """Print answer text as it arrives, then the checked answer when the check changed it."""
    pieces: list[str] = []
    answer: Answer | None = None
    for event in events:
        if isinstance(event, DeltaEvent):
            if not pieces:
                console.print("\n[bold]Answer[/bold]\n")
            pieces.append(event.text)
            console.print(event.text, end="", highlight=False, markup=False, soft_wrap=True)
            console.file.flush()
        elif isinstance(event, AskResult):
            answer = event.answer
    if answer is None:
        raise AssistantError("the answer stream ended without an answer")
    console.print()
    if "".join(pieces).strip() != answer.answer.strip():
        console.print(f"\n[bold]{heading(answer)} (checked against the sources)[/bold]\n")
        console.print(answer.answer, highlight=False, markup=False)
    for note in grounding_notes(answer):
        console.print(note, style="yellow", highlight=False, markup=False)
    print_sources(answer)
    return answer


def print_sources(answer: Answer) -> None:
    if answer.citations:
        console.print("\n[bold]Sources[/bold]")
        for c in answer.citations:
            section = section_within(c.title, c.section)
            where = " · ".join(x for x in (section, pages(c.page, c.page_end, short=False)) if x)
            console.print(
                f"[{c.n}] [bold]{c.title}[/bold]" + (f" — {where}" if where else ""),
                highlight=False,
            )
            if c.document_warning:
                console.print(
                    f"    ⚠ {c.document_warning}", style="yellow", highlight=False, markup=False
                )
            if not answer.refused:
                for quote in c.quotes:
                    console.print(f'    "{" ".join(quote.split())}"', style="dim", highlight=False)
            if c.source_url:
                console.print(f"    {c.source_url}", style="blue", highlight=False)


def print_chunks(chunks: list[RetrievedChunk]) -> None:
    for c in chunks:
        page = f" p.{c.page_start}" if c.page_start else ""
        console.print(
            f"[bold]{c.rank}. {c.title}[/bold] — {c.section}{page}  (score {c.score:.4f})",
            highlight=False,
        )
        console.print(
            "   " + c.text[:300].replace("\n", " ") + ("…" if len(c.text) > 300 else ""),
            style="dim",
            highlight=False,
        )
