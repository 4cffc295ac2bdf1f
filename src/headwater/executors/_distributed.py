"""``DaskExecutor``: run a flow on a ``dask.distributed`` cluster (see :mod:`headwater.executors.dask`).

Import it from :mod:`headwater.executors` or :mod:`headwater.executors.dask`; this private module
only keeps that module short. distributed is imported when an executor starts, not here.
"""

from __future__ import annotations

import itertools
import logging
import uuid
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from headwater.executors._batches import CallBatches, Queued
from headwater.executors._cluster_calls import (
    InLoopBaseException,
    connect,
    construct,
    gather_guarded,
    kill_workers,
    looks_like_pickling_error,
    lost_error,
    original_error,
    run_cluster_call,
    scatter_large,
    send_graph,
)
from headwater.executors._cluster_kwargs import check_cluster_kwargs
from headwater.executors._dask_future import NO_VALUE, DaskFuture
from headwater.executors._dask_options import DaskOptions, WorkerEventLog, cluster_options
from headwater.executors._dask_support import CarriedBaseException
from headwater.executors._fetch import CallDeps, ValueFetcher, unpin_all
from headwater.executors._nested import map_futures
from headwater.executors._payloads import SharedBlob, dumps, load_shared
from headwater.executors._pickling_errors import explain_pickling_error
from headwater.executors._revive import revive
from headwater.executors.base import Executor, Shared
from headwater.utilities.imports import require

__all__ = ["DaskExecutor", "DaskFuture"]

#: the attributes of a started executor, left out of its pickle (and reset by unpickling)
_RUN_STATE = (
    "client",
    "cluster",
    "_futures",
    "_watch_dask_events_task",
    "_scattered",
    "_names",
    "_shared",
    "_batches",
    "_run",
    "_future_types",
    "_key_prefix",
    "_counter",
    "_fetcher",
)


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

    ``submit`` returns a :class:`DaskFuture` (which has ``add_done_callback``: its executor
    ``reports_completion``). Calls are pickled when submitted (``pickles_calls``) and reach the
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

    # calls are pickled to the workers; futures call back in this process when done
    pickles_calls = True
    reports_completion = True

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

        require("dask", "dask", feature="DaskExecutor")
        require("distributed", "dask", feature="DaskExecutor")
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

    def _reset(self) -> None:
        self.client: Any = None
        self.cluster: Any = None
        # the run's distributed futures, once started
        self._futures: weakref.WeakSet[Any] | None = None
        self._watch_dask_events_task: WorkerEventLog | None = None
        self._scattered: dict[int, tuple[Any, Any]] = {}
        self._names: dict[Any, str] = {}
        # Shared -> (its first-use SharedBlob, or its task's future); forgotten with the Shared
        self._shared: weakref.WeakKeyDictionary[Shared, Any] = weakref.WeakKeyDictionary()
        old = getattr(self, "_batches", None)
        if old is not None:
            old.close()  # its timer must not send anything any more
        # calls submitted but not yet sent
        self._batches = CallBatches(self._send, self.batch_size, self.batch_delay)
        self._run = object()  # tells this start()'s futures from others'
        # keys end in a 32-digit hex id: random for each start(), then counting
        self._key_prefix = uuid.uuid4().hex[:16]
        self._counter = itertools.count()
        self._future_types: tuple[type, ...] = (DaskFuture,)
        # brings the values of calls here as they finish (see _fetch), once started
        self._fetcher: ValueFetcher | None = None

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for k in _RUN_STATE:
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
            self._fetcher = ValueFetcher(self.client)
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
        self._batches.close()
        client, futures = self.client, [f for f in self._futures or () if not f.done()]
        if client is None or not futures:
            return
        try:
            client.cancel(futures, force=True)
        except Exception:  # best effort while tearing down
            pass

    def _shutdown(self) -> None:
        client, cluster = self.client, self.cluster
        watcher, fetcher = self._watch_dask_events_task, self._fetcher
        if watcher is not None:
            watcher.stop()
        if fetcher is not None:
            fetcher.close()
        self._reset()
        try:
            if client is not None:
                client.close(timeout=10)
        finally:
            if cluster is not None:
                cluster.close(timeout=10)

    # -- submit / wait ------------------------------------------------------------------------
    # ``fn`` is positional-only so that callables may take a keyword argument named ``fn``.
    def submit(
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
        future_types, fetcher = self._future_types, self._fetcher
        refs = CallDeps(fetcher, self._check_own)
        try:
            shared_args = tuple(self._share(a) if type(a) is Shared else a for a in args)
            while True:
                send_args = map_futures(shared_args, future_types, refs)
                send_kwargs = map_futures(kwargs, future_types, refs) if kwargs else kwargs
                payload = (fn, send_args, send_kwargs, extra_context or None, tuple(refs.deps))
                data = dumps(payload)
                # large values let go by the cluster go there again, once, instead of in calls
                if len(data) < self.scatter_threshold or not refs.scatter_embedded(self.client):
                    break
            if len(data) >= self.scatter_threshold:
                data = scatter_large(
                    self.client, payload, refs.deps, refs, self.scatter_threshold, self._scattered
                )
        except BaseException as exc:
            refs.unpin()
            if isinstance(exc, KeyboardInterrupt):
                raise
            # a __reduce__ raising SystemExit, say, fails this call, like any pickling error
            if not isinstance(exc, Exception) or looks_like_pickling_error(exc):
                raise explain_pickling_error(
                    "DaskExecutor", fn, args, kwargs, extra_context, exc
                ) from exc
            raise
        fut = DaskFuture(key, self._run)
        fut.fetched = fetcher is not None
        # what it takes to send the call again if its worker dies before it starts: the
        # pickled call, and its dependencies by reference (never kept alive by it)
        fut.spec = (run_cluster_call, data, refs.refs(), resources)
        deps = refs.deps
        self._queue(fut, run_cluster_call, data, deps, resources)
        if extra_context and extra_context.get("task_full_name"):
            self._names[key] = str(extra_context["task_full_name"])
        return fut

    def _check_own(self, fut: DaskFuture) -> None:
        if fut.run is not self._run:
            raise ValueError(
                f"{self!r} was given a future ({fut.key}) that this run does not know: it "
                "comes from another executor or from an earlier start() of this one."
            )

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

    # -- batches ------------------------------------------------------------------------------
    def _queue(
        self,
        fut: DaskFuture,
        func: Callable[..., Any],
        data: bytes,
        deps: dict[Any, Any],
        resources: Any,
    ) -> None:
        from dask._task_spec import Task, TaskRef

        task = Task(fut.key, func, data, *[TaskRef(k) for k in deps])
        self._batches.add((fut, task, deps, resources))

    def _send(self, items: list[Queued], resources: dict[str, float] | None) -> None:
        """Send ``items`` (calls with the same ``resources``) to the scheduler in one message."""
        futures = send_graph(self.client, {fut.key: task for fut, task, _, _ in items}, resources)
        sent, fetcher = self._futures, self._fetcher
        for fut, _, deps, _ in items:
            remote = fut.future = futures[fut.key]
            if sent is not None:
                sent.add(remote)
            if fut.fetched and fetcher is not None:
                fetcher.watch(fut, remote)
            else:
                fut.hook()  # its done callbacks, if it has any
            unpin_all(fetcher, deps)

    def wait(self, futures: Any) -> Any:
        """Gather the values of ``futures`` (any nesting of lists, tuples, sets and dicts).

        Raises:
            Exception: the exception a call raised (or an upstream call raised), unchanged.
            WorkerLostError: the worker running a call died (``distributed.KilledWorker``).
        """
        if self.client is None:
            raise RuntimeError(f"{self!r} is not started: wait inside `with executor.start():`.")
        from distributed import KilledWorker

        fetcher = self._fetcher

        def _future(fut: DaskFuture) -> Any:
            if fut.run is not self._run or fut.future is None:
                raise ValueError(
                    f"{self!r} cannot resolve {fut!r}: it belongs to another executor or to an "
                    "earlier start() of this one."
                )
            if fut.value is not NO_VALUE:
                return fut.value  # brought here as it finished
            return fut.future  # failed, or not fetched: gathered here

        while True:
            self._batches.flush()
            if fetcher is not None:
                flat: list[DaskFuture] = []
                map_futures(futures, DaskFuture, flat.append)
                fetcher.wait_settled(flat)
            try:
                return self.client.sync(
                    gather_guarded, self.client, map_futures(futures, DaskFuture, _future)
                )
            except KilledWorker as exc:
                # calls that were only queued on the lost worker (or that lost a shared
                # input with it) are sent again (see revive); a call that had started there
                # is lost
                flat = []
                map_futures(futures, DaskFuture, flat.append)
                if not revive(flat, self.client, self._resend):
                    raise lost_error(exc, self._names) from exc
            except (CarriedBaseException, InLoopBaseException) as exc:
                error = original_error(exc, self._names)  # SystemExit, GeneratorExit...
                break
        raise error

    def _resend(
        self, fut: DaskFuture, func: Any, data: bytes, deps: dict[Any, Any], resources: Any
    ) -> None:
        """Queue ``fut``'s call again, under a new key (its old key is an error on the cluster)."""
        old, ident = fut.key, f"{self._key_prefix}{next(self._counter):016x}"
        fut.key = f"{old[: -len(ident)]}{ident}"
        fut.future = None
        fut.revived += 1
        if old in self._names:
            self._names[fut.key] = self._names.pop(old)
        self._queue(fut, func, data, self._pinned_again(deps), resources)

    def _pinned_again(self, deps: dict[Any, Any]) -> dict[Any, Any]:
        """``deps`` of a call sent again, pinned; a value let go by the cluster is scattered."""
        fetcher = self._fetcher
        if fetcher is None:
            return deps
        out: dict[Any, Any] = {}
        for key, dep in deps.items():
            if type(dep) is DaskFuture and not fetcher.pin(dep):
                [remote] = self.client.scatter([dep.value], hash=False)
                out[remote.key] = remote
            else:
                out[key] = dep
        return out


DaskExecutor.__module__ = "headwater.executors.dask"
