"""``DaskExecutor``: run a flow on a ``dask.distributed`` cluster (see :mod:`headwater.executors.dask`).

Import it from :mod:`headwater.executors` or :mod:`headwater.executors.dask`; this private module
only keeps that module short. distributed is imported when an executor starts, not here.
"""

from __future__ import annotations

import itertools
import logging
import threading
import uuid
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from headwater.executors._cluster_calls import (
    InLoopBaseException,
    connect,
    construct,
    gather_guarded,
    kill_workers,
    looks_like_pickling_error,
    lost_error,
    original_error,
    revive,
    run_cluster_call,
)
from headwater.executors._cluster_kwargs import check_cluster_kwargs
from headwater.executors._dask_options import DaskOptions, WorkerEventLog, cluster_options
from headwater.executors._dask_support import (
    CarriedBaseException,
    Ref,
    SharedBlob,
    dumps,
    explain_pickling_error,
    load_shared,
    map_futures,
)
from headwater.executors.base import Executor, Shared

__all__ = ["DaskExecutor", "DaskFuture"]


class DaskExecutor(DaskOptions, Executor):
    """Run a flow on a ``dask.distributed`` cluster.

    Args:
        address: address of a running scheduler, e.g. ``"tcp://10.0.0.1:8786"``. Default:
            ``config.engine.executor.dask.address`` if set, else a temporary cluster is started
            for each run and closed afterwards (also on errors and Ctrl-C). With an address,
            ``cluster_class`` and ``cluster_kwargs`` are ``None`` (giving them: ``ValueError``).
        cluster_class: the temporary cluster's class, or its dotted path (imported when first
            read). Default: ``config.engine.executor.dask.cluster_class`` (``LocalCluster``).
        cluster_kwargs: keyword arguments for ``cluster_class``; a ``LocalCluster`` gets
            ``silence_logs=logging.CRITICAL`` unless given (``logging.WARNING`` with ``debug``).
        adapt_kwargs: if given, ``cluster.adapt(**adapt_kwargs)`` turns on adaptive scaling.
        client_kwargs: keyword arguments for ``distributed.Client`` (``set_as_default`` is
            False unless given).
        debug: keep more of the temporary ``LocalCluster``'s logs (see ``cluster_kwargs``).
        watch_worker_status: log the workers added and removed (default: unless adapting).
        performance_report_path: write dask's HTML performance report of each run there.

    Submissions are keyed ``<task name>[-<task index>]-<id>`` (a 32-digit hex id) when the flow
    runner passes those keys in ``extra_context``, so the dashboard shows task names and groups
    mapped children under their task; task tags ``dask-resource:NAME=N`` become
    ``resources={NAME: N}``.

    ``submit`` returns a :class:`DaskFuture`. Calls are pickled when submitted and reach the
    scheduler in batches: those submitted within ``batch_delay`` seconds (10 ms), at most
    ``batch_size`` (1,000) at a time, go as one graph, in submission order.

    Data sent once: a :class:`~headwater.executors.base.Shared` argument (the flow runner passes
    each run's context and each task's runner, with its constant inputs, this way) travels
    inside the first call that uses it; from its second use on — or from the first, when it
    pickles to ``scatter_threshold`` bytes (1 MiB) or more — it becomes one task of its own on
    the cluster, which every later call depends on, so each worker receives it once (and the
    scheduler can rebuild it if the worker holding it dies). Another top-level argument of at
    least ``scatter_threshold`` bytes is scattered to the cluster rather than embedded in the
    task graph; an immutable one (``bytes``, ``frozenset``) submitted again is not sent again.
    """

    scatter_threshold: int = 2**20
    batch_size: int = 1000
    batch_delay: float = 0.01

    def __init__(
        self,
        address: str | None = None,
        cluster_class: str | Callable[..., Any] | None = None,
        cluster_kwargs: dict[str, Any] | None = None,
        adapt_kwargs: dict[str, Any] | None = None,
        client_kwargs: dict[str, Any] | None = None,
        debug: bool = False,
        watch_worker_status: bool | None = None,
        performance_report_path: str | None = None,
    ) -> None:
        from headwater.configuration import config

        dask_conf = config.get("engine", {}).get("executor", {}).get("dask", {})
        address, cluster_class, cluster_kwargs = cluster_options(
            address, cluster_class, cluster_kwargs, debug, dask_conf
        )
        self.address = address
        self._cluster_class = cluster_class
        self.cluster_kwargs = cluster_kwargs
        if callable(cluster_class) and cluster_kwargs:  # cheap now; a name is checked at start
            check_cluster_kwargs(cluster_class, cluster_kwargs)
        self.adapt_kwargs = dict(adapt_kwargs or {})
        self.client_kwargs = dict(client_kwargs or {})
        self.client_kwargs.setdefault("set_as_default", False)
        self.debug = debug
        self.watch_worker_status = watch_worker_status
        self.performance_report_path = performance_report_path
        super().__init__()
        self._reset()

    def __repr__(self) -> str:
        where = self.address or "temporary cluster"
        return f"<Executor: DaskExecutor({where})>"

    is_process_based = True

    def _reset(self) -> None:
        self.client: Any = None
        self.cluster: Any = None
        self._futures: weakref.WeakSet | None = None  # the run's distributed futures, once started
        self._watch_dask_events_task: WorkerEventLog | None = None
        self._scattered: dict[int, tuple[Any, Any]] = {}
        self._names: dict[Any, str] = {}
        # Shared -> (its first-use SharedBlob, or its task's future); forgotten with the Shared
        self._shared: weakref.WeakKeyDictionary[Shared, Any] = weakref.WeakKeyDictionary()
        # calls submitted but not yet sent: (future, dask Task, dependencies, resources)
        self._batch: list[tuple[DaskFuture, Any, dict, Any]] = []
        self._lock = threading.RLock()
        self._flush_error: BaseException | None = None
        self._run = object()  # tells this start()'s futures from others'
        # keys end in a 32-digit hex id: random for each start(), then counting
        self._key_prefix = uuid.uuid4().hex[:16]
        self._counter = itertools.count()
        self._future_types: tuple[type, ...] = (DaskFuture,)

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for k in (
            "client",
            "cluster",
            "_futures",
            "_watch_dask_events_task",
            "_scattered",
            "_names",
            "_shared",
            "_batch",
            "_lock",
            "_flush_error",
            "_run",
            "_future_types",
            "_key_prefix",
            "_counter",
        ):
            state.pop(k, None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._reset()

    # -- start --------------------------------------------------------------------------------
    def _make_cluster(self) -> Any:
        import distributed

        cls = self.cluster_class
        kwargs = dict(self.cluster_kwargs or {})
        check_cluster_kwargs(cls, kwargs)
        if isinstance(cls, type) and issubclass(cls, distributed.LocalCluster):
            kwargs.setdefault("silence_logs", logging.WARNING if self.debug else logging.CRITICAL)
        return construct(cls, kwargs)

    @contextmanager
    def start(self) -> Iterator[None]:
        """Connect to the scheduler, or start a temporary cluster, for one flow run."""
        from distributed import Client, Future

        self._reset()
        self._future_types = (DaskFuture, Future)
        self._futures = weakref.WeakSet()
        try:
            self._log_connecting()
            if self.address:
                self.client = connect(Client, self.address, self.client_kwargs)
            else:
                self.cluster = self._make_cluster()
                if self.adapt_kwargs:
                    self.cluster.adapt(**self.adapt_kwargs)
                self.client = connect(Client, self.cluster, self.client_kwargs)
            with self._run_extras():  # worker event log, performance report
                yield
        except BaseException as exc:
            self._cancel_outstanding()
            if isinstance(exc, KeyboardInterrupt):
                kill_workers(self.cluster)
            raise
        finally:
            self._shutdown()

    def _cancel_outstanding(self) -> None:
        with self._lock:
            self._batch = []
        client, futures = self.client, [f for f in self._futures or () if not f.done()]
        if client is None or not futures:
            return
        try:
            client.cancel(futures, force=True)
        except Exception:  # noqa: BLE001 - best effort while tearing down
            pass

    def _shutdown(self) -> None:
        client, cluster = self.client, self.cluster
        watcher = self._watch_dask_events_task
        if watcher is not None:
            watcher.stop()
        self._reset()
        try:
            if client is not None:
                client.close(timeout=10)
        finally:
            if cluster is not None:
                cluster.close(timeout=10)

    # -- submit / wait ------------------------------------------------------------------------
    # ``fn`` is positional-only so that callables may take a keyword argument named ``fn``.
    def submit(  # type: ignore[override]
        self,
        fn: Callable[..., Any],
        /,
        *args: Any,
        extra_context: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> DaskFuture:
        """Queue ``fn(*args, **kwargs)`` for the cluster and return its :class:`DaskFuture`.

        The call is pickled here (so what cannot be pickled fails at once, with an explanation)
        and reaches the scheduler with the calls submitted just before or after it, in one
        message: at the latest after ``batch_delay`` seconds or ``batch_size`` calls, and always
        before :meth:`wait` looks for a value.
        """
        if self.client is None:
            raise RuntimeError(f"{self!r} is not started: submit inside `with executor.start():`.")
        prep = self._prep_dask_kwargs(extra_context, getattr(fn, "__name__", "call"))
        key, resources = prep["key"], prep.get("resources")
        deps: dict[Any, Any] = {}  # key -> what keeps it alive until the call is sent
        future_types = self._future_types

        def _ref(fut: Any) -> Ref:
            if type(fut) is DaskFuture and fut.run is not self._run:
                raise ValueError(
                    f"{self!r} was given a future ({fut.key}) that this run does not know: it "
                    "comes from another executor or from an earlier start() of this one."
                )
            deps[fut.key] = fut
            return Ref(fut.key)

        try:
            send_args = tuple(self._share(a) if type(a) is Shared else a for a in args)
            send_args = map_futures(send_args, future_types, _ref)
            send_kwargs = map_futures(kwargs, future_types, _ref) if kwargs else kwargs
            payload = (fn, send_args, send_kwargs, extra_context or None, tuple(deps))
            data = dumps(payload)
            if len(data) >= self.scatter_threshold:
                data = self._scatter_large(payload, deps, _ref)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:
            # a __reduce__ raising SystemExit, say, fails this call, like any pickling error
            if not isinstance(exc, Exception) or looks_like_pickling_error(exc):
                raise explain_pickling_error(
                    "DaskExecutor", fn, args, kwargs, extra_context, exc
                ) from exc
            raise
        fut = DaskFuture(key, self._run)
        # what it takes to send the call again if its worker dies before it starts: the
        # pickled call, and its dependencies by reference (never kept alive by it)
        refs = tuple(weakref.ref(d) if type(d) is DaskFuture else d.key for d in deps.values())
        fut.spec = (run_cluster_call, data, refs, resources)
        self._queue(fut, run_cluster_call, data, deps, resources)
        if extra_context and extra_context.get("task_full_name"):
            self._names[key] = str(extra_context["task_full_name"])
        return fut

    def _share(self, shared: Shared) -> Any:
        """What to send for ``shared``: its blob on first use, then its task's future."""
        hit = self._shared.get(shared)
        if hit is not None:
            if type(hit) is SharedBlob:  # second use: from now on, a task of its own
                hit = self._shared[shared] = self._submit_shared(shared, hit.data)  # type: ignore[arg-type]
            return hit
        data = dumps(shared)
        if len(data) >= self.scatter_threshold:
            fut = self._shared[shared] = self._submit_shared(shared, data)
            return fut
        token = f"shared-{self._key_prefix}{next(self._counter):016x}"
        blob = self._shared[shared] = SharedBlob(token, data, None, len(data))
        return blob

    def _submit_shared(self, shared: Shared, data: bytes) -> DaskFuture:
        key = f"{shared.name}-shared-{self._key_prefix}{next(self._counter):016x}"
        fut = DaskFuture(key, self._run)
        # unpickling it has no effects, so it is always sent again if lost; pickled again then
        fut.spec = (load_shared, weakref.ref(shared), (), None)
        self._queue(fut, load_shared, data, {}, None)
        return fut

    def _scatter_large(self, payload: tuple, deps: dict[Any, Any], ref: Callable) -> bytes:
        """Scatter the large top-level arguments of a call; return the call pickled again."""
        from dask.sizeof import sizeof

        fn, args, kwargs, ctx, _ = payload

        def lighten(value: Any) -> Any:
            t = type(value)
            if t in (int, float, bool, str, type(None), Ref, SharedBlob):
                return value
            try:
                if sizeof(value) < self.scatter_threshold:
                    return value
            except Exception:  # noqa: BLE001 - unknown sizes are treated as small
                return value
            found: list[Any] = []
            map_futures(value, Ref, found.append)
            if found:  # futures inside must stay task dependencies, not scattered data
                return value
            hit = self._scattered.get(id(value))
            if hit is not None and hit[0] is value:
                return ref(hit[1])
            [remote] = self.client.scatter([value], hash=False)
            if t in (bytes, frozenset):  # cannot change: the cluster copy stays valid
                self._scattered[id(value)] = (value, remote)
            return ref(remote)

        args = tuple(lighten(a) for a in args)
        kwargs = {k: lighten(v) for k, v in kwargs.items()}
        import warnings

        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Sending large graph")
            return dumps((fn, args, kwargs, ctx, tuple(deps)))

    # -- batches ------------------------------------------------------------------------------
    def _queue(
        self, fut: DaskFuture, func: Callable, data: bytes, deps: dict, resources: Any
    ) -> None:
        from dask._task_spec import Task, TaskRef

        task = Task(fut.key, func, data, *[TaskRef(k) for k in deps])
        with self._lock:
            batch = self._batch
            batch.append((fut, task, deps, resources))
            if len(batch) >= self.batch_size:
                self._flush_locked()
            elif len(batch) == 1:
                # the calls queued in the next ``batch_delay`` seconds go with this one
                timer = threading.Timer(self.batch_delay, self._flush_later, (self._run,))
                timer.daemon = True
                timer.start()

    def _flush_later(self, run: object) -> None:
        with self._lock:
            if run is self._run and self.client is not None:
                try:
                    self._flush_locked()
                except BaseException as exc:  # noqa: BLE001 - raised by the next wait
                    self._flush_error = exc

    def _flush(self) -> None:
        """Send the queued calls now."""
        with self._lock:
            self._flush_locked()
        if self._flush_error is not None:
            exc, self._flush_error = self._flush_error, None
            raise exc

    def _flush_locked(self) -> None:
        """Send the queued calls, one message per run of calls with the same resources."""
        batch, self._batch = self._batch, []
        i = 0
        while i < len(batch):
            resources = batch[i][3]
            j = i + 1
            while j < len(batch) and batch[j][3] == resources:
                j += 1
            self._send(batch[i:j], resources)
            i = j

    def _send(self, items: list, resources: dict[str, float] | None) -> None:
        client = self.client
        dsk = {fut.key: task for fut, task, _, _ in items}
        keys = list(dsk)
        try:
            from dask._expr import LLGExpr
            from distributed.spans import SpanMetadata
        except ImportError:  # pragma: no cover - other dask versions
            LLGExpr = None  # noqa: N806
        if LLGExpr is not None and hasattr(client, "_graph_to_futures"):
            # like client.map: one message, run in submission order (so mapped chains run
            # depth-first)
            futures = client._graph_to_futures(
                LLGExpr(dsk, _determ_token=uuid.uuid4().hex),
                keys,
                span_metadata=SpanMetadata(collections=[{"type": "Future"}]),
                internal_priority={k: n for n, k in enumerate(keys)},
                resources=resources,
                fifo_timeout="100ms",
            )
        else:  # pragma: no cover - other distributed versions
            futures = dict(zip(keys, client.get(dsk, keys, sync=False, resources=resources)))
        for fut, _, _, _ in items:
            fut.future = futures[fut.key]
            self._futures.add(fut.future)

    def wait(self, futures: Any) -> Any:
        """Gather the values of ``futures`` (any nesting of lists, tuples, sets and dicts).

        Raises:
            Exception: the exception a call raised (or an upstream call raised), unchanged.
            WorkerLostError: the worker running a call died (``distributed.KilledWorker``).
        """
        if self.client is None:
            raise RuntimeError(f"{self!r} is not started: wait inside `with executor.start():`.")
        from distributed import KilledWorker

        def _future(fut: DaskFuture) -> Any:
            if fut.run is not self._run or fut.future is None:
                raise ValueError(
                    f"{self!r} cannot resolve {fut!r}: it belongs to another executor or to an "
                    "earlier start() of this one."
                )
            return fut.future

        while True:
            self._flush()
            try:
                return self.client.sync(
                    gather_guarded, self.client, map_futures(futures, DaskFuture, _future)
                )
            except KilledWorker as exc:
                # calls that were only queued on the lost worker (or that lost a shared
                # input with it) are sent again; a call that had started there is lost
                if not self._revive(futures):
                    raise lost_error(exc, self._names) from exc
            except (CarriedBaseException, InLoopBaseException) as exc:
                error = original_error(exc, self._names)  # SystemExit, GeneratorExit...
                break
        raise error

    def _revive(self, futures: Any) -> bool:
        """Send again the calls among ``futures`` that failed only because a worker was lost.

        Returns:
            Whether any call was sent again (see :func:`revive`).
        """
        flat: list[DaskFuture] = []
        map_futures(futures, DaskFuture, flat.append)
        return revive(flat, self.client, self._resend)

    def _resend(self, fut: DaskFuture, func: Any, data: bytes, deps: dict, resources: Any) -> None:
        """Queue ``fut``'s call again, under a new key (its old key is an error on the cluster)."""
        old, ident = fut.key, f"{self._key_prefix}{next(self._counter):016x}"
        fut.key = f"{old[: -len(ident)]}{ident}"
        fut.future = None
        fut.revived += 1
        if old in self._names:
            self._names[fut.key] = self._names.pop(old)
        self._queue(fut, func, data, deps, resources)


class DaskFuture:
    """Handle on a call submitted to a :class:`DaskExecutor`; resolve it with ``wait``.

    ``key`` is the call's key on the cluster (as the dashboard shows it); ``future`` the
    ``distributed.Future`` once the call has been sent to the scheduler.
    """

    __slots__ = ("key", "future", "run", "spec", "revived", "__weakref__")

    def __init__(self, key: str, run: object) -> None:
        self.key = key
        self.future: Any = None
        self.run = run
        # (function, pickled call, dependencies, resources): to send it again (see _revive)
        self.spec: tuple[Any, Any, tuple, Any] | None = None
        self.revived = 0  # how often it was sent again

    def __repr__(self) -> str:
        return f"<DaskFuture {self.key}>"


DaskExecutor.__module__ = "headwater.executors.dask"
DaskFuture.__module__ = "headwater.executors.dask"
