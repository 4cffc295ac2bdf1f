"""Sending again the calls of a ``DaskExecutor`` that failed only because a worker was lost (private).

Why "started" matters: when a worker process dies, the scheduler fails (``KilledWorker``, once
its ``allowed-failures`` are used up) every task it had given that worker — the one running and
the ones only queued behind it, which never started. The executor sends the queued ones again
(and the run's shared inputs, which have no effects), and only a call that had started on the
lost worker fails as lost. A call that kills its worker within milliseconds of starting may
have had no time to log its start (see :func:`~headwater.executors._cluster_calls.run_cluster_call`):
while a thread of the lost worker is unaccounted for, the earliest submitted of the calls it
had been given counts as started (workers run their calls in that order).

A call that had *finished* on the lost worker is not computed again: its value was brought to
the flow's process as it finished, and the cluster let go of its copy
(:mod:`headwater.executors._fetch`, which also says when the scheduler still recomputes a
value). An input whose cluster copy was let go is scattered again from that value.

distributed is imported inside the functions, never by ``import headwater``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from headwater.executors._cluster_calls import started_keys
from headwater.executors._payloads import dumps, load_shared

__all__ = ["MAX_REVIVALS", "revive"]

#: how often a call that failed only because a worker was lost is sent again
MAX_REVIVALS = 3


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
    except Exception:  # unknown: only logged starts count
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
