"""Helpers for running functions: timeouts, tail recursion, and the heartbeat decorator.

Prefect 1 sent heartbeats to its server while a run was going on; headwater has no server,
so :func:`run_with_heartbeat` simply runs the method.

>>> @tail_recursive
... def count_down(n):
...     if n == 0:
...         return "done"
...     raise RecursiveCall(count_down, n - 1)
>>> count_down(100_000)
'done'
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from logging import Logger
from typing import Any

from headwater.exceptions import TaskTimeoutSignal

__all__ = [
    "RecursiveCall",
    "no_heartbeat",
    "run_task_with_timeout",
    "run_with_heartbeat",
    "run_with_thread_timeout",
    "tail_recursive",
]


def run_with_heartbeat(runner_method: Callable[..., Any]) -> Callable[..., Any]:
    """Decorate a runner method that Prefect 1 ran with a server heartbeat; runs it as is."""

    @functools.wraps(runner_method)
    def inner(self: Any, *args: Any, **kwargs: Any) -> Any:
        with no_heartbeat():
            return runner_method(self, *args, **kwargs)

    return inner


@contextlib.contextmanager
def no_heartbeat() -> Iterator[None]:
    """A context manager that sends no heartbeat."""
    yield


def run_with_thread_timeout(
    fn: Callable[..., Any],
    args: Sequence[Any] = (),
    kwargs: Mapping[str, Any] | None = None,
    timeout: float | None = None,
    logger: Logger | None = None,
    name: str | None = None,
) -> Any:
    """``fn(*args, **kwargs)``, raising :class:`TaskTimeoutSignal` after ``timeout`` seconds.

    The call runs in a worker thread (with a copy of the caller's context), so this works
    from any thread. A call that times out is abandoned, not stopped: it keeps its thread
    until it returns.

    Raises:
        TaskTimeoutSignal: the call did not finish within ``timeout`` seconds.
    """
    kwargs = kwargs or {}
    if timeout is None:
        return fn(*args, **kwargs)
    label = name or f"Function {getattr(fn, '__name__', fn)!r}"
    box: dict[str, Any] = {}
    done = threading.Event()
    ctx = contextvars.copy_context()

    def target() -> None:
        try:
            box["value"] = ctx.run(fn, *args, **kwargs)
        except BaseException as exc:
            box["error"] = exc
        finally:
            done.set()

    threading.Thread(target=target, name=f"headwater-timeout-{label}", daemon=True).start()
    if not done.wait(timeout):
        if logger is not None:
            logger.debug("%s: timed out after %ss", label, timeout)
        raise TaskTimeoutSignal(f"{label} timed out after {timeout} seconds.")
    if "error" in box:
        raise box["error"]
    return box.get("value")


def run_task_with_timeout(
    task: Any,
    args: Sequence[Any] = (),
    kwargs: Mapping[str, Any] | None = None,
    logger: Logger | None = None,
) -> Any:
    """``task.run(*args, **kwargs)`` with the task's own ``timeout`` (seconds or timedelta)."""
    timeout: Any = getattr(task, "timeout", None)
    if hasattr(timeout, "total_seconds"):
        timeout = timeout.total_seconds()
    return run_with_thread_timeout(
        task.run, args, kwargs, timeout=timeout, logger=logger, name=f"Task {task.name!r}"
    )


class RecursiveCall(Exception):
    """Raised instead of calling ``func(*args, **kwargs)`` inside a :func:`tail_recursive`
    function."""

    def __init__(self, func: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        super().__init__()
        self.func = func
        self.args = args
        self.kwargs = kwargs


def tail_recursive(func: Callable[..., Any]) -> Callable[..., Any]:
    """Run ``func`` in a loop each time it raises :class:`RecursiveCall` for itself, so its
    recursion depth is unlimited.

    Raises:
        RecursionError: a ``RecursiveCall`` names a function not decorated with this.
    """

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        while True:
            try:
                return func(*args, **kwargs)
            except RecursiveCall as call:
                target = getattr(call.func, "__wrapped_func__", None)
                if target is None:
                    raise RecursionError(
                        f"{call.func!r} is not decorated with @tail_recursive, so it cannot "
                        "be called with RecursiveCall."
                    ) from None
                if target is not func:
                    raise
                args, kwargs = call.args, call.kwargs

    wrapper.__wrapped_func__ = func  # type: ignore[attr-defined]
    return wrapper
