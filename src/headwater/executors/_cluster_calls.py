"""What a :class:`~headwater.executors.DaskExecutor` needs next to ``distributed`` (private).

- :func:`connect` and :func:`construct` make its client and temporary cluster, and close
  either if its constructor fails;
- :func:`run_cluster_call` is what the executor's cluster tasks run: it tells the scheduler that
  the call has started (an event under :data:`STARTED_TOPIC`; :func:`started_keys` reads them
  back, for :mod:`headwater.executors._revive`), then runs it;
- :func:`scatter_large` sends a call's large arguments to the cluster ahead of the call;
- :func:`send_graph` sends a batch of calls as one graph, and :func:`gather_guarded` gathers
  futures without letting a ``BaseException`` loose in the client's event loop;
- :func:`lost_error` and :func:`original_error` are what ``wait`` raises instead of what the
  cluster reports; :func:`readable_key`, :func:`parse_resources`, :func:`import_object` and
  :func:`kill_workers` name calls, read resource tags, import a cluster class and end a
  temporary cluster's workers on Ctrl-C.

distributed is imported inside the functions, never by ``import headwater``.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from typing import Any

from headwater.exceptions import WorkerLostError
from headwater.executors._dask_support import run_packed_call
from headwater.executors._nested import map_futures
from headwater.executors._payloads import Ref, SharedBlob, dumps

__all__ = [
    "STARTED_TOPIC",
    "InLoopBaseException",
    "connect",
    "construct",
    "gather_guarded",
    "import_object",
    "kill_workers",
    "looks_like_pickling_error",
    "lost_error",
    "original_error",
    "parse_resources",
    "readable_key",
    "run_cluster_call",
    "scatter_large",
    "send_graph",
    "started_keys",
]

#: the scheduler event topic under which each call's start is logged (``{"key": ...}``)
STARTED_TOPIC = "headwater-call-started"


# -- client and cluster ------------------------------------------------------------------------
def connect(client_class: Any, where: Any, client_kwargs: dict[str, Any]) -> Any:
    """A ``Client`` of ``where``; if it cannot connect, an error naming the address.

    A ``Client`` whose constructor fails is left half-built, with its event loop thread
    running; the traceback of the error (kept in the run's ``Failed`` state) would keep it
    alive until the interpreter exits, which then waits a minute for it to close. So the
    half-built client is closed here, and the frames of the error are cleared.

    Raises:
        ValueError: ``where`` is not an address (``ConnectionError``: nothing answers there).
    """
    client: Any = object.__new__(client_class)
    try:
        client.__init__(where, **client_kwargs)
    except BaseException as exc:
        _close_quietly(client)
        del client
        if not isinstance(exc, Exception):
            raise
        import traceback

        traceback.clear_frames(exc.__traceback__)
        if isinstance(where, str):
            what = f"the dask scheduler at address {where!r}"
            fix = (
                "Pass the address of a running scheduler, such as 'tcp://10.0.0.1:8786' "
                "(check the host, the port and that the scheduler is up), or leave address "
                "unset to start a temporary cluster for each run."
            )
        else:
            what, fix = f"the cluster {where!r}", "Check the cluster's settings."
        error = ValueError if isinstance(exc, ValueError) else ConnectionError
        raise error(
            f"DaskExecutor could not connect to {what}: {type(exc).__name__}: {exc}. {fix}"
        ) from exc
    return client


def construct(cls: Any, kwargs: dict[str, Any]) -> Any:
    """``cls(**kwargs)``; a cluster whose constructor fails is closed, not left half-built."""
    if not isinstance(cls, type) or cls.__new__ is not object.__new__:  # type: ignore[comparison-overlap]
        return cls(**kwargs)
    cluster: Any = object.__new__(cls)
    try:
        cluster.__init__(**kwargs)
    except BaseException as exc:
        _close_quietly(cluster)
        del cluster
        import traceback

        traceback.clear_frames(exc.__traceback__)
        raise
    return cluster


def kill_workers(cluster: Any) -> None:
    """On Ctrl-C, end the worker processes of a temporary ``cluster`` at once.

    A graceful close would wait for the running calls to finish; the run is being abandoned,
    so its worker processes are told not to restart and are killed instead.
    """
    workers = getattr(cluster, "workers", None)
    if not workers:
        return
    import os
    import signal

    for worker in list(workers.values()):
        try:
            pid = worker.pid
            if not pid or pid == os.getpid():
                continue
            worker.close_gracefully(reason="headwater-interrupted")
            os.kill(pid, signal.SIGKILL)
        except Exception:  # best effort; the close below still runs
            pass


def _close_quietly(obj: Any) -> None:
    try:
        close = getattr(obj, "close", None)
        if close is not None:
            close(timeout=5)
    except Exception:  # best effort: the constructor's error is what matters
        pass


# -- on the workers -----------------------------------------------------------------------------
def run_cluster_call(payload: bytes, *dep_values: Any) -> Any:
    """Log this call's start on the scheduler, then run it (see :func:`run_packed_call`)."""
    _announce_start()
    return run_packed_call(payload, *dep_values)


def _announce_start() -> None:
    try:
        from distributed import get_worker, worker

        key = getattr(getattr(worker, "thread_state", None), "key", None)
        if isinstance(key, str):
            # sent with the worker's next batch of messages (within milliseconds), ahead of
            # anything the call does
            get_worker().log_event(STARTED_TOPIC, {"key": key})
    except Exception:  # not on a worker (or another version): nothing to log
        pass


# -- in the client -----------------------------------------------------------------------------
def send_graph(client: Any, dsk: dict[str, Any], resources: Any) -> dict[str, Any]:
    """Send the calls of ``dsk`` (key -> dask ``Task``) in one message; their futures by key.

    They run in the order of ``dsk`` (so mapped chains run depth-first), as ``client.map``
    has them run. ``distributed`` has no public call taking a graph with such priorities, so
    this is the one place that uses ``Client._graph_to_futures`` (distributed 2024.12 and
    later); with other versions the calls go through ``client.get``.
    """
    keys = list(dsk)
    try:
        from dask._expr import LLGExpr
        from distributed.spans import SpanMetadata
    except ImportError:  # pragma: no cover - other dask versions
        return dict(zip(keys, client.get(dsk, keys, sync=False, resources=resources)))
    if not hasattr(client, "_graph_to_futures"):  # pragma: no cover - other versions
        return dict(zip(keys, client.get(dsk, keys, sync=False, resources=resources)))
    futures: dict[str, Any] = client._graph_to_futures(  # noqa: SLF001 - see the docstring
        LLGExpr(dsk, _determ_token=uuid.uuid4().hex),  # type: ignore[no-untyped-call]
        keys,
        span_metadata=SpanMetadata(collections=[{"type": "Future"}]),
        internal_priority={k: n for n, k in enumerate(keys)},
        resources=resources,
        fifo_timeout="100ms",
    )
    return futures


def scatter_large(
    client: Any,
    payload: tuple[Any, ...],
    deps: dict[Any, Any],
    ref: Callable[[Any], Any],
    threshold: int,
    scattered: dict[int, tuple[Any, Any]],
) -> bytes:
    """Scatter the large top-level arguments of a call to the cluster; the call pickled again.

    An argument of at least ``threshold`` bytes (by ``dask.sizeof``) holding no future goes to
    the cluster with ``client.scatter`` and becomes a dependency of the call (``ref`` records
    it in ``deps``). An immutable one (``bytes``, ``frozenset``) is remembered in
    ``scattered`` (``id -> (value, its future)``) and not sent again.
    """
    from dask.sizeof import sizeof

    fn, args, kwargs, ctx, _ = payload

    def lighten(value: Any) -> Any:
        t = type(value)
        if t in (int, float, bool, str, type(None), Ref, SharedBlob):
            return value
        try:
            if sizeof(value) < threshold:
                return value
        except Exception:  # unknown sizes are treated as small
            return value
        found: list[Any] = []
        map_futures(value, Ref, found.append)
        if found:  # futures inside must stay task dependencies, not scattered data
            return value
        hit = scattered.get(id(value))
        if hit is not None and hit[0] is value:
            return ref(hit[1])
        [remote] = client.scatter([value], hash=False)
        if t in (bytes, frozenset):  # cannot change: the cluster copy stays valid
            scattered[id(value)] = (value, remote)
        return ref(remote)

    args = tuple(lighten(a) for a in args)
    kwargs = {k: lighten(v) for k, v in kwargs.items()}
    import warnings

    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Sending large graph")
        return dumps((fn, args, kwargs, ctx, tuple(deps)))


async def gather_guarded(client: Any, futures: Any) -> Any:
    """``await client.gather(futures)``, with any ``BaseException`` raised as an ``Exception``.

    ``distributed``'s ``sync`` only hands ``Exception``s back to the waiting thread: a
    ``CancelledError`` (a future the cluster cancelled) or another ``BaseException`` escaping
    the coroutine would leave that thread waiting forever. Such an exception is raised as
    :class:`InLoopBaseException`, whose ``exc`` is the original.
    """
    try:
        return await client.gather(futures, asynchronous=True)
    except Exception:
        raise
    except BaseException as exc:  # handed back to the waiting thread
        if isinstance(exc, asyncio.CancelledError):
            # the frames of the cancelled gather would keep its pending subtasks alive (and
            # their "exception never retrieved" warnings) as long as this error lives
            exc = exc.with_traceback(None)
        raise InLoopBaseException(exc) from None


class InLoopBaseException(Exception):
    """A ``BaseException`` raised in the client's event loop while gathering (``exc``)."""

    def __init__(self, exc: BaseException) -> None:
        super().__init__(exc)
        self.exc = exc


def started_keys(client: Any) -> set[str]:
    """The keys of the calls whose start the scheduler has logged (its most recent events)."""
    try:
        events = client.get_events(STARTED_TOPIC)
    except Exception:  # no evidence: every lost call counts as started
        return set()
    keys = set()
    for _, msg in events:
        if isinstance(msg, dict) and isinstance(msg.get("key"), str):
            keys.add(msg["key"])
    return keys


def _what(key: Any, names: dict[Any, str]) -> str:
    name = names.get(key)
    return f"task {name!r}" if name else f"call {key!r}"


def lost_error(exc: Any, names: dict[Any, str]) -> WorkerLostError:
    """The error ``wait`` raises for ``KilledWorker`` ``exc`` (``names``: key -> task name)."""
    key = exc.task
    return WorkerLostError(
        f"The dask worker running {_what(key, names)} was lost (its process died: killed, out "
        f"of memory or crashed; last worker {getattr(exc.last_worker, 'address', '?')}).",
        key=key,
        task_name=names.get(key),
    )


def original_error(exc: Exception, names: dict[Any, str]) -> BaseException:
    """What ``wait`` raises for a :class:`CarriedBaseException` or :class:`InLoopBaseException`.

    The exception a call raised, or, for a future the cluster cancelled, an error saying so —
    a :class:`WorkerLostError` when the data it needed was lost with a worker.
    """
    error: BaseException = exc.exc  # type: ignore[attr-defined]
    if not isinstance(exc, InLoopBaseException) or not hasattr(error, "reason"):
        return error
    key = getattr(error, "key", None)
    reason = str(getattr(error, "reason", "") or error)
    if "lost" in reason:
        return WorkerLostError(
            f"The cluster lost the data {_what(key, names)} needed (the worker holding it "
            f"died), so it cancelled it: {reason}.",
            key=key,
            task_name=names.get(key),
        )
    return RuntimeError(f"The cluster cancelled {_what(key, names)}: {error}")


# -- naming and placing calls -------------------------------------------------------------------
def import_object(path: str) -> Any:
    import importlib

    module, _, name = path.rpartition(".")
    if not module:
        raise ValueError(f"cluster_class {path!r} is not a dotted path like 'package.Class'.")
    try:
        return getattr(importlib.import_module(module), name)
    except (ImportError, AttributeError) as exc:
        raise ValueError(f"cannot import cluster_class {path!r}: {exc}") from exc


def parse_resources(tags: Any) -> dict[str, float] | None:
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


def readable_key(extra_context: dict[str, Any] | None, ident: str) -> str | None:
    """``<task name>[-<task index>]-<id>``: the dashboard groups keys by what precedes the index.

    The index is ``task_index`` (Prefect Core 1.x's key), else ``map_index``.

    ``task_name`` is preferred to ``task_full_name`` (``inc[3]``), which would put every mapped
    child in a group of its own.
    """
    if not extra_context:
        return None
    name = extra_context.get("task_name")
    index = extra_context.get("task_index", extra_context.get("map_index"))
    if not name:
        name = extra_context.get("task_full_name")
        if not name:
            return None
        name = str(name)
        if isinstance(index, int) and name.endswith(f"[{index}]"):
            name = name[: -len(f"[{index}]")]
    if isinstance(index, int) and index >= 0:
        return f"{name}-{index}-{ident}"
    return f"{name}-{ident}"


def looks_like_pickling_error(exc: BaseException) -> bool:
    import pickle

    if isinstance(exc, pickle.PicklingError):
        return True
    text = str(exc).lower()
    return "pickle" in text or "serializ" in text
