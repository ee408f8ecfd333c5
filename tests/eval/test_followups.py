"""The follow-up rule on scripted conversations written by reviewers who had not read it."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from eval.followups import score_conversations
from eval.jsonl import DatasetError

DATASETS = Path(__file__).resolve().parents[2] / "eval" / "datasets"


@pytest.mark.parametrize("name", ["conversations.jsonl", "conversations_blind.jsonl"])
def test_follow_up_decisions_are_right_in_at_least_95_percent_of_turns(name: str) -> None:
    report = score_conversations(DATASETS / name)
    assert len(report.turns) >= 140
    assert report.accuracy() >= 0.95, report.render()
    slices = report.slices()
    # A self-contained question is almost never taken for a follow-up.
    assert report.accuracy(slices["new topic"]) >= 0.98, report.render()
    assert report.accuracy(slices["after a filter change"]) >= 0.9, report.render()
    # A follow-up of the turn just before carries that turn's question.
    assert report.carried_rate() >= 0.95, report.render()


def test_a_malformed_conversation_is_named_by_its_line(tmp_path: Path) -> None:
    path = tmp_path / "c.jsonl"
    path.write_text(
        '{"id": "a", "turns": [{"q": "What are the three shifts?", "label": "new"},'
        ' {"q": "and why?", "label": "follow_up", "refers_to": 1}]}\n',
        encoding="utf-8",
    )
    with pytest.raises(DatasetError, match="line 1"):
        score_conversations(path)


def test_the_cli_prints_the_decisions(tmp_path: Path) -> None:
    from assistant.cli import app

    out = CliRunner().invoke(
        app, ["eval", "followups", "--dataset", str(DATASETS / "conversations_blind.jsonl")]
    )
    assert out.exit_code == 0, out.output
    assert "follow-up decisions:" in out.output and "new topic" in out.output
