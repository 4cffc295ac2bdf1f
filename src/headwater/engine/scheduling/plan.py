"""``RunPlan``: what a run of a flow needs to know about its graph, made once per graph version.

:func:`plan_for` keeps each flow graph's plan until the graph changes (its ``version``), so
running the same flow again does not plan it again. Everything here is O(tasks + edges).

Dependency conditions: a task ``d`` waits for each upstream task ``u`` either to be
*expanded* — ``d`` is mapped over the children of mapped ``u`` (child ``i`` of ``d`` needs
only child ``i`` of ``u``) — or to be *complete*: every call of ``u`` submitted.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from headwater.core.edge import Edge
    from headwater.core.flow import Flow
    from headwater.core.task import Task

__all__ = ["RunPlan", "add_waiter", "make_plan", "plan_for", "upstream_edges", "waiters"]


class RunPlan(NamedTuple):
    """The graph facts a run uses.

    Attributes:
        mapped_tasks: the tasks with a mapped input.
        childwise: per mapped task, the edges it takes child by child.
        wait_expanded: per task, the mapped tasks waiting for it to be expanded.
        wait_complete: per task, the tasks waiting for it to complete (see :func:`add_waiter`).
        need: how many upstream conditions each task waits for (runs count down a copy).
        roots: the tasks that wait for none, in topological order.
        flat_edges: the unmapped edges with ``flatten``.
        constants: the tasks whose value is known without running them (``is_constant``).
        rerun: the tasks that run again even when given a finished state
            (``rerun_on_restart``: secrets, resource set-up and clean-up).
        async_tasks: the ``async def`` tasks (``is_async``), which inline executors run at the
            same time (see :mod:`~headwater.engine.scheduling.async_calls`).
    """

    mapped_tasks: set[Task]
    childwise: dict[Task, list[Edge]]
    wait_expanded: dict[Task, list[Task]]
    wait_complete: dict[Task, Any]
    need: dict[Task, int]
    roots: list[Task]
    flat_edges: frozenset[Edge]
    constants: tuple[Task, ...]
    rerun: frozenset[Task]
    async_tasks: frozenset[Task] = frozenset()


# graph -> (its version when planned, the plan); an entry goes with its graph
_PLANS: weakref.WeakKeyDictionary[Any, tuple[int, RunPlan]] = weakref.WeakKeyDictionary()


def upstream_edges(flow: Flow) -> dict[Task, list[Edge]]:
    """The flow graph's upstream edges of each task."""
    return flow.graph.upstream


def plan_for(flow: Flow) -> RunPlan:
    """The plan of ``flow``'s graph as it is now: made once per graph version."""
    graph = flow.graph
    version = graph.version
    known = _PLANS.get(graph)
    if known is not None and known[0] == version:
        return known[1]
    plan = make_plan(flow.sorted_tasks(), graph.upstream)
    _PLANS[graph] = (version, plan)
    return plan


def make_plan(tasks: tuple[Task, ...], up: dict[Task, list[Edge]]) -> RunPlan:
    """Plan a run of the tasks ``tasks`` (in topological order) with upstream edges ``up``."""
    mapped_tasks, flat_edges = _mapped_and_flat(tasks, up)
    childwise: dict[Task, list[Edge]] = {}
    wait_expanded: dict[Task, list[Task]] = {}
    # u -> the tasks waiting for u to complete: the task itself when there is one (the usual
    # case), a list otherwise. A list per task would live for the whole run and, on big
    # flows, make the garbage collector's full collections run about twice as often.
    wait_complete: dict[Task, Any] = {}
    need: dict[Task, int] = {}
    for d in tasks:
        edges_in = up[d]
        if not edges_in:
            need[d] = 0
        elif d not in mapped_tasks:
            need[d] = _wait_for_all(d, edges_in, wait_complete)
        else:
            childwise[d], need[d] = _wait_mapped(
                d, edges_in, mapped_tasks, wait_expanded, wait_complete
            )
    return RunPlan(
        mapped_tasks,
        childwise,
        wait_expanded,
        wait_complete,
        need,
        [t for t in tasks if need[t] == 0],
        flat_edges,
        tuple(t for t in tasks if getattr(t, "is_constant", False)),
        frozenset(t for t in tasks if getattr(t, "rerun_on_restart", False)),
        frozenset(t for t in tasks if getattr(t, "is_async", False)),
    )


def _mapped_and_flat(
    tasks: tuple[Task, ...], up: dict[Task, list[Edge]]
) -> tuple[set[Task], frozenset[Edge]]:
    """The tasks with a mapped input, and the unmapped edges with ``flatten``."""
    mapped_tasks: set[Task] = set()
    flat_edges: set[Edge] = set()
    for t in tasks:
        for e in up[t]:
            if e.mapped:
                mapped_tasks.add(t)
            elif e.flattened:
                flat_edges.add(e)
    return mapped_tasks, frozenset(flat_edges)


def _wait_for_all(d: Task, edges_in: list[Edge], wait_complete: dict[Task, Any]) -> int:
    """Unmapped ``d`` waits for each upstream task to complete; returns how many."""
    if len(edges_in) == 1:
        add_waiter(wait_complete, edges_in[0].upstream_task, d)
        return 1
    ups = {e.upstream_task for e in edges_in}
    for u in ups:
        add_waiter(wait_complete, u, d)
    return len(ups)


def _wait_mapped(
    d: Task,
    edges_in: list[Edge],
    mapped_tasks: set[Task],
    wait_expanded: dict[Task, list[Task]],
    wait_complete: dict[Task, Any],
) -> tuple[list[Edge], int]:
    """Mapped ``d`` waits for each upstream task to be expanded or complete.

    Returns the edges ``d`` takes child by child (mapped, unflattened edges from a mapped
    task) and the number of upstream tasks it waits for.
    """
    by_up: dict[Task, list[Edge]] = {}
    for e in edges_in:
        by_up.setdefault(e.upstream_task, []).append(e)
    cw: list[Edge] = []
    for u, es in by_up.items():
        if u in mapped_tasks and all(e.mapped and not e.flattened for e in es):
            wait_expanded.setdefault(u, []).append(d)
            cw.extend(es)
        else:
            add_waiter(wait_complete, u, d)
    return cw, len(by_up)


def add_waiter(waiters: dict[Any, Any], u: Any, d: Any) -> None:
    """Record that ``d`` waits for ``u``: ``d`` itself if it is the first, then a list."""
    w = waiters.get(u)
    if w is None:
        waiters[u] = d
    elif type(w) is list:
        w.append(d)
    else:
        waiters[u] = [w, d]


def waiters(w: Any) -> Any:
    """The waiters recorded by :func:`add_waiter` as a sequence."""
    if w is None:
        return ()
    return w if type(w) is list else (w,)
