"""The scheduler: hands a flow's task runs to an executor and collects their states.

A work stack hands task runs to the executor as soon as what they depend on has been
*submitted* — upstream futures travel as arguments, so distributed executors chain them
without round trips. A mapped task is expanded into children as soon as its length is known;
child ``i`` of a task mapped over another mapped task depends only on child ``i`` upstream, and
the stack runs the deepest ready work first, so chains of maps run depth-first, index by index,
on every executor (on inline executors that is also the order in which they run).

Tasks whose state is already known are not submitted: a task given a finished state (other
than ``Cached`` or ``Mapped``) keeps it, and a constant task (``is_constant``) without a state
succeeds with its ``value``. Tasks marked ``rerun_on_restart`` (secrets, resource set-up and
clean-up) run again unless their finished state is ``Cached``.

The shape follows a classic dynamic scheduler: the graph facts are planned once per graph
version (:mod:`~headwater.engine.scheduling.plan`), everything a pass changes is plain data in
a :class:`~headwater.engine.scheduling.run_state.RunState`, and :class:`Scheduler` acts on it
with one method per job — :meth:`~Scheduler.next_ready` (the next ready work),
:meth:`~Scheduler.submit_task`, :meth:`~Scheduler.expand_map`, :meth:`~Scheduler.submit_child`,
:meth:`~Scheduler.complete`, :meth:`~Scheduler.settle` and :meth:`~Scheduler.count_down` (the only place waiting counts
change). Releasing results nobody needs (:mod:`~headwater.engine.scheduling.release`) and
settling calls one by one after a lost worker (:mod:`~headwater.engine.scheduling.settle`) have
their own modules.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from typing import TYPE_CHECKING, Any

from headwater.engine.mapping import map_readiness, mapped_items, parent_view_state
from headwater.engine.scheduling.plan import RunPlan, plan_for, upstream_edges
from headwater.engine.scheduling.release import Releaser
from headwater.engine.scheduling.run_state import RunState
from headwater.engine.scheduling.slots import NOT_YET, child_inputs, task_inputs
from headwater.engine.signals import ENDRUN
from headwater.engine.state import Finished, Mapped, Pending, State, Success
from headwater.engine.submission import is_inline, run_task_call, submitter_for

if TYPE_CHECKING:
    from headwater.core.edge import Edge
    from headwater.core.flow import Flow
    from headwater.core.task import Task
    from headwater.engine.observers import RunObservers
    from headwater.engine.scheduling.async_calls import AsyncCalls

__all__ = ["Scheduler", "run_graph"]

_EMPTY_MAPPED_PLACEHOLDER = Mapped(map_states=[])
_MAPPED_MESSAGE = "Mapped tasks submitted for execution."
# Keys of a task context that every task run sets for itself anyway.
_OWN_KEYS = frozenset({"task_name", "task_slug"})
_NONE: tuple[Any, ...] = ()


def _known_state(prior: State | None) -> bool:
    """Whether a task given ``prior`` keeps it without running (finished; not cached/mapped)."""
    return isinstance(prior, Finished) and type(prior) is not Mapped and not prior.is_cached()


def run_graph(
    flow: Flow,
    task_runner_cls: Callable[..., Any],
    task_states: dict[Task, State],
    task_contexts: MutableMapping[Task, dict[str, Any]],
    return_tasks: set[Task],
    task_runner_state_handlers: list[Callable[..., Any]] | None,
    executor: Any,
    ctx: dict[str, Any],
    observers: RunObservers | None = None,
) -> dict[Task, State]:
    """Run every task of ``flow`` on the started ``executor``; returns each task's state.

    Args:
        flow: the flow.
        task_runner_cls: the class running each task.
        task_states: known states to start from (updated with constants' and reruns' states).
        task_contexts: extra context per task.
        return_tasks: the tasks whose results must be kept (the others may be released).
        task_runner_state_handlers: runner-level handlers for every task runner.
        executor: the executor, started.
        ctx: the run's context.
        observers: the run's observers, if any (told of planned and finished task runs).
    """
    scheduler = Scheduler(
        flow,
        task_runner_cls,
        task_states,
        task_contexts,
        return_tasks,
        task_runner_state_handlers,
        executor,
        ctx,
        observers,
    )
    return scheduler.run()


class Scheduler:
    """One pass of a flow run: submits every task's calls, then collects their states.

    Args: as :func:`run_graph`.

    Attributes:
        tasks: the flow's tasks in topological order.
        up: the upstream edges of each task.
        plan: the graph's :class:`~headwater.engine.scheduling.plan.RunPlan`.
        rs: the pass's :class:`~headwater.engine.scheduling.run_state.RunState`.
        inline: whether the executor runs each call as it is submitted (``runs_inline``).
        releaser: the result releaser, when ``return_tasks`` leaves tasks out.
        async_calls: on an inline executor, for a flow with ``async def`` tasks, the calls
            whose runs overlap (see :mod:`~headwater.engine.scheduling.async_calls`).
    """

    async_calls: AsyncCalls

    def __init__(
        self,
        flow: Flow,
        task_runner_cls: Callable[..., Any],
        task_states: dict[Task, State],
        task_contexts: MutableMapping[Task, dict[str, Any]],
        return_tasks: set[Task],
        task_runner_state_handlers: list[Callable[..., Any]] | None,
        executor: Any,
        ctx: dict[str, Any],
        observers: RunObservers | None = None,
    ) -> None:
        self.tasks = tasks = flow.sorted_tasks()
        self.up: dict[Task, list[Edge]] = upstream_edges(flow)
        self.plan: RunPlan = plan_for(flow)
        self.rs = RunState(self.plan)
        self.constants = flow.constants
        self.flow_result = flow.result
        self.task_runner_cls = task_runner_cls
        self.runner_handlers = task_runner_state_handlers
        self.task_states = task_states
        self.inline = is_inline(executor)
        self.submit = submitter_for(executor)
        self.wait = executor.wait
        self.ctx = ctx
        self.overrides = _context_overrides(ctx, task_contexts)
        self.observers = observers
        self.watch = observers is not None and observers.by_callback
        self._start_from(task_states)
        if self.inline and self.plan.async_tasks:  # async task runs overlap (see async_calls)
            from headwater.engine.scheduling.async_calls import AsyncCalls

            self.async_calls = AsyncCalls(self.submit)
            self.wait = self.async_calls.wait
            self.call = self.call_overlapping  # type: ignore[method-assign]
        if observers is not None:
            observers.tasks_planned(len(tasks) - len(self.plan.mapped_tasks))
        keep = return_tasks if isinstance(return_tasks, (set, frozenset)) else set(return_tasks)
        self.releaser: Releaser | None = None
        if not keep.issuperset(tasks):
            self.releaser = Releaser(
                tasks, self.up, self.plan, keep, self.rs.handles, self.inline, self.submit
            )

    def _start_from(self, task_states: dict[Task, State]) -> None:
        """Give constants their value and make reruns (``rerun_on_restart``) pending again."""
        for t in self.plan.constants:
            if task_states.get(t) is None:
                task_states[t] = Success(result=t.value)
        for t in self.plan.rerun:
            s = task_states.get(t)
            if isinstance(s, Finished) and not s.is_cached():
                task_states[t] = Pending()

    # -- the loop -----------------------------------------------------------------------------
    def run(self) -> dict[Task, State]:
        """Submit everything, as it becomes ready; then collect every task's state."""
        next_ready = self.next_ready
        mapped = self.plan.mapped_tasks
        task_states = self.task_states
        while (work := next_ready()) is not None:
            t, i = work
            if i >= 0:
                self.submit_child(t, i)
                continue
            prior = task_states.get(t) if task_states else None
            if prior is not None and _known_state(prior):
                self.settle(t, prior)
            elif t in mapped:
                self.expand_map(t, prior)
            else:
                self.submit_task(t, prior)
        return self.collect()

    def next_ready(self) -> tuple[Task, int] | None:
        """The next ready work — ``(task, -1)`` or ``(mapped task, child index)`` — or None."""
        rs = self.rs
        if rs.ready:
            return rs.ready.pop()
        k = rs.next_root
        roots = self.plan.roots
        if k < len(roots):
            rs.next_root = k + 1
            return roots[k], -1
        return None

    def count_down(self, ws: Any) -> None:
        """Tasks ``ws`` (a task, a list of them, or None) wait for one condition less."""
        if ws is None:
            return
        need = self.rs.need
        for d in ws if type(ws) is list else (ws,):
            left = need[d] - 1
            need[d] = left
            if left == 0:
                self.rs.ready.append((d, -1))

    def complete(self, t: Task) -> None:
        """Every call of ``t`` has been submitted: wake the tasks waiting for it."""
        self.count_down(self.plan.wait_complete.get(t))
        if self.releaser is not None:
            self.releaser.on_complete(t)

    def settle(self, t: Task, state: State) -> None:
        """``t`` ends with ``state`` as a whole, without calls of its own."""
        self.rs.handles[t] = state
        if self.observers is not None:
            self.observers.task_finished(t, state, None)
        self.count_down(self.plan.wait_expanded.get(t))
        self.complete(t)

    # -- submitting calls ---------------------------------------------------------------------
    def make_runner(self, t: Task) -> Any:
        """A task runner for ``t`` (with the flow's constants for it)."""
        r = self.task_runner_cls(
            task=t, state_handlers=self.runner_handlers, flow_result=self.flow_result
        )
        c = self.constants.get(t)
        if c:
            r.constants = c
        return r

    def call(
        self, t: Task, runner: Any, prior: State | None, ups: dict[Edge, Any], i: int | None
    ) -> Any:
        """Submit one call of ``t`` (child ``i``, or the whole task when ``i`` is None)."""
        ctx = self.overrides.get(t, self.ctx) if self.overrides else self.ctx
        if self.inline:
            fut = self.submit(run_task_call, runner, prior, ups, ctx, i)
        else:
            fut = self.submit(
                run_task_call, runner, prior, ups, ctx, i, extra_context=_extra_context(t, i)
            )
            if self.watch:
                self.observers.watch(fut, t, i)  # type: ignore[union-attr]
        return fut

    def call_overlapping(
        self, t: Task, runner: Any, prior: State | None, ups: dict[Edge, Any], i: int | None
    ) -> Any:
        """:meth:`call` on an inline executor in a flow with ``async def`` tasks."""
        ctx = self.overrides.get(t, self.ctx) if self.overrides else self.ctx
        is_async = t in self.plan.async_tasks
        return self.async_calls.call(is_async, runner, prior, ups, ctx, i)

    def submit_task(self, t: Task, prior: State | None) -> None:
        """Submit ``t`` as one call, with its upstream tasks' handles."""
        ups = task_inputs(self.up[t], self.rs.handles, self.plan.flat_edges)
        self.rs.handles[t] = self.call(t, self.make_runner(t), prior, ups, None)
        self.complete(t)

    def submit_child(self, t: Task, i: int) -> None:
        """Submit child ``i`` of the expanded mapped task ``t``."""
        rs = self.rs
        slots = rs.handles[t]
        prior = self.task_states.get(t)
        child_state = None
        if type(prior) is Mapped and i < len(prior.map_states):
            child_state = prior.map_states[i]
        ups = child_inputs(self.up[t], rs.handles, rs.resolved[t], i, self.plan.flat_edges)
        slots[i] = self.call(t, rs.runners[t], child_state, ups, i)
        rs.submitted[t] += 1
        for d in self.plan.wait_expanded.get(t, _NONE):
            hd = rs.handles.get(d)
            if type(hd) is list and i < len(hd) and hd[i] is NOT_YET and self.child_ready(d, i):
                rs.ready.append((d, i))
        if self.releaser is not None:
            self.releaser.on_child(t, i)
        if rs.submitted[t] == len(slots):
            self.complete(t)

    def child_ready(self, d: Task, i: int) -> bool:
        """Whether child ``i`` of mapped ``d`` has every child-wise upstream child submitted."""
        handles = self.rs.handles
        res_d = self.rs.resolved.get(d, _NONE)
        for e in self.plan.childwise.get(d, _NONE):
            if e in res_d:
                continue
            slots = handles[e.upstream_task]
            if type(slots) is not list or slots[i] is NOT_YET:
                return False
        return True

    # -- expanding mapped tasks ---------------------------------------------------------------
    def expand_map(self, t: Task, prior: State | None) -> None:
        """Learn the length of mapped ``t`` and push its children, or settle it as a whole."""
        self.rs.runners[t] = runner = self.make_runner(t)
        parent_view, lengths = self._parent_view(t)
        ready, parent_state = map_readiness(runner, prior or Pending(), parent_view)
        if not ready:
            self.settle(t, parent_state)
            return
        res, no_result = self._resolve_items(t, parent_view, lengths)
        if type(prior) is Mapped:
            n_prior = getattr(prior, "n_map_states", None) or len(prior.map_states)
            if n_prior:
                lengths.append(n_prior)
        n = min(lengths) if lengths else 0
        if type(prior) is not Mapped and (t.state_handlers or self.runner_handlers):
            expanded = _expanded_state(runner, prior, n)
            if type(expanded) is not Mapped:  # a handler chose another state
                self.settle(t, expanded)
                return
        for e, s in no_result:
            res[e] = [s] * n
        self.start_children(t, n, res)

    def _parent_view(self, t: Task) -> tuple[dict[Edge, State], list[int]]:
        """The upstream states mapped ``t`` sees as a whole, and the child-wise lengths.

        Every upstream state, as in Prefect Core 1.x: an unfinished or skipped one (a ``case``
        that did not match, say) settles the whole task.
        """
        handles = self.rs.handles
        cw = self.plan.childwise[t]
        parent_view: dict[Edge, State] = {}
        lengths: list[int] = []
        for e in self.up[t]:
            h = handles[e.upstream_task]
            if type(h) is list and e in cw:
                parent_view[e] = _EMPTY_MAPPED_PLACEHOLDER
                lengths.append(len(h))
            else:
                parent_view[e] = parent_view_state(self.wait(h))
        return parent_view, lengths

    def _resolve_items(
        self, t: Task, parent_view: dict[Edge, State], lengths: list[int]
    ) -> tuple[dict[Edge, list[Any]], list[tuple[Edge, State]]]:
        """The items of the mapped edges whose upstream result is known now.

        Returns the items per edge and the mapped edges whose state has no items (each child
        gets that state); appends each list's length to ``lengths``.
        """
        handles = self.rs.handles
        cw = self.plan.childwise[t]
        res: dict[Edge, list[Any]] = {}
        no_result: list[tuple[Edge, State]] = []
        for e, s in parent_view.items():
            if not e.mapped or (e in cw and type(handles[e.upstream_task]) is list):
                continue
            items = mapped_items(e, s)
            if items is None:
                no_result.append((e, s))
            else:
                lengths.append(len(items))
                res[e] = items
        return res, no_result

    def start_children(self, t: Task, n: int, res: dict[Edge, list[Any]]) -> None:
        """Make ``n`` child slots for ``t`` and push the children that are ready."""
        rs = self.rs
        if self.observers is not None:
            self.observers.tasks_planned(n)
        rs.handles[t] = [NOT_YET] * n
        rs.resolved[t] = res
        rs.submitted[t] = 0
        for j in range(n - 1, -1, -1):
            if self.child_ready(t, j):
                rs.ready.append((t, j))
        # counted down after the children are pushed, so downstream maps expand first and
        # then pick up each child as soon as it is submitted: depth-first
        self.count_down(self.plan.wait_expanded.get(t))
        if n == 0:
            self.complete(t)

    # -- collecting ---------------------------------------------------------------------------
    def collect(self) -> dict[Task, State]:
        """Wait for every call and return each task's state (a list of children -> Mapped).

        When the wait fails because a worker died, or a value could not travel between
        processes, the states are settled call by call instead, so that only the calls
        concerned fail and the others keep their states.
        """
        try:
            raw = self.wait(self.rs.handles)
        except Exception as exc:
            from headwater.engine.scheduling.settle import recoverable_errors, settle_one_by_one

            if not isinstance(exc, recoverable_errors()):
                raise
            raw = settle_one_by_one(self)
        final: dict[Task, State] = {}
        for t in self.tasks:
            s = raw[t]
            if type(s) is list:
                s = Mapped(message=_MAPPED_MESSAGE, map_states=s)
            final[t] = s
        return final


def _context_overrides(
    ctx: dict[str, Any], task_contexts: MutableMapping[Task, dict[str, Any]]
) -> dict[Task, dict[str, Any]]:
    """The merged contexts of the tasks given context keys of their own.

    A ``TaskContexts`` holds those in ``given``; the others only have their name and slug,
    which task runs set anyway.
    """
    given = getattr(task_contexts, "given", task_contexts)
    return {t: {**ctx, **c} for t, c in given.items() if c and not c.keys() <= _OWN_KEYS}


def _extra_context(t: Task, i: int | None) -> dict[str, Any]:
    """The context keys a call sent to another thread or process sets for itself."""
    return {
        "task_full_name": t.name if i is None else f"{t.name}[{i}]",
        "map_index": i,
        "task_index": i,
        "task_tags": t.tags,
        "task_name": t.name,
    }


def _expanded_state(runner: Any, prior: State | None, n: int) -> State:
    """The parent's change to ``Mapped`` (its state handlers see it), or what they chose."""
    new = Mapped(message="Ready to proceed with mapping.", n_map_states=n)
    try:
        return runner.change_state(prior or Pending(), new)  # type: ignore[no-any-return]
    except ENDRUN as exc:
        return exc.state
