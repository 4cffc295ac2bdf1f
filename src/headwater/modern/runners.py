"""Task runners: where ``task.submit()`` and ``task.map()`` run the task runs of a flow run.

- :class:`ThreadPoolTaskRunner` (alias ``ConcurrentTaskRunner``, the default): a pool of
  threads in this process;
- :class:`ProcessPoolTaskRunner`: a pool of worker processes (tasks and their arguments are
  pickled with cloudpickle);
- :class:`DaskTaskRunner`: a ``dask.distributed`` cluster, through headwater's
  :class:`~headwater.executors.DaskExecutor` (a temporary ``LocalCluster``, or a scheduler at
  ``address``).

Each flow run uses its own copy of the flow's runner (:meth:`TaskRunner.duplicate`), started
when the run starts and shut down, after its runs have finished, when the flow run ends.
"""

from __future__ import annotations

import concurrent.futures as cf
import contextvars
import os
import threading
from collections.abc import Callable
from typing import Any

__all__ = [
    "ConcurrentTaskRunner",
    "DaskTaskRunner",
    "ProcessPoolTaskRunner",
    "TaskRunner",
    "ThreadPoolTaskRunner",
]


class TaskRunner:
    """Base class of task runners.

    Attributes:
        in_process: runs share this process (and see its memory); else calls are pickled.
    """

    in_process = True

    def duplicate(self) -> TaskRunner:
        """A new, unstarted runner with the same settings (one per flow run)."""
        raise NotImplementedError

    def __enter__(self) -> TaskRunner:
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def submit_call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """Schedule ``fn(*args)``; a future with ``add_done_callback``, ``result``, ``cancel``."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _default_workers() -> int:
    return min(32, (os.cpu_count() or 1) + 4)


class ThreadPoolTaskRunner(TaskRunner):
    """Run submitted tasks on a pool of threads.

    Args:
        max_workers: the pool's size (default ``min(32, cpu_count + 4)``, as
            ``concurrent.futures``).
    """

    def __init__(self, max_workers: int | None = None) -> None:
        if max_workers is not None and (not isinstance(max_workers, int) or max_workers < 1):
            raise ValueError(f"max_workers must be an int >= 1, got {max_workers!r}.")
        self.max_workers = max_workers or _default_workers()
        self._pool: cf.ThreadPoolExecutor | None = None
        self._started = False
        self._lock = threading.Lock()

    def duplicate(self) -> ThreadPoolTaskRunner:
        return type(self)(self.max_workers)

    def __enter__(self) -> ThreadPoolTaskRunner:
        self._started = True  # the pool itself is made by the first submit
        return self

    def __exit__(self, *exc: Any) -> None:
        with self._lock:
            pool, self._pool = self._pool, None
            self._started = False
        if pool is not None:
            pool.shutdown(wait=True)

    def _make_pool(self) -> cf.ThreadPoolExecutor:
        with self._lock:
            if not self._started:
                raise RuntimeError(f"{self!r} is not started: submit tasks inside a @flow.")
            if self._pool is None:
                self._pool = cf.ThreadPoolExecutor(
                    self.max_workers, thread_name_prefix="headwater-task"
                )
            return self._pool

    def submit_call(self, fn: Callable[..., Any], *args: Any) -> Any:
        pool = self._pool
        if pool is None:
            pool = self._make_pool()
        return pool.submit(contextvars.copy_context().run, fn, *args)

    def __repr__(self) -> str:
        return f"ThreadPoolTaskRunner(max_workers={self.max_workers})"


ConcurrentTaskRunner = ThreadPoolTaskRunner


def run_pickled(blob: bytes) -> Any:
    """Unpickle a task run sent to another process and run it there; its final state."""
    import cloudpickle

    from headwater.modern.remote import run_remote

    return run_remote(*cloudpickle.loads(blob))


class ProcessPoolTaskRunner(TaskRunner):
    """Run submitted tasks in a pool of worker processes (started with ``spawn``).

    Tasks, their arguments and their results are pickled (with cloudpickle). Hooks run in the
    worker process; ``headwater.runtime`` there sees the flow run's id, name and parameters.

    Args:
        max_workers: how many processes (default: the number of CPUs).
    """

    in_process = False

    def __init__(self, max_workers: int | None = None) -> None:
        if max_workers is not None and (not isinstance(max_workers, int) or max_workers < 1):
            raise ValueError(f"max_workers must be an int >= 1, got {max_workers!r}.")
        self.max_workers = max_workers or (os.cpu_count() or 1)
        self._pool: cf.ProcessPoolExecutor | None = None

    def duplicate(self) -> ProcessPoolTaskRunner:
        return type(self)(self.max_workers)

    def __enter__(self) -> ProcessPoolTaskRunner:
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        self._pool = cf.ProcessPoolExecutor(self.max_workers, mp_context=context)
        return self

    def __exit__(self, *exc: Any) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=True)

    def submit_call(self, fn: Callable[..., Any], *args: Any) -> Any:
        if self._pool is None:
            raise RuntimeError(f"{self!r} is not started: submit tasks inside a @flow.")
        return self._pool.submit(fn, *args)

    def __repr__(self) -> str:
        return f"ProcessPoolTaskRunner(max_workers={self.max_workers})"


class DaskTaskRunner(TaskRunner):
    """Run submitted tasks on a ``dask.distributed`` cluster (needs ``headwater[dask]``).

    Args:
        address: a running scheduler's address; default: a temporary cluster for each run.
        cluster_class: the temporary cluster's class or dotted path (default ``LocalCluster``).
        cluster_kwargs: keyword arguments of ``cluster_class``.
        adapt_kwargs: if given, ``cluster.adapt(**adapt_kwargs)``.
        client_kwargs: keyword arguments of ``distributed.Client``.
    """

    in_process = False

    def __init__(
        self,
        address: str | None = None,
        cluster_class: Any = None,
        cluster_kwargs: dict[str, Any] | None = None,
        adapt_kwargs: dict[str, Any] | None = None,
        client_kwargs: dict[str, Any] | None = None,
    ) -> None:
        from headwater.executors.dask import DaskExecutor

        self.settings = {
            "address": address,
            "cluster_class": cluster_class,
            "cluster_kwargs": cluster_kwargs,
            "adapt_kwargs": adapt_kwargs,
            "client_kwargs": client_kwargs,
        }
        self.executor = DaskExecutor(**self.settings)
        self._started: Any = None

    def duplicate(self) -> DaskTaskRunner:
        return type(self)(**self.settings)

    def __enter__(self) -> DaskTaskRunner:
        self._started = self.executor.start()
        self._started.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        started, self._started = self._started, None
        if started is not None:
            started.__exit__(None, None, None)

    def submit_call(self, fn: Callable[..., Any], *args: Any) -> Any:
        if self._started is None:
            raise RuntimeError(f"{self!r} is not started: submit tasks inside a @flow.")
        return self.executor.submit(fn, *args)

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self.settings.items() if v is not None)
        return f"DaskTaskRunner({shown})"
