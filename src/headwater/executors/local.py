"""``LocalExecutor``: run each submitted call at once, in the calling thread.

It is the default executor: no threads, no processes, no serialization, and so the cheapest
way to run a flow. A "future" is simply the value.

>>> from headwater.executors import LocalExecutor
>>> ex = LocalExecutor()
>>> with ex.start():
...     f = ex.submit(lambda x: x + 1, 1)
...     ex.wait([f, ex.submit(lambda y: y * 2, f)])
[2, 4]
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from headwater.executors._in_context import call_in_context
from headwater.executors.base import Executor

__all__ = ["LocalExecutor"]


class LocalExecutor(Executor):
    """Runs every submitted call immediately in the calling thread.

    It ``runs_inline``: the flow runner hands it each task run as it is, and a subclass (one
    that counts or logs calls, say) gets the same treatment. Synchronous tasks run in the
    calling thread; the runs of independent ``async def`` tasks are submitted from threads of
    the engine, so that their coroutines wait at the same time (see
    :mod:`headwater.engine.scheduling.async_calls`).
    """

    runs_inline = True

    def submit(
        self,
        fn: Callable[..., Any],
        /,
        *args: Any,
        extra_context: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        if extra_context:
            return call_in_context(fn, args, kwargs, extra_context)
        return fn(*args, **kwargs)

    def wait(self, futures: Any) -> Any:
        return futures
