"""The one JSONL reader behind the dataset and the verifier labels: errors name the line."""

from __future__ import annotations

import pytest

from eval.dataset import DatasetError, load_dataset
from eval.jsonl import Record, read_jsonl


class Row(Record):
    n: int


def test_lines_become_records_in_order_and_blank_lines_are_skipped(tmp_path):
    path = tmp_path / "rows.jsonl"
    path.write_text('{"id": "a", "n": 1}\n\n{"id": "b", "n": 2}\n')
    assert [(r.id, r.n) for r in read_jsonl(path, Row)] == [("a", 1), ("b", 2)]


@pytest.mark.parametrize(
    ("second", "problem"),
    [
        ("{not json", "rows.jsonl line 2: "),
        ('{"id": "b"}', "rows.jsonl line 2: 1 validation error for Row"),
        ('{"id": "a", "n": 2}', "rows.jsonl line 2: duplicate id 'a'"),
        ('{"id": "b", "n": -1}', "rows.jsonl line 2: n must not be negative"),
    ],
)
def test_a_bad_line_is_named(tmp_path, second, problem):
    path = tmp_path / "rows.jsonl"
    path.write_text('{"id": "a", "n": 1}\n' + second + "\n")
    with pytest.raises(DatasetError) as caught:
        read_jsonl(path, Row, lambda r: "n must not be negative" if r.n < 0 else None)
    assert str(caught.value).startswith(problem)


def test_the_dataset_needs_evidence_for_an_answerable_question(tmp_path):
    path = tmp_path / "dev.jsonl"
    path.write_text('{"id": "q1", "question": "Why?", "answerable": true}\n')
    with pytest.raises(DatasetError, match=r"dev\.jsonl line 1: an answerable question needs"):
        load_dataset(path)
