"""Changing a :class:`~headwater.core.flow.Flow` as a whole: ``update``, ``replace``, ``copy``.

:class:`FlowEditing` is the layer of ``Flow`` above adding single tasks and edges
(:mod:`headwater.core._flow_building`). As in Prefect 1, ``update`` merges reference tasks only
when asked, and ``merge_parameters`` lets the other flow's parameters replace this flow's::

    from headwater import Flow, Parameter, task

    @task
    def inc(x):
        return x + 1

    with Flow("one") as one:
        inc(Parameter("x", default=1))
    with Flow("two") as two:
        out = inc(Parameter("x", default=2))
    one.update(two, merge_parameters=True)
    assert one.run().result[out].result == 3
"""

from __future__ import annotations

import collections
from typing import TYPE_CHECKING, Any, Self, cast

from headwater.core._flow_building import FlowBuilding
from headwater.core.task import Task

if TYPE_CHECKING:
    from headwater.core.flow import Flow

__all__ = ["FlowEditing"]


class FlowEditing(FlowBuilding):
    """Whole-graph changes of :class:`~headwater.core.flow.Flow` (a layer of it)."""

    state_handlers: list[Any]
    _context_cm: list[Any]

    def update(
        self,
        flow: Flow,
        merge_parameters: bool = False,
        validate: bool | None = None,
        merge_reference_tasks: bool = False,
    ) -> None:
        """Add ``flow``'s tasks, edges and constants to this flow.

        Args:
            flow: the flow to take tasks from.
            merge_parameters: use this flow's parameter in place of a parameter of ``flow``
                with the same name (else such a duplicate is a ``ValueError``).
            validate: check each new edge (default ``config.flows.eager_edge_validation``).
            merge_reference_tasks: make the reference tasks of both flows this flow's
                reference tasks.
        """
        from headwater.core.parameter import Parameter

        if merge_parameters:
            # as Prefect 1: this flow's parameters give way to ``flow``'s of the same name
            theirs = {t.name: t for t in flow.tasks if isinstance(t, Parameter)}
            for p in [t for t in self.sorted_tasks() if isinstance(t, Parameter)]:
                if p.name in theirs and theirs[p.name] is not p:
                    self.replace(p, theirs[p.name], validate=False)
        for t in flow.sorted_tasks():
            self.add_task(t)
        for e in flow.edges:
            if e in self.graph.edges:
                continue
            self.add_edge(
                e.upstream_task,
                e.downstream_task,
                key=e.key,
                mapped=e.mapped,
                flattened=e.flattened,
                validate=validate,
            )
        for t, consts in flow.constants.items():
            self.constants[t].update(consts)
        if merge_reference_tasks:
            self.set_reference_tasks(self.reference_tasks() | flow.reference_tasks())

    def replace(self, old: Task, new: Any, validate: bool = True) -> None:
        """Put ``new`` in place of ``old``, keeping ``old``'s edges and constants."""
        from headwater.utilities.tasks import as_task

        if old not in self.graph.tasks:
            raise ValueError(f"{old!r} is not in {self!r}.")
        new = as_task(new, flow=cast("Flow", self))
        up, down = self.graph.remove_task(old)
        consts = self.constants.pop(old, {})
        was_ref = old in self._reference_tasks
        self._taken_slugs.discard(self.slugs.pop(old, ""))
        self._reference_tasks.discard(old)
        for e in up:
            self.add_edge(
                e.upstream_task,
                new,
                key=e.key,
                mapped=e.mapped,
                flattened=e.flattened,
                validate=False,
            )
        for e in down:
            self.add_edge(
                new,
                e.downstream_task,
                key=e.key,
                mapped=e.mapped,
                flattened=e.flattened,
                validate=False,
            )
        # (added after its edges, so a Constant's keyed edges become flow constants)
        self.add_task(new)
        if consts:
            self.constants[new].update(consts)
        if was_ref:
            self._reference_tasks.add(new)
        if validate:
            self.validate()

    def copy(self) -> Self:
        """A new flow with the same tasks and edges (the sets can be changed independently)."""
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.graph = self.graph.copy()
        consts: dict[Task, dict[str, Any]] = collections.defaultdict(dict)
        consts.update({t: dict(c) for t, c in self.constants.items()})
        new.constants = consts
        new.slugs = dict(self.slugs)
        new._slug_counts = collections.Counter(self._slug_counts)
        new._taken_slugs = set(self._taken_slugs)
        new._reference_tasks = set(self._reference_tasks)
        new.state_handlers = list(self.state_handlers)
        new._context_cm = []
        return new
