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

If a worker dies in the middle of a call, :meth:`wait` raises :class:`WorkerLostError` rather
than hanging; the flow runner turns it into a ``Failed`` state or a retry.
"""

from __future__ import annotations

import itertools
import logging
import os
import uuid
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from headwater.executors._dask_support import (
    DaemonThreadPool,
    Failure,
    Packed,
    Ref,
    WorkerLostError,
    explain_pickling_error,
    ignore_sigint,
    map_futures,
    run_in_context,
    run_node,
)
from headwater.executors.base import Executor

__all__ = ["DaskExecutor", "LocalDaskExecutor", "LocalDaskFuture", "WorkerLostError"]

_SCHEDULERS = {
    "threads": "threads",
    "threading": "threads",
    "processes": "processes",
    "multiprocessing": "processes",
    "sync": "sync",
    "synchronous": "sync",
    "single-threaded": "sync",
}


class LocalDaskFuture:
    """Handle on a call submitted to a :class:`LocalDaskExecutor`; resolve it with ``wait``."""

    __slots__ = ("key", "__weakref__")

    def __init__(self, key: str) -> None:
        self.key = key

    def __repr__(self) -> str:
        return f"<LocalDaskFuture {self.key}>"


class LocalDaskExecutor(Executor):
    """Run a flow on one of dask's local schedulers.

    ``submit`` only records the call as a node of a dask graph; ``wait`` computes the part of the
    graph it needs in one pass of dask's scheduler, so independent tasks run in parallel and
    mapped chains run depth-first. Results that ``wait`` computes are remembered (nothing runs
    twice); a result is dropped once its future is gone and no pending call needs it. Calls that
    were submitted but never waited on run when ``start()`` exits normally.

    Args:
        scheduler: ``"threads"`` (default; alias ``"threading"``), ``"processes"`` (aliases
            ``"multiprocessing"``) or ``"sync"`` (aliases ``"synchronous"``,
            ``"single-threaded"``).
        **dask_config: dask configuration set while the graph runs, e.g. ``num_workers=4``
            (size of the thread or process pool; default: the number of CPUs).

    Raises:
        ValueError: for an unknown ``scheduler``.
    """

    def __init__(self, scheduler: str = "threads", **dask_config: Any) -> None:
        if scheduler not in _SCHEDULERS:
            allowed = ", ".join(repr(s) for s in _SCHEDULERS)
            raise ValueError(
                f"Unknown LocalDaskExecutor scheduler {scheduler!r}; use one of {allowed}."
            )
        self.scheduler = _SCHEDULERS[scheduler]
        self.dask_config = dask_config
        super().__init__()
        self._reset()

    def __repr__(self) -> str:
        return f"<Executor: LocalDaskExecutor(scheduler={self.scheduler!r})>"

    @property
    def is_process_based(self) -> bool:  # type: ignore[override]
        """True for the ``processes`` scheduler: calls and values are pickled."""
        return self.scheduler == "processes"

    # -- state --------------------------------------------------------------------------------
    def _reset(self) -> None:
        self._pool: Any = None
        self._counter = itertools.count()
        # key -> (fn, args, kwargs, extra_context, deps) or its pickle, for calls not yet run
        self._pending: dict[str, tuple[Any, tuple[str, ...]]] = {}
        self._results: dict[str, Any] = {}  # key -> value of calls that ran and are still needed
        self._needed_by: dict[str, int] = {}  # key -> number of pending calls using its value
        self._futures: weakref.WeakValueDictionary[str, LocalDaskFuture] = (
            weakref.WeakValueDictionary()
        )
        self._running: set[str] = set()

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
            from concurrent.futures import ProcessPoolExecutor

            from dask.multiprocessing import get_context

            return ProcessPoolExecutor(
                self._num_workers, mp_context=get_context(), initializer=ignore_sigint
            )
        return None

    @staticmethod
    def _close_pool(pool: Any, kill: bool) -> None:
        if pool is None:
            return
        if isinstance(pool, DaemonThreadPool):
            pool.shutdown(wait=not kill)
            return
        if kill:
            # ProcessPoolExecutor cannot interrupt a running call: end its processes.
            for proc in list(getattr(pool, "_processes", {}).values()):
                proc.terminate()
            for proc in list(getattr(pool, "_processes", {}).values()):
                proc.join(5)
                if proc.is_alive():
                    proc.kill()
        pool.shutdown(wait=True, cancel_futures=True)

    @contextmanager
    def start(self) -> Iterator[None]:
        """Create the thread or process pool used by every ``wait`` of this run."""
        self._reset()
        self._pool = self._make_pool()
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
    def submit(
        self,
        fn: Callable[..., Any],
        /,
        *args: Any,
        extra_context: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> LocalDaskFuture:
        """Add ``fn(*args, **kwargs)`` to the graph; futures in the arguments become edges."""
        name = extra_context and extra_context.get("task_full_name")
        key = f"{name or getattr(fn, '__name__', 'call')}-{next(self._counter)}"
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
        fut = LocalDaskFuture(key)
        self._futures[key] = fut
        return fut

    def _pickle(
        self, payload: Any, fn: Any, args: tuple, kwargs: dict, ctx: dict[str, Any] | None
    ) -> bytes:
        import pickle

        import cloudpickle

        try:
            return cloudpickle.dumps(payload, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception as exc:
            raise explain_pickling_error(
                "LocalDaskExecutor(scheduler='processes')", fn, args, kwargs, ctx, exc
            ) from exc

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
            return v

        return map_futures(futures, LocalDaskFuture, _value)

    def _release_unreferenced(self) -> None:
        """Forget results whose future is gone and that no pending call needs."""
        futures, needed = self._futures, self._needed_by
        dead = [k for k in self._results if k not in futures and k not in needed]
        for k in dead:
            del self._results[k]

    # -- running the graph --------------------------------------------------------------------
    def _compute(self, targets: list[str]) -> None:
        """Run every pending call ``targets`` depend on, plus pending calls nobody holds."""
        from dask._task_spec import DataNode, Task, TaskRef

        pending = self._pending
        futures = self._futures
        # Calls whose future was dropped still have to run (like on every other executor).
        roots = [k for k in targets if k in pending]
        roots += [k for k in pending if k not in futures]
        stack = list(roots)
        batch: set[str] = set()
        dsk: dict[str, Any] = {}
        while stack:
            k = stack.pop()
            if k in batch:
                continue
            batch.add(k)
            payload, deps = pending[k]
            dsk[k] = Task(k, run_node, payload, *[TaskRef(d) for d in deps])
            for d in deps:
                if d in pending:
                    if d not in batch:
                        stack.append(d)
                elif d not in dsk:
                    dsk[d] = DataNode(d, self._results[d])
        if not batch:
            return
        want = list(dict.fromkeys(roots))
        self._running.clear()
        callbacks = [(None, None, self._on_start_task, self._on_done_task, None)]
        pool = self._pool
        transient = pool is None and self.scheduler != "sync"
        if transient:
            pool = self._make_pool()
        lost: list[str] = []
        try:
            self._get(dsk, want, pool, callbacks)
        except BaseException as exc:
            if not _is_broken_pool(exc) or not self._running:
                raise
            # A worker process died. The calls that were running fail with WorkerLostError
            # (their dependents fail with it too); everything else runs again on a new pool.
            lost = sorted(self._running)
            for k in lost:
                err = WorkerLostError(
                    f"The worker process running {k!r} died (killed, out of memory or crashed); "
                    "the worker was lost.",
                    key=k,
                    task_name=k.rpartition("-")[0],
                )
                err.__cause__ = exc
                self._on_done_task(k, Failure(err), None, None, None)
            if pool is not None:
                self._close_pool(pool, kill=True)
                pool = self._make_pool()
                if not transient:
                    self._pool = pool
        finally:
            if transient:
                self._close_pool(pool, kill=False)
        if lost:
            self._compute(targets)

    def _get(self, dsk: dict[str, Any], want: list[str], pool: Any, callbacks: list) -> None:
        import dask

        with dask.config.set(self.dask_config):
            if self.scheduler == "threads":
                from dask.local import get_async

                get_async(pool.submit, pool._max_workers, dsk, want, callbacks=callbacks)
            elif self.scheduler == "processes":
                import dask.multiprocessing as dmp

                dmp.get(dsk, want, pool=pool, optimize_graph=False, callbacks=callbacks)
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
        for d in entry[1]:
            n = needed[d] - 1
            if n:
                needed[d] = n
            else:
                del needed[d]
                if d not in self._futures:
                    self._results.pop(d, None)


def _is_broken_pool(exc: BaseException) -> bool:
    from concurrent.futures.process import BrokenProcessPool

    return isinstance(exc, BrokenProcessPool)


# ------------------------------------------------------------------------------------------------
def _import_object(path: str) -> Any:
    import importlib

    module, _, name = path.rpartition(".")
    if not module:
        raise ValueError(f"cluster_class {path!r} is not a dotted path like 'package.Class'.")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"cannot import cluster_class {path!r}: {exc}") from exc


def _parse_resources(tags: Any) -> dict[str, float] | None:
    resources: dict[str, float] = {}
    for tag in tags or ():
        if not isinstance(tag, str) or not tag.startswith("dask-resource:"):
            continue
        spec = tag[len("dask-resource:") :]
        name, sep, amount = spec.partition("=")
        try:
            if not sep or not name:
                raise ValueError
            resources[name.strip()] = float(amount)
        except ValueError:
            raise ValueError(
                f"Task tag {tag!r} is not a valid dask resource tag; write it as "
                "'dask-resource:NAME=AMOUNT', e.g. 'dask-resource:GPU=1'."
            ) from None
    return resources or None


def _readable_key(extra_context: dict[str, Any] | None) -> str | None:
    if not extra_context:
        return None
    name = extra_context.get("task_full_name") or extra_context.get("task_name")
    if not name:
        return None
    name = str(name)
    index = extra_context.get("map_index")
    if isinstance(index, int) and index >= 0 and not name.endswith(f"[{index}]"):
        name = f"{name}-{index}"
    return f"{name}-{uuid.uuid4().hex}"


class DaskExecutor(Executor):
    """Run a flow on a ``dask.distributed`` cluster.

    Args:
        address: address of a running scheduler, e.g. ``"tcp://10.0.0.1:8786"``. Default:
            ``config.engine.executor.dask.address`` if set, else a temporary cluster is started
            for each run and closed afterwards (also on errors and Ctrl-C).
        cluster_class: the temporary cluster's class, or its dotted path. Default:
            ``config.engine.executor.dask.cluster_class`` (``distributed.LocalCluster``).
        cluster_kwargs: keyword arguments for ``cluster_class``.
        adapt_kwargs: if given, ``cluster.adapt(**adapt_kwargs)`` turns on adaptive scaling.
        client_kwargs: keyword arguments for ``distributed.Client`` (``set_as_default`` is
            False unless given).
        debug: keep the temporary ``LocalCluster``'s logs (they are silenced by default).

    Submissions are keyed ``<task_full_name>[-<map_index>]-<uuid>`` when the flow runner passes
    those keys in ``extra_context``, so the dashboard shows task names; task tags
    ``dask-resource:NAME=N`` become ``resources={NAME: N}``.

    Large arguments: a non-future argument of at least ``scatter_threshold`` bytes (1 MiB) passed
    directly in ``args``/``kwargs`` is scattered to the cluster once and the same cluster copy is
    reused by later submissions of that same object during the run. This is safe because a
    submission never sees later changes to its arguments anyway (they are pickled when
    submitted), and the executor holds a reference to each scattered object for the whole run, so
    an object id can never be reused by another value.
    """

    scatter_threshold: int = 2**20

    def __init__(
        self,
        address: str | None = None,
        cluster_class: str | Callable[..., Any] | None = None,
        cluster_kwargs: dict[str, Any] | None = None,
        adapt_kwargs: dict[str, Any] | None = None,
        client_kwargs: dict[str, Any] | None = None,
        debug: bool = False,
    ) -> None:
        from headwater.configuration import config

        dask_conf = config.get("engine", {}).get("executor", {}).get("dask", {})
        if address is None:
            address = dask_conf.get("address") or None
        if cluster_class is None:
            cluster_class = dask_conf.get("cluster_class") or "distributed.LocalCluster"
        self.address = address
        self.cluster_class = cluster_class
        self.cluster_kwargs = dict(cluster_kwargs or {})
        self.adapt_kwargs = dict(adapt_kwargs or {})
        self.client_kwargs = dict(client_kwargs or {})
        self.client_kwargs.setdefault("set_as_default", False)
        self.debug = debug
        super().__init__()
        self._reset()

    def __repr__(self) -> str:
        where = self.address or "temporary cluster"
        return f"<Executor: DaskExecutor({where})>"

    is_process_based = True

    def _reset(self) -> None:
        self.client: Any = None
        self.cluster: Any = None
        self._futures: weakref.WeakSet = weakref.WeakSet()
        self._scattered: dict[int, tuple[Any, Any]] = {}
        self._names: dict[str, str] = {}

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for k in ("client", "cluster", "_futures", "_scattered", "_names"):
            state.pop(k, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._reset()

    # -- start --------------------------------------------------------------------------------
    def _make_cluster(self) -> Any:
        import distributed

        cls = self.cluster_class
        if isinstance(cls, str):
            cls = _import_object(cls)
        kwargs = dict(self.cluster_kwargs)
        if isinstance(cls, type) and issubclass(cls, distributed.LocalCluster) and not self.debug:
            kwargs.setdefault("silence_logs", logging.CRITICAL)
        return cls(**kwargs)

    @contextmanager
    def start(self) -> Iterator[None]:
        """Connect to the scheduler, or start a temporary cluster, for one flow run."""
        from distributed import Client

        self._reset()
        try:
            if self.address:
                self.client = Client(self.address, **self.client_kwargs)
            else:
                self.cluster = self._make_cluster()
                if self.adapt_kwargs:
                    self.cluster.adapt(**self.adapt_kwargs)
                self.client = Client(self.cluster, **self.client_kwargs)
            yield
        except BaseException as exc:
            self._cancel_outstanding()
            if isinstance(exc, KeyboardInterrupt):
                self._kill_own_workers()
            raise
        finally:
            self._shutdown()

    def _cancel_outstanding(self) -> None:
        client, futures = self.client, [f for f in self._futures if not f.done()]
        if client is None or not futures:
            return
        try:
            client.cancel(futures, force=True)
        except Exception:  # noqa: BLE001 - best effort while tearing down
            pass

    def _kill_own_workers(self) -> None:
        """On Ctrl-C, end the temporary cluster's worker processes at once.

        A graceful close would wait for the running calls to finish; the run is being abandoned,
        so its worker processes are told not to restart and are killed instead.
        """
        workers = getattr(self.cluster, "workers", None)
        if not workers:
            return
        import signal

        for worker in list(workers.values()):
            try:
                pid = worker.pid
                if not pid or pid == os.getpid():
                    continue
                worker.close_gracefully(reason="headwater-interrupted")
                os.kill(pid, signal.SIGKILL)
            except Exception:  # noqa: BLE001 - best effort; the close below still runs
                pass

    def _shutdown(self) -> None:
        client, cluster = self.client, self.cluster
        self._reset()
        try:
            if client is not None:
                client.close(timeout=10)
        finally:
            if cluster is not None:
                cluster.close(timeout=10)

    # -- submit / wait ------------------------------------------------------------------------
    def submit(
        self,
        fn: Callable[..., Any],
        /,
        *args: Any,
        extra_context: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        """Submit ``fn(*args, **kwargs)`` to the cluster; return a ``distributed.Future``."""
        client = self.client
        if client is None:
            raise RuntimeError(f"{self!r} is not started: submit inside `with executor.start():`.")
        options: dict[str, Any] = {"pure": False}
        key = _readable_key(extra_context)
        if key is not None:
            options["key"] = key
        if extra_context and extra_context.get("task_tags"):
            resources = _parse_resources(extra_context["task_tags"])
            if resources:
                options["resources"] = resources
        send_args = tuple(self._maybe_scatter(a) for a in args)
        send_kwargs = {k: self._maybe_scatter(v) for k, v in kwargs.items()}
        try:
            fut = client.submit(
                run_in_context, fn, extra_context or None, send_args, send_kwargs, **options
            )
        except Exception as exc:
            if _looks_like_pickling_error(exc):
                raise explain_pickling_error(
                    "DaskExecutor", fn, args, kwargs, extra_context, exc
                ) from exc
            raise
        self._futures.add(fut)
        if key is not None:
            self._names[fut.key] = str(extra_context.get("task_full_name"))  # type: ignore[union-attr]
        return fut

    def _maybe_scatter(self, value: Any) -> Any:
        t = type(value)
        if t in (int, float, bool, str, type(None)):
            return value
        from distributed import Future

        if isinstance(value, Future):
            return value
        ident = id(value)
        hit = self._scattered.get(ident)
        if hit is not None and hit[0] is value:
            return hit[1]
        from dask.sizeof import sizeof

        try:
            size = sizeof(value)
        except Exception:  # noqa: BLE001 - unknown sizes are treated as small
            return value
        if size < self.scatter_threshold:
            return value
        if isinstance(value, (list, tuple, set, frozenset, dict)):
            found: list[Any] = []
            map_futures(value, Future, found.append)
            if found:  # futures inside must stay task dependencies, not scattered data
                return value
        [remote] = self.client.scatter([value], hash=False)
        self._scattered[ident] = (value, remote)
        return remote

    def wait(self, futures: Any) -> Any:
        """Gather the values of ``futures`` (any nesting of lists, tuples, sets and dicts).

        Raises:
            Exception: the exception a call raised (or an upstream call raised), unchanged.
            WorkerLostError: the worker running a call died (``distributed.KilledWorker``).
        """
        if self.client is None:
            raise RuntimeError(f"{self!r} is not started: wait inside `with executor.start():`.")
        from distributed import KilledWorker

        try:
            return self.client.gather(futures)
        except KilledWorker as exc:
            key = exc.task
            name = self._names.get(key)
            what = f"task {name!r}" if name else f"call {key!r}"
            raise WorkerLostError(
                f"The dask worker running {what} was lost (its process died: killed, out of "
                f"memory or crashed; last worker {getattr(exc.last_worker, 'address', '?')}).",
                key=key,
                task_name=name,
            ) from exc


def _looks_like_pickling_error(exc: BaseException) -> bool:
    import pickle

    if isinstance(exc, pickle.PicklingError):
        return True
    text = str(exc).lower()
    return "pickle" in text or "serializ" in text
