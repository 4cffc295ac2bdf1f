"""Log lines and artifacts of the runs this process records: queued for the writer.

:class:`HistoryLogHandler`, on the ``headwater`` logger, keeps the records emitted inside a
run being recorded here — a Prefect 1 run's (its context names the run and the task run) or
an ``@flow`` run's (the task run and flow run current in this context), ``get_run_logger()``
and ``log_prints`` included. :func:`record_artifact` does the same for artifacts. Neither
formats anything: the writer thread does (:mod:`headwater.history._batch`).
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

from headwater.context import context as _context
from headwater.history._active import ACTIVE, PENDING, call_slug, release
from headwater.history._batch import ARTIFACT, LOG

__all__ = ["ARTIFACT_TYPES", "HistoryLogHandler", "record_artifact"]

ARTIFACT_TYPES = ("markdown", "table", "link", "progress", "image")
"""The types of artifact :func:`record_artifact` accepts."""

_CTX = _context.context_var
_now = time.time


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
        run = ctx.get("flow_run_id") if ctx is not None else None
        writer = ACTIVE.get(run) if run is not None else None
        if writer is None or ctx is None:
            return _modern_line(record)
        if PENDING:
            release(run, ctx)
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
    writer = ACTIVE.get(run) if run is not None else None
    if writer is None:
        return False
    task_run = _modern_task_run()
    if task_run is not None and task_run.flow_run_id == run:  # a task of an @flow run
        slug, index = call_slug(run, task_run.id, task_run.task_name), None
    else:
        slug, index = _context.get("task_slug"), _context.get("map_index")
    writer.append((ARTIFACT, run, slug, index, key, type, text, description, _now()))
    return True


_MODERN: list[Any] = []
"""The ``@flow`` API's context variables of the current task run and flow run (once imported)."""


def _modern_runs() -> tuple[Any, Any]:
    """The ``@flow`` API's task run and flow run running now in this context (or ``None``)."""
    if not _MODERN:
        from headwater.modern.context import FLOW_RUN, TASK_RUN

        _MODERN[:] = (TASK_RUN, FLOW_RUN)
    task_run = _MODERN[0].get()
    return task_run, task_run.flow_run if task_run is not None else _MODERN[1].get()


def _modern_task_run() -> Any:
    """The ``@flow`` API's task run running now in this context, or ``None``."""
    return _modern_runs()[0]


def _modern_line(record: logging.LogRecord) -> bool:
    """Queue ``record`` if it was emitted in an ``@flow`` run (or one of its task runs) being
    recorded here; the task run is the one running in this context."""
    task_run, flow_run = _modern_runs()
    writer = ACTIVE.get(flow_run.id) if flow_run is not None else None
    if writer is None:
        return False
    if task_run is None:
        writer.append((LOG, flow_run.id, None, None, None, record))
    else:
        slug = call_slug(flow_run.id, task_run.id, task_run.task_name)
        writer.append((LOG, flow_run.id, slug, None, task_run.task_name, record))
    return True
