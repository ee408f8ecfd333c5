"""Two engines behind one small interface: a transaction that runs SQL with ``?`` parameters.

* :class:`SqliteDatabase`: one file, WAL mode with a busy timeout, a short-lived connection per
  transaction, writers in one process queued on a lock per file (SQLite's own busy handler waits
  by sleeping up to 100 ms a try, which under ten concurrent requests turned a 1 ms insert into
  a long tail), and ``BEGIN IMMEDIATE`` so writers in several processes queue rather than fail.
* :class:`PostgresDatabase`: a psycopg connection pool; what several workers on several
  machines share.

A database that stays locked beyond the timeout, cannot be reached, or refuses the write is a
:class:`BackendUnavailableError` (HTTP 503), never a lost record reported as saved.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit, urlunsplit

from assistant.errors import BackendUnavailableError, ConfigurationError

BUSY_TIMEOUT_S = 30.0  # how long a writer waits for another writer's lock
CREATE_RETRY_S = 0.05  # pause between attempts to set up a file another process is setting up
POOL_MAX = 10  # PostgreSQL connections per process

_WRITE_LOCKS: dict[Path, threading.Lock] = {}
_WRITE_LOCKS_GUARD = threading.Lock()


def _write_lock(path: Path) -> threading.Lock:
    key = path.resolve()
    with _WRITE_LOCKS_GUARD:
        return _WRITE_LOCKS.setdefault(key, threading.Lock())


class Rows(Protocol):
    """What a statement returns: rows to fetch, or how many it changed."""

    rowcount: int

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...


class Transaction(Protocol):
    def execute(self, sql: str, params: Sequence[Any] = ()) -> Rows:
        """Run one statement; parameters are written ``?`` on both engines."""
        ...


class Database(Protocol):
    """Where records are kept. ``transaction`` commits on success and rolls back on error."""

    engine: str  # "sqlite" or "postgresql"
    where: str  # for logs and errors: a path, or a URL without its password

    def transaction(self, write: bool = True) -> Any:
        """A context manager giving a :class:`Transaction`."""
        ...

    def close(self) -> None: ...


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


class SqliteDatabase:
    """A SQLite file, safe for concurrent writers in threads and processes (WAL mode)."""

    engine = "sqlite"

    def __init__(self, path: Path, busy_timeout_s: float | None = None) -> None:
        self.path = path
        self.where = str(path)
        self.busy_timeout_s = BUSY_TIMEOUT_S if busy_timeout_s is None else busy_timeout_s
        path.parent.mkdir(parents=True, exist_ok=True)
        self._writes = _write_lock(path)
        self._wal()
        # One connection held open for the store's life: with it, SQLite keeps the WAL and
        # shared-memory files between transactions instead of creating and removing them for
        # each short-lived connection (a write after a response, such as the audit row, would
        # otherwise remove files under a reader listing the folder).
        self._keeper: sqlite3.Connection | None = sqlite3.connect(
            path, timeout=self.busy_timeout_s, check_same_thread=False
        )

    def _wal(self) -> None:
        """Switch the file to WAL, retrying while another process that starts at the same
        moment does the same (switching the journal mode does not wait on the busy timeout: it
        fails at once with "database is locked")."""
        deadline = time.monotonic() + self.busy_timeout_s
        while True:
            db = self._open()
            try:
                if db.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                    db.execute("PRAGMA journal_mode=WAL")  # persistent: readers never block
                return
            except sqlite3.OperationalError as exc:
                if not _is_busy(exc) or time.monotonic() > deadline:
                    raise BackendUnavailableError(
                        f"cannot set up the database {self.path}: {exc}"
                    ) from exc
            finally:
                db.close()
            time.sleep(CREATE_RETRY_S)

    def _open(self) -> sqlite3.Connection:
        try:
            db = sqlite3.connect(self.path, timeout=self.busy_timeout_s, isolation_level=None)
            db.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_s * 1000)}")
            # WAL with NORMAL: a commit survives the process dying; only a power cut can lose
            # the last few (the usual setting for WAL; FULL syncs the disk on every commit).
            db.execute("PRAGMA synchronous=NORMAL")
        except sqlite3.Error as exc:
            raise BackendUnavailableError(f"cannot open the database {self.path}: {exc}") from exc
        return db

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator[sqlite3.Connection]:
        if write:
            with self._writes, self._transaction(write=True) as db:
                yield db
        else:
            with self._transaction(write=False) as db:
                yield db

    @contextmanager
    def _transaction(self, write: bool) -> Iterator[sqlite3.Connection]:
        db = self._open()
        try:
            db.execute("PRAGMA foreign_keys=ON")
            db.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            yield db
            db.execute("COMMIT")
        except BaseException as exc:
            if db.in_transaction:
                db.execute("ROLLBACK")
            if isinstance(exc, sqlite3.OperationalError):
                raise BackendUnavailableError(
                    f"cannot {'write' if write else 'read'} the database {self.path}: {exc}"
                ) from exc
            raise
        finally:
            db.close()

    def close(self) -> None:
        """Let go of the connection held open (transactions open their own)."""
        if self._keeper is not None:
            self._keeper.close()
            self._keeper = None


def without_password(url: str) -> str:
    """``url`` as it may be logged.

    >>> without_password("postgresql://app:s3cret@db:5432/nhs")
    'postgresql://app:***@db:5432/nhs'
    """
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


class _PgTransaction:
    """A psycopg connection inside a transaction, taking ``?`` parameters like sqlite3."""

    def __init__(self, conn: Any) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Rows:
        return self.conn.execute(sql.replace("?", "%s"), tuple(params))


class PostgresDatabase:
    """A PostgreSQL database through a psycopg connection pool."""

    engine = "postgresql"

    def __init__(self, url: str, timeout_s: float | None = None) -> None:
        try:
            import psycopg
            from psycopg_pool import ConnectionPool, PoolTimeout
        except ImportError as exc:  # pragma: no cover - a dependency of the project
            raise ConfigurationError(
                "a postgresql:// database URL needs psycopg and psycopg-pool installed"
            ) from exc
        self._errors: tuple[type[BaseException], ...] = (psycopg.OperationalError, PoolTimeout)
        self.where = without_password(url)
        self.timeout_s = BUSY_TIMEOUT_S if timeout_s is None else timeout_s
        self._pool = ConnectionPool(
            url,
            min_size=1,
            max_size=POOL_MAX,
            timeout=self.timeout_s,
            open=False,
            kwargs={"connect_timeout": max(1, int(self.timeout_s))},
        )
        try:
            self._pool.open(wait=True, timeout=self.timeout_s)
        except self._errors as exc:
            raise BackendUnavailableError(f"cannot reach the database {self.where}: {exc}") from exc

    @contextmanager
    def transaction(self, write: bool = True) -> Iterator[_PgTransaction]:
        try:
            with self._pool.connection() as conn, conn.transaction():
                yield _PgTransaction(conn)
        except self._errors as exc:
            raise BackendUnavailableError(
                f"cannot {'write' if write else 'read'} the database {self.where}: {exc}"
            ) from exc

    def close(self) -> None:
        self._pool.close()


def open_database(url: str | None, default_path: Path) -> Database:
    """The database ``url`` names (``postgresql://...`` or ``sqlite:///path``), else a SQLite
    file at ``default_path``; its schema brought up to date."""
    from assistant.records.migrations import migrate

    db: Database
    if not url:
        db = SqliteDatabase(default_path)
    elif url.startswith(("postgresql://", "postgres://")):
        db = PostgresDatabase(url)
    elif url.startswith("sqlite:///"):
        db = SqliteDatabase(Path(url.removeprefix("sqlite:///")))
    else:
        raise ConfigurationError(
            f"database URL {without_password(url)!r}: use postgresql://USER:PASSWORD@HOST:PORT/"
            "NAME, or sqlite:///PATH"
        )
    migrate(db)
    return db
