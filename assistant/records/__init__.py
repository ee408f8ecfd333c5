"""What the service keeps: answers and their ratings, and the audit log.

One schema for two engines: SQLite, a file beside the index (the default, for one machine), and
PostgreSQL (``NHS_ASSISTANT_DATABASE_URL=postgresql://...``), which several API workers and
machines share and a DBA can back up. :mod:`database` gives both the same small interface;
:mod:`migrations` applies the schema's ordered SQL files, written in the SQL both engines speak.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TextIO

from pydantic import BaseModel


def write_jsonl(rows: Iterable[BaseModel], out: TextIO) -> int:
    """Write each row as one JSON line (the feedback and audit exports); returns how many."""
    count = 0
    for row in rows:
        out.write(row.model_dump_json() + "\n")
        count += 1
    return count
