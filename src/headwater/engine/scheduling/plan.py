"""``RunPlan``: what a run of a flow needs to know about its graph, made once per graph.

The flow keeps its plan until its graph changes (``Flow._derived``), so running the same flow
again does not plan it again. Everything here is O(tasks + edges).

Dependency conditions: a task ``d`` waits for each upstream task ``u`` either to be
*expanded* — ``d`` is mapped over the children of mapped ``u`` (child ``i`` of ``d`` needs
only child ``i`` of ``u``) — or to be *complete*: every call of ``u`` submitted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from headwater.core.edge import Edge
    from headwater.core.task import Task

__all__ = ["RunPlan", "add_waiter", "make_plan", "waiters"]


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


def make_plan(tasks: tuple[Task, ...], up: dict[Task, list[Edge]]) -> RunPlan:
    """Plan a run of the tasks ``tasks`` (in topological order) with upstream edges ``up``."""
    mapped_tasks: set[Task] = set()
    flat_edges: set[Edge] = set()
    for t in tasks:
        for e in up[t]:
            if e.mapped:
                mapped_tasks.add(t)
            elif e.flattened:
                flat_edges.add(e)
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
            continue
        if d not in mapped_tasks:
            if len(edges_in) == 1:
                add_waiter(wait_complete, edges_in[0].upstream_task, d)
                need[d] = 1
                continue
            ups = {e.upstream_task for e in edges_in}
            for u in ups:
                add_waiter(wait_complete, u, d)
            need[d] = len(ups)
            continue
        by_up: dict[Task, list[Edge]] = {}
        for e in edges_in:
            by_up.setdefault(e.upstream_task, []).append(e)
        cw = []
        for u, es in by_up.items():
            if u in mapped_tasks and all(e.mapped and not e.flattened for e in es):
                wait_expanded.setdefault(u, []).append(d)
                cw.extend(es)
            else:
                add_waiter(wait_complete, u, d)
        childwise[d] = cw
        need[d] = len(by_up)
    roots = [t for t in tasks if need[t] == 0]
    constants = tuple(t for t in tasks if getattr(t, "is_constant", False))
    rerun = frozenset(t for t in tasks if getattr(t, "rerun_on_restart", False))
    return RunPlan(
        mapped_tasks,
        childwise,
        wait_expanded,
        wait_complete,
        need,
        roots,
        frozenset(flat_edges),
        constants,
        rerun,
    )


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
