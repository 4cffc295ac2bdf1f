"""``FlowRunnerInitializeResult``: what a flow runner's initialization step hands on."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from headwater.core.task import Task
    from headwater.engine.state import State

__all__ = ["FlowRunnerInitializeResult"]


class FlowRunnerInitializeResult(NamedTuple):
    """The state to start from, the known task states, and the flow and task contexts."""

    state: State
    task_states: dict[Task, State]
    context: dict[str, Any]
    task_contexts: dict[Task, dict[str, Any]]
