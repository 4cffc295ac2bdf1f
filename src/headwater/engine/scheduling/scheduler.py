"""The scheduler: hands a flow's task runs to an executor and collects their states.

A work stack hands task runs to the executor as soon as what they depend on has been
*submitted* — upstream futures travel as arguments, so distributed executors chain them
without round trips. A mapped task is expanded into children as soon as its length is known;
child ``i`` of a task mapped over another mapped task depends only on child ``i`` upstream, and
the stack runs the deepest ready work first, so chains of maps run depth-first, index by index,
on every executor (on ``LocalExecutor`` that is also the order in which they run).

Tasks whose state is already known are not submitted: a task given a finished state (other
than ``Cached`` or ``Mapped``) keeps it, and a constant task (``is_constant``) without a state
succeeds with its ``value``. Tasks marked ``rerun_on_restart`` (secrets, resource set-up and
clean-up) run again unless their finished state is ``Cached``.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from typing import TYPE_CHECKING, Any

from headwater.engine.mapping import FLATTEN, map_readiness, mapped_items, parent_view_state
from headwater.engine.scheduling.plan import make_plan, waiters
from headwater.engine.scheduling.release import NOT_YET, Releaser
from headwater.engine.signals import ENDRUN
from headwater.engine.state import Finished, Mapped, Pending, State, Success
from headwater.engine.submission import is_inline, run_task_call, submitter_for

if TYPE_CHECKING:
    from headwater.core.edge import Edge
    from headwater.core.flow import Flow
    from headwater.core.task import Task

__all__ = ["run_graph"]

_EMPTY_MAPPED_PLACEHOLDER = Mapped(map_states=[])
_MAPPED_MESSAGE = "Mapped tasks submitted for execution."
# Keys of a task context that every task run sets for itself anyway.
_OWN_KEYS = frozenset({"task_name", "task_slug"})


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
    bar: Any = None,
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
        bar: the run's progress bar, if any.
    """
    tasks = flow.sorted_tasks()
    up = flow._up
    constants = flow.constants
    plan = flow._derived("run_plan", lambda: make_plan(tasks, up))
    mapped_tasks, childwise, wait_expanded, wait_complete = plan[:4]
    need = dict(plan.need)  # counts down during the run
    roots = plan.roots
    flat_edges = plan.flat_edges
    for t in plan.constants:
        if task_states.get(t) is None:
            task_states[t] = Success(result=t.value)  # type: ignore[attr-defined]
    for t in plan.rerun:
        s = task_states.get(t)
        if isinstance(s, Finished) and not s.is_cached():
            task_states[t] = Pending()
    flow_result = flow.result
    if bar is not None:
        bar.add_total(len(tasks) - len(mapped_tasks))
    bar_callbacks = bar is not None and not bar.count_in_tasks

    def make_runner(t: Task) -> Any:
        # made when the task is reached and dropped after submission (mapped tasks keep
        # theirs for their children): big flows never hold every runner at once
        r = task_runner_cls(
            task=t, state_handlers=task_runner_state_handlers, flow_result=flow_result
        )
        c = constants.get(t)
        if c:
            r.constants = c
        return r

    runners: dict[Task, Any] = {}
    no_edges: list[Edge] = []
    no_waiters: list[Task] = []
    handles: dict[Task, Any] = {}
    submitted: dict[Task, int] = {}
    resolved: dict[Task, dict[Edge, list[Any]]] = {}
    # Ready work. Root tasks are taken from ``roots`` one at a time, whenever the stack is
    # empty: the same order as pushing them all first, without allocating a (task, index)
    # pair per root up front (which, for 100,000 roots, sets off a full garbage collection).
    stack: list[tuple[Task, int]] = []
    n_roots = len(roots)
    next_root = 0
    light = is_inline(executor)
    submit = submitter_for(executor)
    wait = executor.wait
    # the merged contexts of the tasks given context keys of their own (a TaskContexts holds
    # them in ``given``; the others are only their name and slug, which task runs set anyway)
    given = getattr(task_contexts, "given", task_contexts)
    overrides = {t: {**ctx, **c} for t, c in given.items() if c and not c.keys() <= _OWN_KEYS}

    def ctx_for(t: Task) -> dict[str, Any]:
        return overrides.get(t, ctx) if overrides else ctx

    def extra_for(t: Task, i: int | None) -> dict[str, Any] | None:
        if light:
            return None
        name = t.name if i is None else f"{t.name}[{i}]"
        return {
            "task_full_name": name,
            "map_index": i,
            "task_index": i,
            "task_tags": t.tags,
            "task_name": t.name,
        }

    def fire(u: Task, ws: Any) -> None:
        for d in ws or no_waiters:
            need[d] -= 1
            if need[d] == 0:
                stack.append((d, -1))

    def child_ready(d: Task, i: int) -> bool:
        res_d = resolved.get(d, ())
        for e in childwise.get(d, no_edges):
            if e in res_d:
                continue
            slots = handles[e.upstream_task]
            if type(slots) is not list or slots[i] is NOT_YET:
                return False
        return True

    keep = return_tasks if isinstance(return_tasks, (set, frozenset)) else set(return_tasks)
    releaser = None
    if not keep.issuperset(tasks):
        releaser = Releaser(tasks, up, plan, keep, handles, light, submit)

    def settle_known(t: Task, s: State) -> None:
        """``t`` keeps state ``s`` without running."""
        handles[t] = s
        if bar is not None:
            bar.finished(s)
        fire(t, wait_expanded.get(t))
        fire(t, waiters(wait_complete.get(t)))
        if releaser is not None:
            releaser.on_complete(t)

    while True:
        if stack:
            t, i = stack.pop()
        elif next_root < n_roots:
            t, i = roots[next_root], -1
            next_root += 1
        else:
            break
        if i >= 0:
            # one child of a mapped task
            slots = handles[t]
            ups: dict[Edge, Any] = {}
            res = resolved[t]
            for e in up[t]:
                if e in res:
                    ups[e] = res[e][i]
                else:
                    h = handles[e.upstream_task]
                    if type(h) is list and e.mapped and not e.flattened:
                        ups[e] = h[i]
                    elif flat_edges and e in flat_edges:
                        ups[e] = (FLATTEN, h)
                    else:
                        ups[e] = h
            prior = task_states.get(t)
            child_state = None
            if type(prior) is Mapped and i < len(prior.map_states):
                child_state = prior.map_states[i]
            if light:
                fut = submit(run_task_call, runners[t], child_state, ups, ctx_for(t), i)
            else:
                fut = submit(
                    run_task_call,
                    runners[t],
                    child_state,
                    ups,
                    ctx_for(t),
                    i,
                    extra_context=extra_for(t, i),
                )
            slots[i] = fut
            if bar_callbacks:
                _on_done(fut, bar)
            submitted[t] += 1
            for d in wait_expanded.get(t, no_waiters):
                hd = handles.get(d)
                if type(hd) is list and i < len(hd) and hd[i] is NOT_YET and child_ready(d, i):
                    stack.append((d, i))
            if releaser is not None:
                releaser.on_child(t, i)
            if submitted[t] == len(slots):
                fire(t, waiters(wait_complete.get(t)))
                if releaser is not None:
                    releaser.on_complete(t)
            continue

        prior = task_states.get(t) if task_states else None
        if prior is not None and _known_state(prior):
            settle_known(t, prior)
            continue

        if t not in mapped_tasks:
            runner = make_runner(t)
            ups = {e: handles[e.upstream_task] for e in up[t]}
            if flat_edges:
                for e in ups:
                    if e in flat_edges:
                        ups[e] = (FLATTEN, ups[e])
            if light:
                fut = submit(
                    run_task_call,
                    runner,
                    prior,
                    ups,
                    overrides.get(t, ctx) if overrides else ctx,
                    None,
                )
            else:
                fut = submit(
                    run_task_call,
                    runner,
                    prior,
                    ups,
                    ctx_for(t),
                    None,
                    extra_context=extra_for(t, None),
                )
            handles[t] = fut
            if bar_callbacks:
                _on_done(fut, bar)
            w = wait_complete.get(t)
            if w is not None:
                for d in w if type(w) is list else (w,):
                    n_left = need[d] - 1
                    need[d] = n_left
                    if n_left == 0:
                        stack.append((d, -1))
            if releaser is not None:
                releaser.on_complete(t)
            continue

        # a mapped task: learn its length, or settle it at the parent level
        runners[t] = runner = make_runner(t)
        cw = set(childwise[t])
        parent_view: dict[Edge, State] = {}
        lengths: list[int] = []
        res = {}
        for e in up[t]:
            h = handles[e.upstream_task]
            if e in cw and type(h) is list:
                parent_view[e] = _EMPTY_MAPPED_PLACEHOLDER
                lengths.append(len(h))
                continue
            # every upstream state, as in Prefect Core 1.x: an unfinished or skipped one
            # (a `case` that did not match, say) settles the whole task
            parent_view[e] = parent_view_state(wait(h))
        ready, parent_state = map_readiness(runner, prior or Pending(), parent_view)
        if not ready:
            handles[t] = parent_state
            fire(t, wait_expanded.get(t))
            fire(t, waiters(wait_complete.get(t)))
            if releaser is not None:
                releaser.on_complete(t)
            continue
        no_result: list[tuple[Edge, State]] = []
        for e, s in parent_view.items():
            if not e.mapped or (e in cw and type(handles[e.upstream_task]) is list):
                continue
            items = mapped_items(e, s)
            if items is None:
                no_result.append((e, s))
                continue
            lengths.append(len(items))
            res[e] = items
        if type(prior) is Mapped:
            n_prior = getattr(prior, "n_map_states", None) or len(prior.map_states)
            if n_prior:
                lengths.append(n_prior)
        n = min(lengths) if lengths else 0
        if type(prior) is not Mapped and (t.state_handlers or task_runner_state_handlers):
            expanded = _expanded_state(runner, prior, n)
            if type(expanded) is not Mapped:  # a handler chose another state
                handles[t] = expanded
                fire(t, wait_expanded.get(t))
                fire(t, waiters(wait_complete.get(t)))
                if releaser is not None:
                    releaser.on_complete(t)
                continue
        for e, s in no_result:
            res[e] = [s] * n
        if bar is not None:
            bar.add_total(n)
        slots = [NOT_YET] * n
        handles[t] = slots
        resolved[t] = res
        submitted[t] = 0
        for j in range(n - 1, -1, -1):
            if child_ready(t, j):
                stack.append((t, j))
        # pushed after the children, so downstream maps expand first and then pick
        # up each child as soon as it is submitted: depth-first
        fire(t, wait_expanded.get(t))
        if n == 0:
            fire(t, waiters(wait_complete.get(t)))
            if releaser is not None:
                releaser.on_complete(t)

    # collect
    try:
        raw = wait(handles)
    except Exception as exc:
        # A worker died, or a value could not travel between processes: settle task by
        # task instead, so that only the tasks concerned fail and the others keep their states.
        from headwater.engine.scheduling.settle import recoverable_errors, settle_one_by_one

        if not isinstance(exc, recoverable_errors()):
            raise
        raw = settle_one_by_one(
            tasks,
            handles,
            up,
            resolved,
            runners,
            make_runner,
            task_states,
            ctx_for,
            extra_for,
            submit,
            wait,
            light,
        )
    final: dict[Task, State] = {}
    for t in tasks:
        s = raw[t]
        if type(s) is list:
            s = Mapped(message=_MAPPED_MESSAGE, map_states=s)
        final[t] = s
    return final


def _expanded_state(runner: Any, prior: State | None, n: int) -> State:
    """The parent's change to ``Mapped`` (its state handlers see it), or what they chose."""
    new = Mapped(message="Ready to proceed with mapping.", n_map_states=n)
    try:
        return runner._change(prior or Pending(), new)  # type: ignore[no-any-return]
    except ENDRUN as exc:
        return exc.state


def _on_done(fut: Any, bar: Any) -> None:
    add = getattr(fut, "add_done_callback", None)
    if add is not None:
        add(bar.future_done)
