"""Tasks that run SQL against a SQLite database file, with the standard ``sqlite3`` module.

:class:`SQLiteQuery` runs one statement and returns its rows; values go in through ``data`` and
the statement's ``?`` (or ``:name``) placeholders, so they are never spliced into the SQL text.
:class:`SQLiteScript` runs a script of several statements::

    import pathlib
    import tempfile

    from headwater import Flow
    from headwater.tasks.database import SQLiteQuery, SQLiteScript

    db = str(pathlib.Path(tempfile.mkdtemp()) / "app.db")
    setup = SQLiteScript(db=db, script=\"\"\"
        CREATE TABLE users (name TEXT, age INTEGER);
        INSERT INTO users VALUES ('ada', 36), ('alan', 41);
    \"\"\")
    older_than = SQLiteQuery(db=db, query="SELECT name FROM users WHERE age > ? ORDER BY name")

    with Flow("sqlite") as flow:
        rows = older_than(data=(40,), upstream_tasks=[setup])

    state = flow.run()
    assert state.result[rows].result == [("alan",)]

Each run opens its own connection, commits on success, rolls back on error and closes it.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Mapping, Sequence
from contextlib import closing
from pathlib import Path
from typing import Any

from headwater.core.task import Task
from headwater.utilities.tasks import defaults_from_attrs

__all__ = ["SQLiteQuery", "SQLiteScript"]

DbArg = str | os.PathLike[str] | None


def _check_db(task: Task, db: Any) -> str:
    owner = f"{type(task).__name__} {task.name!r}"
    if db is None or db == "":
        raise ValueError(
            f"{owner}: no `db` given; pass the path of the database file as "
            f"{type(task).__name__}(db=...) or db= when calling the task."
        )
    if not isinstance(db, (str, os.PathLike)):
        raise TypeError(f"{owner}: `db` must be a file path, got {type(db).__name__}: {db!r}")
    path: str = os.fspath(db)
    if path != ":memory:" and not path.startswith("file:"):
        parent = Path(path).parent
        if not parent.is_dir():
            raise FileNotFoundError(
                f"{owner}: the directory of `db` {path!r} does not exist; create {str(parent)!r} "
                "first."
            )
    return path


def _check_sql(task: Task, arg: str, sql: Any) -> str:
    owner = f"{type(task).__name__} {task.name!r}"
    if sql is None or (isinstance(sql, str) and not sql.strip()):
        raise ValueError(
            f"{owner}: no `{arg}` given; pass {type(task).__name__}({arg}=...) or {arg}= when "
            "calling the task."
        )
    if not isinstance(sql, str):
        raise TypeError(f"{owner}: `{arg}` must be a string, got {type(sql).__name__}: {sql!r}")
    return sql


def _check_data(task: Task, data: Any) -> Sequence[Any] | Mapping[str, Any]:
    if isinstance(data, Mapping):
        return data
    if isinstance(data, (tuple, list)):
        return tuple(data)
    hint = (
        " (wrap a single value in a tuple: data=(value,))" if isinstance(data, (str, bytes)) else ""
    )
    raise TypeError(
        f"SQLiteQuery {task.name!r}: `data` must be a tuple or list (for ? placeholders) or a "
        f"dict (for :name placeholders), got {type(data).__name__}: {data!r}{hint}"
    )


def _connect(db: str) -> sqlite3.Connection:
    return sqlite3.connect(db, uri=db.startswith("file:"))


class SQLiteQuery(Task):
    """Run one SQL statement against a SQLite database and return the rows it produced.

    Args:
        db: path of the database file (created if missing; ``file:`` URIs accepted).
        query: one SQL statement, with ``?`` or ``:name`` placeholders for values.
        data: the placeholder values: a tuple/list for ``?``, a dict for ``:name``.
        **kwargs: any :class:`~headwater.core.task.Task` option.
    """

    def __init__(
        self,
        db: DbArg = "",
        query: str = "",
        data: Sequence[Any] | Mapping[str, Any] = (),
        **kwargs: Any,
    ):
        self.db = db
        self.query = query
        self.data = data
        super().__init__(**kwargs)

    @defaults_from_attrs("data")
    def run(
        self,
        db: DbArg = None,
        query: str | None = None,
        data: Sequence[Any] | Mapping[str, Any] | None = None,
    ) -> list[tuple[Any, ...]]:
        """Run the statement (committing any change) and return ``cursor.fetchall()``.

        Raises:
            ValueError: if ``db`` or ``query`` is missing.
            TypeError: if ``db``, ``query`` or ``data`` has the wrong type.
            FileNotFoundError: if the directory of ``db`` does not exist.
            sqlite3.Error: if SQLite rejects the statement; the message names the task and db.
        """
        db = _check_db(self, db or self.db)
        query = _check_sql(self, "query", query or self.query)
        params = _check_data(self, data)
        with closing(_connect(db)) as conn:
            try:
                with conn:
                    rows = conn.execute(query, params).fetchall()
            except sqlite3.Error as exc:
                raise type(exc)(f"SQLiteQuery {self.name!r} on {db!r}: {exc}") from exc
        return rows


class SQLiteScript(Task):
    """Run a SQL script (several statements separated by ``;``) against a SQLite database.

    The script is run as written: put no untrusted values in it; use :class:`SQLiteQuery` with
    ``data`` for those.

    Args:
        db: path of the database file (created if missing; ``file:`` URIs accepted).
        script: the SQL statements.
        **kwargs: any :class:`~headwater.core.task.Task` option.
    """

    def __init__(self, db: DbArg = "", script: str = "", **kwargs: Any):
        self.db = db
        self.script = script
        super().__init__(**kwargs)

    def run(self, db: DbArg = None, script: str | None = None) -> None:
        """Run the script and commit.

        Raises:
            ValueError: if ``db`` or ``script`` is missing.
            TypeError: if ``db`` or ``script`` has the wrong type.
            FileNotFoundError: if the directory of ``db`` does not exist.
            sqlite3.Error: if SQLite rejects the script; the message names the task and db.
        """
        db = _check_db(self, db or self.db)
        script = _check_sql(self, "script", script or self.script)
        with closing(_connect(db)) as conn:
            try:
                conn.executescript(script)
                conn.commit()
            except sqlite3.Error as exc:
                conn.rollback()
                raise type(exc)(f"SQLiteScript {self.name!r} on {db!r}: {exc}") from exc
