"""``HistoryRecorder``: the run observer that records flow runs, task runs and logs.

``flow.run()`` adds one to every run while ``history.enabled`` is true (see
:func:`headwater.engine.observers.default_observers`). Its hooks only append a tuple to the
writer's queue — no formatting, no lock, no I/O — and the writer thread does the rest
(:mod:`headwater.history._writer`). Log lines reach the history through
:class:`HistoryLogHandler` on the ``headwater`` logger, which keeps the records emitted inside a
run being recorded in this process, at ``history.log_level`` or above.

No secret is written (:mod:`headwater.history._masking`): the start of a Prefect 1 run is
queued once its context is known (its first pass or log line), so the run's
``context.secrets`` are masked in all its rows, its parameters included.
"""

from __future__ import annotations

import json
import logging
import os
import time
from typing import TYPE_CHECKING, Any

from headwater.context import context as _context
from headwater.engine.observers import RunObserver
from headwater.history._batch import (
    ARTIFACT,
    END,
    LOG,
    START,
    TASK,
    instance_facts,
    reused,
    state_facts,
    state_name,
)
from headwater.history._batch import FACTS as _FACTS
from headwater.history._masking import MASKER, state_secrets
from headwater.history._writer import Writer, writer_for

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
]

ARTIFACT_TYPES = ("markdown", "table", "link", "progress", "image")
"""The types of artifact :func:`record_artifact` accepts."""

_ACTIVE: dict[str, Writer] = {}
"""The runs being recorded in this process, by run uuid, with their writer."""

_PENDING: dict[str, tuple[Any, ...]] = {}
"""The starts of Prefect 1 runs not queued yet: each waits for its run's context (see
:func:`_release`), whose ``secrets`` are masked in every row of the run, its parameters too."""

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
        store.mark_crashed(frozenset(_ACTIVE))
        return store

    return open_for_writing


def _release(run_id: Any, ctx: Any) -> None:
    """Queue the pending start of run ``run_id``, the run's ``context.secrets`` added to the
    mask first (``ctx``: the run's context, or ``None``)."""
    event = _PENDING.pop(run_id, None)
    writer = _ACTIVE.get(run_id)
    if event is None or writer is None:
        return
    secrets = ctx.get("secrets") if ctx is not None else None
    if secrets:
        MASKER.add(secrets)
    writer.start_run(run_id, event)


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

    #: on a cluster, task runs are recorded when each pass collects its states: hearing of each
    #: as it finishes would bring every result back from the workers
    live_on_clusters = False

    def __init__(self, target: str | os.PathLike[str] | None = None) -> None:
        self.target = resolve_target(target)
        self.writer = writer_for(self.target, _opener(self.target))
        self._append = self.writer.append

    def __repr__(self) -> str:
        return f"HistoryRecorder({self.target!r})"

    def flow_run_started(
        self, *, flow: Flow, run_id: str, parameters: dict[str, Any], **kwargs: Any
    ) -> None:
        """Queue the run's row (and its flow's, if new)."""
        from headwater.configuration import setting

        HistoryLogHandler.install()
        MASKER.add(_config_secrets())
        scheduled = kwargs.get("scheduled_start_time")
        limits = (int(setting("history.max_logs_per_run")), int(setting("history.graph_max_tasks")))
        _ACTIVE[run_id] = self.writer
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
            _PENDING[run_id] = event
        else:
            self.writer.start_run(run_id, event)

    def tasks_planned(self, *, count: int, **kwargs: Any) -> None:
        """Queue the run's start, once its context (and ``context.secrets``) is known."""
        if _PENDING:
            ctx = _CTX.get()
            if ctx is not None:
                _release(ctx.get("flow_run_id"), ctx)

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
        """Queue the task run's row: one tuple, formatted later by the writer thread.

        The engine calls it positionally, in place of :meth:`task_run_finished`. The tuple
        holds only text, numbers and a shared tuple (an error for a failed task), so the
        garbage collector untracks it at once and never scans the queue again.
        """
        cls = type(state)
        try:
            facts = _FACTS[cls]
        except KeyError:
            facts = state_facts(cls)
        extra: Any = None
        ended = _now()
        if facts is None:  # an @flow state
            facts, extra = instance_facts(state)
        elif facts[2]:
            extra = state.result  # the error
        elif facts[1]:
            expiration = getattr(state, "cached_result_expiration", None)
            extra = reused(getattr(task, "cache_for", None), expiration, started_at)
        slug: Any
        name: Any
        try:
            slug, name = task.slug, task.name
        except AttributeError:  # a task object of another kind
            slug, name = getattr(task, "slug", None), getattr(task, "name", None)
        self._append(
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

    def flow_run_finished(
        self, *, flow: Flow, state: State | None, run_id: str, **kwargs: Any
    ) -> None:
        """Queue the run's end: its state, or ``Failed``/``Cancelled`` if it raised."""
        error = kwargs.get("error")
        state_secrets(state)  # the values secret tasks returned
        if state is not None:
            name, message = state_name(state), state.message
        elif isinstance(error, KeyboardInterrupt):
            name, message = "Cancelled", "The run was interrupted (KeyboardInterrupt)."
        else:
            name = "Failed"
            message = f"The run raised {type(error).__name__}: {error}"
        message = None if message is None else str(message)
        executor = _executor_name(kwargs.get("executor"))
        _release(run_id, None)
        _ACTIVE.pop(run_id, None)
        self.writer.end_run(run_id, (END, run_id, name, message, _now(), executor))


class HistoryLogHandler(logging.Handler):
    """Keeps the log records emitted inside a run being recorded in this process.

    Installed once on the ``headwater`` logger; its level is ``history.log_level`` (set again
    at each run's start). :meth:`handle` takes no lock and formats nothing: the record is
    queued, and its message made by the writer thread.
    """

    _installed: HistoryLogHandler | None = None

    @classmethod
    def install(cls) -> HistoryLogHandler:
        """The handler on the ``headwater`` logger (added on first use), at the configured
        ``history.log_level``."""
        from headwater.configuration import setting
        from headwater.utilities.logging import get_logger

        handler = cls._installed
        if handler is None:
            handler = cls._installed = cls()
            get_logger().addHandler(handler)
        level = setting("history.log_level")
        handler.setLevel(level.upper() if isinstance(level, str) else int(level))
        return handler

    def handle(self, record: logging.LogRecord) -> bool:
        """Queue ``record`` if it belongs to a run being recorded here, at the level or above."""
        if record.levelno < self.level:
            return False
        ctx = _CTX.get()
        if ctx is None:
            return False
        run = ctx.get("flow_run_id")
        writer = _ACTIVE.get(run) if run is not None else None
        if writer is None:
            return False
        if _PENDING:
            _release(run, ctx)
        writer.append(
            (
                LOG,
                run,
                ctx.get("task_slug"),
                ctx.get("map_index"),
                ctx.get("task_full_name"),
                record,
            )
        )
        return True

    def emit(self, record: logging.LogRecord) -> None:
        """Queue ``record`` (see :meth:`handle`)."""
        self.handle(record)


def record_artifact(*, key: str, type: str, data: Any, description: str | None = None) -> bool:
    """Record an artifact for the flow run (and task run) running now in this process.

    Args:
        key: the artifact's key (its name in the UI).
        type: one of :data:`ARTIFACT_TYPES`.
        data: its content, JSON-serialisable (markdown text, a list of rows, a URL...).
        description: a line saying what it is.

    Returns:
        Whether it was recorded: ``False`` outside a run, or in a run the history does not
        record.

    Raises:
        ValueError: ``type`` is not one of :data:`ARTIFACT_TYPES`, or ``key`` is empty.
        TypeError: ``data`` cannot be written as JSON.
    """
    if type not in ARTIFACT_TYPES:
        raise ValueError(
            f"record_artifact(): type must be one of {', '.join(ARTIFACT_TYPES)}, got {type!r}."
        )
    if not isinstance(key, str) or not key:
        raise ValueError(f"record_artifact(): key must be a non-empty string, got {key!r}.")
    try:
        text = json.dumps(data)
    except (TypeError, ValueError) as exc:
        raise TypeError(
            f"record_artifact(key={key!r}): data must be JSON-serialisable ({exc}); pass text, "
            "numbers, lists and dicts."
        ) from None
    run = _context.get("flow_run_id")
    writer = _ACTIVE.get(run) if run is not None else None
    if writer is None:
        return False
    slug, index = _context.get("task_slug"), _context.get("map_index")
    writer.append((ARTIFACT, run, slug, index, key, type, text, description, _now()))
    return True


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
    return list(_ACTIVE)


os.register_at_fork(after_in_child=_ACTIVE.clear)  # a forked child runs none of them
os.register_at_fork(after_in_child=_PENDING.clear)
