"""Follow-up decisions in scripted conversations: is each later question read as a follow-up
exactly when it leans on what came before, and does it then carry the right earlier question?

A conversation set (``eval/datasets/conversations*.jsonl``) holds, per line::

    {"id": "c01", "turns": [{"q": "...", "label": "new"},
                            {"q": "...", "label": "follow_up", "refers_to": 0}, ...],
     "filter_change_before": 2}

``label`` says whether the question needs the conversation to be understood; ``refers_to`` is
the earlier turn it continues; ``filter_change_before`` marks a turn asked after the user changed
the document filter (the decision is still the question's own). The conversations were written
by reviewers who had not read the rule, each set scored once before the rule was changed for it.

Each turn runs through the same :class:`~assistant.answer.followup.RuleCondenser` the service
uses, with every earlier turn in the history, refused or not, as the page sends it.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from assistant.answer.followup import RuleCondenser
from assistant.schemas import ChatMessage
from eval.jsonl import Record, read_jsonl

HISTORY_TURNS = 6  # the service's default llm.history_turns
DATASETS = (
    Path(__file__).parent / "datasets" / "conversations.jsonl",
    Path(__file__).parent / "datasets" / "conversations_blind.jsonl",
)


class ConversationTurn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    q: str = Field(min_length=1)
    label: Literal["new", "follow_up"]
    refers_to: int | None = Field(default=None, ge=0)


class Conversation(Record):
    model_config = ConfigDict(extra="forbid")

    turns: list[ConversationTurn] = Field(min_length=2)
    filter_change_before: int | None = Field(default=None, ge=1)


def _check(conv: Conversation) -> str | None:
    if conv.turns[0].label != "new":
        return "the first turn cannot be a follow-up"
    for i, turn in enumerate(conv.turns):
        if turn.label == "follow_up" and (turn.refers_to is None or turn.refers_to >= i):
            return f"turn {i}: a follow-up needs refers_to, an earlier turn"
        if turn.label == "new" and turn.refers_to is not None:
            return f"turn {i}: a new question refers to no turn"
    return None


@dataclass(frozen=True)
class Turn:
    conversation: str
    index: int
    question: str
    expected: bool  # a follow-up
    decided: bool
    refers_to: int | None
    carried: bool  # the condensed question names the turn it refers to (follow-ups)
    after_filter_change: bool

    @property
    def correct(self) -> bool:
        return self.expected == self.decided


@dataclass
class FollowUpReport:
    turns: list[Turn] = field(default_factory=list)

    def accuracy(self, turns: list[Turn] | None = None) -> float:
        turns = self.turns if turns is None else turns
        return sum(t.correct for t in turns) / len(turns) if turns else 0.0

    def confusion(self) -> Counter[str]:
        return Counter(
            ("follow-up" if t.expected else "new")
            + " read as "
            + ("follow-up" if t.decided else "new")
            for t in self.turns
        )

    def slices(self) -> dict[str, list[Turn]]:
        """The cases the issue names: a new topic, a true follow-up, a follow-up of the turn
        just before (often a refused one) or of one further back, after a filter change."""
        return {
            "new topic": [t for t in self.turns if not t.expected],
            "follow-up": [t for t in self.turns if t.expected],
            "follow-up of an earlier turn": [
                t for t in self.turns if t.expected and t.refers_to != t.index - 1
            ],
            "after a filter change": [t for t in self.turns if t.after_filter_change],
        }

    def carried_rate(self, just_before: bool = True) -> float:
        """Of follow-ups read as follow-ups, the share whose standalone question carries the
        question of the turn they continue: of the turn just before, or of one further back
        (the rule attaches only the turn just before; a model may do better)."""
        cases = [
            t
            for t in self.turns
            if t.expected and t.decided and (t.refers_to == t.index - 1) == just_before
        ]
        return sum(t.carried for t in cases) / len(cases) if cases else 0.0

    def render(self) -> str:
        lines = [
            f"follow-up decisions: {sum(t.correct for t in self.turns)}/{len(self.turns)} "
            f"({self.accuracy():.3f})"
        ]
        for name, turns in self.slices().items():
            lines.append(f"  {name:30} {self.accuracy(turns):.3f}  (n={len(turns)})")
        for name, n in sorted(self.confusion().items()):
            lines.append(f"  {name:30} {n}")
        lines.append(f"  turn just before carried       {self.carried_rate():.3f}")
        lines.append(f"  turn further back carried      {self.carried_rate(False):.3f}")
        wrong = [t for t in self.turns if not t.correct]
        for t in wrong:
            want = "follow-up" if t.expected else "new"
            lines.append(f"  wrong: {t.conversation} turn {t.index} ({want}): {t.question}")
        return "\n".join(lines)


def score_conversations(path: Path, condenser: RuleCondenser | None = None) -> FollowUpReport:
    """Run every conversation in ``path`` through the follow-up rule."""
    rule = condenser or RuleCondenser(HISTORY_TURNS)
    report = FollowUpReport()
    for conv in read_jsonl(path, Conversation, _check):
        history: list[ChatMessage] = []
        changed = conv.filter_change_before
        for i, turn in enumerate(conv.turns):
            question = turn.q
            if i:
                standalone = rule.condense(question, history)
                decided = standalone != question
                refers = turn.refers_to
                earlier = conv.turns[refers].q if refers is not None else ""
                report.turns.append(
                    Turn(
                        conversation=conv.id,
                        index=i,
                        question=question,
                        expected=turn.label == "follow_up",
                        decided=decided,
                        refers_to=refers,
                        carried=bool(earlier) and " ".join(earlier.split()) in standalone,
                        after_filter_change=changed is not None and i >= changed,
                    )
                )
            # Every turn stays in the history, answered or refused (the page sends both).
            history += [
                ChatMessage(role="user", content=question),
                ChatMessage(role="assistant", content="(answer)"),
            ]
    return report
