"""Executors backed by dask: its local schedulers, or a ``distributed`` cluster.

:class:`LocalDaskExecutor` runs a flow on dask's threaded, multiprocessing or synchronous
scheduler inside this process (and its pool). :class:`DaskExecutor` runs it on a
``dask.distributed`` cluster: one it starts for the run and closes afterwards, or an existing
one at a scheduler address. dask and distributed are imported only when one of these executors
is started, never by ``import headwater``.

>>> from headwater.executors.dask import LocalDaskExecutor
>>> ex = LocalDaskExecutor(scheduler="threads", num_workers=2)
>>> with ex.start():
...     a = ex.submit(pow, 2, 10)
...     b = ex.submit(sum, [a, a])
...     ex.wait({"a": a, "b": b})
{'a': 1024, 'b': 2048}

If a worker dies in the middle of a call, :meth:`wait` raises :class:`WorkerLostError` for that
call (and the calls that needed its value) rather than hanging; the other calls are not
disturbed. The flow runner turns it into a ``Failed`` state or a retry.
"""

from __future__ import annotations

import itertools
import os
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from headwater.executors._dask_support import (
    Failure,
    Packed,
    Ref,
    SharedBlob,
    WorkerLostError,
    dumps,
    explain_pickling_error,
    map_futures,
    new_token,
    run_node,
)
from headwater.executors._distributed import DaskExecutor, DaskFuture
from headwater.executors._process_pool import LossReportingPool, ProcessPool
from headwater.executors._spill import TempWriteError, write_temp_file
from headwater.executors._thread_pool import DaemonThreadPool
from headwater.executors.base import Executor, Shared

__all__ = ["DaskExecutor", "DaskFuture", "LocalDaskExecutor", "LocalDaskFuture", "WorkerLostError"]

_SCHEDULERS = {
    "threads": "threads",
    "threading": "threads",
    "processes": "processes",
    "multiprocessing": "processes",
    "sync": "synchronous",
    "synchronous": "synchronous",
    "single-threaded": "synchronous",
}


class LocalDaskFuture:
    """Handle on a call submitted to a :class:`LocalDaskExecutor`; resolve it with ``wait``.

    ``compute()`` resolves it too (like a ``dask.delayed`` value), while its executor is started.
    """

    __slots__ = ("key", "_owner", "__weakref__")

    def __init__(self, key: str, owner: LocalDaskExecutor | None = None) -> None:
        self.key = key
        self._owner = weakref.ref(owner) if owner is not None else None

    def __repr__(self) -> str:
        return f"<LocalDaskFuture {self.key}>"

    def compute(self, **kwargs: Any) -> Any:
        """The call's value: ``executor.wait(self)`` (``kwargs``, such as ``scheduler``, are
        accepted for ``dask.delayed`` compatibility and ignored: the executor's scheduler runs it).

        Raises:
            RuntimeError: the executor that made this future is gone.
        """
        owner = self._owner() if self._owner is not None else None
        if owner is None:
            raise RuntimeError(f"{self!r}: the LocalDaskExecutor that made it no longer exists.")
        return owner.wait(self)


class LocalDaskExecutor(Executor):
    """Run a flow on one of dask's local schedulers.

    ``submit`` only records the call as a node of a dask graph; ``wait`` computes the part of the
    graph it needs in one pass of dask's scheduler, so independent tasks run in parallel and
    mapped chains run depth-first. Results that ``wait`` computes are remembered (nothing runs
    twice); a result is dropped once its future is gone and no pending call needs it. Calls that
    were submitted but never waited on run when ``start()`` exits normally.

    Once ``max_pending`` calls (10,000) wait to run, ``submit`` runs them before it returns, so
    that dask's scheduler never holds more than that many calls (a few kB each) at a time.

    With ``"processes"``, a :class:`~headwater.executors.base.Shared` argument (the flow
    runner passes each run's context and each task's runner this way) is pickled once per run and
    unpickled once per worker process; one of at least ``shared_file_threshold`` bytes (1 MiB)
    reaches the processes through a temporary file instead of each call's message.

    Args:
        scheduler: ``"threads"`` (default; alias ``"threading"``), ``"processes"`` (alias
            ``"multiprocessing"``) or ``"synchronous"`` (aliases ``"sync"``,
            ``"single-threaded"``); case does not matter. ``scheduler`` holds the name
            normalized (see :meth:`_normalize_scheduler`).
        **dask_config: dask configuration set while the graph runs, e.g. ``num_workers=4``
            (size of the thread or process pool; default: the number of CPUs).

    Raises:
        ValueError: for an unknown ``scheduler``, or ``num_workers`` below 1.
        TypeError: ``num_workers`` is not an int.
    """

    shared_file_threshold: int = 2**20
    max_pending: int = 10_000

    def __init__(self, scheduler: str = "threads", **dask_config: Any) -> None:
        self.scheduler = self._normalize_scheduler(scheduler)
        _check_num_workers(dask_config.get("num_workers"))
        self.dask_config = dask_config
        super().__init__()
        self._reset()

    def __repr__(self) -> str:
        return f"<Executor: LocalDaskExecutor(scheduler={self.scheduler!r})>"

    @staticmethod
    def _normalize_scheduler(scheduler: str) -> str:
        """``"threads"``, ``"processes"`` or ``"synchronous"`` for a scheduler name or alias.

        Raises:
            ValueError: for an unknown name (the message lists the names).
        """
        name = _SCHEDULERS.get(scheduler.lower()) if isinstance(scheduler, str) else None
        if name is None:
            allowed = ", ".join(repr(s) for s in _SCHEDULERS)
            raise ValueError(
                f"Unknown LocalDaskExecutor scheduler {scheduler!r}; use one of {allowed}."
            )
        return name

    @property
    def is_process_based(self) -> bool:  # type: ignore[override]
        """True for the ``processes`` scheduler: calls and values are pickled."""
        return self.scheduler == "processes"

    # -- state --------------------------------------------------------------------------------
    def _reset(self) -> None:
        old_dir = getattr(self, "_shared_dir", None)
        if old_dir is not None:
            old_dir()  # remove the previous run's temporary files
        self._pool: Any = None
        self._started = False
        self._counter = itertools.count()
        # key -> (fn, args, kwargs, extra_context, deps) or its pickle, for calls not yet run
        self._pending: dict[str, tuple[Any, tuple[str, ...]]] = {}
        self._results: dict[str, Any] = {}  # key -> value of calls that ran and are still needed
        self._needed_by: dict[str, int] = {}  # key -> number of pending calls using its value
        self._futures: weakref.WeakValueDictionary[str, LocalDaskFuture] = (
            weakref.WeakValueDictionary()
        )
        self._running: set[str] = set()
        # Shared -> its blob: pickled once per run (processes only); forgotten with the Shared
        self._shared: weakref.WeakKeyDictionary[Shared, SharedBlob] = weakref.WeakKeyDictionary()
        self._shared_dir: Any = None  # weakref.finalize removing the temporary directory

    def __getstate__(self) -> dict[str, Any]:
        return {
            "scheduler": self.scheduler,
            "dask_config": self.dask_config,
            "executor_id": self.executor_id,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._reset()

    @property
    def _num_workers(self) -> int:
        n = self.dask_config.get("num_workers")
        if n is None:
            from dask.system import CPU_COUNT

            return CPU_COUNT
        return int(n)

    def _make_pool(self) -> Any:
        if self.scheduler == "threads":
            return DaemonThreadPool(self._num_workers)
        if self.scheduler == "processes":
            from dask.multiprocessing import get_context

            # one pipe per process: a process that dies fails only its own call, and its
            # processes end if this process is killed
            return ProcessPool(self._num_workers, mp_context=get_context())
        return None

    @staticmethod
    def _close_pool(pool: Any, kill: bool) -> None:
        if pool is None:
            return
        if isinstance(pool, DaemonThreadPool):
            pool.shutdown(wait=not kill)
            return
        pool.shutdown(wait=True, kill=kill)  # kill: a running call cannot be interrupted

    @contextmanager
    def start(self) -> Iterator[None]:
        """Create the thread or process pool used by every ``wait`` of this run."""
        self._reset()
        self._pool = self._make_pool()
        self._started = True
        ok = False
        try:
            yield
            if self._pending:
                self._compute(list(self._pending))
            ok = True
        finally:
            pool, self._pool = self._pool, None
            self._reset()
            self._close_pool(pool, kill=not ok)

    # -- submit / wait ------------------------------------------------------------------------
    # ``fn`` is positional-only so that callables may take a keyword argument named ``fn``.
    def submit(  # type: ignore[override]
        self,
        fn: Callable[..., Any],
        /,
        *args: Any,
        extra_context: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> LocalDaskFuture:
        """Add ``fn(*args, **kwargs)`` to the graph; futures in the arguments become edges."""
        key = _call_key(fn, extra_context, next(self._counter))
        deps: list[str] = []

        def _ref(fut: LocalDaskFuture) -> Ref:
            deps.append(fut.key)
            return Ref(fut.key)

        args_t = map_futures(args, LocalDaskFuture, _ref)
        kwargs_t = map_futures(kwargs, LocalDaskFuture, _ref) if kwargs else kwargs
        dep_keys = tuple(dict.fromkeys(deps))
        for d in dep_keys:
            if d not in self._pending and d not in self._results:
                raise ValueError(
                    f"{self!r} was given a future ({d}) that this run does not know: it comes "
                    "from another executor or from an earlier start() of this one."
                )
        payload: Any = (fn, args_t, kwargs_t, extra_context or None, dep_keys)
        if self.scheduler == "processes":
            payload = self._pickle(payload, fn, args, kwargs, extra_context)
        self._pending[key] = (payload, dep_keys)
        needed = self._needed_by
        for d in dep_keys:
            needed[d] = needed.get(d, 0) + 1
        fut = LocalDaskFuture(key, self)
        self._futures[key] = fut
        if self._started and len(self._pending) >= self.max_pending:
            # Run what is queued now, rather than hand dask one enormous graph at the end. Only
            # the calls someone still holds a future for are asked for: dask keeps every value
            # it is asked for until the whole graph is done, so asking for all of them would
            # keep every intermediate result of the batch (a mapped chain's 1 MB values, say)
            # alive at once. The others run as inputs and are freed as soon as they are used.
            futures = self._futures
            self._compute([k for k in self._pending if k in futures])
        return fut

    def _pickle(
        self, payload: Any, fn: Any, args: tuple, kwargs: dict, ctx: dict[str, Any] | None
    ) -> bytes:
        try:
            call_fn, call_args, *rest = payload
            if any(type(a) is Shared for a in call_args):
                call_args = tuple(self._blob(a) if type(a) is Shared else a for a in call_args)
            return dumps((call_fn, call_args, *rest, self._shared_directory()))
        except (TempWriteError, KeyboardInterrupt):
            raise  # (TempWriteError: the value pickled; the disk is the problem)
        except BaseException as exc:  # a __reduce__ may raise SystemExit, say: fails this call
            raise explain_pickling_error(
                "LocalDaskExecutor(scheduler='processes')", fn, args, kwargs, ctx, exc
            ) from exc

    def _blob(self, shared: Shared) -> SharedBlob:
        """The run's :class:`SharedBlob` for ``shared``: pickled the first time it is seen."""
        hit = self._shared.get(shared)
        if hit is not None:
            return hit
        data = dumps(shared)
        token = new_token(f"shared-{shared.name}")
        path = None
        if len(data) >= self.shared_file_threshold:
            path = os.path.join(self._shared_directory(), token)
            write_temp_file(path, data, "LocalDaskExecutor(scheduler='processes')")
            blob = SharedBlob(token, None, path, len(data))
        else:
            blob = SharedBlob(token, data, None, len(data))
        self._shared[shared] = blob
        return blob

    def _shared_directory(self) -> str:
        if self._shared_dir is None or not self._shared_dir.alive:
            import shutil
            import tempfile

            try:
                path = tempfile.mkdtemp(prefix="headwater-shared-")
            except OSError as exc:
                raise TempWriteError.from_os_error(
                    "LocalDaskExecutor(scheduler='processes')", tempfile.gettempdir(), exc
                ) from exc
            self._shared_dir = weakref.finalize(self, shutil.rmtree, path, True)
        return self._shared_dir.peek()[2][0]

    def wait(self, futures: Any) -> Any:
        """Compute whatever ``futures`` still need and return their values in the same shape.

        Raises:
            Exception: the exception a call raised (or an upstream call raised), unchanged.
            WorkerLostError: a worker process died while running a call.
        """
        keys: list[str] = []

        def _collect(fut: LocalDaskFuture) -> LocalDaskFuture:
            keys.append(fut.key)
            return fut

        map_futures(futures, LocalDaskFuture, _collect)
        self._release_unreferenced()
        missing = [k for k in dict.fromkeys(keys) if k not in self._results]
        if missing:
            self._compute(missing)
        results = self._results

        def _value(fut: LocalDaskFuture) -> Any:
            try:
                v = results[fut.key]
            except KeyError:
                raise ValueError(
                    f"{self!r} cannot resolve {fut!r}: it belongs to another executor or to an "
                    "earlier start() of this one."
                ) from None
            t = type(v)
            if t is Failure:
                raise v.exc
            if t is Packed:
                return v.load()
            if t is SharedBlob:
                return v.load(cache=False)
            return v

        return map_futures(futures, LocalDaskFuture, _value)

    def _release_unreferenced(self) -> None:
        """Forget results whose future is gone and that no pending call needs."""
        futures, needed = self._futures, self._needed_by
        dead = [k for k in self._results if k not in futures and k not in needed]
        for k in dead:
            _discard(self._results.pop(k))

    # -- running the graph --------------------------------------------------------------------
    def _compute(self, targets: list[str]) -> None:
        """Run every pending call ``targets`` depend on, plus pending calls nobody holds."""
        from dask._task_spec import DataNode, Task, TaskRef

        pending = self._pending
        futures = self._futures
        # Calls whose future was dropped still have to run (like on every other executor).
        roots = [k for k in targets if k in pending]
        # (a dropped call that a pending call depends on runs as that call's input, and is not
        # requested itself, so that its result is freed as soon as its dependents are done)
        needed = self._needed_by
        roots += [k for k in pending if k not in futures and not needed.get(k)]
        stack = list(roots)
        results = self._results
        batch: set[str] = set()
        dsk: dict[str, Any] = {}
        while stack:
            k = stack.pop()
            if k in batch:
                continue
            batch.add(k)
            payload, deps = pending[k]
            args = []
            for d in deps:
                if d in pending:
                    args.append(TaskRef(d))
                    if d not in batch:
                        stack.append(d)
                else:
                    # A value computed by an earlier pass goes inside the call, not into the
                    # graph as a key of its own: dask's ordering slows down quadratically when
                    # a wide node (a reduce over a map's children) depends on thousands of
                    # such keys.
                    args.append(DataNode(None, results[d]))
            dsk[k] = Task(k, run_node, payload, *args)
        if not batch:
            return
        want = list(dict.fromkeys(roots))
        self._running.clear()
        callbacks = [(None, None, self._on_start_task, self._on_done_task, None)]
        pool = self._pool
        transient = pool is None and self.scheduler != "synchronous"
        if transient:
            pool = self._make_pool()
        try:
            # (a worker process that dies fails only the node it was running: see ProcessPool)
            self._get(dsk, want, pool, callbacks)
        finally:
            if transient:
                self._close_pool(pool, kill=False)

    def _get(self, dsk: dict[str, Any], want: list[str], pool: Any, callbacks: list) -> None:
        import dask

        with dask.config.set(self.dask_config):
            if self.scheduler == "threads":
                from dask.local import get_async

                get_async(pool.submit, pool._max_workers, dsk, want, callbacks=callbacks)
            elif self.scheduler == "processes":
                import dask.multiprocessing as dmp

                # one call per dispatch (dask batches 6 by default): a batch runs its calls one
                # after another in one process, which would break depth-first mapped chains
                chunksize = int(self.dask_config.get("chunksize", 1))
                dmp.get(
                    dsk,
                    want,
                    pool=LossReportingPool(pool),
                    optimize_graph=False,
                    callbacks=callbacks,
                    chunksize=chunksize,
                )
            else:
                from dask.local import get_sync

                get_sync(dsk, want, callbacks=callbacks)

    def _on_start_task(self, key: str, dsk: Any, state: Any) -> None:
        if key in self._pending:
            self._running.add(key)

    def _on_done_task(self, key: str, result: Any, dsk: Any, state: Any, worker_id: Any) -> None:
        entry = self._pending.pop(key, None)
        if entry is None:  # a DataNode: an earlier result
            return
        self._running.discard(key)
        needed = self._needed_by
        if key in self._futures or needed.get(key):
            self._results[key] = result
        else:
            _discard(result)
        for d in entry[1]:
            n = needed[d] - 1
            if n:
                needed[d] = n
            else:
                del needed[d]
                if d not in self._futures:
                    _discard(self._results.pop(d, None))


def _call_key(fn: Any, extra_context: dict[str, Any] | None, n: int) -> str:
    """``<task name>[-<task index>]-<n>`` (as dask names keys), or ``<function name>-<n>``."""
    name = extra_context.get("task_name") if extra_context else None
    if not name:
        return f"{getattr(fn, '__name__', 'call')}-{n}"
    index = extra_context.get("task_index") if extra_context else None
    return f"{name}-{index}-{n}" if isinstance(index, int) else f"{name}-{n}"


def _check_num_workers(n: Any) -> None:
    """``num_workers`` must be a positive int (or absent: one per CPU)."""
    if n is None:
        return
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(
            f"LocalDaskExecutor: num_workers must be a positive int (the size of the thread or "
            f"process pool), got {type(n).__name__} {n!r}; e.g. num_workers=4."
        )
    if n < 1:
        raise ValueError(
            f"LocalDaskExecutor: num_workers must be at least 1, got {n}; leave it out for one "
            "worker per CPU."
        )


def _discard(result: Any) -> None:
    """Remove the file of a result written to disk by a worker process, once it is forgotten."""
    if type(result) is SharedBlob and result.path is not None:
        try:
            os.remove(result.path)
        except OSError:
            pass
