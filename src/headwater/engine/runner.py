"""``Runner``: what task and flow runners share — state handlers around every state change.

A state handler is ``fn(obj, old_state, new_state) -> Optional[State]``; returning a state
replaces ``new_state``. Handlers run for the object (task or flow) first, then for the runner;
``on_failure(obj, state)`` runs when the state becomes failed.

What a handler does wrong never escapes the run:

- a signal it raises (``FAIL``, ``SKIP``...) becomes that signal's state, and the handlers after
  it are not called (as in Prefect Core 1.x); ``PAUSE`` and ``ENDRUN`` propagate to the step
  that made the change, which ends the run in their state;
- returning something that is neither a ``State`` nor ``None``, or raising any other exception
  (``BaseException`` subclasses included), ends that task's (or flow's) run ``Failed`` with a
  message naming the handler and what it did, for example ``State handler 'notify' returned 5,
  not a State (nor None)``; other tasks keep their states, and a flow's state keeps the task
  states as its result. The handler's exception is kept in
  ``state.context["state_handler_error"]``. When the state being handled was already a failure
  (the usual case for ``on_failure``), that failure stays visible: its class and result are
  kept and the message names both.

``KeyboardInterrupt`` is never caught. With ``raise_on_exception`` handler errors propagate, and
a value that is not a state is handed on to the next handler as Prefect Core 1.x does; if the
last one returns such a value, :class:`StateHandlerReturnError` (a ``TypeError`` and an
``AttributeError``) names the handler.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from headwater.context import context as _context
from headwater.engine.signals import ENDRUN, PAUSE, HeadwaterStateSignal
from headwater.engine.state import Failed, Pending, State

__all__ = ["ENDRUN", "Runner", "StateHandlerReturnError", "call_state_handlers", "handler_name"]


class StateHandlerReturnError(TypeError, AttributeError):
    """Under ``raise_on_exception``: the last state handler returned something that is not a state.

    It is an ``AttributeError`` too, the error Prefect Core 1.x gave when the engine then used
    the value as a state.
    """


def call_state_handlers(method: Callable[..., State]) -> Callable[..., State]:
    """Make a runner step ``method(self, state, ...) -> State`` call the state handlers.

    For the steps of custom runners (as in Prefect Core 1.x): when the step returns (or ends the
    run with ``ENDRUN``) a state other than the one it was given, the runner's
    ``handle_state_change`` is called on the change. A signal the step raises becomes its state;
    any other exception becomes ``Failed("Unexpected error: ...")``. ``ENDRUN`` is raised again
    with the handled state. With ``raise_on_exception`` signals and errors propagate.
    """

    @functools.wraps(method)
    def step(self: Runner, state: State, *args: Any, **kwargs: Any) -> State:
        end = False
        try:
            new = method(self, state, *args, **kwargs)
        except ENDRUN as exc:
            end, new = True, exc.state
        except HeadwaterStateSignal as sig:
            if _context.get("raise_on_exception"):
                raise
            new = sig.state
        except Exception as exc:  # a failing step ends in a Failed state
            if _context.get("raise_on_exception"):
                raise
            msg = f"Unexpected error: {exc!r}"
            self.logger.exception(msg)
            new = Failed(msg, result=exc)
        if new is not state:
            new = self.handle_state_change(state, new)
        if end:
            raise ENDRUN(new)
        return new

    return step


def handler_name(handler: Any) -> str:
    """The name a message uses for a handler: its ``__qualname__`` (or its class's, or repr)."""
    name = getattr(handler, "__qualname__", None)
    if isinstance(name, str):
        return name
    func = getattr(handler, "func", None)  # functools.partial
    name = getattr(func, "__qualname__", None)
    if isinstance(name, str):
        return f"partial({name})"
    return type(handler).__qualname__


def _short(value: Any, limit: int = 80) -> str:
    try:
        text = repr(value)
    except Exception:  # a failing repr must not hide the handler's mistake
        text = f"<{type(value).__qualname__} object>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


class Runner:
    """Base class of :class:`FlowRunner` and :class:`TaskRunner`.

    Args:
        state_handlers: runner-level handlers, called after the object's own handlers.
    """

    def __init__(self, state_handlers: list[Callable[..., Any]] | None = None) -> None:
        if state_handlers is not None and not isinstance(state_handlers, (list, tuple)):
            raise TypeError("state_handlers must be a list of callables.")
        self.state_handlers = list(state_handlers) if state_handlers else []
        from headwater.utilities.logging import get_logger

        self.logger = get_logger(type(self).__name__)

    def __repr__(self) -> str:
        return '<"Runner">'

    def initialize_run(self, state: State | None, context: dict[str, Any]) -> Any:
        """The state to start from (a meta state's inner state; ``Pending`` for none).

        Args:
            state: the initial state of the run.
            context: the run context; subclasses add their keys to it.

        Returns:
            ``(state, context)``; subclasses return a named tuple of the same shape.
        """
        while state is not None and state.is_meta_state():
            state = state.state  # type: ignore[attr-defined]
        return (state if state is not None else Pending()), context

    def call_runner_target_handlers(self, old_state: State, new_state: State) -> State:
        """Call the handlers of the task or flow being run; overridden by subclasses."""
        return new_state

    def handle_state_change(self, old_state: State, new_state: State) -> State:
        """Run every state handler for ``old_state -> new_state``; returns the final new state.

        Raises:
            ENDRUN: with a ``Failed`` state, when a handler returned something that is not a
                state or raised an exception other than a signal; or raised by a handler.
            PAUSE: raised by a handler.
        """
        try:
            new_state = self.call_runner_target_handlers(old_state, new_state)
            for handler in self.state_handlers:
                new_state = self.call_state_handler(
                    handler, (self, old_state, new_state), new_state
                )
        except (ENDRUN, PAUSE, KeyboardInterrupt):
            raise
        except HeadwaterStateSignal as sig:
            return self.state_from_signal(sig, new_state)
        except BaseException as exc:  # from an overridden call_runner_target_handlers
            if _context.get("raise_on_exception"):
                raise
            what = f"raised {type(exc).__qualname__}: {exc}"
            culprit = self.call_runner_target_handlers
            raise ENDRUN(self.handler_fault_state(culprit, what, exc, new_state)) from exc
        if not isinstance(new_state, State):  # only under raise_on_exception
            culprit_name = handler_name(getattr(self, "_junk_handler", None) or self)
            raise StateHandlerReturnError(
                f"State handler {culprit_name!r} returned {_short(new_state)}, not a State "
                "(nor None)"
            )
        return new_state

    def call_state_handler(
        self,
        handler: Callable[..., Any],
        args: tuple[Any, ...],
        new_state: State,
        kind: str = "state handler",
    ) -> State:
        """Call ``handler(*args)`` and return the state it chose (``new_state`` for ``None``).

        Signals raised by the handler propagate (:meth:`handle_state_change` turns them into
        their state). ``kind`` names the handler in messages (``"terminal state handler"``).
        Under ``raise_on_exception`` a value that is not a state is returned as it is.

        Raises:
            ENDRUN: with the state from :meth:`handler_fault_state` when the handler returned
                neither a state nor ``None``, or raised an ordinary exception.
        """
        out = self._guarded_call(handler, args, new_state, kind)
        if out is None:
            return new_state
        if not isinstance(out, State):
            if _context.get("raise_on_exception"):
                self._junk_handler = handler
                return out  # type: ignore[no-any-return]
            what = f"returned {_short(out)}, not a State (nor None)"
            err = TypeError(f"{kind.capitalize()} {handler_name(handler)!r} {what}")
            raise ENDRUN(self.handler_fault_state(handler, what, err, new_state, kind))
        return out

    def call_on_failure(
        self, on_failure: Callable[..., Any] | None, obj: Any, old_state: State, new_state: State
    ) -> None:
        """Call ``on_failure(obj, new_state)`` if ``new_state`` is a new failure (result ignored)."""
        if on_failure is not None and new_state.is_failed() and not old_state.is_failed():
            self._guarded_call(on_failure, (obj, new_state), new_state, "on_failure handler")

    def _guarded_call(
        self, handler: Callable[..., Any], args: tuple[Any, ...], new_state: State, kind: str
    ) -> Any:
        """``handler(*args)``; an exception other than a signal becomes ``ENDRUN``."""
        try:
            return handler(*args)
        except (HeadwaterStateSignal, ENDRUN, KeyboardInterrupt):
            raise
        except BaseException as exc:  # any handler error ends in a clear state
            if _context.get("raise_on_exception"):
                raise
            what = f"raised {type(exc).__qualname__}: {exc}"
            raise ENDRUN(self.handler_fault_state(handler, what, exc, new_state, kind)) from exc

    def state_from_signal(self, sig: HeadwaterStateSignal, new_state: State) -> State:
        """The state a signal raised by a handler stands for (``new_state``: what it handled)."""
        return sig.state

    def handler_fault_state(
        self,
        handler: Callable[..., Any],
        what: str,
        exc: BaseException,
        new_state: State,
        kind: str = "state handler",
    ) -> State:
        """The ``Failed`` state for a handler that ``what`` (returned junk or raised ``exc``).

        If ``new_state`` (the state being handled) is itself a failure, its class and result
        are kept and the message names both, so the original error stays visible.
        """
        name = handler_name(handler)
        if new_state.is_failed():
            msg = f"{new_state.message} (then {kind} {name!r} {what})"
            state: State = type(new_state)(
                msg, result=new_state.result, cached_inputs=new_state.cached_inputs
            )
        else:
            msg = f"{kind.capitalize()} {name!r} {what}"
            state = Failed(msg, result=exc)
        state.context["state_handler_error"] = exc
        self.logger.error("Unexpected error while calling state handlers: %s", msg, exc_info=exc)
        return state
