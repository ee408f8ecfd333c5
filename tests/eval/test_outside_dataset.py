"""`eval run` on a dataset written in another team's style: its own ids, kinds and field order,
fields the project does not know, and quotes copied with the source's own defects."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from assistant.cli import app
from eval.dataset import load_dataset

# A document with a conversion defect (the "ll" lost from words), as some PDFs come out.
DAMAGED = """# Discharge standard

Ward teams wil col aborate with al community partners before discharge. Every patient wil
have a named coordinator and a written plan before they leave. It is chal enging but wel
understood, and clinical y led. The coordinator wil cal the patient on the day after discharge.
"""

OTHER_TEAM = [
    # Field order, ids and kinds of its own; extra fields; a quote copied with the defects.
    {"qid": 1, "id": "Q-001", "kind": "policy-lookup", "author": "ICB digital team",
     "question": "Who coordinates a patient's discharge?",
     "evidence": ["Every patient wil have a named coordinator and a written plan before they leave"],
     "answerable": True, "notes": "from the March review", "difficulty": 2},
    {"id": "Q-002", "answerable": True, "kind": "deadline-check",
     "question": "When does the coordinator call the patient after discharge?",
     "evidence": ["The coordinator wil cal the patient on the day after discharge"]},
    {"id": "Q-003", "question": "What is the car parking charge for visitors?",
     "answerable": False, "kind": "out-of-scope", "reviewer": "A. N. Other"},
]  # fmt: skip


def test_eval_run_takes_labels_and_fields_it_has_never_seen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NHS_ASSISTANT_EMBEDDING_BACKEND", "fake")
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "discharge.md").write_text(DAMAGED, encoding="utf-8")
    dataset = tmp_path / "theirs.jsonl"
    dataset.write_text("\n".join(json.dumps(r) for r in OTHER_TEAM) + "\n", encoding="utf-8")

    items = load_dataset(dataset)
    assert [i.kind for i in items] == ["policy-lookup", "deadline-check", "out-of-scope"]
    assert items[0].model_extra == {"qid": 1, "author": "ICB digital team",
                                    "notes": "from the March review", "difficulty": 2}  # fmt: skip

    out = tmp_path / "out"
    args = ["eval", "run", "--dataset", str(dataset), "--corpus", str(corpus),
            "--out", str(out), "--data-dir", str(tmp_path / "data")]  # fmt: skip
    result = CliRunner().invoke(app, args, catch_exceptions=False)
    assert result.exit_code in (0, 1), result.output  # 1: a threshold missed, not a crash
    report = json.loads((out / "report.json").read_text(encoding="utf-8"))
    assert set(report["by_kind"]) == {"policy-lookup", "deadline-check", "out-of-scope"}
    # The defective quotes match the repaired document: retrieval finds their passages.
    answerable = [q for q in report["questions"]["project"] if q["id"] in ("Q-001", "Q-002")]
    assert all(q["relevant_ranks"] for q in answerable), answerable
    assert "by kind of question" in (out / "report.md").read_text(encoding="utf-8")
    assert "policy-lookup" in (out / "report.html").read_text(encoding="utf-8")
