"""An event loop owned by the engine, for ``async def`` tasks.

Coroutines run on one background thread's loop, so an ``async def`` task works the same in a
script, in a thread pool and inside Jupyter (where the calling thread already runs a loop). The
caller's :mod:`contextvars` context goes with the coroutine. Whatever the coroutine raises,
``SystemExit`` and ``KeyboardInterrupt`` included, is handed back to the caller: the loop keeps
running for the next task.

The coroutines of several task runs wait on the loop at the same time: on thread executors
each worker thread waits for its own, and on ``LocalExecutor`` the runs of independent async
tasks are started together (see :mod:`headwater.engine.scheduling.async_calls`).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import threading
from collections.abc import Callable, Coroutine
from typing import Any

__all__ = ["run_coroutine"]

_lock = threading.Lock()
_loop: asyncio.AbstractEventLoop | None = None


def _get_loop() -> asyncio.AbstractEventLoop:
    global _loop
    with _lock:
        if _loop is None or _loop.is_closed():
            loop = asyncio.new_event_loop()
            t = threading.Thread(target=loop.run_forever, name="headwater-async", daemon=True)
            t.start()
            _loop = loop
        return _loop


def run_coroutine(
    fn: Callable[..., Coroutine[Any, Any, Any]],
    kwargs: dict[str, Any],
    timeout: float | None = None,
) -> Any:
    """Run ``fn(**kwargs)`` on the engine's loop in the caller's context; return its result.

    Whatever the coroutine raises is raised here, ``BaseException`` subclasses included (on
    the loop, ``SystemExit`` or ``KeyboardInterrupt`` would stop the loop itself).

    Args:
        fn: the coroutine function.
        kwargs: its keyword arguments.
        timeout: seconds after which the coroutine is cancelled (``None``: no limit).

    Raises:
        TaskTimeoutSignal: the coroutine did not finish within ``timeout``.
    """
    loop = _get_loop()
    ctx = contextvars.copy_context()
    done: concurrent.futures.Future[tuple[Any, BaseException | None]] = concurrent.futures.Future()
    started: list[asyncio.Task[Any]] = []

    def start() -> None:
        task = loop.create_task(_outcome(fn, kwargs), context=ctx)

        def finish(t: asyncio.Task[Any]) -> None:
            if t.cancelled():
                done.cancel()
            else:
                done.set_result(t.result())

        task.add_done_callback(finish)
        started.append(task)

    loop.call_soon_threadsafe(start)
    try:
        value, error = done.result(timeout)
    except BaseException as exc:  # timed out, or this thread was interrupted: cancel it

        def cancel() -> None:  # runs on the loop after ``start``: the task exists by then
            for task in started:
                task.cancel()

        loop.call_soon_threadsafe(cancel)
        if isinstance(exc, concurrent.futures.TimeoutError):
            from headwater.exceptions import TaskTimeoutSignal

            raise TaskTimeoutSignal(f"Coroutine timed out after {timeout:g} seconds.") from None
        raise
    if error is not None:
        raise error
    return value


async def _outcome(
    fn: Callable[..., Coroutine[Any, Any, Any]], kwargs: dict[str, Any]
) -> tuple[Any, BaseException | None]:
    """``(value, None)``, or ``(None, exc)`` for anything the coroutine raised."""
    try:
        return await fn(**kwargs), None
    except BaseException as exc:
        return None, exc
