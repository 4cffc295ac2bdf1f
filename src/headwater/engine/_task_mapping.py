"""The parent of a mapped task: may it be expanded into children, and how many?

:class:`TaskMapping` adds the parent-level steps to
:class:`~headwater.engine._task_call.TaskCall`:

- :meth:`~TaskMapping.map_readiness` is what the flow runner asks before it expands a mapped
  task into one child run per item;
- :meth:`~TaskMapping._ready_to_map` is Prefect Core 1.x's step of the same purpose
  (``TaskRunner.check_task_ready_to_map``): it always ends the run, with
  ``Mapped(n_map_states=...)`` when the task can be mapped;
- :meth:`~TaskMapping.run_mapped_task` runs every child here, one after another (what
  ``TaskRunner.run`` does when it is called directly on a task with mapped inputs).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from headwater.context import context as _context
from headwater.core._options import mapping_hint
from headwater.engine._task_call import TaskCall
from headwater.engine.signals import ENDRUN
from headwater.engine.state import Failed, Mapped, Pending, State

if TYPE_CHECKING:
    from headwater.core.edge import Edge

__all__ = ["TaskMapping"]


class TaskMapping(TaskCall):
    """The mapped-parent steps (see the module docstring)."""

    # defined by TaskRunner, which runs the pipeline these steps belong to
    run_unit: Callable[..., State]

    def run_mapped_task(
        self, state: State | None, upstream_states: dict[Edge, State], ctx: dict[str, Any]
    ) -> State:
        """Run every child of a mapped task here, one after another; returns ``Mapped``."""
        from headwater.engine.mapping import child_upstream_states, map_length

        base = {**_context.current(), **ctx}
        ready, prepared = self.map_readiness(state or Pending(), upstream_states)
        if not ready:
            return prepared
        n = map_length(upstream_states)
        prior = state.map_states if isinstance(state, Mapped) else []
        children = []
        for i in range(n):
            child_state = prior[i] if i < len(prior) else None
            children.append(
                self.run_unit(child_state, child_upstream_states(upstream_states, i), base, i)
            )
        return Mapped(message="Mapped tasks submitted for execution.", map_states=children)

    def check_ready_to_map(self, state: State, upstream_states: dict[Edge, State]) -> State:
        """Parent-level checks of a mapped task; returns ``state`` itself when ready to map."""
        return self.map_readiness(state, upstream_states)[1]

    def map_readiness(self, state: State, upstream_states: dict[Edge, State]) -> tuple[bool, State]:
        """``(True, state)`` if the task can be expanded into children, else ``(False, final)``.

        The same checks as a flow run makes: see :func:`headwater.engine.mapping.map_readiness`.
        """
        from headwater.engine.mapping import map_readiness

        return map_readiness(self, state, upstream_states)

    def _unmappable(self, edge: Edge, state: State) -> str | None:
        """Why the result of ``state`` (upstream over a mapped ``edge``) cannot be mapped over."""
        value = state.result
        if isinstance(value, Mapping):
            return (
                f"Task {self.task.name!r} cannot map over the result of upstream task "
                f"{edge.upstream_task.name!r}: it returned a dict, and {mapping_hint()}."
            )
        if not hasattr(value, "__getitem__") or not hasattr(value, "__len__"):
            return (
                "At least one upstream state has an unmappable result: "
                f"{edge.upstream_task.name!r} returned {type(value).__name__}, which cannot be "
                "indexed."
            )
        return None

    def _ready_to_map(self, state: State, upstream_states: dict[Edge, State]) -> State:
        """End the parent's run: ``Mapped`` with ``n_map_states`` if it can be mapped, or ``Failed``.

        A ``Mapped`` state (a rerun of the parent) is ended as it is, with ``cached_inputs``
        holding each keyed upstream ``Result`` and ``map_states`` as long as ``n_map_states``.

        Raises:
            ENDRUN: always, with the state the parent ends in.
        """
        if isinstance(state, Mapped):
            n = state.n_map_states
            if not state.map_states and n > 0:
                state.map_states = [None] * n  # type: ignore[list-item]
            state.cached_inputs = {
                e.key: s.result_holder for e, s in upstream_states.items() if e.key is not None
            }
            raise ENDRUN(state)
        raise ENDRUN(self._mapping_state(upstream_states))

    def _mapping_state(self, upstream_states: dict[Edge, State]) -> State:
        """``Mapped(n_map_states=...)`` for a parent that can be mapped, else ``Failed``."""
        mapped = [(e, s) for e, s in upstream_states.items() if e.mapped]
        if upstream_states and not any(s.is_successful() for _, s in mapped):
            return Failed("No upstream states can be mapped over.")
        sizes = []
        for e, s in mapped:
            if not s.is_successful():
                continue
            if isinstance(s, Mapped):
                sizes.append(s.n_map_states)
                continue
            problem = self._unmappable(e, s)
            if problem is not None:
                return Failed(problem)
            sizes.append(len(s.result))
        return Mapped("Ready to proceed with mapping.", n_map_states=min(sizes, default=0))
