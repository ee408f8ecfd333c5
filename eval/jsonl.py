"""The one reader of the evaluation's JSONL files (datasets, verifier labels).

One JSON object per line, blank lines skipped; each line is validated as a pydantic model and
every error names the file and line. Records carry an ``id`` that must be unique in the file.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError


class DatasetError(ValueError):
    """A dataset line that does not fit the format; the message names the line."""


class Record(BaseModel):
    """A line of a JSONL file: its ``id`` is unique in the file."""

    id: str


M = TypeVar("M", bound=Record)


def read_jsonl(
    path: Path, model: type[M], check: Callable[[M], str | None] = lambda record: None
) -> list[M]:
    """Every line of ``path`` as a ``model``, in order.

    ``check`` returns a problem with a valid record (or None), reported with its line like a
    format error; a repeated ``id`` is always one.
    """
    path = Path(path)
    records: list[M] = []
    seen: set[str] = set()
    for lineno, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = model.model_validate(json.loads(line))
        except (ValueError, ValidationError) as exc:
            first = str(exc).splitlines()[0]
            raise DatasetError(f"{path.name} line {lineno}: {first}") from exc
        if record.id in seen:
            raise DatasetError(f"{path.name} line {lineno}: duplicate id {record.id!r}")
        problem = check(record)
        if problem:
            raise DatasetError(f"{path.name} line {lineno}: {problem}")
        seen.add(record.id)
        records.append(record)
    return records
