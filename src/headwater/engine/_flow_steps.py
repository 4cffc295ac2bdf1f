"""The parts of :class:`~headwater.engine.flow_runner.FlowRunner`'s steps that stand alone.

- :func:`flow_step`: the decorator of the flow runner's steps, which calls the state handlers
  on every change of the flow's state;
- :func:`reference_outcome`: the flow's state after its tasks ran, from the reference and
  terminal tasks' states (before the flow's ``terminal_state_handler``);
- :func:`expand_mapped`: a mapped task's state counts child by child;
- :class:`PassArgs`: what ``FlowRunner.run`` hands on to the steps of a pass.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, NamedTuple

from headwater.context import context as _context
from headwater.engine.signals import ENDRUN, HeadwaterStateSignal
from headwater.engine.state import Failed, Mapped, State, Success

if TYPE_CHECKING:
    from headwater.core.task import Task

__all__ = ["PassArgs", "expand_mapped", "flow_step", "reference_outcome"]


def flow_step(method: Callable[..., State]) -> Callable[..., State]:
    """Call the state handlers when the step returns (or ends the run in) a new state.

    An ordinary exception raised by the step becomes ``Failed("Unexpected error while running
    flow: ...")`` (with ``raise_on_exception`` it propagates), and a signal becomes its state.
    The handlers are called only if the flow or the runner has some.
    """

    @functools.wraps(method)
    def step(self: Any, state: State, *args: Any, **kwargs: Any) -> State:
        end = False
        try:
            new = method(self, state, *args, **kwargs)
        except ENDRUN as exc:
            end = True
            new = exc.state
        except HeadwaterStateSignal as sig:
            if _context.get("raise_on_exception"):
                raise
            new = sig.state
        except Exception as exc:
            if _context.get("raise_on_exception"):
                raise
            msg = f"Unexpected error while running flow: {exc!r}"
            self.logger.exception("Flow %r: %s", self.flow.name, msg)
            new = Failed(msg, result=exc)
        if new is not state and self.has_handlers():
            new = self.handle_state_change(state, new)
        if end:
            raise ENDRUN(new)
        return new

    return step


def reference_outcome(
    logger: logging.Logger,
    state: State,
    key_states: set[State],
    return_states: dict[Task, State],
    terminal_states: set[State],
) -> State:
    """``state`` (holding ``return_states``) while a terminal task is unfinished, else
    ``Failed`` if a reference task failed, else ``Success``; a final state is logged at INFO."""
    info = logger.isEnabledFor(logging.INFO)
    if not all(s.is_finished() for s in terminal_states):
        if logger.isEnabledFor(logging.DEBUG):  # the run goes on: no news at INFO
            logger.debug("Flow run RUNNING: terminal tasks are incomplete.")
        state.result = return_states
        return state
    if any(s.is_failed() for s in key_states):
        if info:
            logger.info("Flow run FAILED: some reference tasks failed.")
        return Failed(message="Some reference tasks failed.", result=return_states)
    if all(s.is_successful() for s in key_states):
        if info:
            logger.info("Flow run SUCCESS: all reference tasks succeeded")
        return Success(message="All reference tasks succeeded.", result=return_states)
    if info:
        logger.info("Flow run SUCCESS: no reference tasks failed")
    return Success(message="No reference tasks failed.", result=return_states)


def expand_mapped(states: Iterable[State]) -> set[State]:
    """The states, with each ``Mapped`` state replaced by its children (kept if it has none)."""
    out: set[State] = set()
    for s in states:
        if type(s) is Mapped and s.map_states:
            out.update(c for c in s.map_states if c is not None)
        else:
            out.add(s)
    return out


class PassArgs(NamedTuple):
    """What ``FlowRunner.run`` hands on to the steps of its pass."""

    task_states: dict[Task, State]
    return_tasks: Iterable[Task] | None
    parameters: dict[str, Any]
    task_runner_state_handlers: Iterable[Callable[..., Any]] | None
    executor: Any
    task_contexts: dict[Task, dict[str, Any]]
