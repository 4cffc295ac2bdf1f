"""What a task run in another process brings back with its state for the run's observers.

The observers of a run live in the process that started it. Executors that send task runs to
other processes (``LocalDaskExecutor("processes")``, ``DaskExecutor``) carry a
:class:`ReportsWanted` in the run's context instead (:data:`REPORTS_KEY`); where a task runs,
it times the run and, if an observer asks for them (``RunObserver.worker_log_level``), keeps
the run's log lines at that level or above — no more than ``max_logs`` of them, each made
into text there. The state the task run returns carries them as ``state.run_report``, a
:class:`TaskRunReport`, and comes back to the run's process with them: its observers read it
when they hear of the task run (``task_run_finished``, whose ``started_at`` is then ``None``).

Only lines of the task run itself are kept: those of a flow run started inside the task are
that run's.
"""

from __future__ import annotations

import contextvars
import logging
import os
import time
import traceback
from typing import TYPE_CHECKING, Any

from headwater.context import context as _context
from headwater.engine.state import Retrying

if TYPE_CHECKING:
    from headwater.engine.state import State

__all__ = ["REPORTS_KEY", "LogLine", "ReportsWanted", "TaskRunReport", "run_reported"]

#: The context key of a run's :class:`ReportsWanted`, for task runs in other processes.
REPORTS_KEY = "_run_reports"

LogLine = tuple[int, str, str, float]
"""A log line of a task run: ``(level, logger name, message, created)``, as
``logging.LogRecord`` has them (the message formatted, with its traceback if any)."""

_LINES: contextvars.ContextVar[tuple[str, list[LogLine], ReportsWanted] | None] = (
    contextvars.ContextVar("headwater_task_run_lines", default=None)
)
_CTX = _context.context_var


class TaskRunReport:
    """When a task run in another process started and ended, its run count and log lines.

    Attributes:
        started_at: ``time.time()`` as the run of the task started.
        ended_at: ``time.time()`` as it ended.
        run_count: 1, or more on a retry.
        logs: its log lines (:data:`LogLine`), or ``()`` when none were asked for.
    """

    __slots__ = ("ended_at", "logs", "run_count", "started_at")

    def __init__(
        self, started_at: float, ended_at: float, run_count: int, logs: tuple[LogLine, ...]
    ) -> None:
        self.started_at = started_at
        self.ended_at = ended_at
        self.run_count = run_count
        self.logs = logs

    def __reduce__(self) -> tuple[Any, ...]:
        return (TaskRunReport, (self.started_at, self.ended_at, self.run_count, self.logs))

    def __repr__(self) -> str:
        return (
            f"TaskRunReport(started_at={self.started_at!r}, ended_at={self.ended_at!r}, "
            f"run_count={self.run_count!r}, logs={len(self.logs)} line(s))"
        )


class ReportsWanted:
    """What task runs in other processes report, carried to them in the run's context.

    Args:
        log_level: keep log lines at this level or above (``None``: keep none).
        max_logs: keep at most this many per task run.
    """

    __slots__ = ("log_level", "max_logs", "pid")

    def __init__(self, log_level: int | None, max_logs: int) -> None:
        self.log_level = log_level
        self.max_logs = max_logs
        self.pid = os.getpid()  # in this process, the run's observers hear its lines directly

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuilt, (self.log_level, self.max_logs, self.pid))

    def __repr__(self) -> str:
        return f"ReportsWanted(log_level={self.log_level!r}, max_logs={self.max_logs!r})"


def _rebuilt(log_level: int | None, max_logs: int, pid: int) -> ReportsWanted:
    wanted = ReportsWanted(log_level, max_logs)
    wanted.pid = pid
    return wanted


def run_reported(
    wanted: ReportsWanted,
    runner: Any,
    state: State | None,
    upstream: dict[Any, Any],
    ctx: dict[Any, Any],
    map_index: int | None,
) -> State:
    """Run one task run (``runner.run_unit``) and put its :class:`TaskRunReport` on its state."""
    lines: list[LogLine] = []
    token = None
    if wanted.log_level is not None and os.getpid() != wanted.pid:
        _Collector.install()
        token = _LINES.set((str(ctx.get("flow_run_id")), lines, wanted))
    started = time.time()
    try:
        new: State = runner.run_unit(state, upstream, ctx, map_index)
    finally:
        if token is not None:
            _LINES.reset(token)
    if new is not state:  # (a task that keeps its state did not run: its report stays)
        run_count = state.run_count + 1 if type(state) is Retrying else 1
        new.run_report = TaskRunReport(started, time.time(), run_count, tuple(lines))
    return new


class _Collector(logging.Handler):
    """Keeps the log records of the task run running in this thread (on ``headwater``)."""

    installed: _Collector | None = None

    @classmethod
    def install(cls) -> None:
        if cls.installed is None:
            from headwater.utilities.logging import get_logger

            cls.installed = cls()
            get_logger().addHandler(cls.installed)

    def handle(self, record: logging.LogRecord) -> bool:
        held = _LINES.get()
        if held is None:
            return False
        run, lines, wanted = held
        level = wanted.log_level
        if level is None or record.levelno < level or len(lines) >= wanted.max_logs:
            return False
        ctx = _CTX.get()
        if ctx is not None and str(ctx.get("flow_run_id")) != run:  # a flow run inside the task
            return False
        lines.append((record.levelno, record.name, _message(record), record.created))
        return True

    def emit(self, record: logging.LogRecord) -> None:
        self.handle(record)


def _message(record: logging.LogRecord) -> str:
    try:
        message = record.getMessage()
    except Exception:  # a bad %-format: keep the raw message
        message = f"{record.msg!r} % {record.args!r}"
    if record.exc_info and record.exc_info[1] is not None:
        message += "\n" + "".join(traceback.format_exception(*record.exc_info))
    return message
