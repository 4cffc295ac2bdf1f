"""``HistoryStore``: the interface of the run-history store, and its SQL implementation.

:class:`HistoryStore` is the small interface every backend implements: read methods returning
plain, JSON-serialisable dicts (the UI, the command line and tests use only these), plus
``flush``, ``prune``, ``mark_crashed`` and ``close``. :class:`SQLStore` implements all of them
in SQL common to SQLite and PostgreSQL; a backend only connects, migrates, and runs statements
(:mod:`headwater.history._sqlite`, :mod:`headwater.history._postgres`). Writes go through one
writer thread per process (:mod:`headwater.history._writer`), which calls
:meth:`SQLStore.transaction` with batches.
"""

from __future__ import annotations

import abc
import json
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TypeVar

from headwater.history import _rows
from headwater.history._registry import FlowRegistry, SQLFlowRegistry
from headwater.history._rows import FLOW_RUN_COLUMNS, LIVE_STATES, TASK_RUN_COLUMNS

__all__ = ["HistoryStore", "SQLStore", "pid_alive", "stale_seconds"]

T = TypeVar("T")

CRASHED_MESSAGE = (
    "The process running this flow run ended without finishing it (killed, or its machine "
    "stopped): the run was marked Crashed when the history was next opened."
)


def stale_seconds() -> float:
    """Seconds without a heartbeat after which a run that has not ended is taken as crashed."""
    from headwater.configuration import setting

    return 6.0 * float(setting("history.heartbeat_seconds"))


def pid_alive(pid: int) -> bool:
    """Whether process ``pid`` exists on this machine."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True
    return True


class HistoryStore(FlowRegistry):
    """The run-history store: read methods over recorded flows, runs, task runs, logs and
    artifacts (see ``docs/how-to/history.md`` for the keys of each dict), and the registered
    flows of :class:`~headwater.history._registry.FlowRegistry`."""

    target: str
    """The SQLite file path or the PostgreSQL URL (its password hidden) of the store."""

    @abc.abstractmethod
    def list_flows(self) -> list[dict[str, Any]]:
        """Every recorded flow (one per name and graph hash), most recently run first."""

    @abc.abstractmethod
    def get_flow(self, flow_id: int) -> dict[str, Any] | None:
        """One flow with its ``graph`` and ``stats``, or ``None``."""

    @abc.abstractmethod
    def list_flow_runs(self, **filters: Any) -> list[dict[str, Any]]:
        """Flow runs, newest first (filters: ``flow_id``, ``flow_name``, ``state``, ``since``,
        ``until``, ``limit``, ``offset``)."""

    @abc.abstractmethod
    def count_flow_runs(self, **filters: Any) -> int:
        """How many flow runs the filters of :meth:`list_flow_runs` select."""

    @abc.abstractmethod
    def get_flow_run(self, run_id: int) -> dict[str, Any] | None:
        """One flow run, or ``None``."""

    @abc.abstractmethod
    def list_task_runs(self, run_id: int) -> list[dict[str, Any]]:
        """The task runs of flow run ``run_id``, in start order."""

    @abc.abstractmethod
    def get_task_run(self, task_run_id: int) -> dict[str, Any] | None:
        """One task run, or ``None``."""

    @abc.abstractmethod
    def list_logs(
        self, run_id: int, *, task_run_id: int | None = None, limit: int = 1000
    ) -> list[dict[str, Any]]:
        """The log lines of flow run ``run_id`` (or of one of its task runs), oldest first."""

    @abc.abstractmethod
    def list_artifacts(self, run_id: int) -> list[dict[str, Any]]:
        """The artifacts of flow run ``run_id``, oldest first."""

    @abc.abstractmethod
    def prune(self, older_than: Any) -> int:
        """Delete the runs that started before ``older_than`` (a datetime, or a timedelta
        back from now) and have ended; returns how many flow runs were deleted."""

    @abc.abstractmethod
    def mark_crashed(self, active: frozenset[str] | None = None) -> int:
        """Mark ``Crashed`` the runs whose process is gone (but not the run uuids in
        ``active``: default, those this process runs); returns how many."""

    @abc.abstractmethod
    def close(self) -> None:
        """Close the store's connection."""

    def flush(self, timeout: float | None = 30.0) -> bool:
        """Wait until everything recorded so far by this process is written.

        Returns:
            Whether it all was written within ``timeout`` seconds.
        """
        from headwater.history._writer import flush_all

        return flush_all(timeout)

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.target}>"


def _filters(**given: Any) -> tuple[str, list[Any]]:
    """The WHERE clause and parameters of :meth:`SQLStore.list_flow_runs`'s filters."""
    where, params = [], []
    for column, key in (("r.flow_id", "flow_id"), ("f.name", "flow_name"), ("r.state", "state")):
        if given.get(key) is not None:
            where.append(f"{column} = ?")
            params.append(given[key])
    for op, key in ((">=", "since"), ("<", "until")):
        moment = _rows.epoch(given.get(key), key)
        if moment is not None:
            where.append(f"r.started_at {op} ?")
            params.append(moment)
    return (" WHERE " + " AND ".join(where)) if where else "", params


_FILTERS = frozenset({"flow_id", "flow_name", "state", "since", "until"})


def _check_filters(filters: dict[str, Any], extra: frozenset[str] = frozenset()) -> None:
    unknown = set(filters) - _FILTERS - extra
    if unknown:
        raise TypeError(
            f"unknown filter(s) {', '.join(sorted(unknown))}; the filters are "
            f"{', '.join(sorted(_FILTERS | extra))}."
        )


class SQLStore(SQLFlowRegistry, HistoryStore):
    """:class:`HistoryStore` over a DB-API connection, in SQL SQLite and PostgreSQL share.

    A subclass connects in ``__init__`` and implements :meth:`cursor` and :meth:`transaction`.
    Statements are written with ``?`` placeholders; :attr:`paramstyle` ``"format"`` turns them
    into ``%s``.
    """

    dialect = "sqlite"
    paramstyle = "qmark"

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.host = _rows.host_name()

    # -- what a backend provides ------------------------------------------------------------
    @abc.abstractmethod
    def cursor(self) -> Any:
        """A cursor of the connection, for one read (the caller holds :attr:`lock`)."""

    @abc.abstractmethod
    def transaction(self, work: Callable[[Any], T]) -> T:
        """Run ``work(cursor)`` in one write transaction (retried if the database is busy)."""

    @abc.abstractmethod
    def vacuum(self) -> None:
        """Give the space of deleted rows back."""

    def sql(self, text: str) -> str:
        """``text`` with its ``?`` placeholders in this connection's style."""
        return text.replace("?", "%s") if self.paramstyle == "format" else text

    def insert_id(self, cur: Any, text: str, params: Sequence[Any]) -> int:
        """Run an INSERT and return the new row's id."""
        cur.execute(self.sql(text + " RETURNING id"), params)
        return int(cur.fetchone()[0])

    @contextmanager
    def _reading(self) -> Iterator[Any]:
        with self.lock:
            cur = self.cursor()
            try:
                yield cur
            finally:
                cur.close()

    def query(self, text: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """The rows of one SELECT."""
        with self._reading() as cur:
            cur.execute(self.sql(text), list(params))
            return [tuple(r) for r in cur.fetchall()]

    # -- reads --------------------------------------------------------------------------------
    def list_flows(self) -> list[dict[str, Any]]:
        """Every recorded flow (one per name and graph hash), most recently run first."""
        return self._flows("", [])

    def _flows(self, where: str, params: list[Any]) -> list[dict[str, Any]]:
        rows = self.query(
            "SELECT f.id, f.name, f.graph_hash, COUNT(r.id), MAX(r.started_at), "
            "(SELECT r2.state FROM flow_runs r2 WHERE r2.flow_id = f.id "
            "ORDER BY r2.started_at DESC, r2.id DESC LIMIT 1) "
            f"FROM flows f LEFT JOIN flow_runs r ON r.flow_id = f.id{where} "
            "GROUP BY f.id, f.name, f.graph_hash "
            "ORDER BY COALESCE(MAX(r.started_at), 0) DESC, f.id DESC",
            params,
        )
        return [self._flow_dict(row) for row in rows]

    @staticmethod
    def _flow_dict(row: Sequence[Any]) -> dict[str, Any]:
        fid, name, ghash, count, last, state = row[:6]
        return {
            "id": int(fid),
            "name": name,
            "graph_hash": ghash,
            "run_count": int(count),
            "last_run_at": _rows.iso(last),
            "last_state": state,
        }

    def get_flow(self, flow_id: int) -> dict[str, Any] | None:
        """One flow with its ``graph`` (``flow.serialize()``, or ``None``) and ``stats``."""
        flows = self._flows(" WHERE f.id = ?", [int(flow_id)])
        if not flows:
            return None
        flow = flows[0]
        graph = self.query("SELECT graph FROM flows WHERE id = ?", [int(flow_id)])[0][0]
        flow["graph"] = None if graph is None else json.loads(graph)
        runs = self.query(
            "SELECT state, started_at, ended_at FROM flow_runs WHERE flow_id = ? "
            "AND ended_at IS NOT NULL",
            [int(flow_id)],
        )
        durations = sorted(max(0.0, end - start) for _, start, end in runs if start is not None)
        succeeded = sum(1 for state, _, _ in runs if state in _success_states())
        flow["stats"] = {
            "runs": flow["run_count"],
            "success_rate": succeeded / len(runs) if runs else None,
            "p50_seconds": _rows.percentile(durations, 0.5),
            "p95_seconds": _rows.percentile(durations, 0.95),
        }
        return flow

    def list_flow_runs(self, **filters: Any) -> list[dict[str, Any]]:
        """Flow runs, newest first, filtered (``flow_id``, ``flow_name``, ``state``,
        ``since``, ``until``) and paged (``limit`` 50, ``offset`` 0)."""
        _check_filters(filters, frozenset({"limit", "offset"}))
        limit, offset = int(filters.pop("limit", 50)), int(filters.pop("offset", 0))
        where, params = _filters(**filters)
        rows = self.query(
            f"SELECT {FLOW_RUN_COLUMNS} FROM flow_runs r JOIN flows f ON f.id = r.flow_id"
            f"{where} ORDER BY r.started_at DESC, r.id DESC LIMIT ? OFFSET ?",
            [*params, limit, offset],
        )
        live_after = time.time() - stale_seconds()
        return [_rows.flow_run_dict(row, live_after) for row in rows]

    def count_flow_runs(self, **filters: Any) -> int:
        """How many flow runs the filters of :meth:`list_flow_runs` select."""
        _check_filters(filters)
        where, params = _filters(**filters)
        rows = self.query(
            f"SELECT COUNT(*) FROM flow_runs r JOIN flows f ON f.id = r.flow_id{where}", params
        )
        return int(rows[0][0])

    def get_flow_run(self, run_id: int) -> dict[str, Any] | None:
        """One flow run, or ``None``."""
        rows = self.query(
            f"SELECT {FLOW_RUN_COLUMNS} FROM flow_runs r JOIN flows f ON f.id = r.flow_id "
            "WHERE r.id = ?",
            [int(run_id)],
        )
        return _rows.flow_run_dict(rows[0], time.time() - stale_seconds()) if rows else None

    def list_task_runs(self, run_id: int) -> list[dict[str, Any]]:
        """The task runs of flow run ``run_id``, in start order."""
        rows = self.query(
            f"SELECT {TASK_RUN_COLUMNS} FROM task_runs WHERE flow_run_id = ? "
            "ORDER BY COALESCE(started_at, ended_at), id",
            [int(run_id)],
        )
        return [_rows.task_run_dict(row) for row in rows]

    def get_task_run(self, task_run_id: int) -> dict[str, Any] | None:
        """One task run, or ``None``."""
        rows = self.query(
            f"SELECT {TASK_RUN_COLUMNS} FROM task_runs WHERE id = ?", [int(task_run_id)]
        )
        return _rows.task_run_dict(rows[0]) if rows else None

    _JOIN_TASK = (
        "LEFT JOIN task_runs t ON t.flow_run_id = x.flow_run_id AND t.task_slug = x.task_slug "
        "AND t.map_index = x.map_index"
    )

    def list_logs(
        self, run_id: int, *, task_run_id: int | None = None, limit: int = 1000
    ) -> list[dict[str, Any]]:
        """The log lines of flow run ``run_id`` (or of one of its task runs), oldest first."""
        where, params = "x.flow_run_id = ?", [int(run_id)]
        if task_run_id is not None:
            where += " AND t.id = ?"
            params.append(int(task_run_id))
        rows = self.query(
            "SELECT x.id, x.flow_run_id, t.id, x.task_name, x.level, x.logger, x.message, "
            f"x.created_at FROM logs x {self._JOIN_TASK} WHERE {where} ORDER BY x.id LIMIT ?",
            [*params, int(limit)],
        )
        return [_rows.log_dict(row) for row in rows]

    def list_artifacts(self, run_id: int) -> list[dict[str, Any]]:
        """The artifacts of flow run ``run_id``, oldest first."""
        rows = self.query(
            "SELECT x.id, x.flow_run_id, t.id, x.key, x.type, x.description, x.data, "
            f"x.created_at FROM artifacts x {self._JOIN_TASK} WHERE x.flow_run_id = ? "
            "ORDER BY x.id",
            [int(run_id)],
        )
        return [_rows.artifact_dict(row) for row in rows]

    # -- upkeep -------------------------------------------------------------------------------
    def prune(self, older_than: Any) -> int:
        """Delete the ended runs that started before ``older_than`` (a datetime, or a
        timedelta back from now), with their task runs, logs and artifacts, in one
        transaction; then vacuum. Returns how many flow runs were deleted."""
        import datetime as dt

        if isinstance(older_than, dt.timedelta):
            cutoff = time.time() - older_than.total_seconds()
        else:
            cutoff = _rows.epoch(older_than, "older_than") or time.time()
        marks = ", ".join("?" for _ in LIVE_STATES)
        chosen = f"SELECT id FROM flow_runs WHERE started_at < ? AND state NOT IN ({marks})"
        params = [cutoff, *LIVE_STATES]

        def delete(cur: Any) -> int:
            cur.execute(self.sql(f"SELECT COUNT(*) FROM ({chosen}) AS chosen"), params)
            count = int(cur.fetchone()[0])
            for table in ("logs", "artifacts", "task_runs"):
                cur.execute(
                    self.sql(f"DELETE FROM {table} WHERE flow_run_id IN ({chosen})"), params
                )
            cur.execute(
                self.sql(
                    f"UPDATE flow_runs SET parent_run_id = NULL WHERE parent_run_id IN ({chosen})"
                ),
                params,
            )
            cur.execute(self.sql(f"DELETE FROM flow_runs WHERE id IN ({chosen})"), params)
            return count

        count = self.transaction(delete)
        if count:
            self.vacuum()
        return count

    def mark_crashed(self, active: frozenset[str] | None = None) -> int:
        """Mark ``Crashed`` the runs that have not ended and whose process is gone.

        That is a run of this machine whose process no longer exists (or is this process,
        which does not run it), or any run without a heartbeat for :func:`stale_seconds`.

        Args:
            active: the run uuids this process is running, never marked (default: the runs
                this process records now).
        """
        if active is None:
            from headwater.history._recorder import running_runs

            active = frozenset(running_runs())
        marks = ", ".join("?" for _ in LIVE_STATES)
        rows = self.query(
            "SELECT id, run_uuid, host, pid, COALESCE(heartbeat_at, started_at) FROM flow_runs "
            f"WHERE state IN ({marks}) AND ended_at IS NULL",
            LIVE_STATES,
        )
        stale = time.time() - stale_seconds()
        me = os.getpid()
        crashed = []
        for rid, uuid, host, pid, beat in rows:
            if uuid in active:
                continue
            here = host == self.host and pid is not None
            gone = here and (pid == me or not pid_alive(int(pid)))
            if gone or beat is None or beat < stale:
                crashed.append((CRASHED_MESSAGE, rid))
        if crashed:

            def update(cur: Any) -> None:
                cur.executemany(
                    self.sql(
                        "UPDATE flow_runs SET state = 'Crashed', message = ?, "
                        "ended_at = COALESCE(heartbeat_at, started_at) WHERE id = ? "
                        f"AND ended_at IS NULL AND state IN ({marks})"
                    ),
                    [(m, rid, *LIVE_STATES) for m, rid in crashed],
                )

            self.transaction(update)
        return len(crashed)


_SUCCESS: frozenset[str] = frozenset()


def _success_states() -> frozenset[str]:
    """The names of headwater's successful state classes (``Success`` and its subclasses)."""
    global _SUCCESS
    if not _SUCCESS:
        from headwater.engine import state

        found = {
            name
            for name, obj in vars(state).items()
            if isinstance(obj, type) and issubclass(obj, state.Success)
        }
        _SUCCESS = frozenset(found | {"Completed"})  # and the @flow API's
    return _SUCCESS
