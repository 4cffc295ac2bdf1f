"""The states of ``@flow`` runs as Prefect 2/3 users see them (``prefect.states``).

Prefect 1 flows (``with Flow(...)``) keep Prefect 1's states, in :mod:`headwater.engine.state`.

>>> from headwater.states import Completed, StateType
>>> state = Completed(data=1)
>>> state.type is StateType.COMPLETED, state.result()
(True, 1)
"""

from __future__ import annotations

from headwater.modern.states import (
    AwaitingRetry,
    Cached,
    Cancelled,
    Cancelling,
    Completed,
    Crashed,
    Failed,
    Paused,
    Pending,
    Retrying,
    Running,
    Scheduled,
    State,
    StateType,
    TimedOut,
    is_state,
)

__all__ = [
    "AwaitingRetry",
    "Cached",
    "Cancelled",
    "Cancelling",
    "Completed",
    "Crashed",
    "Failed",
    "Paused",
    "Pending",
    "Retrying",
    "Running",
    "Scheduled",
    "State",
    "StateType",
    "TimedOut",
    "is_state",
]
