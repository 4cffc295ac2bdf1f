"""``LocalDaskExecutor``: a flow on dask's local schedulers (see :mod:`headwater.executors.dask`).

Import it from :mod:`headwater.executors` or :mod:`headwater.executors.dask`; this private
module only keeps that one short. dask is imported when a graph runs, not here.
"""

from __future__ import annotations

import itertools
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from headwater.executors._call_pickler import CallPickler
from headwater.executors._dask_support import run_node
from headwater.executors._local_graph import (
    Pending,
    build_graph,
    call_key,
    check_num_workers,
    close_pool,
    discard,
    make_pool,
    normalize_scheduler,
    run_graph,
)
from headwater.executors._nested import map_futures
from headwater.executors._payloads import Failure, Packed, Ref, SharedBlob
from headwater.executors.base import Executor
from headwater.utilities.imports import require

__all__ = ["LocalDaskExecutor", "LocalDaskFuture"]

_PROCESSES = "LocalDaskExecutor(scheduler='processes')"


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

    With ``"processes"``, calls and their values are pickled (``pickles_calls`` is true), and a
    :class:`~headwater.executors.base.Shared` argument (the flow runner passes each run's
    context and each task's runner this way) is pickled once per run and unpickled once per
    worker process; one of at least ``shared_file_threshold`` bytes (1 MiB) reaches the
    processes through a temporary file instead of each call's message.

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
        require("dask", "dask", feature="LocalDaskExecutor")
        self.scheduler = self._normalize_scheduler(scheduler)
        check_num_workers(dask_config.get("num_workers"))
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
        return normalize_scheduler(scheduler)

    @property
    def pickles_calls(self) -> bool:  # type: ignore[override]
        """True for the ``processes`` scheduler: calls and values are pickled."""
        return self.scheduler == "processes"

    # -- state --------------------------------------------------------------------------------
    def _reset(self) -> None:
        old = getattr(self, "_pickler", None)
        if old is not None:
            old.close()  # remove the previous run's temporary files
        self._pool: Any = None
        self._started = False
        self._counter = itertools.count()
        # key -> (fn, args, kwargs, extra_context, deps) or its pickle, for calls not yet run
        self._pending: dict[str, Pending] = {}
        self._results: dict[str, Any] = {}  # key -> value of calls that ran and are still needed
        self._needed_by: dict[str, int] = {}  # key -> number of pending calls using its value
        self._futures: weakref.WeakValueDictionary[str, LocalDaskFuture] = (
            weakref.WeakValueDictionary()
        )
        self._pickler = CallPickler(_PROCESSES) if self.scheduler == "processes" else None

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

            return int(CPU_COUNT)
        return int(n)

    @contextmanager
    def start(self) -> Iterator[None]:
        """Create the thread or process pool used by every ``wait`` of this run."""
        self._reset()
        self._pool = make_pool(self.scheduler, self._num_workers)
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
            close_pool(pool, kill=not ok)

    # -- submit / wait ------------------------------------------------------------------------
    # ``fn`` is positional-only so that callables may take a keyword argument named ``fn``.
    def submit(
        self,
        fn: Callable[..., Any],
        /,
        *args: Any,
        extra_context: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> LocalDaskFuture:
        """Add ``fn(*args, **kwargs)`` to the graph; futures in the arguments become edges."""
        key = call_key(fn, extra_context, next(self._counter))
        deps: list[str] = []

        def _ref(fut: LocalDaskFuture) -> Ref:
            deps.append(fut.key)
            return Ref(fut.key)

        args_t = map_futures(args, LocalDaskFuture, _ref)
        kwargs_t = map_futures(kwargs, LocalDaskFuture, _ref) if kwargs else kwargs
        dep_keys = tuple(dict.fromkeys(deps))
        self._check_known(dep_keys)
        payload: Any = (fn, args_t, kwargs_t, extra_context or None, dep_keys)
        if self.scheduler == "processes":
            if self._pickler is None:  # the scheduler was changed since start() or __init__
                self._pickler = CallPickler(_PROCESSES)
            payload = self._pickler.pickle_call(fn, args, payload, self.shared_file_threshold)
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

    def _check_known(self, dep_keys: tuple[str, ...]) -> None:
        for d in dep_keys:
            if d not in self._pending and d not in self._results:
                raise ValueError(
                    f"{self!r} was given a future ({d}) that this run does not know: it comes "
                    "from another executor or from an earlier start() of this one."
                )

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
        return map_futures(futures, LocalDaskFuture, self._value)

    def _value(self, fut: LocalDaskFuture) -> Any:
        """The value of ``fut``'s call, computed already (its exception raised)."""
        try:
            v = self._results[fut.key]
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

    def _release_unreferenced(self) -> None:
        """Forget results whose future is gone and that no pending call needs."""
        futures, needed = self._futures, self._needed_by
        dead = [k for k in self._results if k not in futures and k not in needed]
        for k in dead:
            discard(self._results.pop(k))

    # -- running the graph --------------------------------------------------------------------
    def _held(self, key: str) -> bool:
        return key in self._futures or bool(self._needed_by.get(key))

    def _compute(self, targets: list[str]) -> None:
        """Run every pending call ``targets`` depend on, plus pending calls nobody holds."""
        dsk, want = build_graph(targets, self._pending, self._results, self._held, run_node)
        if not dsk:
            return
        callbacks = [(None, None, None, self._on_done_task, None)]
        pool = self._pool
        transient = pool is None and self.scheduler != "synchronous"
        if transient:  # wait() outside start(): a pool for this pass only
            pool = make_pool(self.scheduler, self._num_workers)
        try:
            run_graph(self.scheduler, dsk, want, pool, callbacks, self.dask_config)
        finally:
            if transient:
                close_pool(pool, kill=False)

    def _on_done_task(self, key: str, result: Any, dsk: Any, state: Any, worker_id: Any) -> None:
        """dask's callback after each node: keep its result while it is needed."""
        entry = self._pending.pop(key, None)
        if entry is None:  # a DataNode: an earlier result
            return
        needed = self._needed_by
        if key in self._futures or needed.get(key):
            self._results[key] = result
        else:
            discard(result)
        for d in entry[1]:
            n = needed[d] - 1
            if n:
                needed[d] = n
            else:
                del needed[d]
                if d not in self._futures:
                    discard(self._results.pop(d, None))


LocalDaskExecutor.__module__ = "headwater.executors.dask"
LocalDaskFuture.__module__ = "headwater.executors.dask"
