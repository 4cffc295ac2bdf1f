"""What a :class:`~headwater.executors.DaskExecutor` needs next to ``distributed`` (private).

- :func:`run_cluster_call` is what the executor's cluster tasks run: it tells the scheduler that
  the call has started (an event under :data:`STARTED_TOPIC`), then runs it;
- :func:`gather_guarded` gathers futures without letting a ``BaseException`` loose in the
  client's event loop;
- :func:`started_keys` reads back which calls have started.

Why "started" matters: when a worker process dies, the scheduler fails (``KilledWorker``, once
its ``allowed-failures`` are used up) every task it had given that worker — the one running and
the ones only queued behind it, which never started. The executor sends the queued ones again,
and only a call that had started on the lost worker fails as lost (see
``DaskExecutor._revive``).

distributed is imported inside the functions, never by ``import headwater``.
"""

from __future__ import annotations

import asyncio
from typing import Any

from headwater.executors._dask_support import run_packed_call

__all__ = [
    "STARTED_TOPIC",
    "InLoopBaseException",
    "cancelled_error",
    "gather_guarded",
    "run_cluster_call",
    "started_keys",
]

#: the scheduler event topic under which each call's start is logged (``{"key": ...}``)
STARTED_TOPIC = "headwater-call-started"


def run_cluster_call(payload: bytes, *dep_values: Any) -> Any:
    """Log this call's start on the scheduler, then run it (see :func:`run_packed_call`)."""
    _announce_start()
    return run_packed_call(payload, *dep_values)


def _announce_start() -> None:
    try:
        from distributed import get_worker
        from distributed.worker import thread_state

        key = getattr(thread_state, "key", None)
        if isinstance(key, str):
            # sent with the worker's next batch of messages (within milliseconds), ahead of
            # anything the call does
            get_worker().log_event(STARTED_TOPIC, {"key": key})
    except Exception:  # noqa: BLE001 - not on a worker (or another version): nothing to log
        pass


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


def cancelled_error(exc: BaseException, what: str) -> Exception:
    """The error ``wait`` raises for a future the cluster cancelled (``exc``)."""
    from headwater.executors._dask_support import WorkerLostError

    reason = str(getattr(exc, "reason", "") or exc)
    key = getattr(exc, "key", None)
    if "lost" in reason:
        return WorkerLostError(
            f"The cluster lost the data {what} needed (the worker holding it died), so it "
            f"cancelled it: {reason}.",
            key=key,
        )
    return RuntimeError(f"The cluster cancelled {what}: {exc}")
