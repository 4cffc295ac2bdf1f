"""``Runner``: what task and flow runners share — state handlers around every state change.

A state handler is ``fn(obj, old_state, new_state) -> Optional[State]``; returning a state
replaces ``new_state``. Handlers run for the object (task or flow) first, then for the runner.
An exception in a handler ends the run as ``Failed`` naming the handler's error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from headwater.context import context as _context
from headwater.engine.signals import ENDRUN
from headwater.engine.state import Failed, State

__all__ = ["ENDRUN", "Runner"]


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
        """Run every state handler for ``old_state -> new_state``; returns the final new state."""
        try:
            new_state = self.call_runner_target_handlers(old_state, new_state)
            for handler in self.state_handlers:
                new_state = handler(self, old_state, new_state) or new_state
        except ENDRUN:
            raise
        except Exception as exc:
            if _context.get("raise_on_exception"):
                raise
            msg = f"Exception raised while calling state handlers: {exc!r}"
            self.logger.exception(msg)
            raise ENDRUN(Failed(msg, result=exc)) from exc
        return new_state
