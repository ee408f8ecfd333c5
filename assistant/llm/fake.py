"""A scripted chat model for tests, built by the same factory as the real ones.

It speaks LangChain's chat model interface, streams word by word, and never touches the
network. With ``responses`` it replies with them in order (the last one repeats); without, it
quotes the first sentence of each fenced passage with that passage's number, or echoes the
question when the prompt has no passages (the follow-up condenser's prompt).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import Field

from assistant.answer.display import display_text
from assistant.text.sentences import sentence_spans

_PASSAGE = re.compile(r"<<<passage (\d+) \S+ \|[^\n]*>>>\n(.*?)\n<<<end passage \1 ", re.S)
_QUESTION = re.compile(r"(?:Follow-up question|Question):[ \t]*(\S[^\n]*)")
_TOKEN = re.compile(r"\S+\s*|\s+")


class ScriptedChatModel(BaseChatModel):
    """Replies from a script, for tests.

    >>> ScriptedChatModel(responses=["Plans are due in May [1]."]).invoke("hi").content
    'Plans are due in May [1].'
    """

    responses: list[str] = Field(default_factory=list)
    calls: int = 0
    prompts: list[list[BaseMessage]] = Field(default_factory=list)

    @property
    def _llm_type(self) -> str:
        return "scripted-fake"

    def _reply(self, messages: list[BaseMessage]) -> str:
        self.prompts.append(list(messages))
        self.calls += 1
        if self.responses:
            return self.responses[min(self.calls, len(self.responses)) - 1]
        return quote_passages(str(messages[-1].content))

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        message = AIMessage(content=self._reply(messages))
        return ChatResult(generations=[ChatGeneration(message=message)])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for token in _TOKEN.findall(self._reply(messages)):
            yield ChatGenerationChunk(message=AIMessageChunk(content=token))
        yield ChatGenerationChunk(
            message=AIMessageChunk(content="", response_metadata={"finish_reason": "stop"})
        )


def quote_passages(prompt: str) -> str:
    """The first sentence of each fenced passage cited with its number; else the question."""
    out = []
    for n, body in _PASSAGE.findall(prompt):
        spans = sentence_spans(body)
        if spans:
            a, b = spans[0]
            out.append(f"{display_text(body[a:b]).rstrip('.')} [{n}].")
    if out:
        return " ".join(out)
    questions = _QUESTION.findall(prompt)
    return questions[-1].strip() if questions else "I do not know."
