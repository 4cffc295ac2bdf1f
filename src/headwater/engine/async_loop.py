"""An event loop owned by the engine, for ``async def`` tasks.

Coroutines run on one background thread's loop, so an ``async def`` task works the same in a
script, in a thread pool and inside Jupyter (where the calling thread already runs a loop). The
caller's :mod:`contextvars` context goes with the coroutine.
"""

from __future__ import annotations

import asyncio
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


def run_coroutine(fn: Callable[..., Coroutine[Any, Any, Any]], kwargs: dict[str, Any]) -> Any:
    """Run ``fn(**kwargs)`` on the engine's loop in the caller's context; return its result."""
    loop = _get_loop()
    ctx = contextvars.copy_context()
    done: Any = __import__("concurrent.futures").futures.Future()

    def start() -> None:
        task = loop.create_task(fn(**kwargs), context=ctx)

        def finish(t: asyncio.Task) -> None:
            if t.cancelled():
                done.cancel()
            elif t.exception() is not None:
                done.set_exception(t.exception())
            else:
                done.set_result(t.result())

        task.add_done_callback(finish)
        done._headwater_task = task  # type: ignore[attr-defined]

    loop.call_soon_threadsafe(start)
    try:
        return done.result()
    except BaseException:
        task = getattr(done, "_headwater_task", None)
        if task is not None and not task.done():
            loop.call_soon_threadsafe(task.cancel)
        raise
