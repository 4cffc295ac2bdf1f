"""The run state: everything the scheduler changes while a flow run goes on, as plain data.

One :class:`RunState` is made per pass of a flow run, from the graph's
:class:`~headwater.engine.scheduling.plan.RunPlan`; the scheduler's small methods act on it and
nothing else keeps run data. Its fields:

``need``
    Per task, how many upstream conditions it still waits for (a copy of ``RunPlan.need``).
    A task is pushed on ``ready`` when its count reaches 0; the scheduler's ``count_down`` is
    the only place that changes it.
``handles``
    Per task reached so far, what downstream calls are given for it (see
    :mod:`~headwater.engine.scheduling.slots`): the future of its call, its ``State`` when it
    is known without running (or a mapped task settled as a whole), or — for a mapped task
    expanded into children — its list of child handles,
    :data:`~headwater.engine.scheduling.slots.NOT_YET` for a child not submitted yet.
``submitted``
    Per expanded mapped task, how many of its children have been submitted; when it reaches
    the length of its list of children, the task is complete.
``resolved``
    Per expanded mapped task, the items of the mapped edges whose upstream result was known
    at expansion (an unmapped upstream task's list result, say), one list per edge.
``runners``
    Per expanded mapped task, the task runner its children share. Other tasks' runners are
    made when they are submitted and not kept, so big flows never hold every runner at once.
``ready``
    The stack of ready work: ``(task, -1)`` for a task, ``(task, i)`` for child ``i`` of a
    mapped task. The deepest ready work runs first, so chains of maps run index by index.
``next_root``
    How many of ``RunPlan.roots`` (the tasks that wait for nothing) have been taken. Roots are
    taken one at a time whenever ``ready`` is empty — the order of pushing them all at first,
    without allocating a pair per root (which, for 100,000 roots, sets off a full garbage
    collection).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from headwater.core.edge import Edge
    from headwater.core.task import Task
    from headwater.engine.scheduling.plan import RunPlan

__all__ = ["RunState"]


class RunState:
    """The mutable data of one scheduler pass (fields documented in the module docstring)."""

    __slots__ = ("handles", "need", "next_root", "ready", "resolved", "runners", "submitted")

    def __init__(self, plan: RunPlan) -> None:
        self.need: dict[Task, int] = dict(plan.need)
        self.handles: dict[Task, Any] = {}
        self.submitted: dict[Task, int] = {}
        self.resolved: dict[Task, dict[Edge, list[Any]]] = {}
        self.runners: dict[Task, Any] = {}
        self.ready: list[tuple[Task, int]] = []
        self.next_root = 0
