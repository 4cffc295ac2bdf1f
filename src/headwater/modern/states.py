"""The states of ``@flow`` and modern task runs, as Prefect 2/3 users see them.

A state has a ``type`` (:class:`StateType`), a ``name`` (``"Completed"``, ``"Cached"``,
``"Retrying"``, ``"TimedOut"``...), a ``message`` and, once final, data read with
:meth:`State.result`. Prefect 1 flows (``with Flow(...)``) keep Prefect 1's state classes
(:mod:`headwater.engine.state`), whose ``result`` is an attribute; here it is a method.

>>> from headwater.states import Completed, Failed, StateType
>>> Completed(data=3).result()
3
>>> Failed(message="no").type is StateType.FAILED
True
"""

from __future__ import annotations

import datetime
import enum
import time
from collections.abc import Callable, Iterable
from typing import Any

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
    "aggregate",
    "is_state",
]


class StateType(enum.StrEnum):
    """The kind of a state; its ``name`` says more (a ``Cached`` state is ``COMPLETED``)."""

    SCHEDULED = "SCHEDULED"
    PENDING = "PENDING"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"
    CRASHED = "CRASHED"
    PAUSED = "PAUSED"
    CANCELLING = "CANCELLING"


_FINAL = frozenset({StateType.COMPLETED, StateType.FAILED, StateType.CANCELLED, StateType.CRASHED})
_RAISES = frozenset({StateType.FAILED, StateType.CRASHED, StateType.CANCELLED})


class State:
    """A run's state: ``type``, ``name``, ``message``, ``timestamp`` and the run's data.

    Args:
        type: the :class:`StateType`.
        name: the display name (default: the type's name, capitalized).
        message: a human-readable message.
        data: the run's return value, or the exception of a failed run.
    """

    __slots__ = ("_created", "_run", "_run_id", "data", "message", "name", "run_report", "type")

    def __init__(
        self,
        type: StateType,
        name: str | None = None,
        message: str | None = None,
        data: Any = None,
    ) -> None:
        self.type = type if type.__class__ is StateType else StateType(type)
        self.name = name if name is not None else self.type.value.capitalize()
        self.message = message
        self.data = data
        self._created = time.time()
        self._run: Any = None
        self._run_id: str | None = None
        #: what a task run in another process brought back (a ``TaskRunReport``), or ``None``
        self.run_report: Any = None

    @property
    def timestamp(self) -> datetime.datetime:
        """When the state was made (UTC)."""
        return datetime.datetime.fromtimestamp(self._created, datetime.UTC)

    @property
    def run_id(self) -> str | None:
        """The id of the run that took this state (``None`` for a state made by hand)."""
        if self._run_id is None and self._run is not None:
            self._run_id = self._run.id
        return self._run_id

    @run_id.setter
    def run_id(self, value: str | None) -> None:
        self._run_id = value

    def taken_by(self, run: Any) -> None:
        """Record that ``run`` (a flow or task run, whose ``id`` is read when asked) took it."""
        self._run = run

    def __getstate__(self) -> dict[str, Any]:
        state = {k: getattr(self, k) for k in ("_created", "data", "message", "name", "type")}
        state["_run_id"] = self.run_id
        if self.run_report is not None:
            state["run_report"] = self.run_report
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.run_report = None
        for key, value in state.items():
            object.__setattr__(self, key, value)
        self._run = None

    def __repr__(self) -> str:
        message = f"message={self.message!r}, " if self.message else ""
        return f"{self.name}({message}type={self.type.value})"

    # -- the data -------------------------------------------------------------------------------
    def result(self, raise_on_failure: bool = True, fetch: bool = True) -> Any:
        """The run's return value; the exception of a failed, crashed or cancelled run.

        Args:
            raise_on_failure: raise the run's exception (default); ``False`` returns it.
            fetch: accepted for Prefect 3 compatibility; results are always in memory.

        Raises:
            BaseException: the run failed, crashed or was cancelled and ``raise_on_failure``.
        """
        if self.type in _RAISES or (
            isinstance(self.data, BaseException) and self.type is not StateType.COMPLETED
        ):
            error = self.error()
            if raise_on_failure:
                raise error
            return error
        return self.data

    def error(self) -> BaseException:
        """The exception a failed state carries (one made from its message if it has none)."""
        if isinstance(self.data, BaseException):
            return self.data
        if isinstance(self.data, State):
            return self.data.error()
        if isinstance(self.data, (list, tuple, set)):
            for item in self.data:
                if isinstance(item, State) and not item.is_completed():
                    return item.error()
        from headwater.modern.errors import CancelledRun, CrashedRun, FailedRun

        kind = {StateType.CANCELLED: CancelledRun, StateType.CRASHED: CrashedRun}
        return kind.get(self.type, FailedRun)(self.message or f"Run ended {self.name}.")

    # -- questions ------------------------------------------------------------------------------
    def is_scheduled(self) -> bool:
        return self.type is StateType.SCHEDULED

    def is_pending(self) -> bool:
        return self.type is StateType.PENDING

    def is_running(self) -> bool:
        return self.type is StateType.RUNNING

    def is_completed(self) -> bool:
        return self.type is StateType.COMPLETED

    def is_failed(self) -> bool:
        return self.type is StateType.FAILED

    def is_crashed(self) -> bool:
        return self.type is StateType.CRASHED

    def is_cancelled(self) -> bool:
        return self.type is StateType.CANCELLED

    def is_cancelling(self) -> bool:
        return self.type is StateType.CANCELLING

    def is_paused(self) -> bool:
        return self.type is StateType.PAUSED

    def is_final(self) -> bool:
        return self.type in _FINAL

    # Prefect 1 spellings, for code (such as run observers) that reads both kinds of state
    def is_successful(self) -> bool:
        return self.type is StateType.COMPLETED

    def is_finished(self) -> bool:
        return self.type in _FINAL

    def copy(self, **changes: Any) -> State:
        """A copy with ``changes`` (``name``, ``message``, ``data``, ``type``)."""
        new = State(
            changes.get("type", self.type),
            changes.get("name", self.name),
            changes.get("message", self.message),
            changes.get("data", self.data),
        )
        new.run_id = self.run_id
        return new


def is_state(value: Any) -> bool:
    """Whether ``value`` is a modern :class:`State`."""
    return isinstance(value, State)


# -- factories ----------------------------------------------------------------------------------
def _factory(kind: StateType, default_name: str) -> Callable[..., State]:
    def make(
        message: str | None = None, *, name: str | None = None, data: Any = None, **kw: Any
    ) -> State:
        return State(kind, name or default_name, message, kw.get("result", data))

    make.__name__ = make.__qualname__ = default_name
    make.__doc__ = f"A ``{kind.value}`` state named {default_name!r}."
    return make


Completed = _factory(StateType.COMPLETED, "Completed")
Cached = _factory(StateType.COMPLETED, "Cached")
Failed = _factory(StateType.FAILED, "Failed")
TimedOut = _factory(StateType.FAILED, "TimedOut")
Crashed = _factory(StateType.CRASHED, "Crashed")
Cancelled = _factory(StateType.CANCELLED, "Cancelled")
Cancelling = _factory(StateType.CANCELLING, "Cancelling")
Pending = _factory(StateType.PENDING, "Pending")
Running = _factory(StateType.RUNNING, "Running")
Retrying = _factory(StateType.RUNNING, "Retrying")
Scheduled = _factory(StateType.SCHEDULED, "Scheduled")
AwaitingRetry = _factory(StateType.SCHEDULED, "AwaitingRetry")
Paused = _factory(StateType.PAUSED, "Paused")


def aggregate(states: Iterable[State], data: Any) -> State:
    """One state for a run that returned several states (Prefect 3's rule).

    All completed: ``Completed``; any cancelled: ``Cancelled``; any paused: ``Paused``;
    otherwise ``Failed``, with a message counting them. ``data`` is what the run returned.
    """
    group = list(states)
    total = len(group)
    failed = sum(1 for s in group if s.type in (StateType.FAILED, StateType.CRASHED))
    cancelled = sum(1 for s in group if s.is_cancelled())
    paused = sum(1 for s in group if s.is_paused())
    if all(s.is_completed() for s in group):
        return State(StateType.COMPLETED, message="All states completed.", data=data)
    if cancelled:
        return State(
            StateType.CANCELLED, message=f"{cancelled}/{total} states cancelled.", data=data
        )
    if paused:
        return State(StateType.PAUSED, message=f"{paused}/{total} states paused.", data=data)
    if failed:
        message = f"{failed}/{total} states failed."
    else:
        message = f"{sum(1 for s in group if not s.is_final())}/{total} states are not final."
    return State(StateType.FAILED, message=message, data=data)
