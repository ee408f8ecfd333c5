from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistant.records.database import Database, open_database
from tests.records.postgres_process import PostgresProcess


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """The same contract on both engines: a SQLite file, and a fresh PostgreSQL database."""
    if request.param == "sqlite":
        db = open_database(None, tmp_path / "records.sqlite")
    else:
        server: PostgresProcess = request.getfixturevalue("postgres_server")
        db = open_database(server.new_database(f"t{uuid.uuid4().hex[:12]}"), tmp_path / "x")
    yield db
    db.close()
