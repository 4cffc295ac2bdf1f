"""States: what happened, or is happening, to a task or flow run.

Every run moves through states; each state carries a ``message``, a ``result`` (the value a
task produced, or the exception that stopped it) and, for some classes, extra data::

    Pending -> Scheduled -> {Paused, Resume, Retrying}
    Running -> Cancelling
    Finished -> {Success -> {Cached, Mapped, Skipped},
                 Failed -> {TimedOut, TriggerFailed, ValidationFailed},
                 Looped, Cancelled}
    meta states (wrap another state): Submitted, Queued, ClientFailed

``is_*`` methods follow the hierarchy, so ``Cached(...).is_successful()`` is true.

>>> s = Success(result=3)
>>> s.is_finished(), s.is_failed(), s.result
(True, False, 3)
>>> Success(result=3) == Success(result=3, message="other message")
True
"""

from __future__ import annotations

import datetime
import sys
from typing import Any

from headwater.engine._state_base import StateBase, to_utc, utc_now
from headwater.engine._state_base import context_value as _ctx_get

__all__ = [
    "Cached",
    "Cancelled",
    "Cancelling",
    "ClientFailed",
    "Failed",
    "Finished",
    "Looped",
    "Mapped",
    "MetaState",
    "Paused",
    "Pending",
    "Queued",
    "Resume",
    "Retrying",
    "Running",
    "Scheduled",
    "Skipped",
    "State",
    "Submitted",
    "Success",
    "TimedOut",
    "TriggerFailed",
    "ValidationFailed",
]


class State(StateBase):
    """Base class of all states.

    The value lives in a ``Result`` (``state._result``; ``NoResult`` when there is none) and
    ``state.result`` is its value. Assigning a ``Result`` to ``state.result`` replaces the
    ``Result``; assigning anything else replaces the value.

    Args:
        message: a human readable description, or the exception that caused the state.
        result: the value produced by the run (for failures, usually the exception), or a
            ``Result`` holding it.
        context: extra information carried with the state; inside a task run it gets the
            task's ``tags``.
        cached_inputs: the inputs the task ran with, kept for resuming and caching.
    """

    __slots__ = ()

    def __sizeof__(self) -> int:
        return super().__sizeof__() + sys.getsizeof(self.result, 0)

    # -- predicates -----------------------------------------------------------------------
    def is_pending(self) -> bool:
        return isinstance(self, Pending)

    def is_running(self) -> bool:
        return isinstance(self, Running)

    def is_finished(self) -> bool:
        return isinstance(self, Finished)

    def is_scheduled(self) -> bool:
        """True for ``Scheduled`` states (``Retrying``, ``Paused``...) and ``Queued``."""
        return isinstance(self, (Scheduled, Queued))

    def is_submitted(self) -> bool:
        return isinstance(self, Submitted)

    def is_queued(self) -> bool:
        return isinstance(self, Queued)

    def is_retrying(self) -> bool:
        return isinstance(self, Retrying)

    def is_cached(self) -> bool:
        return isinstance(self, Cached)

    def is_looped(self) -> bool:
        return isinstance(self, Looped)

    def is_successful(self) -> bool:
        return isinstance(self, Success)

    def is_failed(self) -> bool:
        return isinstance(self, Failed)

    def is_skipped(self) -> bool:
        return isinstance(self, Skipped)

    def is_mapped(self) -> bool:
        return isinstance(self, Mapped)

    def is_meta_state(self) -> bool:
        return isinstance(self, _MetaState)


# -- meta states ---------------------------------------------------------------------------
class _MetaState(State):
    """A state about another state (``state``), e.g. that it was submitted or queued.

    Meta states do not nest: wrapping a meta state wraps the state inside it.
    """

    __slots__ = ("_state",)
    color = "#00FFFF"

    def __init__(
        self,
        message: Any = None,
        result: Any = None,
        state: State | None = None,
        context: dict[str, Any] | None = None,
        cached_inputs: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, result, context, cached_inputs)
        self.state = state

    @property
    def state(self) -> State | None:
        """The wrapped state (never itself a meta state)."""
        return self._state

    @state.setter
    def state(self, value: State | None) -> None:
        while isinstance(value, _MetaState):
            value = value.state
        self._state = value


MetaState = _MetaState  # a public name for the class


class ClientFailed(_MetaState):
    """The wrapped state could not be recorded; the run stops without running downstream."""

    __slots__ = ()
    color = "#eb0000"


class Submitted(_MetaState):
    """The wrapped state has been handed to an executor."""

    __slots__ = ()
    color = "#FFF9C4"


class Queued(_MetaState):
    """Waiting for a concurrency slot; ``start_time`` (default: now) says when to try again."""

    __slots__ = ("start_time",)
    color = "#FFF176"
    compared_fields = (*State.compared_fields, "start_time")

    def __init__(
        self,
        message: Any = None,
        result: Any = None,
        state: State | None = None,
        start_time: datetime.datetime | None = None,
        context: dict[str, Any] | None = None,
        cached_inputs: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, result, state, context, cached_inputs)
        self.start_time = to_utc(start_time) if start_time is not None else utc_now()


# -- pending -------------------------------------------------------------------------------
class Pending(State):
    """Waiting to run (every task run starts here: keep it cheap to create)."""

    __slots__ = ()
    color = "#d3d3d3"


class Scheduled(Pending):
    """Waiting for ``start_time`` (UTC; default: now) to arrive.

    Created inside a task run, its ``context`` keeps the run's ``task_run_count``.
    """

    __slots__ = ("start_time",)
    color = "#ffab00"
    compared_fields = (*State.compared_fields, "start_time")

    def __init__(
        self,
        message: Any = None,
        result: Any = None,
        start_time: datetime.datetime | None = None,
        cached_inputs: dict[str, Any] | None = None,
        context: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, result, context, cached_inputs)
        self.start_time = to_utc(start_time) if start_time is not None else utc_now()
        run_count = _ctx_get("task_run_count")
        if run_count is not None:
            self.context["task_run_count"] = run_count


class Paused(Scheduled):
    """Waiting for a manual approval (see ``pause_task`` and ``manual_only``).

    A ``start_time`` may be given (there is none by default): the task resumes then.
    """

    __slots__ = ()
    color = "#cfd8dc"

    def __init__(
        self,
        message: Any = None,
        result: Any = None,
        start_time: datetime.datetime | None = None,
        cached_inputs: dict[str, Any] | None = None,
        context: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, result, start_time, cached_inputs, context)
        if start_time is None:
            self.start_time = None


class Resume(Scheduled):
    """A paused task was approved and may run."""

    __slots__ = ()
    color = "#20B2AA"


class Retrying(Scheduled):
    """A failed run that will be retried at ``start_time``.

    ``run_count`` is the number of runs so far (default: the context's ``task_run_count``, or 1).
    """

    __slots__ = ("run_count",)
    color = "#FFFF00"
    compared_fields = (*Scheduled.compared_fields, "run_count")

    def __init__(
        self,
        message: Any = None,
        result: Any = None,
        start_time: datetime.datetime | None = None,
        cached_inputs: dict[str, Any] | None = None,
        context: dict[str, Any] | None = None,
        run_count: int | None = None,
    ) -> None:
        super().__init__(message, result, start_time, cached_inputs, context)
        if run_count is None:
            run_count = _ctx_get("task_run_count")
        self.run_count = 1 if run_count is None else int(run_count)


# -- running -------------------------------------------------------------------------------
class Running(State):
    """Running now."""

    __slots__ = ()
    color = "#00CED1"


class Cancelling(Running):
    """Being cancelled."""

    __slots__ = ()
    color = "#e0e0e0"


# -- finished ------------------------------------------------------------------------------
class Finished(State):
    """The run ended."""

    __slots__ = ()
    color = "#BA55D3"


class Looped(Finished):
    """One iteration of a looping task finished.

    ``loop_count`` is the number of iterations so far (default: the context's
    ``task_loop_count``, or 1).
    """

    __slots__ = ("loop_count",)
    color = "#9C27B0"
    compared_fields = (*State.compared_fields, "loop_count")

    def __init__(
        self,
        message: Any = None,
        result: Any = None,
        loop_count: int | None = None,
        context: dict[str, Any] | None = None,
        cached_inputs: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, result, context, cached_inputs)
        if loop_count is None:
            loop_count = _ctx_get("task_loop_count")
        self.loop_count = 1 if loop_count is None else loop_count


class Success(Finished):
    """The run succeeded."""

    __slots__ = ()
    color = "#28a745"


class Cached(Success):
    """The result came from a cache or a target instead of a run."""

    __slots__ = ("cached_parameters", "cached_result_expiration", "hashed_inputs")
    color = "#ffa500"
    compared_fields = (
        *State.compared_fields,
        "cached_parameters",
        "cached_result_expiration",
        "hashed_inputs",
    )

    def __init__(
        self,
        message: Any = None,
        result: Any = None,
        cached_inputs: dict[str, Any] | None = None,
        cached_parameters: dict[str, Any] | None = None,
        cached_result_expiration: datetime.datetime | None = None,
        context: dict[str, Any] | None = None,
        hashed_inputs: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message, result, context, cached_inputs)
        self.cached_parameters = cached_parameters
        self.hashed_inputs = hashed_inputs
        self.cached_result_expiration = (
            to_utc(cached_result_expiration) if cached_result_expiration is not None else None
        )


class Mapped(Success):
    """A mapped task: one child state per item in ``map_states``.

    Without an explicit ``result``, the result is the list of the children's results.
    ``n_map_states`` defaults to ``len(map_states)``.
    """

    __slots__ = ("map_states", "_n_map_states")
    color = "#97FFFF"
    compared_fields = (*State.compared_fields, "map_states")

    def __init__(
        self,
        message: Any = None,
        result: Any = None,
        map_states: list[State] | None = None,
        context: dict[str, Any] | None = None,
        cached_inputs: dict[str, Any] | None = None,
        n_map_states: int | None = None,
    ) -> None:
        super().__init__(message, result, context, cached_inputs)
        self.map_states: list[State] = map_states if map_states is not None else []
        self._n_map_states = n_map_states
        if result is None and map_states is not None:
            self.result = [getattr(s, "result", None) for s in map_states]

    @property
    def n_map_states(self) -> int:
        """The number of children."""
        return self._n_map_states or len(self.map_states)

    @n_map_states.setter
    def n_map_states(self, value: int | None) -> None:
        self._n_map_states = value


class Skipped(Success):
    """The run was skipped (counts as a success for triggers)."""

    __slots__ = ()
    color = "#62757f"


class Failed(Finished):
    """The run failed."""

    __slots__ = ()
    color = "#eb0000"

    def __init__(
        self,
        message: Any = None,
        result: Any = None,
        cached_inputs: dict[str, Any] | None = None,
        context: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message, result, context, cached_inputs)


class TimedOut(Failed):
    """The run exceeded its ``timeout``."""

    __slots__ = ()
    color = "#CDC9A5"


class TriggerFailed(Failed):
    """The task's trigger did not pass."""

    __slots__ = ()
    color = "#C42800"


class ValidationFailed(Failed):
    """The task's result failed validation."""

    __slots__ = ()
    color = "#B22222"


class Cancelled(Finished):
    """The run was cancelled."""

    __slots__ = ()
    color = "#bdbdbd"
