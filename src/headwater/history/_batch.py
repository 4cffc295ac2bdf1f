"""Turning what the recorder queued into rows: one batch, one transaction.

The recorder's hooks only append tuples to a deque (:mod:`headwater.history._recorder`); the
writer thread hands whatever has accumulated to :meth:`Batch.write`, which turns the tuples
into rows and writes them with a few ``executemany`` calls in one transaction. All the work a
task run costs beyond the append — names, the state's class name, the error's traceback, log
messages, JSON — happens here, off the task hot path.

The events, each a tuple whose first item is its kind:

- ``(START, run_uuid, flow, parameters, started_at, scheduled_at, parent_uuid, executor, name,
  (max_logs, graph_max_tasks))``: the limits of ``history.max_logs_per_run`` and
  ``history.graph_max_tasks`` as the run started;
- ``(TASK, run_uuid, task_slug, task_name, map_index, facts, message, extra, started_at,
  ended_at, run_count)``: ``facts`` is :func:`state_facts` of the state's class, ``extra`` a
  failed state's result (its error) or, for a ``Cached`` state, whether it was reused
  (:func:`reused`); ``started_at`` is ``None`` when the task ran in another process;
- ``(LOG, run_uuid, task_slug, map_index, task_name, record)``;
- ``(LINES, run_uuid, task_slug, map_index, task_name, started_at, lines, artifacts)``: the
  log lines (``(level, logger, message, created)``) and artifacts (``(id_hex, key, type,
  data_json, description, created, task_run_id)``) a task run in another process brought back
  with its state; written once per task run, however often it is reported;
- ``(ARTIFACT, run_uuid, task_slug, map_index, key, type, data_json, description, created_at)``;
- ``(END, run_uuid, state_name, message, ended_at, executor)``.
"""

from __future__ import annotations

import json
import os
import time
import traceback
import weakref
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain, groupby
from operator import itemgetter
from typing import Any

from headwater.history._facts import (
    FACTS,
    instance_facts,
    reused,
    state_facts,
    state_name,
)
from headwater.history._rows import host_name, sha256
from headwater.history._store import SQLStore

FLAT_FIELDS = 11
"""How many items a flat event takes: its kind (an ``int``) and its fields."""

__all__ = [
    "ARTIFACT",
    "END",
    "FACTS",
    "LINES",
    "LOG",
    "START",
    "TASK",
    "Batch",
    "graph_hash",
    "instance_facts",
    "reused",
    "state_facts",
    "state_name",
]

START, TASK, LOG, ARTIFACT, END, LINES = range(6)

_TASK_COLUMNS = (
    "INSERT INTO task_runs (flow_run_id, task_slug, task_name, map_index, state, message, "
    "started_at, ended_at, run_count, cached, failed, error_type, error_message, traceback) "
    "VALUES "
)
_TASK_CONFLICT = (
    " ON CONFLICT (flow_run_id, task_slug, map_index) DO UPDATE SET "
    "task_name = excluded.task_name, message = excluded.message, "
    "ended_at = CASE WHEN excluded.started_at IS NULL AND task_runs.state = excluded.state "
    "THEN task_runs.ended_at ELSE excluded.ended_at END, "
    "state = excluded.state, "
    "started_at = COALESCE(excluded.started_at, task_runs.started_at), "
    "run_count = CASE WHEN excluded.started_at IS NULL THEN task_runs.run_count "
    "ELSE excluded.run_count END, "
    "cached = CASE WHEN excluded.started_at IS NULL AND task_runs.state = excluded.state "
    "THEN task_runs.cached ELSE excluded.cached END, "
    "failed = excluded.failed, error_type = excluded.error_type, "
    "error_message = excluded.error_message, traceback = excluded.traceback"
)
# the values of a failed task run's row, and of one that did not fail: its empty error columns
# are not sent (each NULL sent costs the sqlite3 module a lookup of adapters)
_FAILED_VALUES = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)"
_DONE_VALUES = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, NULL, NULL, NULL)"

CHUNK_ROWS = 64
"""Task run rows upserted by one statement. Each statement the database runs lets go of the
interpreter's lock, and the writer thread then waits for a run's thread to hand it back: one
statement per row would make a batch written during a run wait that long for every row.
(64 rows of 13 values stay under SQLite's oldest limit of 999 values per statement.)"""


def _upsert(values: str, rows: int = 1) -> str:
    return _TASK_COLUMNS + ", ".join([values] * rows) + _TASK_CONFLICT


_UPSERTS = {
    (failed, n): _upsert(_FAILED_VALUES if failed else _DONE_VALUES, n)
    for failed in (0, 1)
    for n in (1, CHUNK_ROWS)
}
_INSERT_LOG = (
    "INSERT INTO logs (flow_run_id, task_slug, map_index, task_name, level, logger, message, "
    "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_ARTIFACT = (
    "INSERT INTO artifacts (flow_run_id, task_slug, map_index, key, type, data, description, "
    "created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
_END_RUN = (
    "UPDATE flow_runs SET state = ?, message = ?, ended_at = ?, heartbeat_at = ?, "
    "executor = COALESCE(?, executor) WHERE id = ?"
)


def _jsonable(value: Any) -> Any:
    return repr(value)


def graph_hash(flow: Any) -> str:
    """A hash of ``flow``'s name, tasks (slug, class, name) and edges: equal for equal graphs."""
    digest = sha256(str(getattr(flow, "name", "")).encode())
    graph = getattr(flow, "graph", None)
    if graph is not None:
        tasks = sorted(
            f"{t.slug}|{type(t).__module__}.{type(t).__qualname__}|{t.name}" for t in graph.tasks
        )
        edges = sorted(
            f"{e.upstream_task.slug}>{e.downstream_task.slug}|{e.key}|{e.mapped}|{e.flattened}"
            for e in graph.edges
        )
        digest.update("\n".join(tasks + ["--"] + edges).encode())
    return str(digest.hexdigest())[:32]


def _index(slug: str | None, index: int | None) -> int | None:
    """The ``map_index`` column of a log line or artifact: joins the task run's row."""
    if slug is None:
        return None
    return -1 if index is None else index


def _graph(flow: Any, max_tasks: int) -> str | None:
    """``flow.serialize()`` as JSON, or ``None`` (no graph, too large, or it cannot)."""
    graph = getattr(flow, "graph", None)
    serialize = getattr(flow, "serialize", None)
    if graph is None or serialize is None or len(graph.tasks) > max_tasks:
        return None
    try:
        return json.dumps(serialize(), default=_jsonable)
    except Exception:  # a flow that cannot describe itself is recorded without its graph
        return None


def _error(error: Any) -> tuple[str | None, str | None, str | None]:
    if not isinstance(error, BaseException):
        return None, None, None
    text = "".join(traceback.format_exception(type(error), error, error.__traceback__))
    return type(error).__name__, str(error), text


class Batch:
    """Writes batches of events into ``store`` (used by one writer thread only).

    A run's log lines beyond its ``max_logs`` are counted, and the count is written as one last
    line when the run ends. A flow with more than ``graph_max_tasks`` tasks is recorded without
    its graph (``flow.serialize()`` of a very large flow costs seconds, and no one draws it).

    Args:
        store: the store written to.
    """

    def __init__(self, store: SQLStore) -> None:
        from headwater import __version__

        self.store = store
        self.max_logs: dict[str, int] = {}
        self.machine = (host_name(), os.getpid(), __version__)
        self.runs: dict[str, int] = {}
        self.logs: dict[str, int] = {}
        self.dropped: dict[str, int] = {}
        # per run, the task runs of other processes whose lines are written: (slug, index, start)
        self.lined: dict[str, set[tuple[Any, ...]]] = {}
        self.flows: weakref.WeakKeyDictionary[Any, tuple[int, int]] = weakref.WeakKeyDictionary()

    def write(self, events: Sequence[Sequence[Any]], flat: Sequence[Any] = ()) -> list[str]:
        """Write ``events`` and the flat task run events ``flat`` (their fields one after the
        other, :data:`~headwater.history._writer.FLAT_FIELDS` per event) in one transaction;
        returns the uuids of the runs that ended."""
        by_kind: list[list[Any]] = [[], [], [], [], [], []]
        for e in events:
            by_kind[e[0]].append(e)
        starts, tasks, logs, artifacts, ends, lines = by_kind

        def work(cur: Any) -> None:
            for e in starts:
                self._start(cur, e)
            sql = self.store.sql
            runs = self.runs
            if tasks or flat:
                self._write_tasks(cur, chain(tasks, zip(*[iter(flat)] * FLAT_FIELDS)))
            made: list[tuple[Any, ...]] = []
            rows = self._log_rows(logs) + self._line_rows(lines, made) + self._dropped_rows(ends)
            if rows:
                cur.executemany(sql(_INSERT_LOG), rows)
            made += [
                (runs[a[1]], a[2], _index(a[2], a[3]), *a[4:]) for a in artifacts if a[1] in runs
            ]
            if made:
                cur.executemany(sql(_INSERT_ARTIFACT), made)
            if ends:
                beat = time.time()
                cur.executemany(
                    sql(_END_RUN),
                    [(e[2], e[3], e[4], beat, e[5], runs[e[1]]) for e in ends if e[1] in runs],
                )

        self.store.transaction(work)
        ended = [e[1] for e in ends]
        for uuid in ended:
            self.forget(uuid)
        return ended

    def forget(self, uuid: str) -> None:
        """Drop what is kept about run ``uuid``."""
        self.runs.pop(uuid, None)
        self.lined.pop(uuid, None)
        self.max_logs.pop(uuid, None)
        self.logs.pop(uuid, None)
        self.dropped.pop(uuid, None)

    def heartbeat(self) -> None:
        """Mark every run this process is recording as alive now."""
        ids = list(self.runs.values())
        if ids:
            now = time.time()
            sql = self.store.sql("UPDATE flow_runs SET heartbeat_at = ? WHERE id = ?")
            self.store.transaction(lambda cur: cur.executemany(sql, [(now, i) for i in ids]))

    # -- rows ---------------------------------------------------------------------------------
    def _start(self, cur: Any, e: tuple[Any, ...]) -> None:
        _, uuid, flow, params, started, scheduled, parent, executor, name, limits = e
        self.max_logs[uuid] = limits[0]
        flow_id = self._flow_id(cur, flow, limits[1])
        parent_id = self.runs.get(parent) if parent else None
        if parent and parent_id is None:
            cur.execute(self.store.sql("SELECT id FROM flow_runs WHERE run_uuid = ?"), [parent])
            row = cur.fetchone()
            parent_id = None if row is None else int(row[0])
        host, pid, version = self.machine
        self.runs[uuid] = self.store.insert_id(
            cur,
            "INSERT INTO flow_runs (run_uuid, flow_id, name, parameters, state, message, "
            "started_at, host, pid, version, executor, scheduled_at, parent_run_id, "
            "heartbeat_at) VALUES (?, ?, ?, ?, 'Running', NULL, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                uuid,
                flow_id,
                name or uuid,
                json.dumps(params, default=_jsonable),
                started,
                host,
                pid,
                version,
                executor,
                scheduled,
                parent_id,
                started,
            ],
        )

    def _flow_id(self, cur: Any, flow: Any, graph_max_tasks: int) -> int:
        """The id of ``flow``'s row (name and graph hash), inserted with its graph if new."""
        graph = getattr(flow, "graph", None)
        version = getattr(graph, "version", 0)
        known = self.flows.get(flow)
        if known is not None and known[1] == version:
            return known[0]
        name, ghash = str(getattr(flow, "name", type(flow).__name__)), graph_hash(flow)
        find = self.store.sql("SELECT id FROM flows WHERE name = ? AND graph_hash = ?")
        cur.execute(find, [name, ghash])
        row = cur.fetchone()
        if row is None:
            cur.execute(
                self.store.sql(
                    "INSERT INTO flows (name, graph_hash, graph, created_at) VALUES (?, ?, ?, ?) "
                    "ON CONFLICT (name, graph_hash) DO NOTHING"
                ),
                [name, ghash, _graph(flow, graph_max_tasks), time.time()],
            )
            cur.execute(find, [name, ghash])
            row = cur.fetchone()
        self.flows[flow] = (int(row[0]), version)
        return int(row[0])

    def _write_tasks(self, cur: Any, tasks: Iterable[Sequence[Any]]) -> None:
        """Upsert the rows of task run ``tasks`` in their order, failed ones with their error:
        :data:`CHUNK_ROWS` rows per statement, none of them twice in one (PostgreSQL refuses
        to update a row twice in one statement), the rest one by one."""
        for failed, group in groupby(self._task_rows(tasks), key=itemgetter(0)):
            rows: list[tuple[Any, ...]] = []
            keys: set[tuple[Any, ...]] = set()
            for _, row in group:
                key = (row[0], row[1], row[3])
                if key in keys or len(rows) == CHUNK_ROWS:
                    self._upsert_rows(cur, failed, rows)
                    rows, keys = [], set()
                rows.append(row)
                keys.add(key)
            self._upsert_rows(cur, failed, rows)

    def _upsert_rows(self, cur: Any, failed: int, rows: list[tuple[Any, ...]]) -> None:
        sql = self.store.sql
        if len(rows) == CHUNK_ROWS:
            cur.execute(sql(_UPSERTS[failed, CHUNK_ROWS]), [v for row in rows for v in row])
        elif rows:
            cur.executemany(sql(_UPSERTS[failed, 1]), rows)

    def _task_rows(self, tasks: Iterable[Sequence[Any]]) -> Iterator[tuple[int, tuple[Any, ...]]]:
        """``(failed, row)`` of each task run event: made one at a time as the database takes
        them (a row kept for the whole batch is one more object for the garbage collector)."""
        runs = self.runs
        for _, uuid, slug, name, index, facts, message, extra, started, ended, count in tasks:
            run = runs.get(uuid)
            if run is None:
                continue
            name = str(name)
            row = (
                run,
                slug or name,
                name if index is None else f"{name}[{index}]",
                -1 if index is None else index,
                facts[0],
                message,
                started,
                ended,
                count,
                facts[1] and int(extra),
            )
            if facts[2]:
                yield 1, (*row, *_error(extra))
            else:
                yield 0, row

    def _kept(self, uuid: str) -> bool:
        """Whether one more log line of run ``uuid`` is kept (else it is counted as left out)."""
        n = self.logs.get(uuid, 0)
        if n >= self.max_logs[uuid]:
            self.dropped[uuid] = self.dropped.get(uuid, 0) + 1
            return False
        self.logs[uuid] = n + 1
        return True

    def _log_rows(self, logs: Iterable[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        rows = []
        runs = self.runs
        for _, uuid, slug, index, task_name, record in logs:
            run = runs.get(uuid)
            if run is None or not self._kept(uuid):
                continue
            try:
                message = record.getMessage()
            except Exception:  # a bad %-format: keep the raw message
                message = f"{record.msg!r} % {record.args!r}"
            if record.exc_info and record.exc_info[1] is not None:
                message += "\n" + "".join(traceback.format_exception(*record.exc_info))
            rows.append(
                (run, slug, _index(slug, index), task_name, record.levelno, record.name,
                 message, record.created)
            )  # fmt: skip
        return rows

    def _line_rows(
        self, lines: Iterable[tuple[Any, ...]], made: list[tuple[Any, ...]]
    ) -> list[tuple[Any, ...]]:
        """The log rows of ``lines`` events (each task run's once); their artifacts' rows are
        added to ``made``."""
        rows = []
        runs = self.runs
        for _, uuid, slug, index, name, started, held, artifacts in lines:
            run = runs.get(uuid)
            done = self.lined.setdefault(uuid, set())
            if run is None or (slug, index, started) in done:
                continue
            done.add((slug, index, started))
            label = None if name is None else str(name) if index is None else f"{name}[{index}]"
            at = _index(slug, index)
            for level, logger, message, created in held:
                if self._kept(uuid):
                    rows.append((run, slug, at, label, level, logger, message, created))
            for hex_id, key, kind, data, description, created, _task_run in artifacts:
                name_of = key or f"{kind}-{hex_id[:8]}"
                made.append((run, slug, at, name_of, kind, data, description, created))
        return rows

    def _dropped_rows(self, ends: Iterable[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
        rows = []
        for e in ends:
            n = self.dropped.get(e[1])
            if n and e[1] in self.runs:
                text = (
                    f"{n} more log line(s) of this run were not recorded: the history keeps "
                    f"{self.max_logs.get(e[1])} per run (history.max_logs_per_run)."
                )
                rows.append(
                    (self.runs[e[1]], None, None, None, 30, "headwater.history", text, e[4])
                )
        return rows
