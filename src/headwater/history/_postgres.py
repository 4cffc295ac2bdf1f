"""``PostgresStore``: the run history in a PostgreSQL database, through psycopg 3.

For a history shared by several machines (a dask cluster's driver, CI runners, a ``serve``
host): set ``history.url = "postgresql://user@host:5432/dbname"`` (needs the extra
``headwater[postgres]``). The schema is the SQLite one with PostgreSQL's types; its version is
the one row of the table ``headwater_schema``, and migrations run under an advisory lock, so
that processes opening a new database at once migrate it once.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from headwater.history._schema import MIGRATIONS, SCHEMA_VERSION, statements
from headwater.history._store import SQLStore

__all__ = ["PostgresStore", "hide_password"]

T = TypeVar("T")

_LOCK_KEY = 0x68_77_68_69  # the advisory lock taken while migrating ("hwhi")


def hide_password(url: str) -> str:
    """``url`` with the password of its user part replaced by ``***``."""
    return re.sub(r"(//[^:/@]+:)[^@/]*@", r"\1***@", url)


class PostgresStore(SQLStore):
    """The history store in the PostgreSQL database at ``url``.

    Args:
        url: a ``postgresql://`` connection URL.
        mark_crashed: mark the runs whose process is gone ``Crashed`` on connecting.

    Raises:
        ImportError: psycopg is not installed (``pip install 'headwater[postgres]'``).
        HistoryError: the server cannot be reached, or holds a newer schema.
    """

    dialect = "postgresql"
    paramstyle = "format"

    def __init__(self, url: str, *, mark_crashed: bool = True) -> None:
        from headwater.utilities.imports import require

        require("psycopg", extra="postgres")
        import psycopg

        super().__init__()
        self.url = url
        self.target = hide_password(url)
        self.lock = threading.RLock()
        try:
            self.conn = psycopg.connect(url, autocommit=True, connect_timeout=10)
        except psycopg.OperationalError as exc:
            from headwater.history._errors import HistoryError

            raise HistoryError(
                f"cannot connect to the history database {self.target}: "
                f"{' '.join(str(exc).split())}. Check history.url and that the server runs."
            ) from None
        try:
            self.transaction(self._migrate)
            if mark_crashed:
                self.mark_crashed()
        except BaseException:
            self.conn.close()
            raise

    def _migrate(self, cur: Any) -> None:
        cur.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        cur.execute("CREATE TABLE IF NOT EXISTS headwater_schema (version INTEGER NOT NULL)")
        cur.execute("SELECT version FROM headwater_schema")
        row = cur.fetchone()
        version = 0 if row is None else int(row[0])
        if row is None:
            cur.execute("INSERT INTO headwater_schema (version) VALUES (0)")
        if version > SCHEMA_VERSION:
            from headwater.history._errors import HistoryError

            raise HistoryError(
                f"{self.target} holds history schema version {version}, newer than this "
                f"headwater's ({SCHEMA_VERSION}): upgrade headwater, or set history.url to "
                "another database."
            )
        for number in range(version + 1, SCHEMA_VERSION + 1):
            for statement in statements(MIGRATIONS[number - 1], self.dialect):
                cur.execute(statement)
            cur.execute("UPDATE headwater_schema SET version = %s", [number])

    @property
    def schema_version(self) -> int:
        """The schema version of the database."""
        return int(self.query("SELECT version FROM headwater_schema")[0][0])

    def cursor(self) -> Any:
        """A cursor of the connection."""
        return self.conn.cursor()

    def transaction(self, work: Callable[[Any], T]) -> T:
        """Run ``work(cursor)`` in one transaction, retried on a serialization failure or a
        deadlock between writers."""
        import psycopg

        delay = 0.01
        deadline = time.monotonic() + 600.0
        while True:
            try:
                with self.lock, self.conn.transaction(), self.conn.cursor() as cur:
                    return work(cur)
            except (psycopg.errors.SerializationFailure, psycopg.errors.DeadlockDetected):
                if time.monotonic() > deadline:
                    raise
            time.sleep(delay)
            delay = min(delay * 2, 0.5)

    def vacuum(self) -> None:
        """Give the space of deleted rows back (``VACUUM`` of the history's tables)."""
        with self.lock, self.conn.cursor() as cur:
            for table in ("logs", "artifacts", "task_runs", "flow_runs"):
                cur.execute(f"VACUUM {table}")

    def close(self) -> None:
        """Close the connection."""
        with self.lock:
            self.conn.close()
