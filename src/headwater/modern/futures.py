"""Futures of submitted task runs, and ``wait`` / ``as_completed`` over them.

``task.submit(...)`` returns a :class:`TaskRunFuture` at once; the task runs on the flow's task
runner. Waiting never deadlocks a bounded pool: a future whose run has not started yet when
someone waits for it (``result()``, ``wait()``, or a task that received it as an argument) is
taken off the pool's queue and run in the waiting thread, so a task waiting for another task
on a pool of one worker still finishes.

>>> from headwater import flow, task
>>> @task
... def double(x):
...     return 2 * x
>>> @flow
... def doubles():
...     future = double.submit(21)
...     return future.result()
>>> doubles()
42
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from headwater.modern import states as st
from headwater.modern.errors import UnfinishedRun

__all__ = ["FutureList", "TaskRunFuture", "as_completed", "resolve", "wait"]


#: Signalled whenever any run ends: one condition for all futures keeps each future small
#: (a ``.map`` over 100,000 items makes 100,000 of them).
_settled = threading.Condition(threading.Lock())


class TaskRunFuture:
    """The future of one submitted task run (Prefect 3's ``PrefectFuture``).

    Attributes:
        task: the task submitted.
        task_run_id: the id of its run, once it has started (else ``None``).
    """

    __slots__ = ("_callbacks", "_future", "_inline", "_state", "task")

    def __init__(self, task: Any, inline: Callable[[], st.State] | None = None) -> None:
        self.task = task
        self._future: Any = None
        self._inline = inline
        self._state: st.State | None = None
        self._callbacks: list[Callable[[TaskRunFuture], Any]] | None = None

    def attach(self, future: Any) -> None:
        """Follow ``future`` (the task runner's future of the run, which gives its state)."""
        self._future = future
        future.add_done_callback(self._runner_done)

    def _runner_done(self, future: Any) -> None:
        if future.cancelled():
            return  # taken off the queue: the waiting thread runs it
        try:
            state = future.result()
        except BaseException as exc:  # the runner lost the call (a worker died...)
            state = st.Crashed(f"The task run did not finish: {exc!r}", data=exc)
        self.set_state(state)

    def set_state(self, state: st.State) -> None:
        """The run ended in ``state``: wake the waiters and call the done callbacks."""
        with _settled:
            if self._state is not None:
                return
            self._state = state
            callbacks, self._callbacks = self._callbacks, None
            _settled.notify_all()
        self._inline = None  # (what it held is not needed any more)
        for fn in callbacks or ():
            fn(self)

    def __repr__(self) -> str:
        return f"<TaskRunFuture of {self.task.name!r}: {self.state.name}>"

    @property
    def task_run_id(self) -> str | None:
        state = self._state
        return state.run_id if state is not None else None

    @property
    def state(self) -> st.State:
        """The run's state: ``Pending`` until it runs, ``Running``, then its final state."""
        state = self._state
        if state is not None:
            return state
        future = self._future
        if future is not None and getattr(future, "running", lambda: False)():
            return st.Running()
        return st.Pending()

    def done(self) -> bool:
        """Whether the run has ended."""
        return self._state is not None

    def wait(self, timeout: float | None = None) -> None:
        """Wait until the run ends (at most ``timeout`` seconds).

        A run that has not started is run here and now, in this thread.
        """
        if self._state is not None or self.run_if_queued():
            return
        deadline = None if timeout is None else time.monotonic() + timeout
        with _settled:
            while self._state is None:
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    return
                _settled.wait(left)

    def run_if_queued(self) -> bool:
        """Run the task here, in this thread, if it has not started yet; whether it did."""
        inline = self._inline
        if self._state is not None or inline is None or self._future is None:
            return False
        cancel = getattr(self._future, "cancel", None)
        if cancel is None or not cancel():
            return False
        self.set_state(inline())
        return True

    def result(self, timeout: float | None = None, raise_on_failure: bool = True) -> Any:
        """The run's return value, waiting for it (at most ``timeout`` seconds).

        Raises:
            TimeoutError: the run did not end within ``timeout``.
            BaseException: the run failed (its exception), unless ``raise_on_failure=False``,
                which returns the exception instead.
        """
        self.wait(timeout)
        state = self._state
        if state is None:
            raise UnfinishedRun(
                f"Task run of {self.task.name!r} did not finish within {timeout} seconds."
            )
        return state.result(raise_on_failure=raise_on_failure)

    def add_done_callback(self, fn: Callable[[TaskRunFuture], Any]) -> None:
        """Call ``fn(future)`` when the run ends (at once if it has)."""
        with _settled:
            if self._state is None:
                if self._callbacks is None:
                    self._callbacks = []
                self._callbacks.append(fn)
                return
        fn(self)


class FutureList(list[TaskRunFuture]):
    """The futures of a ``.map``: a list, with ``wait()`` and ``result()`` over all of them."""

    def wait(self, timeout: float | None = None) -> None:
        """Wait for every run (at most ``timeout`` seconds in all)."""
        wait(self, timeout=timeout)

    def result(self, timeout: float | None = None, raise_on_failure: bool = True) -> list[Any]:
        """The return values, in order.

        Raises:
            BaseException: a run failed (the first failed run's exception).
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        out = []
        for future in self:
            left = None if deadline is None else max(0.0, deadline - time.monotonic())
            out.append(future.result(timeout=left, raise_on_failure=raise_on_failure))
        return out


class DoneAndNotDone(tuple[set[TaskRunFuture], set[TaskRunFuture]]):
    """``wait()``'s answer: ``.done`` and ``.not_done`` sets of futures."""

    @property
    def done(self) -> set[TaskRunFuture]:
        return self[0]

    @property
    def not_done(self) -> set[TaskRunFuture]:
        return self[1]


def wait(futures: Iterable[TaskRunFuture], timeout: float | None = None) -> DoneAndNotDone:
    """Wait for ``futures`` to finish (at most ``timeout`` seconds in all).

    Returns:
        A pair ``(done, not_done)`` of sets, also readable as ``.done`` and ``.not_done``.
    """
    pending = list(futures)
    deadline = None if timeout is None else time.monotonic() + timeout
    for future in pending:
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            break
        future.wait(left)
    done = {f for f in pending if f.done()}
    return DoneAndNotDone((done, set(pending) - done))


def as_completed(
    futures: Iterable[TaskRunFuture], timeout: float | None = None
) -> Iterator[TaskRunFuture]:
    """Yield ``futures`` as their runs end (the first to finish first).

    Raises:
        TimeoutError: ``timeout`` seconds passed before all of them ended.
    """
    pending = list(dict.fromkeys(futures))
    finished: list[TaskRunFuture] = []
    ready = threading.Condition()

    def done(future: TaskRunFuture) -> None:
        with ready:
            finished.append(future)
            ready.notify()

    for future in pending:
        future.add_done_callback(done)
    deadline = None if timeout is None else time.monotonic() + timeout
    for _ in range(len(pending)):
        while True:
            with ready:
                if finished:
                    item = finished.pop(0)
                    break
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:
                    raise TimeoutError(f"{len(pending)} futures did not finish in {timeout} s.")
                if ready.wait(_GRACE if left is None else min(left, _GRACE)):
                    continue
            _run_one_queued(pending)  # nothing ended: the pool may be busy with this thread
        yield item


_GRACE = 0.05  # seconds as_completed waits before running a queued run itself


def _run_one_queued(futures: list[TaskRunFuture]) -> None:
    for future in futures:
        if future.run_if_queued():
            return


def resolve(value: Any) -> Any:
    """``value`` with every future in it (also in lists, tuples, sets and dicts) replaced by
    its result, waiting for it."""
    if isinstance(value, TaskRunFuture):
        return value.result()
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [resolve(v) for v in value]
        return items if type(value) is list else type(value)(items)
    if isinstance(value, dict):
        return {k: resolve(v) for k, v in value.items()}
    return value


def states_of(value: Any) -> Any:
    """``value`` with every future in it replaced by its final state (waiting for it)."""
    if isinstance(value, TaskRunFuture):
        value.wait()
        return value.state
    if isinstance(value, (list, tuple, set, frozenset)):
        items = [states_of(v) for v in value]
        return items if type(value) in (list, FutureList) else type(value)(items)
    if isinstance(value, dict):
        return {k: states_of(v) for k, v in value.items()}
    return value
