"""Signals: exceptions a task raises to choose its own final state.

Each signal carries the state class it stands for; the task runner turns a raised signal into
that state, with the signal's message and result::

    from headwater.engine import signals

    @task
    def check(x):
        if x is None:
            raise signals.SKIP("nothing to do")
        if x < 0:
            raise signals.FAIL(f"negative input {x}")
        return x

Signals derive from ``BaseException`` so that ``except Exception`` blocks in user code do not
swallow them. :class:`ENDRUN` is used inside the engine to stop a run with a given state.
"""

from __future__ import annotations

from typing import Any

from headwater.engine import state as _st
from headwater.exceptions import HeadwaterSignal, PrefectSignal

__all__ = [
    "ENDRUN",
    "FAIL",
    "HeadwaterSignal",
    "HeadwaterStateSignal",
    "LOOP",
    "PAUSE",
    "PrefectSignal",
    "PrefectStateSignal",
    "RETRY",
    "SKIP",
    "SUCCESS",
    "TRIGGERFAIL",
    "VALIDATIONFAIL",
    "signal_from_state",
]


class HeadwaterStateSignal(HeadwaterSignal):
    """A signal that carries a state: raising it sets the task run to ``self.state``.

    Args:
        message: the state's message.
        result: the state's result.
    """

    _state_cls: type[_st.State] = _st.State

    def __init__(
        self, message: str | None = None, *args: Any, result: Any = None, **kwargs: Any
    ) -> None:
        super().__init__(message, *args)
        self.state = self._state_cls(
            message=message, result=self if result is None else result, **kwargs
        )

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return (_rebuild_signal, (type(self), self.message, self.state))


def _rebuild_signal(
    cls: type[HeadwaterStateSignal], message: str | None, state: _st.State
) -> HeadwaterStateSignal:
    sig = cls.__new__(cls)
    BaseException.__init__(sig, message)
    sig.message = message
    sig.state = state
    return sig


class SUCCESS(HeadwaterStateSignal):
    """Finish the task run as ``Success``."""

    _state_cls = _st.Success


class FAIL(HeadwaterStateSignal):
    """Finish the task run as ``Failed``."""

    _state_cls = _st.Failed


class TRIGGERFAIL(FAIL):
    """A trigger did not pass: ``TriggerFailed``."""

    _state_cls = _st.TriggerFailed


class VALIDATIONFAIL(FAIL):
    """A result did not validate: ``ValidationFailed``."""

    _state_cls = _st.ValidationFailed


class SKIP(HeadwaterStateSignal):
    """Finish the task run as ``Skipped``."""

    _state_cls = _st.Skipped


class RETRY(HeadwaterStateSignal):
    """Ask for a retry (``Retrying``), even past ``max_retries``."""

    _state_cls = _st.Retrying


class PAUSE(HeadwaterStateSignal):
    """Pause the task run (``Paused``) until it is resumed."""

    _state_cls = _st.Paused


class LOOP(HeadwaterStateSignal):
    """Run the task again; ``result`` becomes ``context.task_loop_result`` of the next loop.

    Without a ``result``, the ``Looped`` state's result is the signal's repr.
    """

    _state_cls = _st.Looped

    def __init__(self, message: str | None = None, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("result", repr(self))
        super().__init__(message, *args, **kwargs)


class ENDRUN(Exception):
    """Raised inside runners to stop processing and return ``state``."""

    def __init__(self, state: _st.State) -> None:
        self.state = state
        super().__init__()


PrefectStateSignal = HeadwaterStateSignal

_BY_STATE: dict[type[_st.State], type[HeadwaterStateSignal]] = {
    _st.TriggerFailed: TRIGGERFAIL,
    _st.ValidationFailed: VALIDATIONFAIL,
    _st.Failed: FAIL,
    _st.Skipped: SKIP,
    _st.Retrying: RETRY,
    _st.Paused: PAUSE,
    _st.Looped: LOOP,
    _st.Success: SUCCESS,
}


def signal_from_state(state: _st.State) -> type[HeadwaterStateSignal]:
    """The signal class whose raising produces a state of ``state``'s class (or a parent)."""
    for klass in type(state).__mro__:
        if klass in _BY_STATE:
            return _BY_STATE[klass]
    raise ValueError(f"No signal matches the provided state: {state!r}")
