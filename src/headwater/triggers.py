"""Triggers decide, from its upstream states, whether a task runs.

A trigger is ``fn(upstream_states: Dict[Edge, State]) -> bool``. Returning ``False`` makes the
task ``TriggerFailed``; raising ``signals.TRIGGERFAIL`` does the same with a custom message.
Mapped upstream tasks count child by child, and ``Skipped`` counts as a success::

    from headwater import task, triggers

    @task(trigger=triggers.all_finished)       # run whatever happened upstream
    def cleanup():
        ...

    @task(trigger=triggers.some_successful(at_least=0.5))
    def report(results):
        ...
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from headwater.engine import signals
from headwater.engine.state import Mapped, State, Success

__all__ = [
    "all_failed",
    "all_finished",
    "all_successful",
    "always_run",
    "any_failed",
    "any_successful",
    "manual_only",
    "not_all_skipped",
    "some_failed",
    "some_successful",
]


def _states(upstream_states: dict[Any, State]) -> list[State]:
    out: list[State] = []
    for s in upstream_states.values():
        if isinstance(s, Mapped):
            out.extend(s.map_states)
        else:
            out.append(s)
    return out


def all_finished(upstream_states: dict[Any, State]) -> bool:
    """Run when every upstream task finished, whatever its state."""
    if not all(s.is_finished() for s in _states(upstream_states)):
        raise signals.TRIGGERFAIL(
            'Trigger was "all_finished" but some of the upstream tasks were not finished.'
        )
    return True


always_run = all_finished


def manual_only(upstream_states: dict[Any, State]) -> bool:
    """Never run automatically: pause until resumed (``context.resume``)."""
    from headwater.context import context

    if context.get("resume"):
        return True
    raise signals.PAUSE('Trigger function is "manual_only"')


def all_successful(upstream_states: dict[Any, State]) -> bool:
    """Run when every upstream task succeeded (the default)."""
    for s in upstream_states.values():
        if type(s) is Success:  # the usual case, first (tasks with thousands of inputs)
            continue
        if isinstance(s, Success):
            if type(s) is Mapped and not all(c.is_successful() for c in s.map_states):
                break
            continue
        break
    else:
        return True
    raise signals.TRIGGERFAIL('Trigger was "all_successful" but some of the upstream tasks failed.')


def all_failed(upstream_states: dict[Any, State]) -> bool:
    """Run when every upstream task failed."""
    if not all(s.is_failed() for s in _states(upstream_states)):
        raise signals.TRIGGERFAIL(
            'Trigger was "all_failed" but some of the upstream tasks succeeded.'
        )
    return True


def any_successful(upstream_states: dict[Any, State]) -> bool:
    """Run when at least one upstream task succeeded (or there are none)."""
    states = _states(upstream_states)
    if states and not any(s.is_successful() for s in states):
        raise signals.TRIGGERFAIL(
            'Trigger was "any_successful" but none of the upstream tasks succeeded.'
        )
    return True


def any_failed(upstream_states: dict[Any, State]) -> bool:
    """Run when at least one upstream task failed (or there are none)."""
    states = _states(upstream_states)
    if states and not any(s.is_failed() for s in states):
        raise signals.TRIGGERFAIL('Trigger was "any_failed" but none of the upstream tasks failed.')
    return True


def not_all_skipped(upstream_states: dict[Any, State]) -> bool:
    """Run when the upstream tasks succeeded and not all of them were skipped."""
    states = _states(upstream_states)
    if not all(s.is_successful() for s in states):
        raise signals.TRIGGERFAIL(
            'Trigger was "not_all_skipped" but some of the upstream tasks failed.'
        )
    if states and all(s.is_skipped() for s in states):
        raise signals.SKIP("All upstream tasks were skipped.")
    return True


def _bounds(
    name: str, at_least: float | None, at_most: float | None, n: int
) -> tuple[float | None, float | None]:
    def conv(v: float | None, label: str) -> float | None:
        if v is None:
            return None
        if v < 0:
            raise ValueError(f"{name}: {label} must not be negative, got {v!r}")
        return v * n if 0 < v < 1 else v

    return conv(at_least, "at_least"), conv(at_most, "at_most")


def _some(
    name: str, pred: Callable[[State], bool], at_least: float | None, at_most: float | None
) -> Callable[..., bool]:
    for bound in (at_least, at_most):
        if isinstance(bound, int | float) and bound < 0:
            raise ValueError(f"{name}: at_least and at_most must not be negative.")

    def trigger(upstream_states: dict[Any, State]) -> bool:
        if not upstream_states:  # nothing upstream: nothing to count
            return True
        states = _states(upstream_states)
        lo, hi = _bounds(name, at_least, at_most, len(states))
        count = sum(1 for s in states if pred(s))
        if lo is not None and count < lo:
            raise signals.TRIGGERFAIL(
                f'Trigger was "{name}" and expected at least {lo:g} but {count} of the upstream tasks matched.'
            )
        if hi is not None and count > hi:
            raise signals.TRIGGERFAIL(
                f'Trigger was "{name}" and expected at most {hi:g} but {count} of the upstream tasks matched.'
            )
        return True

    trigger.__name__ = name
    trigger.__qualname__ = name
    return trigger


def some_successful(
    at_least: float | None = None, at_most: float | None = None
) -> Callable[..., bool]:
    """A trigger that runs when the number of successful upstream states is within bounds.

    Values between 0 and 1 are fractions of the upstream states (``at_least=0.5``: half).
    """
    return _some("some_successful", lambda s: s.is_successful(), at_least, at_most)


def some_failed(at_least: float | None = None, at_most: float | None = None) -> Callable[..., bool]:
    """Like :func:`some_successful`, counting failed upstream states."""
    return _some("some_failed", lambda s: s.is_failed(), at_least, at_most)


def _names(triggers: Iterable[Callable[..., Any]]) -> list[str]:  # pragma: no cover - debug aid
    return [getattr(t, "__name__", repr(t)) for t in triggers]
