"""`make test` runs a fast evaluation on a slice of the dev set and gates on thresholds."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from assistant.cli import app
from tests.conftest import PROJECT_ROOT

pytestmark = [pytest.mark.slow, pytest.mark.corpus]

SLICE_DOCS = {
    "nhse-planning-framework-2025.md",
    "nhse-neighbourhood-health-guidelines-2025-26.md",
    "nhse-board-paper-nhs-productivity-dec-2024.md",
    "ippr-building-foundations-for-nhs-transformation-2025.txt",
}


def test_fast_evaluation_slice_meets_its_thresholds(shared_corpus, tmp_path):
    lines = (PROJECT_ROOT / "eval/datasets/dev.jsonl").read_text().splitlines()
    items = [json.loads(x) for x in lines if x.strip()]
    chosen = [
        i for i in items if (not i["answerable"]) or {e["doc"] for e in i["evidence"]} <= SLICE_DOCS
    ]
    assert sum(i["answerable"] for i in chosen) >= 15
    dataset = tmp_path / "slice.jsonl"
    dataset.write_text("\n".join(json.dumps(i) for i in chosen) + "\n")
    args = [
        "eval",
        "run",
        "--dataset",
        str(dataset),
        "--out",
        str(tmp_path / "out"),
        "--data-dir",
        str(tmp_path / "data"),
        "--thresholds",
        str(PROJECT_ROOT / "eval/thresholds-ci.toml"),
    ]
    for doc in sorted(SLICE_DOCS):
        args += ["--corpus", str(shared_corpus / doc)]
    result = CliRunner().invoke(app, args, catch_exceptions=False)
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert result.exit_code == 0, result.output
    assert all(g["ok"] for g in report["gate"])
    assert (tmp_path / "out" / "report.md").read_text().startswith("# Evaluation")
    html = (tmp_path / "out" / "report.html").read_text()
    assert "<table>" in html and "data:image/png;base64," in html
