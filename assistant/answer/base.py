"""What every answerer offers, and the one streaming contract all surfaces share.

An answerer turns a question and its retrieved chunks into an :class:`Answer`. ``stream`` yields
:class:`DeltaEvent` pieces as the text is produced, then one :class:`FinalEvent`; ``answer`` is
the same thing without the pieces. The extractive answerer streams sentence by sentence, the LLM
answerer token by token, so the CLI, the API and the UI handle both the same way.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Protocol

from assistant.schemas import Answer, ChatMessage, DeltaEvent, FinalEvent, RetrievedChunk

# Text with lines (numbered steps, a refusal's list of sources) streams line by line; prose
# streams one cited sentence at a time, cut after each citation marker.
_LINE_START = re.compile(r"(?=\n)")
_AFTER_MARKER = re.compile(r"(?<=\])(?= )")


class Answerer(Protocol):
    """Answers from retrieved chunks. ``history`` is earlier turns, oldest first."""

    mode: str

    def stream(
        self,
        question: str,
        chunks: list[RetrievedChunk],
        history: list[ChatMessage] | None = None,
        timings_ms: dict[str, float] | None = None,
    ) -> Iterator[DeltaEvent | FinalEvent]: ...


def final_answer(events: Iterator[DeltaEvent | FinalEvent]) -> Answer:
    """Run a stream to its end and return its answer."""
    for event in events:
        if isinstance(event, FinalEvent):
            return event.answer
    raise RuntimeError("answer stream ended without a final event")


def text_pieces(text: str) -> list[str]:
    """``text`` cut into lines, or else after each citation marker; the pieces join back to it.

    >>> text_pieces("First [1] second [2]")
    ['First [1]', ' second [2]']
    >>> text_pieces("1. Do this [1]\\n2. Then that [2]")
    ['1. Do this [1]', '\\n2. Then that [2]']
    """
    cut = _LINE_START if "\n" in text else _AFTER_MARKER
    return [p for p in cut.split(text) if p]


def stream_whole(answer: Answer) -> Iterator[DeltaEvent | FinalEvent]:
    """Stream an answer that is already complete: its text piece by piece, then the answer."""
    for piece in text_pieces(answer.answer):
        yield DeltaEvent(text=piece)
    yield FinalEvent(answer=answer)
