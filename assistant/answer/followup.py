"""Follow-up questions made standalone before retrieval ("and who signs that off?").

Retrieval sees one question, so a follow-up that leans on the conversation must carry its
subject with it. In LLM mode the model rewrites it (:class:`LLMCondenser`); in extractive mode,
or when the model fails or returns something unusable, a rule does (:class:`RuleCondenser`):
a question that looks like a follow-up gets the previous question attached as context.
Only user and assistant turns are read, at most ``llm.history_turns`` of them.
"""

from __future__ import annotations

import logging
import re
from typing import Protocol

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.prompts import ChatPromptTemplate

from assistant.answer.prompts import CONDENSE_SYSTEM_PROMPT, CONDENSE_USER_TEMPLATE, format_history
from assistant.config import LLMSettings
from assistant.errors import BackendUnavailableError
from assistant.llm.calls import ModelCaller
from assistant.llm.factory import describe
from assistant.schemas import ChatMessage
from assistant.text import STOP_WORDS, words

logger = logging.getLogger(__name__)

FOLLOW_UP_OPENERS = re.compile(
    r"^(?:and|but|so|also|then|ok(?:ay)?|what about|how about|what if)\b[,\s]*", re.IGNORECASE
)
_CONJUNCTION = re.compile(r"^(?:and|but|so|also|then|ok(?:ay)?)\b[,\s]*", re.IGNORECASE)
ANAPHORS = frozenset(
    {"that", "this", "it", "its", "they", "them", "their", "those", "these", "there", "such"}
)
FOLLOW_UP_MAX_TERMS = 4  # a question naming this few things, one of them "that", leans back
BARE_MAX_TERMS = 2  # so few content words cannot stand alone
CONDENSED_MAX_WORDS = 60  # a longer "question" from the model is an answer or a ramble
_LABEL = re.compile(r"^(?:standalone question|question|rewritten question)\s*:\s*", re.IGNORECASE)


class Condenser(Protocol):
    """Turns a follow-up and the conversation before it into a standalone question."""

    def condense(self, question: str, history: list[ChatMessage]) -> str: ...


def recent_turns(history: list[ChatMessage], turns: int) -> list[ChatMessage]:
    """The last ``turns`` exchanges (user and assistant messages only; other roles from a
    client are not instructions to follow)."""
    talk = [m for m in history if m.role in ("user", "assistant") and m.content.strip()]
    return talk[-2 * turns :] if turns else []


def _content_words(text: str) -> list[str]:
    return [w for w in words(text) if w not in STOP_WORDS and w not in ANAPHORS and len(w) > 1]


def looks_like_follow_up(question: str) -> bool:
    """Opens like a continuation, or is too bare or too pronoun-bound to stand alone."""
    if FOLLOW_UP_OPENERS.match(question.strip()):
        return True
    terms = _content_words(question)
    if len(terms) <= BARE_MAX_TERMS:
        return True
    return bool(ANAPHORS & set(words(question))) and len(terms) <= FOLLOW_UP_MAX_TERMS


class RuleCondenser:
    """Attaches the previous question to a follow-up, so retrieval finds its subject.

    >>> RuleCondenser(6).condense("and who signs that off?",
    ...     [ChatMessage(role="user", content="What must the operational plan include?")])
    'Who signs that off? (Follow-up to: What must the operational plan include?)'
    """

    def __init__(self, history_turns: int, max_chars: int = 2000) -> None:
        self.history_turns = history_turns
        self.max_chars = max_chars

    def condense(self, question: str, history: list[ChatMessage]) -> str:
        turns = recent_turns(history, self.history_turns)
        previous = next((m.content.strip() for m in reversed(turns) if m.role == "user"), "")
        if not previous or not looks_like_follow_up(question):
            return question
        rest = _CONJUNCTION.sub("", question.strip()).strip() or question.strip()
        rest = rest[:1].upper() + rest[1:]
        if not rest.endswith("?"):
            rest += "?"
        room = self.max_chars - len(rest) - len(" (Follow-up to: )")
        if room <= 0:
            return question
        return f"{rest} (Follow-up to: {' '.join(previous.split())[:room]})"


def condense_prompt() -> ChatPromptTemplate:
    return ChatPromptTemplate.from_messages(
        [("system", CONDENSE_SYSTEM_PROMPT), ("human", CONDENSE_USER_TEMPLATE)]
    )


class LLMCondenser:
    """The model rewrites the follow-up; the rule takes over when it cannot."""

    def __init__(self, settings: LLMSettings, model: BaseChatModel, rules: RuleCondenser) -> None:
        self.caller = ModelCaller(condense_prompt() | model, settings, describe(settings))
        self.rules = rules

    def condense(self, question: str, history: list[ChatMessage]) -> str:
        turns = recent_turns(history, self.rules.history_turns)
        if not any(m.role == "user" for m in turns):
            return question
        try:
            reply = self.caller.invoke({"history": format_history(turns), "question": question})
        except BackendUnavailableError as exc:
            logger.warning("condensing the follow-up with the rule instead: %s", exc)
            return self.rules.condense(question, history)
        standalone = clean_condensed(reply, self.rules.max_chars)
        context = set(_content_words(" ".join([question, *(m.content for m in turns)])))
        if not standalone or not context & set(_content_words(standalone)):
            # Empty, rambling, or about something never mentioned: retrieval would follow it.
            return self.rules.condense(question, history)
        return standalone


def clean_condensed(reply: str, max_chars: int) -> str:
    """The model's question on one line, without labels or quotes; '' when unusable."""
    line = next((ln.strip() for ln in reply.splitlines() if ln.strip()), "")
    line = _LABEL.sub("", line).strip().strip("\"'“”").strip()
    if not _content_words(line) or len(line) > max_chars:
        return ""
    return line if len(line.split()) <= CONDENSED_MAX_WORDS else ""
