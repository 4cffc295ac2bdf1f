"""``HistoryRecorder``: the run observer that records flow runs, task runs and logs.

``flow.run()`` adds one to every run while ``history.enabled`` is true (see
:func:`headwater.engine.observers.default_observers`). Its hooks only add an event to the
writer's queue — no formatting, no lock, no I/O — and the writer thread does the rest
(:mod:`headwater.history._writer`). Log lines reach the history through
:class:`~headwater.history._lines.HistoryLogHandler` on the ``headwater`` logger, which keeps
the records emitted inside a run being recorded in this process, at ``history.log_level`` or
above; those of task runs in other processes come back with their states, as do the artifacts
they create (at most :attr:`HistoryRecorder.worker_max_artifacts` per task run).

No secret is written (:mod:`headwater.history._masking`): the start of a Prefect 1 run is
queued once its context is known (its first pass or log line), so the run's
``context.secrets`` are masked in all its rows, its parameters included.
"""

from __future__ import annotations

import logging
import os
import time
from typing import TYPE_CHECKING, Any

from headwater.context import context as _context
from headwater.engine.observers import RunObserver
from headwater.history._active import ACTIVE, PENDING, call_slug, forget, release
from headwater.history._batch import END, LINES, START, TASK
from headwater.history._facts import FACTS as _FACTS
from headwater.history._facts import instance_facts, reused, state_facts, state_name
from headwater.history._lines import ARTIFACT_TYPES, HistoryLogHandler, record_artifact
from headwater.history._masking import MASKER, state_secrets
from headwater.history._writer import writer_for

if TYPE_CHECKING:
    from headwater.core.flow import Flow
    from headwater.core.task import Task
    from headwater.engine.state import State

__all__ = [
    "ARTIFACT_TYPES",
    "HistoryLogHandler",
    "HistoryRecorder",
    "default_recorder",
    "record_artifact",
    "resolve_target",
    "running_runs",
]

_CTX = _context.context_var
_now = time.time


def resolve_target(target: str | os.PathLike[str] | None = None) -> str:
    """The database ``target`` names, or the configured one: ``history.url`` if set, else
    ``history.path`` (its ``{home_dir}`` replaced by the configured ``home_dir``)."""
    if target is not None:
        return os.fspath(target)
    from headwater.configuration import setting

    url = str(setting("history.url") or "").strip()
    if url:
        return url
    path = str(setting("history.path"))
    if "{home_dir}" in path:
        path = path.replace("{home_dir}", str(setting("home_dir")))
    return os.path.abspath(os.path.expanduser(path))


def is_url(target: str) -> bool:
    """Whether ``target`` is a PostgreSQL URL (else it is a SQLite file path)."""
    return target.startswith(("postgresql://", "postgres://"))


def _opener(target: str) -> Any:
    def open_for_writing() -> Any:
        if is_url(target):
            from headwater.history._postgres import PostgresStore

            store: Any = PostgresStore(target, mark_crashed=False)
        else:
            from headwater.history._sqlite import SQLiteStore

            store = SQLiteStore(target, mark_crashed=False)
        store.mark_crashed(frozenset(ACTIVE))
        return store

    return open_for_writing


def _config_secrets() -> Any:
    """The configuration's ``[context.secrets]``."""
    from headwater.configuration import current_config

    try:
        return current_config().context.secrets
    except (AttributeError, KeyError):
        return None


def _executor_name(executor: Any) -> str | None:
    if executor is None:
        return None
    name = type(executor).__name__
    scheduler = getattr(executor, "scheduler", None)
    return f"{name}({scheduler})" if isinstance(scheduler, str) else name


class HistoryRecorder(RunObserver):
    """Records the runs it observes into the run history.

    Args:
        target: a SQLite file path or a ``postgresql://`` URL (default: the configured one,
            see :func:`resolve_target`).

    Example::

        import tempfile
        from pathlib import Path

        from headwater import Flow, task
        from headwater.history import HistoryRecorder, open_store

        @task
        def one():
            return 1

        db = Path(tempfile.mkdtemp()) / "history.db"
        with Flow("one") as flow:
            one()
        flow.run(history=False, observers=[HistoryRecorder(db)])
        with open_store(db) as store:
            store.flush()
            assert store.list_flow_runs()[0]["state"] == "Success"
    """

    #: on a cluster, task runs are recorded as each finishes: ``DaskExecutor`` brings every
    #: value into this process as its call finishes anyway (the run needs it here in the end)
    live_on_clusters = True

    def __init__(self, target: str | os.PathLike[str] | None = None) -> None:
        self.target = resolve_target(target)
        self.writer = writer_for(self.target, _opener(self.target))
        self._append = self.writer.append
        self._extend = self.writer.extend

    def __repr__(self) -> str:
        return f"HistoryRecorder({self.target!r})"

    @property
    def worker_log_level(self) -> int:  # type: ignore[override]
        """``history.log_level``: the lines of task runs in other processes come back from it."""
        from headwater.configuration import setting

        level = setting("history.log_level")
        return int(logging.getLevelName(level.upper())) if isinstance(level, str) else int(level)

    #: at most this many artifacts of each task run in another process are recorded
    worker_max_artifacts = 1000

    @property
    def worker_max_logs(self) -> int:  # type: ignore[override]
        """``history.max_logs_per_run``: no task run brings back more lines than its run keeps."""
        from headwater.configuration import setting

        return int(setting("history.max_logs_per_run"))

    def flow_run_started(
        self, *, flow: Flow, run_id: str, parameters: dict[str, Any], **kwargs: Any
    ) -> None:
        """Queue the run's row (and its flow's, if new)."""
        from headwater.configuration import setting

        HistoryLogHandler.install()
        MASKER.add(_config_secrets())
        scheduled = kwargs.get("scheduled_start_time")
        limits = (int(setting("history.max_logs_per_run")), int(setting("history.graph_max_tasks")))
        ACTIVE[run_id] = self.writer
        event = (
            START,
            run_id,
            flow,
            dict(parameters),
            _now(),
            None if scheduled is None else scheduled.timestamp(),
            kwargs.get("parent_run_id"),
            _executor_name(kwargs.get("executor")),
            kwargs.get("flow_run_name"),
            limits,
        )
        if getattr(flow, "graph", None) is not None:  # its context comes with its first pass
            PENDING[run_id] = event
        else:
            self.writer.start_run(run_id, event)

    def tasks_planned(self, *, count: int, **kwargs: Any) -> None:
        """Queue the run's start, once its context (and ``context.secrets``) is known."""
        if PENDING:
            ctx = _CTX.get()
            if ctx is not None:
                release(ctx.get("flow_run_id"), ctx)

    def task_run_finished(
        self,
        *,
        task: Task,
        state: State,
        map_index: int | None,
        run_id: str,
        **kwargs: Any,
    ) -> None:
        """Queue the task run's row (see :meth:`record_task_run`)."""
        self.record_task_run(
            task,
            state,
            map_index,
            run_id,
            kwargs.get("pass_number", 1),
            kwargs.get("started_at"),
            kwargs.get("run_count", 1),
        )

    def record_task_run(
        self,
        task: Task,
        state: State,
        map_index: int | None,
        run_id: str,
        pass_number: int,
        started_at: float | None,
        run_count: int,
    ) -> None:
        """Queue the task run's row, formatted later by the writer thread.

        The engine calls it positionally, in place of :meth:`task_run_finished`. The row's
        fields go into the writer's queue flat (:meth:`~headwater.history._writer.Writer.extend`):
        no object is kept per task run for the garbage collector to count. A task run of
        another process (``started_at`` unknown) brings its times, log lines and artifacts on
        its state.
        """
        cls = type(state)
        try:
            facts = _FACTS[cls]
        except KeyError:
            facts = state_facts(cls)
        extra: Any = None
        ended = _now()
        slug: Any
        name: Any
        try:
            slug, name = task.slug, task.name
        except AttributeError:  # a task object of another kind
            slug, name = getattr(task, "slug", None), getattr(task, "name", None)
        if facts is None:  # an @flow state: each call of a task is a task run of its own
            facts, extra = instance_facts(state)
            call = getattr(state, "run_id", None)
            if call is not None:
                slug = call_slug(run_id, call, str(name))
            report = getattr(state, "run_report", None) if started_at is None else None
            if report is not None:  # it ran in another process
                started_at, ended, run_count = self._reported(report, run_id, slug, None, name)
        else:
            report = state.run_report if started_at is None else None
            if report is not None:  # it ran in another process
                started_at, ended, run_count = self._reported(report, run_id, slug, map_index, name)
            if facts[2]:
                extra = state.result  # the error
            elif facts[1]:
                expiration = getattr(state, "cached_result_expiration", None)
                extra = reused(getattr(task, "cache_for", None), expiration, started_at)
        self._extend(  # flat: nothing more for the garbage collector to count
            (
                TASK,
                run_id,
                slug,
                name,
                map_index,
                facts,
                state.message,
                extra,
                started_at,
                ended,
                run_count,
            )
        )

    def _reported(
        self, report: Any, run_id: str, slug: Any, map_index: Any, name: Any
    ) -> tuple[float, float, int]:
        """Queue the log lines and artifacts a task run of another process brought back (the
        artifacts are also kept in memory: ``headwater.artifacts.artifacts_of``); its start,
        end and run count."""
        logs, artifacts = report.logs, getattr(report, "artifacts", ())
        if logs or artifacts:
            self._append((LINES, run_id, slug, map_index, name, report.started_at, logs, artifacts))
        if artifacts:
            from headwater.artifacts import keep_reported

            keep_reported(run_id, artifacts)
        return report.started_at, report.ended_at, report.run_count

    def flow_run_finished(
        self, *, flow: Flow, state: State | None, run_id: str, **kwargs: Any
    ) -> None:
        """Queue the run's end: its state, or ``Failed``/``Cancelled`` if it raised."""
        error = kwargs.get("error")
        state_secrets(state, flow)  # the values secret tasks returned
        if state is not None:
            name, message = state_name(state), state.message
        elif isinstance(error, KeyboardInterrupt):
            name, message = "Cancelled", "The run was interrupted (KeyboardInterrupt)."
        else:
            name = "Failed"
            message = f"The run raised {type(error).__name__}: {error}"
        message = None if message is None else str(message)
        executor = _executor_name(kwargs.get("executor"))
        release(run_id, None)
        forget(run_id)
        self.writer.end_run(run_id, (END, run_id, name, message, _now(), executor))


_recorders: dict[str, HistoryRecorder] = {}


def default_recorder() -> HistoryRecorder:
    """The recorder of the configured history database (one per database and process)."""
    target = resolve_target()
    recorder = _recorders.get(target)
    if recorder is None or recorder.writer is not writer_for(target, _opener(target)):
        recorder = _recorders[target] = HistoryRecorder(target)
    return recorder


def running_runs() -> list[str]:
    """The uuids of the runs this process is recording now."""
    return list(ACTIVE)
