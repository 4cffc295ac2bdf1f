"""Dropping results nobody needs any more, in runs that keep only some tasks' results.

When ``return_tasks`` leaves some tasks out, a task's result is dropped once every downstream
task has been submitted — on ``LocalExecutor``, once they have all *finished*, so that a later
retry pass still finds every input it needs. The task keeps its state, without the result and
marked ``released``. Tasks mapped child by child over another release it child by child.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from headwater.engine.scheduling.plan import RunPlan, waiters
from headwater.engine.scheduling.slots import NOT_YET
from headwater.engine.state import Finished, Mapped, State

if TYPE_CHECKING:
    from headwater.core.edge import Edge
    from headwater.core.task import Task

__all__ = ["NOT_YET", "Releaser", "all_finished", "strip_state"]


def strip_state(state: Any) -> Any:
    """A finished state without its result (a "released" state); anything else unchanged."""
    if type(state) is list:
        return [strip_state(s) for s in state]
    if not isinstance(state, Finished) or getattr(state, "released", False):
        return state
    if type(state) is Mapped:
        new: State = Mapped(
            message=state.message, map_states=[strip_state(c) for c in state.map_states]
        )
    else:
        from headwater.engine.mapping import index_state

        new = index_state(state, None)
        new.cached_inputs = None
    new.released = True  # type: ignore[attr-defined]
    return new


def all_finished(handle: Any) -> bool:
    """Whether a handle (a state, a list of children, ``Mapped``) is finished throughout."""
    if type(handle) is list:
        return all(all_finished(h) for h in handle)
    if type(handle) is Mapped:
        return all(all_finished(c) for c in handle.map_states)
    return isinstance(handle, Finished)


class Releaser:
    """Tracks the consumers of each task and releases results as they run out.

    Args:
        tasks: the flow's tasks.
        up: the upstream edges of each task.
        plan: the run's plan.
        keep: the tasks whose results the run returns (never released).
        handles: the run's handles (futures, states or lists of children), updated in place.
        light: whether the executor runs each call inline (``LocalExecutor``).
        submit: the run's submit, used to strip results where they live.
    """

    def __init__(
        self,
        tasks: Any,
        up: dict[Task, list[Edge]],
        plan: RunPlan,
        keep: set[Task],
        handles: dict[Task, Any],
        light: bool,
        submit: Callable[..., Any],
    ) -> None:
        self.up = up
        self.keep = keep
        self.handles = handles
        self.light = light
        self.submit = submit
        self.wait_complete = plan.wait_complete
        self.wait_expanded = plan.wait_expanded
        self.childwise = plan.childwise
        self.consumers_left: dict[Task, int] = {}
        self.childwise_only: set[Task] = set()
        # children already released one by one (non-light executors), so that releasing the
        # whole task afterwards does not submit a second, useless strip call for each of them
        self.stripped_children: dict[Task, bytearray] = {}
        for u in tasks:
            wc = waiters(plan.wait_complete.get(u))
            we = plan.wait_expanded.get(u, ())
            self.consumers_left[u] = len(wc) + len(we)
            if we and not wc and u not in keep:
                self.childwise_only.add(u)

    def strip_handle(self, h: Any, done: bytearray | None = None) -> Any:
        """``h`` without results: stripped here, or (for futures) where the value lives."""
        if self.light or isinstance(h, State):
            return strip_state(h)
        if type(h) is list:
            return [
                h_i if h_i is NOT_YET or (done is not None and done[i]) else self.strip_handle(h_i)
                for i, h_i in enumerate(h)
            ]
        return self.submit(strip_state, h)

    def release(self, u: Task) -> None:
        """Drop ``u``'s result, unless it is kept (or, inline, a consumer is unfinished)."""
        handles = self.handles
        if u in self.keep or u not in handles:
            return
        if self.light:
            for d in itertools.chain(
                waiters(self.wait_complete.get(u)), self.wait_expanded.get(u, ())
            ):
                if not all_finished(handles[d]):
                    return
        handles[u] = self.strip_handle(handles[u], self.stripped_children.pop(u, None))

    def on_complete(self, t: Task) -> None:
        """Every call of ``t`` was submitted: its upstream tasks have one consumer less."""
        left_by = self.consumers_left
        for u in {e.upstream_task for e in self.up[t]}:
            left = left_by[u] - 1
            left_by[u] = left
            if left == 0:
                self.release(u)
        if left_by[t] == 0 and t not in self.keep:
            self.release(t)

    def on_child(self, t: Task, i: int) -> None:
        """Child ``i`` of ``t`` was submitted: release child ``i`` of child-wise upstreams."""
        handles = self.handles
        light = self.light
        for e in self.childwise.get(t, ()):
            u = e.upstream_task
            if u not in self.childwise_only:
                continue
            slots_u = handles[u]
            if type(slots_u) is not list or slots_u[i] is NOT_YET:
                continue
            ok = True
            for d in self.wait_expanded[u]:
                hd = handles.get(d)
                if (
                    type(hd) is not list
                    or i >= len(hd)
                    or hd[i] is NOT_YET
                    or (light and not isinstance(hd[i], Finished))
                ):
                    ok = False
                    break
            if ok:
                slots_u[i] = self.strip_handle(slots_u[i])
                if not light:
                    done = self.stripped_children.get(u)
                    if done is None:
                        done = self.stripped_children[u] = bytearray(len(slots_u))
                    done[i] = 1
