"""States: what happened, or is happening, to a task or flow run.

Every run moves through states; each state carries a ``message``, a ``result`` (the value a
task produced, or the exception that stopped it) and, for some classes, extra data::

    Pending -> Scheduled -> {Paused, Resume, Retrying}
    Running -> Cancelling
    Finished -> {Success -> {Cached, Mapped, Skipped},
                 Failed -> {TimedOut, TriggerFailed, ValidationFailed},
                 Looped, Cancelled}
    meta states: Submitted, Queued (wrap another state)

``is_*`` methods follow the hierarchy, so ``Cached(...).is_successful()`` is true.

>>> s = Success(result=3)
>>> s.is_finished(), s.is_failed(), s.result
(True, False, 3)
>>> Success(result=3) == Success(result=3, message="other message")
True
"""

from __future__ import annotations

import datetime
import pickle
from typing import Any

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


def _utcnow():
    import pendulum

    return pendulum.now("UTC")


class _UnpicklableResult:
    """Stands in for a result that could not be pickled (kept: its type name and repr)."""

    __slots__ = ("type_name", "text")

    def __init__(self, value: Any) -> None:
        self.type_name = type(value).__qualname__
        try:
            self.text = repr(value)
        except Exception:  # noqa: BLE001 - a repr that fails must not hide the state
            self.text = f"<unrepresentable {self.type_name}>"

    def __repr__(self) -> str:
        return self.text


class State:
    """Base class of all states.

    Args:
        message: a human readable description, or the exception that caused the state.
        result: the value produced by the run (for failures, usually the exception).
        context: extra information carried with the state.
        cached_inputs: the inputs the task ran with, kept for resuming and caching.
    """

    # ``released``: set on a result-less copy made when a memory-bounded run dropped the result;
    # ``secret``: set (true) on the states of secret tasks, whose result is shown as ``****``
    __slots__ = (
        "message",
        "result",
        "_result",
        "_context",
        "cached_inputs",
        "released",
        "secret",
    )
    color = "#996633"

    def __init__(
        self,
        message: Any = None,
        result: Any = None,
        context: dict[str, Any] | None = None,
        cached_inputs: dict[str, Any] | None = None,
    ) -> None:
        self.message = message
        self._context = context
        self.cached_inputs = cached_inputs
        # ``result`` may be given as a Result object: keep it as the location holder.
        if getattr(type(result), "_is_headwater_result", False):
            self._result = result
            self.result = result.value
        else:
            self._result = None
            self.result = result

    @property
    def context(self) -> dict[str, Any]:
        """Extra information carried with the state (created on first use)."""
        ctx = self._context
        if ctx is None:
            ctx = self._context = {}
        return ctx

    @context.setter
    def context(self, value: dict[str, Any] | None) -> None:
        self._context = value

    # -- identity -------------------------------------------------------------------------
    def __repr__(self) -> str:
        if self.message is not None:
            return f'<{type(self).__name__}: "{self.message}">'
        return f"<{type(self).__name__}>"

    def _repr_html_(self) -> str:
        """A table of the state (for a flow state: one row per task), shown by Jupyter."""
        from headwater.utilities.graph import state_to_html

        return state_to_html(self)

    def __eq__(self, other: object) -> bool:
        if type(self) is not type(other):
            return False
        assert isinstance(other, State)
        try:
            same = self.result == other.result
            return bool(same)
        except Exception:  # noqa: BLE001 - e.g. numpy arrays / data frames
            return self.result is other.result

    def __hash__(self) -> int:
        return id(self)

    def __getstate__(self):
        result = self.result
        try:
            pickle.dumps(result)
        except Exception:  # noqa: BLE001 - anything unpicklable becomes a readable stand-in
            try:
                import cloudpickle

                cloudpickle.dumps(result)
            except Exception:  # noqa: BLE001
                result = _UnpicklableResult(result)
        message = self.message
        if isinstance(message, BaseException):
            try:
                pickle.dumps(message)
            except Exception:  # noqa: BLE001
                message = repr(message)
        d = {s: getattr(self, s, None) for s in self._all_slots()}
        d["result"] = result
        d["message"] = message
        return d

    def __setstate__(self, d):
        for k, v in d.items():
            object.__setattr__(self, k, v)

    @classmethod
    def _all_slots(cls) -> list[str]:
        out: list[str] = []
        for klass in reversed(cls.__mro__):
            out.extend(getattr(klass, "__slots__", ()))
        return out

    # -- results --------------------------------------------------------------------------
    def load_result(self, result: Any = None) -> State:
        """Read the value back from where it was persisted (a ``Result`` with a location).

        Args:
            result: a ``Result`` to read with; defaults to the one the state was written with.
        """
        holder = self._result if result is None else result
        if holder is None or getattr(holder, "location", None) is None:
            return self
        loaded = holder.read(holder.location)
        self._result = loaded
        self.result = loaded.value
        return self

    # -- serialization --------------------------------------------------------------------
    def serialize(self) -> dict[str, Any]:
        """This state as a JSON-compatible dict (Prefect 1's ``StateSchema`` shape)."""
        from headwater.serialization.state import StateSchema

        return StateSchema().dump(self)  # type: ignore[no-any-return]

    @staticmethod
    def deserialize(json_blob: dict[str, Any]) -> State:
        """The state that :meth:`serialize` described (results come back as locations only)."""
        from headwater.serialization.state import StateSchema

        return StateSchema().load(json_blob)  # type: ignore[no-any-return]

    # -- predicates -----------------------------------------------------------------------
    def is_pending(self) -> bool:
        return isinstance(self, Pending)

    def is_paused(self) -> bool:
        return isinstance(self, Paused)

    def is_running(self) -> bool:
        return isinstance(self, Running)

    def is_cancelling(self) -> bool:
        return isinstance(self, Cancelling)

    def is_finished(self) -> bool:
        return isinstance(self, Finished)

    def is_scheduled(self) -> bool:
        return isinstance(self, Scheduled)

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

    def is_timed_out(self) -> bool:
        return isinstance(self, TimedOut)

    def is_skipped(self) -> bool:
        return isinstance(self, Skipped)

    def is_mapped(self) -> bool:
        return isinstance(self, Mapped)

    def is_meta_state(self) -> bool:
        return isinstance(self, MetaState)

    @staticmethod
    def children(*args: Any, **kwargs: Any) -> list[type[State]]:  # pragma: no cover
        raise NotImplementedError

    @classmethod
    def parents(cls, include_self: bool = False) -> list[type[State]]:
        """The state classes this class derives from."""
        return [c for c in cls.__mro__ if issubclass(c, State) and (include_self or c is not cls)]


# -- meta states ---------------------------------------------------------------------------
class MetaState(State):
    """A state that wraps another state (``state``)."""

    __slots__ = ("state",)
    color = "#00FFFF"

    def __init__(
        self,
        message: Any = None,
        result: Any = None,
        state: State | None = None,
        context: dict[str, Any] | None = None,
        cached_inputs: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(
            message=message, result=result, context=context, cached_inputs=cached_inputs
        )
        self.state = state


_MetaState = MetaState  # the name Prefect 1 gave the class


class Submitted(MetaState):
    """The wrapped state has been handed to an executor."""

    __slots__ = ()
    color = "#FFF9C4"


class Queued(MetaState):
    """Waiting for a concurrency slot; ``start_time`` says when to try again."""

    __slots__ = ("start_time",)
    color = "#FFF176"

    def __init__(
        self,
        message=None,
        result=None,
        state=None,
        start_time=None,
        context=None,
        cached_inputs=None,
    ):
        super().__init__(
            message=message,
            result=result,
            state=state,
            context=context,
            cached_inputs=cached_inputs,
        )
        self.start_time = _to_utc(start_time) if start_time is not None else _utcnow()


# -- pending -------------------------------------------------------------------------------
class Pending(State):
    """Waiting to run."""

    __slots__ = ()
    color = "#d3d3d3"


def _to_utc(dt: datetime.datetime) -> Any:
    import pendulum

    if isinstance(dt, pendulum.DateTime):
        return dt.in_timezone("UTC")
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=datetime.UTC)
    return pendulum.instance(dt).in_timezone("UTC")


class Scheduled(Pending):
    """Waiting for ``start_time`` (UTC) to arrive."""

    __slots__ = ("start_time",)
    color = "#ffab00"

    def __init__(
        self, message=None, result=None, start_time=None, context=None, cached_inputs=None
    ):
        super().__init__(
            message=message, result=result, context=context, cached_inputs=cached_inputs
        )
        self.start_time = _to_utc(start_time) if start_time is not None else None


class Paused(Scheduled):
    """Waiting for a manual approval (see ``pause_task`` and ``manual_only``)."""

    __slots__ = ()
    color = "#cfd8dc"


class Resume(Scheduled):
    """A paused task was approved and may run."""

    __slots__ = ()
    color = "#20B2AA"


class Retrying(Scheduled):
    """A failed run that will be retried at ``start_time``; ``run_count`` runs so far."""

    __slots__ = ("run_count",)
    color = "#FFFF00"

    def __init__(
        self,
        message=None,
        result=None,
        start_time=None,
        context=None,
        cached_inputs=None,
        run_count=None,
    ):
        super().__init__(
            message=message,
            result=result,
            start_time=start_time,
            context=context,
            cached_inputs=cached_inputs,
        )
        if run_count is None:
            from headwater.context import context as _ctx

            run_count = int(_ctx.get("task_run_count", 1))
        self.run_count = run_count


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
    """One iteration of a looping task finished; ``loop_count`` iterations so far."""

    __slots__ = ("loop_count",)
    color = "#9C27B0"

    def __init__(
        self, message=None, result=None, loop_count=None, context=None, cached_inputs=None
    ):
        super().__init__(
            message=message, result=result, context=context, cached_inputs=cached_inputs
        )
        self.loop_count = loop_count


class Success(Finished):
    """The run succeeded."""

    __slots__ = ()
    color = "#28a745"


class Cached(Success):
    """The result came from a cache or a target instead of a run."""

    __slots__ = ("cached_parameters", "cached_result_expiration", "hashed_inputs")
    color = "#ffa500"

    def __init__(
        self,
        message=None,
        result=None,
        cached_inputs=None,
        cached_parameters=None,
        cached_result_expiration=None,
        context=None,
        hashed_inputs=None,
    ):
        super().__init__(
            message=message, result=result, context=context, cached_inputs=cached_inputs
        )
        self.cached_parameters = cached_parameters
        self.hashed_inputs = hashed_inputs
        self.cached_result_expiration = (
            _to_utc(cached_result_expiration) if cached_result_expiration is not None else None
        )


class Mapped(Success):
    """A mapped task: one child state per item in ``map_states``."""

    __slots__ = ("map_states",)
    color = "#97FFFF"

    def __init__(
        self, message=None, result=None, map_states=None, context=None, cached_inputs=None
    ):
        super().__init__(
            message=message, result=result, context=context, cached_inputs=cached_inputs
        )
        self.map_states: list[State] = map_states if map_states is not None else []
        if result is None and map_states is not None:
            self.result = [s.result for s in self.map_states]

    @property
    def n_map_states(self) -> int:
        return len(self.map_states)


class Skipped(Success):
    """The run was skipped (counts as a success for triggers)."""

    __slots__ = ()
    color = "#62757f"


class Failed(Finished):
    """The run failed."""

    __slots__ = ()
    color = "#eb0000"


class ClientFailed(Failed):
    """A state could not be recorded."""

    __slots__ = ()


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
