"""Argument annotations of modern task calls: ``allow_failure`` and ``quote``.

``unmapped`` is :class:`headwater.core.edge.unmapped`, the same for both APIs.

- ``allow_failure(future)``: the task runs even if that upstream run failed, and receives the
  exception instead of a value;
- ``quote(value)``: pass ``value`` as it is, without looking inside it for futures (cheaper
  for large collections) and without mapping over it.
"""

from __future__ import annotations

from typing import Any

from headwater.core.edge import EdgeAnnotation, unmapped
from headwater.modern.futures import TaskRunFuture

__all__ = ["UpstreamFailed", "allow_failure", "quote", "resolve_inputs", "unmapped"]


class allow_failure:
    """Run the downstream task even if this upstream run failed (it gets the exception)."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"allow_failure({self.value!r})"


class quote:
    """Pass ``value`` as it is: not searched for futures, not mapped over."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def unquote(self) -> Any:
        """The value."""
        return self.value

    def __repr__(self) -> str:
        return f"quote({self.value!r})"


class UpstreamFailed(RuntimeError):
    """An upstream run a task needs did not complete: the task does not run."""


_ATOMS = frozenset({int, float, str, bytes, bool, type(None), complex})


def _future_value(future: TaskRunFuture, allow: bool) -> Any:
    future.wait()
    state = future.state
    if state.is_completed() or allow:
        return state.result(raise_on_failure=False)
    raise UpstreamFailed(
        f"Upstream task run {future.task.name!r} did not reach a 'COMPLETED' state "
        f"(it is {state.name}): the task is not run. Wrap the argument in allow_failure(...) "
        "to run it anyway."
    )


def resolve_inputs(value: Any, allow: bool = False) -> Any:
    """``value`` with futures replaced by their results and annotations removed.

    Raises:
        UpstreamFailed: a future's run did not complete (and is not in ``allow_failure``).
    """
    kind = type(value)
    if kind in _ATOMS:
        return value
    if kind is TaskRunFuture:
        return _future_value(value, allow)
    if kind is quote:
        return value.value
    if kind is allow_failure:
        return resolve_inputs(value.value, True)
    if isinstance(value, EdgeAnnotation):
        return resolve_inputs(value.value, allow)
    if kind in (list, tuple, set, frozenset) or isinstance(value, list):
        items = [resolve_inputs(v, allow) for v in value]
        return items if isinstance(value, list) else kind(items)
    if kind is dict:
        return {k: resolve_inputs(v, allow) for k, v in value.items()}
    return value


def wait_for_all(futures: Any) -> None:
    """Wait for each future of ``wait_for`` (a list; items may be ``allow_failure``).

    Raises:
        UpstreamFailed: one of them did not complete.
    """
    for item in futures:
        resolve_inputs(item)
