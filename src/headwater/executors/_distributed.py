"""``DaskExecutor``: run a flow on a ``dask.distributed`` cluster (see :mod:`headwater.executors.dask`).

Import it from :mod:`headwater.executors` or :mod:`headwater.executors.dask`; this private module
only keeps that module short. distributed is imported when an executor starts, not here.
"""

from __future__ import annotations

import logging
import os
import uuid
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from headwater.executors._dask_support import (
    SharedBlob,
    WorkerLostError,
    explain_pickling_error,
    load_shared,
    map_futures,
    new_token,
    run_in_context,
)
from headwater.executors.base import Executor, Shared

__all__ = ["DaskExecutor"]


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
    """``<task name>[-<map index>]-<uuid>``: the dashboard groups keys by what precedes the index.

    ``task_name`` is preferred to ``task_full_name`` (``inc[3]``), which would put every mapped
    child in a group of its own.
    """
    if not extra_context:
        return None
    name = extra_context.get("task_name")
    index = extra_context.get("map_index")
    if not name:
        name = extra_context.get("task_full_name")
        if not name:
            return None
        name = str(name)
        if isinstance(index, int) and name.endswith(f"[{index}]"):
            name = name[: -len(f"[{index}]")]
    if isinstance(index, int) and index >= 0:
        return f"{name}-{index}-{uuid.uuid4().hex}"
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

    Submissions are keyed ``<task name>[-<map index>]-<uuid>`` when the flow runner passes those
    keys in ``extra_context``, so the dashboard shows task names and groups mapped children
    under their task; task tags ``dask-resource:NAME=N`` become ``resources={NAME: N}``.

    Data sent once: a :class:`~headwater.executors.base.Shared` argument (the flow runner passes
    each run's context and each task's runner, with its constant inputs, this way) travels
    inside the first call that uses it; from its second use on — or from the first, when it
    pickles to ``scatter_threshold`` bytes (1 MiB) or more — it becomes one task of its own on
    the cluster, which every later call depends on, so each worker receives it once (and the
    scheduler can rebuild it if the worker holding it dies). Another argument of at least
    ``scatter_threshold`` bytes is scattered to the cluster rather than embedded in the task
    graph; an immutable one (``bytes``, ``str``, ``frozenset``) submitted again is not sent again.
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
        self._names: dict[Any, str] = {}
        # Shared -> (its first-use SharedBlob, or its task's future); forgotten with the Shared
        self._shared: weakref.WeakKeyDictionary[Shared, Any] = weakref.WeakKeyDictionary()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        for k in ("client", "cluster", "_futures", "_scattered", "_names", "_shared"):
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
    # ``fn`` is positional-only so that callables may take a keyword argument named ``fn``.
    def submit(  # type: ignore[override]
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
        try:
            send_args = tuple(
                self._share(a) if type(a) is Shared else self._maybe_scatter(a) for a in args
            )
            send_kwargs = {k: self._maybe_scatter(v) for k, v in kwargs.items()}
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

    def _share(self, shared: Shared) -> Any:
        """What to send for ``shared``: its blob on first use, then its task's future."""
        hit = self._shared.get(shared)
        if hit is not None:
            if type(hit) is SharedBlob:  # second use: from now on, a task of its own
                hit = self._shared[shared] = self._submit_shared(shared, hit.data)  # type: ignore[arg-type]
            return hit
        import pickle

        import cloudpickle

        data = cloudpickle.dumps(shared, protocol=pickle.HIGHEST_PROTOCOL)
        if len(data) >= self.scatter_threshold:
            fut = self._shared[shared] = self._submit_shared(shared, data)
            return fut
        blob = self._shared[shared] = SharedBlob(
            new_token(f"shared-{shared.name}"), data, None, len(data)
        )
        return blob

    def _submit_shared(self, shared: Shared, data: bytes) -> Any:
        import warnings

        key = f"{shared.name}-shared-{uuid.uuid4().hex}"
        with warnings.catch_warnings():
            # the point of a shared task is to send a large value once: no advice needed
            warnings.filterwarnings("ignore", message="Sending large graph")
            return self.client.submit(load_shared, data, key=key, pure=False)

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
        if t in (bytes, str, frozenset):  # cannot change: the cluster copy stays valid
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


DaskExecutor.__module__ = "headwater.executors.dask"
