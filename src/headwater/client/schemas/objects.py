"""``FlowRun``, ``TaskRun``, ``State`` and ``StateType`` for annotations of hooks.

A hook of a ``@flow`` is called as ``hook(flow, flow_run, state)`` with a :class:`FlowRun` (and
a ``@task``'s with a :class:`TaskRun`): these are the classes of those objects::

    from headwater import flow
    from headwater.client.schemas.objects import FlowRun, State
    from headwater.flows import Flow

    seen = []

    def remember(flow: Flow, flow_run: FlowRun, state: State) -> None:
        seen.append((flow_run.flow_name, state.name))

    @flow(on_completion=[remember])
    def hello() -> str:
        return "hi"

    hello()
    assert seen == [("hello", "Completed")]
"""

from __future__ import annotations

from headwater.modern.context import FlowRun, TaskRun
from headwater.modern.states import State, StateType

__all__ = ["FlowRun", "State", "StateType", "TaskRun"]
