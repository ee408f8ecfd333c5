"""A fresh clone with no network: a clear notice, then the project's briefings answer the
example questions the page offers, each cited by name, none refused."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.cli import app
from assistant.config import Settings
from assistant.schemas import AskRequest
from assistant.services import build_services
from tests.conftest import PROJECT_ROOT
from ui.app import UiHandlers
from ui.examples import examples_for

pytestmark = [pytest.mark.slow]


def test_offline_first_run_says_so_and_the_briefings_answer_every_example(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The publishers cannot be reached: the manifest's entries point at a closed port.
    manifest = tmp_path / "sources.toml"
    manifest.write_text(
        '[[source]]\nid = "plan"\ntitle = "Plan"\nurl = "http://127.0.0.1:9/plan.md"\n'
        'files = ["plan.md"]\n',
        encoding="utf-8",
    )
    fetched = CliRunner().invoke(
        app,
        ["corpus", "fetch", "--best-effort", "--tries", "1", "--timeout", "2",
         "--manifest", str(manifest), "--dest", str(tmp_path / "fetched")],
    )  # fmt: skip
    assert fetched.exit_code == 0, fetched.output
    assert " ".join(fetched.output.split()).startswith("Offline, or the publishers")

    services = build_services(Settings(data_dir=tmp_path / "data"))  # the real embedder
    report = services.ingest([PROJECT_ROOT / "corpus" / "briefings"])
    assert not report.failed
    handlers = UiHandlers(services)
    _, _, header, placeholder = handlers.filter_choices()
    assert "Getting the basics right" in placeholder["placeholder"]  # newest briefings named
    assert "briefings written by this project" in header
    examples = examples_for(handlers.themes())
    assert len(examples) >= 3
    for question in examples:
        answer = services.asker.ask(AskRequest(question=question), record=False).answer
        assert not answer.refused, question
        shown = answer.answer + " ".join(q for c in answer.citations for q in c.quotes)
        assert "[src:" not in shown, question
