"""``SQLiteStore``: the run history in a SQLite file, through the standard library's ``sqlite3``.

The file is opened in WAL mode (readers never wait for the writer, and a killed writer leaves
the last committed transaction intact) with a busy timeout, so several processes can record
into one file: each write is one short ``BEGIN IMMEDIATE`` transaction, retried while another
process holds the lock, so "database is locked" never reaches a user. Opening creates the file
and its directory, and brings the schema up to date (``PRAGMA user_version``)::

    import tempfile
    from pathlib import Path

    from headwater.history._sqlite import SQLiteStore

    with SQLiteStore(Path(tempfile.mkdtemp()) / "history.db") as store:
        assert store.list_flow_runs() == []
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from headwater.history._schema import MIGRATIONS, SCHEMA_VERSION, statements
from headwater.history._store import SQLStore

__all__ = ["BUSY_TIMEOUT_SECONDS", "SQLiteStore", "is_locked"]

T = TypeVar("T")

BUSY_TIMEOUT_SECONDS = 30.0
"""How long one statement waits for another process's lock before the transaction is retried."""

_RETRY_FOR_SECONDS = 600.0


def is_locked(exc: BaseException) -> bool:
    """Whether ``exc`` is SQLite's "database is locked" (or "busy"): worth trying again."""
    text = str(exc).lower()
    return isinstance(exc, sqlite3.OperationalError) and ("locked" in text or "busy" in text)


class SQLiteStore(SQLStore):
    """The history store in the SQLite file ``path`` (created with its schema if missing).

    Args:
        path: the database file.
        mark_crashed: mark the runs whose process is gone ``Crashed`` on opening.

    Raises:
        HistoryError: the file is not a history database, or one of a newer headwater.
    """

    dialect = "sqlite"
    paramstyle = "qmark"

    def __init__(self, path: str | os.PathLike[str], *, mark_crashed: bool = True) -> None:
        super().__init__()
        self.path = Path(os.path.expanduser(os.fspath(path)))
        self.target = str(self.path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(
            str(self.path),
            timeout=BUSY_TIMEOUT_SECONDS,
            isolation_level=None,
            check_same_thread=False,
        )
        try:
            self._retrying(self._prepare)
            if mark_crashed:
                self.mark_crashed()
        except BaseException:
            self.conn.close()
            raise

    def _prepare(self) -> None:
        conn = self.conn
        conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_SECONDS * 1000)}")
        try:
            mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            if is_locked(exc):
                raise
            from headwater.history._errors import HistoryError

            raise HistoryError(
                f"{self.path} is not a headwater history database ({exc}); point "
                "history.path at another file, or move this one away."
            ) from None
        if str(mode).lower() != "wal":
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        if self._version() != SCHEMA_VERSION:
            self.transaction(self._migrate)

    def _version(self) -> int:
        return int(self.conn.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self, cur: Any) -> None:
        """Apply the missing migrations (inside the write transaction, so one process does)."""
        version = self._version()
        if version > SCHEMA_VERSION:
            from headwater.history._errors import HistoryError

            raise HistoryError(
                f"{self.path} holds history schema version {version}, newer than this "
                f"headwater's ({SCHEMA_VERSION}): upgrade headwater, or point history.path "
                "at another file."
            )
        for number in range(version + 1, SCHEMA_VERSION + 1):
            for statement in statements(MIGRATIONS[number - 1], self.dialect):
                cur.execute(statement)
            cur.execute(f"PRAGMA user_version = {number}")

    @property
    def schema_version(self) -> int:
        """The schema version of the file."""
        with self.lock:
            return self._version()

    def cursor(self) -> Any:
        """A cursor of the connection."""
        return self.conn.cursor()

    def _retrying(self, work: Callable[[], T]) -> T:
        deadline = time.monotonic() + _RETRY_FOR_SECONDS
        delay = 0.01
        while True:
            try:
                return work()
            except sqlite3.OperationalError as exc:
                if not is_locked(exc) or time.monotonic() > deadline:
                    raise
            time.sleep(delay)  # another process holds the lock: back off, then again
            delay = min(delay * 2, 0.5)

    def transaction(self, work: Callable[[Any], T]) -> T:
        """Run ``work(cursor)`` in one ``BEGIN IMMEDIATE`` transaction, retried while busy."""

        def attempt() -> T:
            with self.lock:
                cur = self.conn.cursor()
                try:
                    cur.execute("BEGIN IMMEDIATE")
                    try:
                        result = work(cur)
                    except BaseException:
                        self.conn.rollback()
                        raise
                    cur.execute("COMMIT")
                    return result
                finally:
                    cur.close()

        return self._retrying(attempt)

    def insert_id(self, cur: Any, text: str, params: Any) -> int:
        """Run an INSERT and return the new row's id."""
        cur.execute(text, params)
        return int(cur.lastrowid)

    def vacuum(self) -> None:
        """Give the space of deleted rows back to the file system."""
        with self.lock:
            self._retrying(lambda: self.conn.execute("VACUUM"))

    def close(self) -> None:
        """Close the connection."""
        with self.lock:
            self.conn.close()
