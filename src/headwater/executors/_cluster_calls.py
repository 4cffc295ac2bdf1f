"""What a :class:`~headwater.executors.DaskExecutor` needs next to ``distributed`` (private).

- :func:`connect` and :func:`construct` make its client and temporary cluster, and close
  either if its constructor fails;
- :func:`run_cluster_call` is what the executor's cluster tasks run: it tells the scheduler that
  the call has started (an event under :data:`STARTED_TOPIC`), then runs it;
- :func:`gather_guarded` gathers futures without letting a ``BaseException`` loose in the
  client's event loop;
- :func:`revive` sends again the calls that failed only because a worker was lost;
- :func:`lost_error` and :func:`original_error` are what ``wait`` raises instead of what the
  cluster reports; :func:`readable_key`, :func:`parse_resources`, :func:`import_object` and
  :func:`kill_workers` name calls, read resource tags, import a cluster class and end a
  temporary cluster's workers on Ctrl-C.

Why "started" matters: when a worker process dies, the scheduler fails (``KilledWorker``, once
its ``allowed-failures`` are used up) every task it had given that worker — the one running and
the ones only queued behind it, which never started. The executor sends the queued ones again
(and the run's shared inputs, which have no effects), and only a call that had started on the
lost worker fails as lost. A call that kills its worker within milliseconds of starting may
have had no time to log its start: while a thread of the lost worker is unaccounted for, the
earliest submitted of the calls it had been given counts as started (workers run their calls
in that order).

What :func:`revive` cannot undo: a call that had *finished* on the lost worker, and whose value
was still needed, is computed again by the scheduler itself (that is how ``distributed``
recovers lost data). Checkpoint results (``@task(checkpoint=True, target=...)``) to avoid it.

distributed is imported inside the functions, never by ``import headwater``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from headwater.executors._dask_support import (
    WorkerLostError,
    dumps,
    load_shared,
    run_packed_call,
)

__all__ = [
    "MAX_REVIVALS",
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
    "revive",
    "run_cluster_call",
    "started_keys",
]

#: the scheduler event topic under which each call's start is logged (``{"key": ...}``)
STARTED_TOPIC = "headwater-call-started"

#: how often a call that failed only because a worker was lost is sent again
MAX_REVIVALS = 3


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
        except Exception:  # noqa: BLE001 - best effort; the close below still runs
            pass


def _close_quietly(obj: Any) -> None:
    try:
        close = getattr(obj, "close", None)
        if close is not None:
            close(timeout=5)
    except Exception:  # noqa: BLE001 - best effort: the constructor's error is what matters
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
    except Exception:  # noqa: BLE001 - not on a worker (or another version): nothing to log
        pass


# -- in the client -----------------------------------------------------------------------------
async def gather_guarded(client: Any, futures: Any) -> Any:
    """``await client._gather(futures)``, with any ``BaseException`` raised as an ``Exception``.

    ``distributed``'s ``sync`` only hands ``Exception``s back to the waiting thread: a
    ``CancelledError`` (a future the cluster cancelled) or another ``BaseException`` escaping
    the coroutine would leave that thread waiting forever. Such an exception is raised as
    :class:`InLoopBaseException`, whose ``exc`` is the original.
    """
    try:
        return await client._gather(futures)
    except Exception:
        raise
    except BaseException as exc:  # noqa: BLE001 - handed back to the waiting thread
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
    except Exception:  # noqa: BLE001 - no evidence: every lost call counts as started
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


# -- sending lost calls again ------------------------------------------------------------------
def revive(
    futures: list[Any], client: Any, resend: Callable[[Any, Any, Any, dict[Any, Any], Any], None]
) -> bool:
    """Send again the calls of ``futures`` (``DaskFuture``) that failed only by a lost worker.

    A call is sent again when it failed with ``KilledWorker`` and either it had not started on
    the lost worker (it was queued there), or an input of it was lost with it (the call that
    computes the input is sent again first). A shared input's call — unpickling it has no
    effects — is sent again even if it had started. Each call is sent again at most
    :data:`MAX_REVIVALS` times, and at most once for a loss of its own.

    Args:
        futures: the executor's futures to look at.
        client: the executor's ``Client``.
        resend: ``resend(future, function, pickled call, dependencies, resources)`` queues the
            call again under a new key.

    Returns:
        Whether any call was sent again.
    """
    started: dict[Any, set[str]] = {}  # lost worker -> calls that may have started there
    done: dict[Any, bool] = {}
    sent: list[Any] = []
    for fut in futures:
        _revive_one(fut, client, resend, started, done, sent)
    return bool(sent)


def _maybe_started(client: Any, worker: Any, started: dict[Any, set[str]]) -> set[str]:
    """The keys of the calls that may have been running on ``worker`` when it was lost.

    ``worker`` is the ``KilledWorker``'s ``last_worker``. Those that logged their start (or
    that the scheduler saw running); and while that leaves some of its threads unaccounted
    for, the earliest submitted of the other calls it had been given (it runs them in that
    order), as one of them may have died before its start was logged.
    """
    address = getattr(worker, "address", None)
    hit = started.get(address)
    if hit is not None:
        return hit
    given = _given_to(client, address)
    known = started_keys(client) | set(getattr(worker, "executing", None) or ())
    free = int(getattr(worker, "nthreads", 1) or 1) - len(given & known)
    unknown = sorted(given - known, key=_submission_order)
    hit = started[address] = known | set(unknown[: max(free, 0)])
    return hit


def _given_to(client: Any, address: Any) -> set[str]:
    """The keys the scheduler had given the worker at ``address`` when it removed it."""
    try:
        events = client.get_events(address) if isinstance(address, str) else ()
    except Exception:  # noqa: BLE001 - unknown: only logged starts count
        return set()
    for _, msg in reversed(events):
        if isinstance(msg, dict) and msg.get("action") == "remove-worker":
            return {k for k in msg.get("processing-tasks") or () if isinstance(k, str)}
    return set()


def _submission_order(key: str) -> int:
    """The counter at the end of an executor's key (see ``DaskExecutor.submit``)."""
    try:
        return int(key[-16:], 16)
    except ValueError:
        return 1 << 64


def _revive_one(
    fut: Any,
    client: Any,
    resend: Callable[..., None],
    started: dict[Any, set[str]],
    done: dict[Any, bool],
    sent: list[Any],
) -> bool:
    """Whether ``fut`` is, or has been sent again to be, computed (see :func:`revive`)."""
    if fut in done:
        return done[fut]
    done[fut] = False  # (a cycle is impossible, but never loop)
    remote = fut.future
    if remote is None or remote.status != "error":
        done[fut] = True
        return True
    from distributed import KilledWorker

    exc = remote.exception()
    spec = fut.spec
    if not isinstance(exc, KilledWorker) or spec is None or fut.revived >= MAX_REVIVALS:
        return False
    func, data, refs, resources = spec
    pure = func is load_shared
    if exc.task == fut.key and not pure:
        # it was given to the lost worker: sent again only if it had not started there
        if fut.revived or fut.key in _maybe_started(client, exc.last_worker, started):
            return False
    deps: dict[Any, Any] = {}
    for ref in refs:
        if isinstance(ref, str):  # a distributed future (scattered data)
            state = client.futures.get(ref)
            if state is None or state.status != "finished":
                return False
            deps[ref] = ref
            continue
        dep = ref()
        if dep is None or not _revive_one(dep, client, resend, started, done, sent):
            return False
        deps[dep.key] = dep
    if pure:
        shared = data()
        if shared is None:
            return False
        data = dumps(shared)
    resend(fut, func, data, deps, resources)
    sent.append(fut)
    done[fut] = True
    return True
