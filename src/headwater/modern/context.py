"""The run context of modern runs: which flow run and task run the current code belongs to.

Two context variables hold the innermost :class:`FlowRun` and :class:`TaskRun`; threads of a
task runner start from a copy of the submitting context, so submitted tasks see their flow
run. ``headwater.runtime`` and ``get_run_logger()`` read them.
"""

from __future__ import annotations

import contextvars
import datetime
import os
import random
from typing import Any

from headwater.core._task_init import MODERN_RUN

__all__ = [
    "FLOW_RUN",
    "TASK_RUN",
    "FlowRun",
    "TaskRun",
    "current_flow_run",
    "current_task_run",
    "new_id",
    "run_name",
]

FLOW_RUN: contextvars.ContextVar[FlowRun | None] = contextvars.ContextVar(
    "headwater_flow_run", default=None
)
TASK_RUN: contextvars.ContextVar[TaskRun | None] = contextvars.ContextVar(
    "headwater_task_run", default=None
)
ACTIVE = MODERN_RUN  # set while any modern flow or task runs: task calls run, not build graphs

_ADJECTIVES = (
    "amber brisk calm dapper eager fluffy gentle hardy icy jolly keen lively mellow nimble "
    "quiet rapid sturdy tidy upbeat vivid witty zesty"
).split()
_NOUNS = (
    "otter heron badger falcon lynx marten osprey puffin salmon trout beaver crane "
    "egret finch gecko ibis koala lemur newt orca"
).split()


_VERSION_4 = (0x4000 << 64) | (0x8000 << 48)
_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_random = random.Random(random.SystemRandom().getrandbits(64))
# a forked child draws its own ids, not its parent's next ones
os.register_at_fork(after_in_child=lambda: _random.seed(random.SystemRandom().getrandbits(64)))


def new_id() -> str:
    """A new run id: a random (version 4) uuid string, made cheaply (ids, not secrets)."""
    h = f"{(_random.getrandbits(128) & _CLEAR) | _VERSION_4:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def run_name() -> str:
    """A generated flow run name such as ``"brisk-otter"``."""
    return f"{random.choice(_ADJECTIVES)}-{random.choice(_NOUNS)}"


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


class FlowRun:
    """A flow run as hooks and ``headwater.runtime`` see it.

    Attributes:
        id: the run id (uuid string).
        name: the run's name (``flow_run_name``, or generated).
        flow_name: the flow's name.
        flow_version: the flow's version.
        parameters: the run's arguments by name, after validation.
        tags: the run's tags (from ``tags(...)`` blocks).
        run_count: 1 for the first try, 2 for the first retry...
        parent_flow_run_id: the id of the flow run that called this one (a subflow), else None.
        root_flow_run_id: the id of the outermost flow run.
        scheduled_start_time, start_time: when the run was due, when it started (UTC).
    """

    def __init__(
        self,
        flow: Any,
        parameters: dict[str, Any],
        tags: frozenset[str],
        parent: FlowRun | None,
        parent_task_run: TaskRun | None = None,
    ) -> None:
        self.flow = flow
        self.id = new_id()
        self.name = ""
        self.flow_name: str = flow.name
        self.flow_version: str | None = flow.version
        self.parameters = parameters
        self.tags = tags
        self.run_count = 0
        self.parent = parent
        self.parent_flow_run_id = parent.id if parent is not None else None
        self.parent_task_run_id = parent_task_run.id if parent_task_run is not None else None
        self.root_flow_run_id: str = parent.root_flow_run_id if parent is not None else self.id
        self.scheduled_start_time = self.start_time = _now()
        self.task_runner: Any = None
        self.log_prints = False
        self.persist_result: bool | None = None
        #: the flow's ``result_storage`` / ``result_serializer``, inherited by its tasks
        self.result_settings: dict[str, Any] = {}
        self.observers: Any = None
        self.state: Any = None
        self.logger: Any = None

    def __repr__(self) -> str:
        return f"<FlowRun {self.name!r} of {self.flow_name!r}>"


class TaskRun:
    """A task run as hooks and ``headwater.runtime`` see it (``id`` is made on first use).

    Attributes:
        task: the task.
        task_name: the task's name.
        name: the run's name (``task_run_name``, or the task's name and a suffix).
        parameters: the run's arguments by name.
        tags: the task's tags and those of enclosing ``tags(...)`` blocks.
        run_count: 1 for the first try, 2 for the first retry...
        flow_run: the flow run the task belongs to (``None`` outside flows).
    """

    __slots__ = (
        "_id",
        "flow_run",
        "logger",
        "name",
        "parameters",
        "run_count",
        "start_time",
        "started",
        "state",
        "tags",
        "task",
        "task_name",
    )

    def __init__(
        self,
        task: Any,
        task_name: str,
        parameters: dict[str, Any],
        tags: frozenset[str],
        flow_run: FlowRun | None,
    ) -> None:
        self._id: str | None = None
        self.task = task
        self.task_name = task_name
        self.name = ""
        self.parameters = parameters
        self.tags = tags
        self.run_count = 0
        self.flow_run = flow_run
        self.start_time: datetime.datetime | None = None
        self.started: float | None = None  # time.time() of the first attempt
        self.state: Any = None
        self.logger: Any = None

    @property
    def id(self) -> str:
        """The run id (a uuid string)."""
        if self._id is None:
            self._id = new_id()
        return self._id

    @property
    def flow_run_id(self) -> str | None:
        """The id of the flow run the task belongs to."""
        return self.flow_run.id if self.flow_run is not None else None

    def __repr__(self) -> str:
        return f"<TaskRun {self.name or self.task_name!r}>"


def current_flow_run() -> FlowRun | None:
    """The innermost running flow run of this context, or ``None``."""
    return FLOW_RUN.get()


def current_task_run() -> TaskRun | None:
    """The innermost running task run of this context, or ``None``."""
    return TASK_RUN.get()
