r"""``DaemonThreadPool``: the thread pool of ``LocalDaskExecutor("threads")`` (private).

A minimal ``concurrent.futures``-style pool whose threads never keep the interpreter alive after
Ctrl-C. Whatever a call raises — ``SystemExit`` and other ``BaseException``\ s included — is that
call's outcome; the thread goes on serving the queue.

>>> from headwater.executors._thread_pool import DaemonThreadPool
>>> pool = DaemonThreadPool(2)
>>> pool.submit(pow, 2, 10).result()
1024
>>> pool.shutdown()
"""

from __future__ import annotations

import contextvars
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

__all__ = ["DaemonThreadPool"]


class DaemonThreadPool:
    """A fixed-size pool of daemon threads with the ``concurrent.futures.Executor.submit`` API.

    Calls run in a copy of the submitting thread's ``contextvars`` context. Unlike
    ``ThreadPoolExecutor``, the threads do not hold up interpreter exit, so a Ctrl-C during a
    long call returns control at once (the call itself finishes in the background).
    """

    def __init__(self, num_workers: int, name: str = "headwater-dask") -> None:
        self.num_workers = max(1, int(num_workers))
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._threads = [
            threading.Thread(target=self._work, name=f"{name}-{i}", daemon=True)
            for i in range(self.num_workers)
        ]
        for t in self._threads:
            t.start()

    def _work(self) -> None:
        q = self._queue
        while True:
            item = q.get()
            if item is None:
                return
            fut, ctx, fn, args, kwargs = item
            del item  # what a call received or returned is not kept while the thread waits
            if fut.set_running_or_notify_cancel():
                try:
                    fut.set_result(ctx.run(fn, *args, **kwargs))
                except BaseException as exc:  # handed to the waiting scheduler
                    # whatever the call raised (SystemExit included) is its result; the thread
                    # goes on serving the queue
                    fut.set_exception(exc)
            del fut, ctx, fn, args, kwargs

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        """Schedule ``fn(*args, **kwargs)``; return its ``concurrent.futures.Future``."""
        fut: Future[Any] = Future()
        self._queue.put((fut, contextvars.copy_context(), fn, args, kwargs))
        return fut

    def shutdown(self, wait: bool = True) -> None:
        """Cancel queued calls and stop the threads (``wait``: join idle ones)."""
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is not None:
                item[0].cancel()
        for _ in self._threads:
            self._queue.put(None)
        if wait:
            for t in self._threads:
                t.join()
