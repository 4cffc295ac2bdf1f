"""The dask graph of a :class:`~headwater.executors.LocalDaskExecutor` run, and its pools (private).

``LocalDaskExecutor.submit`` records calls; ``wait`` hands the part of them it needs to one of
dask's local schedulers. This module holds the pieces that do not depend on the executor's
state:

- :func:`normalize_scheduler` and :func:`check_num_workers` check the constructor's arguments;
- :func:`make_pool` and :func:`close_pool` own the thread or process pool of a run;
- :func:`build_graph` turns pending calls into a dask graph, and :func:`run_graph` runs it;
- :func:`call_key` names calls as dask names keys, and :func:`discard` removes the file of a
  forgotten result.

dask is imported inside the functions that use it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from headwater.executors._payloads import SharedBlob
from headwater.executors._process_pool import LossReportingPool, ProcessPool
from headwater.executors._thread_pool import DaemonThreadPool

__all__ = [
    "SCHEDULERS",
    "Pending",
    "build_graph",
    "call_key",
    "check_num_workers",
    "close_pool",
    "discard",
    "make_pool",
    "normalize_scheduler",
    "run_graph",
]

#: every name ``LocalDaskExecutor(scheduler=...)`` accepts -> the name it keeps
SCHEDULERS = {
    "threads": "threads",
    "threading": "threads",
    "processes": "processes",
    "multiprocessing": "processes",
    "sync": "synchronous",
    "synchronous": "synchronous",
    "single-threaded": "synchronous",
}

#: a call not yet run: (its payload — or the payload pickled —, the keys of its dependencies)
Pending = tuple[Any, tuple[str, ...]]


def normalize_scheduler(scheduler: Any) -> str:
    """``"threads"``, ``"processes"`` or ``"synchronous"`` for a scheduler name or alias.

    Raises:
        ValueError: for an unknown name (the message lists the names).
    """
    name = SCHEDULERS.get(scheduler.lower()) if isinstance(scheduler, str) else None
    if name is None:
        allowed = ", ".join(repr(s) for s in SCHEDULERS)
        raise ValueError(
            f"Unknown LocalDaskExecutor scheduler {scheduler!r}; use one of {allowed}."
        )
    return name


def check_num_workers(n: Any) -> None:
    """``num_workers`` must be a positive int (or absent: one per CPU).

    Raises:
        TypeError: it is not an int.
        ValueError: it is below 1.
    """
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


def call_key(fn: Any, extra_context: Mapping[str, Any] | None, n: int) -> str:
    """``<task name>[-<task index>]-<n>`` (as dask names keys), or ``<function name>-<n>``."""
    name = extra_context.get("task_name") if extra_context else None
    if not name:
        return f"{getattr(fn, '__name__', 'call')}-{n}"
    index = extra_context.get("task_index") if extra_context else None
    return f"{name}-{index}-{n}" if isinstance(index, int) else f"{name}-{n}"


def discard(result: Any) -> None:
    """Remove the file of a result written to disk by a worker process, once it is forgotten."""
    if type(result) is SharedBlob and result.path is not None:
        try:
            os.remove(result.path)
        except OSError:
            pass


# -- pools ---------------------------------------------------------------------------------------
def make_pool(scheduler: str, num_workers: int) -> DaemonThreadPool | ProcessPool | None:
    """The pool ``scheduler`` runs calls on (``None`` for the synchronous scheduler)."""
    if scheduler == "threads":
        return DaemonThreadPool(num_workers)
    if scheduler == "processes":
        from dask.multiprocessing import get_context

        # one pipe per process: a process that dies fails only its own call, and its
        # processes end if this process is killed
        return ProcessPool(num_workers, mp_context=get_context())  # type: ignore[no-untyped-call]
    return None


def close_pool(pool: DaemonThreadPool | ProcessPool | None, kill: bool) -> None:
    """Stop ``pool``; ``kill``: do not wait for running calls (a process's call is ended)."""
    if pool is None:
        return
    if isinstance(pool, DaemonThreadPool):
        pool.shutdown(wait=not kill)
        return
    pool.shutdown(wait=True, kill=kill)  # kill: a running call cannot be interrupted


# -- the graph -----------------------------------------------------------------------------------
def build_graph(
    targets: list[str],
    pending: Mapping[str, Pending],
    results: Mapping[str, Any],
    held: Callable[[str], bool],
    node: Callable[..., Any],
) -> tuple[dict[str, Any], list[str]]:
    """The dask graph that computes ``targets`` and the pending calls nobody holds.

    Args:
        targets: keys whose values are wanted.
        pending: the calls not yet run, by key.
        results: the values of calls already run, by key.
        held: whether a key's future is still held, or a pending call still needs its value.
        node: what each graph node calls (``node(payload, *dependency values)``).

    Returns:
        ``(graph, keys to ask dask for)``; the graph is empty when nothing is pending.
    """
    from dask._task_spec import DataNode, Task, TaskRef

    # Calls whose future was dropped still have to run (like on every other executor). A dropped
    # call that a pending call depends on runs as that call's input, and is not requested
    # itself, so that its result is freed as soon as its dependents are done.
    roots = [k for k in targets if k in pending]
    roots += [k for k in pending if not held(k)]
    stack = list(roots)
    dsk: dict[str, Any] = {}
    while stack:
        k = stack.pop()
        if k in dsk:
            continue
        payload, deps = pending[k]
        args: list[Any] = []
        for d in deps:
            if d in pending:
                args.append(TaskRef(d))
                if d not in dsk:
                    stack.append(d)
            else:
                # A value computed by an earlier pass goes inside the call, not into the graph
                # as a key of its own: dask's ordering slows down quadratically when a wide node
                # (a reduce over a map's children) depends on thousands of such keys.
                args.append(DataNode(None, results[d]))
        dsk[k] = Task(k, node, payload, *args)
    return dsk, list(dict.fromkeys(roots))


def run_graph(
    scheduler: str,
    dsk: dict[str, Any],
    want: list[str],
    pool: DaemonThreadPool | ProcessPool | None,
    callbacks: list[tuple[Any, ...]],
    dask_config: Mapping[str, Any],
) -> None:
    """Run ``dsk`` for the keys ``want`` on ``scheduler``, under ``dask_config``.

    A worker process that dies fails only the node it was running (see
    :class:`~headwater.executors._process_pool.LossReportingPool`).
    """
    import dask

    with dask.config.set(dict(dask_config)):
        if isinstance(pool, DaemonThreadPool):
            from dask.local import get_async

            get_async(pool.submit, pool.num_workers, dsk, want, callbacks=callbacks)  # type: ignore[no-untyped-call]
        elif isinstance(pool, ProcessPool):
            import dask.multiprocessing as dmp

            # one call per dispatch (dask batches 6 by default): a batch runs its calls one
            # after another in one process, which would break depth-first mapped chains
            dmp.get(
                dsk,
                want,
                pool=LossReportingPool(pool),
                optimize_graph=False,
                callbacks=callbacks,
                chunksize=int(dask_config.get("chunksize", 1)),
            )
        else:
            from dask.local import get_sync

            get_sync(dsk, want, callbacks=callbacks)
