"""What the initialization steps of the runners hand on: the state to start from and contexts."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from headwater.core.task import Task
    from headwater.engine.state import State

__all__ = ["FlowRunnerInitializeResult", "TaskRunnerInitializeResult"]


class FlowRunnerInitializeResult(NamedTuple):
    """The state to start from, the known task states, and the flow and task contexts."""

    state: State
    task_states: dict[Task, State]
    context: dict[str, Any]
    task_contexts: MutableMapping[Task, dict[str, Any]]


class TaskRunnerInitializeResult(NamedTuple):
    """The state a task run starts from, and its run context."""

    state: State
    context: Any
