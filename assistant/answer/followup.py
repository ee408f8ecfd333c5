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
from collections.abc import Callable
from typing import Protocol

from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.prompts import ChatPromptTemplate

from assistant.answer.prompts import CONDENSE_SYSTEM_PROMPT, CONDENSE_USER_TEMPLATE, format_history
from assistant.config import LLMSettings
from assistant.errors import BackendUnavailableError
from assistant.llm.calls import ModelCaller
from assistant.llm.factory import describe
from assistant.schemas import ChatMessage
from assistant.text import STOP_WORDS, stem, words

logger = logging.getLogger(__name__)

FOLLOW_UP_OPENERS = re.compile(
    r"^(?:and|but|so|also|then|now|ok(?:ay)?|what about|how about|what if|same\b|the same|"
    r"what else|anything else|any others?|tell me more|more (?:detail|on)|(?:can you )?"
    r"(?:expand|elaborate)|(?:and|or) (?:for|in|by|with)\b|going back|back to|anything (?:on|about)"
    r")\b[,\s]*",
    re.IGNORECASE,
)
_CONJUNCTION = re.compile(r"^(?:and|but|so|also|then|ok(?:ay)?)\b[,\s]*", re.IGNORECASE)
# Words that lean on something said before: "the same for trusts", "the second one", "as well".
_LEANS_BACK = re.compile(
    r"\b(?:the same (?:for|in|applies|goes)|the (?:first|second|third|fourth|last|other|"
    r"former|latter) (?:one|ones|point|option|item|thing|bit)|the above|mentioned (?:above|"
    r"earlier|before)|you (?:said|mentioned|listed)|in more detail|more detail|expand on|"
    r"elaborate|either of|which (?:one|ones)|(?:give|show) me (?:an? |some )?examples?|any "
    r"examples?|(?:from|said) earlier|again)\b|\b(?:as well|too|instead|examples)\W*$",
    re.IGNORECASE,
)
ANAPHORS = frozenset(
    {"that", "this", "it", "its", "they", "them", "their", "those", "these", "there", "such"}
)
BARE_MAX_TERMS = 1  # a question of one content word or none ("Why?", "By when?") leans back
FOLLOW_UP_MAX_TERMS = 4  # "this plan", "these teams" lean back in a question this short
CONDENSED_MAX_WORDS = 60  # a longer "question" from the model is an answer or a ramble
_LABEL = re.compile(r"^(?:standalone question|question|rewritten question)\s*:\s*", re.IGNORECASE)


def _wordset(text: str) -> frozenset[str]:
    return frozenset(text.split())


_AUX = _wordset(
    "is are was were be been does do did will would can could should must has have had may "
    "might shall"
)
_PREP = _wordset(
    "about for with on of to from by like after before into under over at in without through "
    "behind against around regarding"
)
_WH = _wordset("what who whom when where why how which whose")
# After a pronoun "that"/"this": a verb or particle ("does that apply", "signs that off").
_PRONOUN_NEXT = _wordset(
    "is was will would does do did mean means meant apply applies include includes work works "
    "happen happens off cover covers affect affects change changes cost costs involve involves "
    "need needs require requires take takes look looks sit sits fit fits come comes go goes "
    "start starts end ends relate relates link links compare compares count counts 's"
)
# "how does it relate to ...": "to" after these does not make "it" a dummy subject.
_RELATES = _wordset(
    "mean means apply applies relate relates compare compares link links affect affects cover "
    "covers fit fits work works happen happens"
)
_DEICTIC_NOUNS = _wordset(
    "year years month week quarter winter summer spring autumn time financial days morning "
    "afternoon evening"
)
# Words that name an aspect of some subject rather than a subject: "whats the timeline", "how
# many days", "any specific targets" say nothing of what they are about.
GENERIC_TERMS = _wordset(
    "target targets threshold thresholds timeline timelines timescale timescales deadline "
    "deadlines date dates cost costs budget budgets funding money example examples number "
    "numbers figure figures evidence benchmark benchmarks day days week weeks month months year "
    "years tier tiers segment segments level levels role roles feature features step steps "
    "stage stages phase phases first next last priority priorities requirement requirements "
    "rule rules detail details process criteria criterion measure measures metric metrics rate "
    "rates reduction increase change changes specific main key included include includes "
    "happen happens decide decides decided need needs aim aims still new current latest "
    "difference differences exception exceptions options option list summary point points "
    "bits bit part parts section sections percentage percent many much long often exactly "
    "mean means standard standards expected expect required require come comes apply applies "
    "else kind kinds type types way ways changed max maximum min minimum mins minutes hours "
    "total average per users people staff patients money"
)
# Function words as people type them, without the apostrophe.
_TYPED_FUNCTION_WORDS = _wordset(
    "whats hows whos wheres whens whys thats theres its youre were theyre dont doesnt isnt arent "
    "cant wont pls plz please thanks thx ok okay"
)
_AMPERSAND_ACRONYM = re.compile(r"\b[A-Z]+&[A-Z]+\b")
_ACRONYM = re.compile(r"\b[A-Z][A-Z&]{1,}s?\b")


class Condenser(Protocol):
    """Turns a follow-up and the conversation before it into a standalone question."""

    def condense(self, question: str, history: list[ChatMessage]) -> str: ...


def recent_turns(history: list[ChatMessage], turns: int) -> list[ChatMessage]:
    """The last ``turns`` exchanges (user and assistant messages only; other roles from a
    client are not instructions to follow)."""
    talk = [m for m in history if m.role in ("user", "assistant") and m.content.strip()]
    return talk[-2 * turns :] if turns else []


def _content_words(text: str) -> list[str]:
    return [w for w in words(text) if _is_content(w)]


def _is_content(word: str | None) -> bool:
    return (
        word is not None
        and len(word) > 1
        and word not in STOP_WORDS
        and word not in ANAPHORS
        and word not in _TYPED_FUNCTION_WORDS
    )


def _unresolved(tokens: list[str], i: int, n_terms: int) -> bool:
    """Whether the pronoun or determiner at ``tokens[i]`` points outside the question."""
    word = tokens[i]
    prev = tokens[i - 1] if i else None
    nxt = tokens[i + 1].removesuffix("'s").removesuffix("’s") if i + 1 < len(tokens) else None
    if word == "there":
        # "is there", "are there any", "there is": existential, not a place named before.
        return not (prev in _AUX or nxt in _AUX or nxt in ("'s", "any"))
    if word in ("it", "its"):
        # "how long does it take to", "is it mandatory for ICBs to": a dummy subject.
        ahead = tokens[i + 1 : i + 6]
        if word == "it" and ("to" in ahead or "that" in ahead[:3]) and nxt not in _RELATES:
            return False
        if word == "it" and nxt in ("true", "right", "correct", "possible", "the"):
            return False  # "is it true trusts must ...", "is it the case that ..."
        return not _in_a_later_clause(tokens, i, lambda t: True)
    if word in ("they", "them", "their"):
        return not _in_a_later_clause(tokens, i, lambda t: t.endswith("s") and len(t) > 2)
    if word == "such":
        return nxt != "as"
    if word in ("that", "this"):
        if nxt is None or nxt in _PRONOUN_NEXT or nxt in _AUX:
            return True  # "what about that", "does this apply", "when is that due"
        if prev is None or prev in _AUX or prev in _PREP or prev in _WH:
            # "is that target met", "for this", "what this means": pronoun or determiner
            return nxt not in _DEICTIC_NOUNS
        return False  # "evidence that virtual wards work", "targets that ICBs must meet"
    # "these", "those"
    if nxt in _DEICTIC_NOUNS:
        return False
    return not _is_content(nxt) or n_terms <= FOLLOW_UP_MAX_TERMS


_CLAUSE = _wordset("and but so because when if once after before until while whether or that which")


def _in_a_later_clause(tokens: list[str], i: int, names: Callable[[str], bool]) -> bool:
    """Whether the pronoun at ``i`` sits in a clause after one that names its subject ("What
    is the NHS App and who runs it?", "How do ICBs report when they miss a target?")."""
    for j in range(i - 1, 0, -1):
        if tokens[j] in _CLAUSE:
            return any(_is_content(t) and names(t) for t in tokens[:j])
    return False


def looks_like_follow_up(question: str) -> bool:
    """Whether the question cannot stand on its own: it opens as a continuation ("and for
    trusts?", "what about GPs"), leans on something said before ("the second one", "as
    well"), is bare ("Why?", "By when?"), or holds a pronoun with nothing in the question to
    point to ("who signs that off?", "when is it due"). History alone never makes a follow-up:
    "What are the three shifts?" stands on its own after any conversation."""
    text = question.strip()
    if FOLLOW_UP_OPENERS.match(text) or _LEANS_BACK.search(text):
        return True
    tokens = words(text)
    if tokens and tokens[0] in _PREP and not (set(tokens) & (_WH | _AUX)):
        return True  # "by march 2026?", "for community trusts?": a phrase, not a question
    terms = _content_words(text) + _AMPERSAND_ACRONYM.findall(text)  # "A&E" is a term
    acronyms = _ACRONYM.findall(text)
    if len(terms) <= BARE_MAX_TERMS and not (acronyms and terms[0] not in GENERIC_TERMS):
        return True  # "Why?", "By when?", "Deadline?"; but "whats SDEC" names its subject
    if len(terms) <= FOLLOW_UP_MAX_TERMS and all(t in GENERIC_TERMS or t.isdigit() for t in terms):
        return True  # "whats the threshold", "how many days", "any specific targets"
    return any(_unresolved(tokens, i, len(terms)) for i, t in enumerate(tokens) if t in ANAPHORS)


def continued_question(question: str, asked: list[str]) -> str:
    """The earlier question a follow-up continues: the latest one sharing a content word with
    it ("going back to the trust stuff, who is accountable?"), else the one just before."""
    own = {stem(w) for w in _content_words(question) if w not in GENERIC_TERMS}
    for earlier in reversed(asked):
        if own & {stem(w) for w in _content_words(earlier)}:
            return earlier
    return asked[-1]


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
        asked = [m.content.strip() for m in turns if m.role == "user" and m.content.strip()]
        if not asked or not looks_like_follow_up(question):
            return question
        previous = continued_question(question, asked)
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
