"""The schema, as ordered SQL files applied once each: ``NNNN_what.sql`` in this folder.

Why not Alembic: two engines, a handful of tables, forward-only additive changes and no ORM
models to generate migrations from. An ordered runner is all that needs: each file is applied
in one transaction with its row in ``schema_migrations``, so a file is applied whole or not at
all, and workers starting together apply it once (SQLite's write lock; on PostgreSQL an
advisory lock). Files are written in the SQL both engines speak (``CREATE TABLE IF NOT
EXISTS``, TEXT, INTEGER, DOUBLE PRECISION), so a database created before this runner existed
(the old feedback file) takes the first file without harm.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from assistant.records.database import Database

MIGRATIONS_DIR = Path(__file__).parent
_LOCK_KEY = 0x6E687361  # "nhsa": the advisory lock PostgreSQL workers queue on while migrating


def migration_files() -> list[Path]:
    return sorted(MIGRATIONS_DIR.glob("[0-9][0-9][0-9][0-9]_*.sql"))


def statements(sql: str) -> list[str]:
    """The statements of a file: split at ";", comments dropped.

    >>> statements("-- note\\nCREATE TABLE a (x TEXT);\\nCREATE INDEX i ON a(x);")
    ['CREATE TABLE a (x TEXT)', 'CREATE INDEX i ON a(x)']
    """
    lines = [line for line in sql.splitlines() if not line.strip().startswith("--")]
    return [s.strip() for s in "\n".join(lines).split(";") if s.strip()]


def migrate(db: Database) -> list[str]:
    """Apply the files not yet applied, in order; returns their versions."""
    applied: list[str] = []
    with db.transaction(write=True) as tx:
        if db.engine == "postgresql":
            tx.execute("SELECT pg_advisory_xact_lock(?)", (_LOCK_KEY,))
        tx.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"
        )
        done = {row[0] for row in tx.execute("SELECT version FROM schema_migrations").fetchall()}
        for path in migration_files():
            if path.stem in done:
                continue
            for statement in statements(path.read_text(encoding="utf-8")):
                tx.execute(statement)
            tx.execute(
                "INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)",
                (path.stem, datetime.now(UTC).isoformat(timespec="seconds")),
            )
            applied.append(path.stem)
    return applied
