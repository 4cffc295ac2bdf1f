"""What a task run in another process brings back with its state for the run's observers.

The observers of a run live in the process that started it. Executors that send task runs to
other processes (``LocalDaskExecutor("processes")``, ``DaskExecutor``) carry a
:class:`ReportsWanted` in the run's context instead (:data:`REPORTS_KEY`); where a task runs,
it times the run and, if an observer asks for them (``RunObserver.worker_log_level``), keeps
the run's log lines at that level or above — no more than ``max_logs`` of them, each made
into text there — and, if an observer asks for them (``RunObserver.worker_max_artifacts``),
the artifacts it creates (:data:`ArtifactLine`, their data made into JSON there; no more than
``max_artifacts``). The state the task run returns carries them as ``state.run_report``, a
:class:`TaskRunReport`, and comes back to the run's process with them: its observers read it
when they hear of the task run (``task_run_finished``, whose ``started_at`` is then ``None``).
``@flow`` task runs sent to other processes (:mod:`headwater.modern.remote`) report the same
way, through :class:`Collecting` and :func:`finished_report`.

Only lines and artifacts of the task run itself are kept: those of a flow run started inside
the task are that run's.
"""

from __future__ import annotations

import contextvars
import json
import logging
import os
import time
import traceback
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from headwater.context import context as _context
from headwater.engine.state import Retrying

if TYPE_CHECKING:
    from headwater.engine.state import State

__all__ = [
    "REPORTS_KEY",
    "ArtifactLine",
    "Collecting",
    "LogLine",
    "ReportsWanted",
    "TaskRunReport",
    "finished_report",
    "report_artifact",
    "run_reported",
    "wanted_by",
]

#: The context key of a run's :class:`ReportsWanted`, for task runs in other processes.
REPORTS_KEY = "_run_reports"

LogLine = tuple[int, str, str, float]
"""A log line of a task run: ``(level, logger name, message, created)``, as
``logging.LogRecord`` has them (the message formatted, with its traceback if any)."""

ArtifactLine = tuple[str, str | None, str, str, str | None, float, str | None]
"""An artifact a task run created: ``(id hex, key or None, type, data as JSON, description,
created, task run id)``; ``created`` is a ``time.time()``. A progress artifact updated in the
task run comes once more for each update, with its new data."""

_HELD: contextvars.ContextVar[Collecting | None] = contextvars.ContextVar(
    "headwater_task_run_reports", default=None
)
_CTX = _context.context_var


def _classic_run() -> Any:
    """The flow run of the Prefect 1 context running now (``None`` outside one)."""
    ctx = _CTX.get()
    return None if ctx is None else ctx.get("flow_run_id")


class TaskRunReport:
    """When a task run in another process started and ended, its run count, log lines and
    artifacts.

    Attributes:
        started_at: ``time.time()`` as the run of the task started.
        ended_at: ``time.time()`` as it ended.
        run_count: 1, or more on a retry.
        logs: its log lines (:data:`LogLine`), or ``()`` when none were asked for.
        artifacts: the artifacts it created (:data:`ArtifactLine`), or ``()``.
    """

    __slots__ = ("artifacts", "ended_at", "logs", "run_count", "started_at")

    def __init__(
        self,
        started_at: float,
        ended_at: float,
        run_count: int,
        logs: tuple[LogLine, ...],
        artifacts: tuple[ArtifactLine, ...] = (),
    ) -> None:
        self.started_at = started_at
        self.ended_at = ended_at
        self.run_count = run_count
        self.logs = logs
        self.artifacts = artifacts

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            TaskRunReport,
            (self.started_at, self.ended_at, self.run_count, self.logs, self.artifacts),
        )

    def __repr__(self) -> str:
        return (
            f"TaskRunReport(started_at={self.started_at!r}, ended_at={self.ended_at!r}, "
            f"run_count={self.run_count!r}, logs={len(self.logs)} line(s), "
            f"artifacts={len(self.artifacts)})"
        )


class ReportsWanted:
    """What task runs in other processes report, carried to them in the run's context.

    Args:
        log_level: keep log lines at this level or above (``None``: keep none).
        max_logs: keep at most this many per task run.
        max_artifacts: keep at most this many artifacts per task run (0: keep none).
    """

    __slots__ = ("log_level", "max_artifacts", "max_logs", "pid")

    def __init__(self, log_level: int | None, max_logs: int, max_artifacts: int = 0) -> None:
        self.log_level = log_level
        self.max_logs = max_logs
        self.max_artifacts = max_artifacts
        self.pid = os.getpid()  # in this process, the run's observers hear its lines directly

    def __reduce__(self) -> tuple[Any, ...]:
        return (_rebuilt, (self.log_level, self.max_logs, self.pid, self.max_artifacts))

    def __repr__(self) -> str:
        return (
            f"ReportsWanted(log_level={self.log_level!r}, max_logs={self.max_logs!r}, "
            f"max_artifacts={self.max_artifacts!r})"
        )


def _rebuilt(log_level: int | None, max_logs: int, pid: int, max_artifacts: int) -> ReportsWanted:
    wanted = ReportsWanted(log_level, max_logs, max_artifacts)
    wanted.pid = pid
    return wanted


def wanted_by(observers: Iterable[Any]) -> ReportsWanted:
    """What task runs in other processes bring back for ``observers``: the lowest
    ``worker_log_level`` and the largest ``worker_max_logs`` and ``worker_max_artifacts``."""
    observers = tuple(observers)
    wanting = [o for o in observers if getattr(o, "worker_log_level", None) is not None]
    level = min((int(o.worker_log_level) for o in wanting), default=None)
    max_logs = max((int(o.worker_max_logs) for o in wanting), default=0)
    max_artifacts = max((int(getattr(o, "worker_max_artifacts", 0)) for o in observers), default=0)
    return ReportsWanted(level, max_logs, max_artifacts)


class Collecting:
    """While entered, keeps the log lines and artifacts of the task run running in this context.

    Nothing is kept in the run's own process (its observers hear of them directly), nor when
    ``wanted`` asks for nothing.

    Args:
        wanted: what to keep (``None``: nothing).
        run_id: the flow run the task run belongs to.
        current: gives the id of the flow run running now in this context (``None``: unknown);
            lines and artifacts of another flow run (started inside the task) are not kept.
    """

    __slots__ = ("artifacts", "current", "dropped", "lines", "run", "token", "wanted")

    def __init__(
        self, wanted: ReportsWanted | None, run_id: Any, current: Callable[[], Any] = _classic_run
    ) -> None:
        self.wanted = wanted
        self.run = str(run_id)
        self.current = current
        self.lines: list[LogLine] = []
        self.artifacts: list[ArtifactLine] = []
        self.dropped = 0
        self.token: contextvars.Token[Collecting | None] | None = None

    def __enter__(self) -> Collecting:
        wanted = self.wanted
        if wanted is None or os.getpid() == wanted.pid:
            return self
        if wanted.log_level is not None:
            _Collector.install()
        elif wanted.max_artifacts <= 0:
            return self
        self.token = _HELD.set(self)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.token is not None:
            _HELD.reset(self.token)
            self.token = None

    def ours(self) -> bool:
        """Whether what happens now in this context belongs to the task run's flow run."""
        now = self.current()
        return now is None or str(now) == self.run

    def report(self, started: float, run_count: int) -> TaskRunReport:
        """The report of the task run, which started at ``started`` and ends now."""
        return TaskRunReport(
            started, time.time(), run_count, tuple(self.lines), tuple(self.artifacts)
        )


def finished_report(started: float | None, run_count: int) -> TaskRunReport | None:
    """The report of the task run collected in this context (:class:`Collecting`), ending now;
    ``None`` when none is collected."""
    held = _HELD.get()
    if held is None:
        return None
    return held.report(time.time() if started is None else started, max(1, run_count))


def report_artifact(artifact: Any) -> bool:
    """Keep ``artifact`` (an :class:`headwater.artifacts.Artifact`) for the report of the task
    run running in this context, if one is collected and wants more; returns whether it was.

    Raises:
        TypeError: its data cannot be written as JSON.
    """
    held = _HELD.get()
    if held is None or held.wanted is None:
        return False
    if str(artifact.flow_run_id) != held.run:
        return False
    if len(held.artifacts) >= held.wanted.max_artifacts:
        held.dropped += 1
        if held.dropped == 1:
            logging.getLogger("headwater.artifacts").warning(
                "This task run created more than %d artifacts: the run history records no more "
                "of them.",
                held.wanted.max_artifacts,
            )
        return False
    data = json.dumps(artifact.data)
    created = artifact.created.timestamp()
    held.artifacts.append(
        (
            artifact.id.hex,
            artifact.key,
            artifact.type,
            data,
            artifact.description,
            created,
            artifact.task_run_id,
        )
    )
    return True


def run_reported(
    wanted: ReportsWanted,
    runner: Any,
    state: State | None,
    upstream: dict[Any, Any],
    ctx: dict[Any, Any],
    map_index: int | None,
) -> State:
    """Run one task run (``runner.run_unit``) and put its :class:`TaskRunReport` on its state."""
    started = time.time()
    with Collecting(wanted, ctx.get("flow_run_id")) as held:
        new: State = runner.run_unit(state, upstream, ctx, map_index)
    if new is not state:  # (a task that keeps its state did not run: its report stays)
        run_count = state.run_count + 1 if type(state) is Retrying else 1
        new.run_report = held.report(started, run_count)
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
        held = _HELD.get()
        if held is None or held.wanted is None:
            return False
        lines, level = held.lines, held.wanted.log_level
        if level is None or record.levelno < level or len(lines) >= held.wanted.max_logs:
            return False
        if not held.ours():  # a flow run inside the task
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
