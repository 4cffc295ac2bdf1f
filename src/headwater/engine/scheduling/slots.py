"""What one task call receives from upstream: the handle view, in one place.

A *handle* is what the scheduler holds for a task while the run goes on: the future of its
call (or, once known, its ``State``); for a mapped task, the list of its children's handles,
with :data:`NOT_YET` for a child not submitted yet. The calls are given these handles as their
upstream values: executors resolve the futures inside them before the call runs, and the task
run turns a list into a ``Mapped`` state and a ``(FLATTEN, handle)`` pair into a flattened one.

:func:`task_inputs` is the view of a task submitted as one call, :func:`child_inputs` the view
of child ``i`` of a mapped task (child ``i`` sees child ``i`` of an upstream mapped task it is
mapped over, or item ``i`` of a mapped upstream result resolved when the task was expanded).
The scheduler and the one-by-one settling after a lost worker both use them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from headwater.engine.mapping import FLATTEN

if TYPE_CHECKING:
    from headwater.core.edge import Edge
    from headwater.core.task import Task

__all__ = ["NOT_YET", "child_inputs", "task_inputs"]

# A child slot whose call has not been submitted yet.
NOT_YET: Any = object()


def task_inputs(
    edges: list[Edge], handles: Mapping[Task, Any], flat_edges: frozenset[Edge]
) -> dict[Edge, Any]:
    """The upstream values of a task submitted as one call: each upstream task's handle."""
    ups = {e: handles[e.upstream_task] for e in edges}
    if flat_edges:
        for e in ups:
            if e in flat_edges:
                ups[e] = (FLATTEN, ups[e])
    return ups


def child_inputs(
    edges: list[Edge],
    handles: Mapping[Task, Any],
    resolved: Mapping[Edge, list[Any]],
    i: int,
    flat_edges: frozenset[Edge],
) -> dict[Edge, Any]:
    """The upstream values of child ``i`` of a mapped task.

    Args:
        edges: the mapped task's upstream edges.
        handles: each upstream task's handle (a list of children for a mapped one).
        resolved: the items of mapped edges resolved when the task was expanded.
        i: the child's index.
        flat_edges: the unmapped edges with ``flatten``.
    """
    ups: dict[Edge, Any] = {}
    for e in edges:
        if e in resolved:
            ups[e] = resolved[e][i]
            continue
        h = handles[e.upstream_task]
        if type(h) is list and e.mapped and not e.flattened:
            ups[e] = h[i]
        elif flat_edges and e in flat_edges:
            ups[e] = (FLATTEN, h)
        else:
            ups[e] = h
    return ups
