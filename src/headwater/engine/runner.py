"""``Runner``: what task and flow runners share — state handlers around every state change.

A state handler is ``fn(obj, old_state, new_state) -> Optional[State]``; returning a state
replaces ``new_state``. Handlers run for the object (task or flow) first, then for the runner;
``on_failure(obj, state)`` runs when the state becomes failed.

What a handler does wrong never escapes the run:

- a signal it raises (``FAIL``, ``SKIP``, ``PAUSE``...) becomes that signal's state, and the
  handlers after it are not called (as in Prefect Core 1.x);
- returning something that is neither a ``State`` nor ``None``, or raising any other exception
  (``BaseException`` subclasses included), ends that task's (or flow's) run ``Failed`` with a
  message naming the handler and what it did, for example ``State handler 'notify' returned 5,
  not a State (nor None)``; other tasks keep their states, and a flow's state keeps the task
  states as its result. The handler's exception is kept in
  ``state.context["state_handler_error"]``. When the state being handled was already a failure
  (the usual case for ``on_failure``), that failure stays visible: its class and result are
  kept and the message names both.

``KeyboardInterrupt`` is never caught; with ``raise_on_exception`` handler errors propagate.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from headwater.context import context as _context
from headwater.engine.signals import ENDRUN, HeadwaterStateSignal
from headwater.engine.state import Failed, State

__all__ = ["ENDRUN", "Runner", "handler_name"]


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
    except Exception:  # noqa: BLE001 - a failing repr must not hide the handler's mistake
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

    def call_runner_target_handlers(self, old_state: State, new_state: State) -> State:
        """Call the handlers of the task or flow being run; overridden by subclasses."""
        return new_state

    def handle_state_change(self, old_state: State, new_state: State) -> State:
        """Run every state handler for ``old_state -> new_state``; returns the final new state.

        Raises:
            ENDRUN: with a ``Failed`` state, when a handler returned something that is not a
                state or raised an exception other than a signal.
        """
        try:
            new_state = self.call_runner_target_handlers(old_state, new_state)
            for handler in self.state_handlers:
                new_state = self.call_state_handler(
                    handler, (self, old_state, new_state), new_state
                )
        except HeadwaterStateSignal as sig:
            return self.state_from_signal(sig, new_state)
        except (ENDRUN, KeyboardInterrupt):
            raise
        except BaseException as exc:  # noqa: BLE001 - from an overridden call_runner_target_handlers
            if _context.get("raise_on_exception"):
                raise
            what = f"raised {type(exc).__qualname__}: {exc}"
            culprit = self.call_runner_target_handlers
            raise ENDRUN(self.handler_fault_state(culprit, what, exc, new_state)) from exc
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

        Raises:
            ENDRUN: with the state from :meth:`handler_fault_state` when the handler returned
                neither a state nor ``None``, or raised an ordinary exception.
        """
        out = self._guarded_call(handler, args, new_state, kind)
        if out is None:
            return new_state
        if not isinstance(out, State):
            what = f"returned {_short(out)}, not a State (nor None)"
            err = TypeError(f"{kind.capitalize()} {handler_name(handler)!r} {what}")
            if _context.get("raise_on_exception"):
                raise err
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
        except BaseException as exc:  # noqa: BLE001 - any handler error ends in a clear state
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
        self.logger.error("%s", msg, exc_info=exc)
        return state
