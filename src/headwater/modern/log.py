"""``get_run_logger()``: the logger of the current flow or task run, and ``log_prints``.

Records go to the ``headwater.flow_runs`` and ``headwater.task_runs`` loggers (children of
headwater's logger, with its handlers), prefixed with the run's name and carrying the run's
ids as record attributes (``flow_run_id``, ``flow_run_name``, ``task_run_id``...).
"""

from __future__ import annotations

import contextlib
import contextvars
import logging
from collections.abc import Iterator, MutableMapping
from typing import Any

from headwater.modern.context import FLOW_RUN, TASK_RUN, FlowRun, TaskRun
from headwater.modern.errors import MissingContextError

__all__ = [
    "RunLogger",
    "disable_run_logger",
    "flow_run_logger",
    "get_run_logger",
    "task_run_logger",
]

_DISABLED: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "headwater_no_run_logger", default=False
)
_quiet = logging.getLogger("headwater.run_logger_disabled")
_quiet.disabled = True
_quiet.propagate = False


class RunLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """A logger adapter that prefixes messages with the run and adds its ids to each record."""

    def __init__(self, logger: logging.Logger, label: str, extra: dict[str, Any]) -> None:
        super().__init__(logger, extra)
        self.label = label

    def process(
        self, msg: Any, kwargs: MutableMapping[str, Any]
    ) -> tuple[Any, MutableMapping[str, Any]]:
        kwargs["extra"] = {**(self.extra or {}), **kwargs.get("extra", {})}
        return f"{self.label} - {msg}", kwargs


def _base(name: str) -> logging.Logger:
    from headwater.utilities.logging import get_logger

    return get_logger(name)


def flow_run_logger(run: FlowRun) -> RunLogger:
    """The logger of flow run ``run`` (made once per run)."""
    logger = run.logger
    if logger is None:
        extra = {"flow_run_id": run.id, "flow_run_name": run.name, "flow_name": run.flow_name}
        logger = run.logger = RunLogger(_base("flow_runs"), f"Flow run {run.name!r}", extra)
    return logger  # type: ignore[no-any-return]


def task_run_logger(run: TaskRun) -> RunLogger:
    """The logger of task run ``run`` (made once per run)."""
    logger = run.logger
    if logger is None:
        extra = {"task_run_id": run.id, "task_run_name": run.name, "task_name": run.task_name}
        flow_run = run.flow_run
        if flow_run is not None:
            extra.update(flow_run_id=flow_run.id, flow_run_name=flow_run.name)
        logger = run.logger = RunLogger(_base("task_runs"), f"Task run {run.name!r}", extra)
    return logger  # type: ignore[no-any-return]


def get_run_logger() -> logging.Logger | logging.LoggerAdapter:  # type: ignore[type-arg]
    """The logger of the current task run, else of the current flow run.

    Raises:
        MissingContextError: called outside a flow or task run.
    """
    if _DISABLED.get():
        return _quiet
    task_run = TASK_RUN.get()
    if task_run is not None:
        return task_run_logger(task_run)
    flow_run = FLOW_RUN.get()
    if flow_run is not None:
        return flow_run_logger(flow_run)
    raise MissingContextError(
        "There is no active flow or task run: get_run_logger() works inside a @flow or a "
        "task it runs. Elsewhere, use logging.getLogger(...) (or headwater.utilities.logging."
        "get_logger()), or wrap the call in disable_run_logger() in tests."
    )


@contextlib.contextmanager
def disable_run_logger() -> Iterator[None]:
    """In this block, ``get_run_logger()`` returns a logger that drops everything (also
    outside runs), so task functions can be called directly in tests."""
    token = _DISABLED.set(True)
    try:
        yield
    finally:
        _DISABLED.reset(token)


@contextlib.contextmanager
def printing_to(logger: Any) -> Iterator[None]:
    """Send ``print`` output of this context to ``logger`` (``log_prints``)."""
    from headwater.utilities.logging import capture_stdout

    with capture_stdout(logger):
        yield
