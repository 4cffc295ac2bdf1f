"""``async def`` task runs at the same time on inline executors (``LocalExecutor``).

An inline executor runs each call as it is submitted, in the calling thread, so on its own it
would run independent ``async def`` tasks one after another. When a flow has ``async def``
tasks, the scheduler hands its calls to :class:`AsyncCalls` instead:

- the run of an ``async def`` task is handed to the executor's ``submit`` in a thread of a
  small pool, and its handle is a :class:`concurrent.futures.Future`; the task runner runs
  there as everywhere else (state
  handlers, triggers, retries, timeouts) and its coroutine runs on the engine's event loop
  (:mod:`headwater.engine.async_loop`), where the coroutines of the other runs wait at the
  same time;
- a synchronous task still runs in the calling thread (the ``runs_inline`` contract): at once
  when its upstream states are known, otherwise as soon as they are, while the scheduler
  waits for what it needs (a mapped task's upstream states, or the end of the pass);
- a call of any kind whose upstream runs have not finished waits for them, so the scheduler
  goes on submitting the calls that do not depend on them; a waiting async call starts as
  soon as its upstream runs end, even while a synchronous task runs in the calling thread.

Flows without ``async def`` tasks never get here: their calls cost what they always did.
"""

from __future__ import annotations

import concurrent.futures
import contextvars
import queue
import threading
from collections.abc import Callable
from typing import Any

from headwater.engine.submission import run_task_call

__all__ = ["POOL_SIZE", "AsyncCalls"]

POOL_SIZE = 128
"""How many runs of ``async def`` tasks may wait for their coroutines at the same time."""

_Future = concurrent.futures.Future
_lock = threading.Lock()
_pool: concurrent.futures.ThreadPoolExecutor | None = None


def _get_pool() -> concurrent.futures.ThreadPoolExecutor:
    global _pool
    with _lock:
        if _pool is None:
            _pool = concurrent.futures.ThreadPoolExecutor(
                POOL_SIZE, thread_name_prefix="headwater-async-run"
            )
        return _pool


def _pending(value: Any, out: list[concurrent.futures.Future[Any]]) -> None:
    """Add the unfinished futures in ``value`` (a handle, or a list or tuple of them) to ``out``."""
    t = type(value)
    if t is _Future:
        if not value.done():
            out.append(value)
    elif t is list or t is tuple:
        for v in value:
            _pending(v, out)
    elif t is dict:
        for v in value.values():
            _pending(v, out)


def _has_future(value: Any) -> bool:
    t = type(value)
    if t is _Future:
        return True
    if t is list or t is tuple:
        return any(_has_future(v) for v in value)
    return False


def _resolved(value: Any) -> Any:
    """``value`` with each finished future replaced by its result (its error is raised)."""
    t = type(value)
    if t is _Future:
        return value.result()
    if t is list:
        return [_resolved(v) for v in value]
    if t is tuple:
        return tuple(_resolved(v) for v in value)
    if t is dict:
        return {k: _resolved(v) for k, v in value.items()}
    return value


def _settle(fut: concurrent.futures.Future[Any], fn: Callable[..., Any], *args: Any) -> None:
    """Run ``fn(*args)`` and hand what it returns (or raises) to ``fut``."""
    try:
        fut.set_result(fn(*args))
    except BaseException as exc:  # handed to whoever waits for the call
        fut.set_exception(exc)


class _Queued:
    """A call waiting for ``left`` upstream calls to finish."""

    __slots__ = ("args", "context", "fut", "is_async", "left")

    def __init__(self, fut: Any, is_async: bool, args: tuple[Any, ...], left: int) -> None:
        self.fut = fut
        self.is_async = is_async
        self.args = args
        self.left = left
        self.context = contextvars.copy_context()  # the scheduler's, where the call was made


class AsyncCalls:
    """The calls of one scheduler pass on an inline executor, for flows with async tasks.

    Every future made here reports its end on :attr:`events`. A queued async call starts as
    soon as the last call it waits for has ended (from the thread that ended it); a queued
    synchronous call is put on :attr:`events` then, and :meth:`wait` runs it in the
    scheduler's thread. Waiting costs nothing per call that is not ready.

    Args:
        submit: the inline executor's ``submit``, which runs the synchronous calls.
    """

    def __init__(self, submit: Callable[..., Any]) -> None:
        self.submit_inline = submit
        self.events: queue.SimpleQueue[_Queued | None] = queue.SimpleQueue()
        self.lock = threading.Lock()
        self.started = False  # once a call has a future, every call's upstream is looked into

    def call(
        self, is_async: bool, runner: Any, prior: Any, ups: dict[Any, Any], ctx: Any, i: Any
    ) -> Any:
        """Submit one task call; its handle is a state, or a future while it runs or waits."""
        if self.started:
            waiting: list[concurrent.futures.Future[Any]] = []
            _pending(ups, waiting)
            if waiting:
                return self._queue(is_async, (runner, prior, ups, ctx, i), waiting)
            if any(_has_future(v) for v in ups.values()):
                ups = _resolved(ups)
        if is_async:
            args = (runner, prior, ups, ctx, i)
            return self._start(args, self._future(), contextvars.copy_context())
        return self.submit_inline(run_task_call, runner, prior, ups, ctx, i)

    def _future(self) -> concurrent.futures.Future[Any]:
        """A new future of a call, which reports its end on :attr:`events`."""
        self.started = True
        fut: concurrent.futures.Future[Any] = _Future()
        fut.add_done_callback(lambda _: self.events.put(None))
        return fut

    def _queue(
        self, is_async: bool, args: tuple[Any, ...], waiting: list[concurrent.futures.Future[Any]]
    ) -> concurrent.futures.Future[Any]:
        """Queue a call until the calls of ``waiting`` have ended."""
        item = _Queued(self._future(), is_async, args, len(waiting) + 1)

        def one_less(_: Any) -> None:
            with self.lock:
                item.left -= 1
                ready = item.left == 0
            if not ready:
                return
            if item.is_async:
                self._release(item)
            else:
                self.events.put(item)

        for f in waiting:
            f.add_done_callback(one_less)
        one_less(None)  # the count started one too high, so no callback could finish it early
        return item.fut  # type: ignore[no-any-return]

    def _start(
        self, args: tuple[Any, ...], fut: concurrent.futures.Future[Any], ctx: contextvars.Context
    ) -> Any:
        """Start an async task's call in the pool, in ``ctx`` (a copy of the scheduler's).

        The call still goes through the executor's ``submit``, which runs it there.
        """
        _get_pool().submit(ctx.run, _settle, fut, self.submit_inline, run_task_call, *args)
        return fut

    def _release(self, item: _Queued) -> None:
        """Start (or, for a synchronous task, run here) a queued call whose upstream ended."""
        runner, prior, ups, ctx, index = item.args
        try:
            args = (runner, prior, _resolved(ups), ctx, index)
        except BaseException as exc:  # an upstream call raised: so does this one
            item.fut.set_exception(exc)
            return
        if item.is_async:
            try:
                self._start(args, item.fut, item.context)
            except BaseException as exc:  # the pool refused it (the interpreter is exiting)
                item.fut.set_exception(exc)
        else:
            _settle(item.fut, self.submit_inline, run_task_call, *args)

    def wait(self, handles: Any) -> Any:
        """``handles`` with every future replaced by its call's state, once they are known.

        Waits for running calls, and starts queued ones as their upstream calls end.
        """
        waiting: list[concurrent.futures.Future[Any]] = []
        _pending(handles, waiting)
        for fut in waiting:
            while not fut.done():
                item = self.events.get()
                if item is not None:
                    self._release(item)
        return _resolved(handles)
