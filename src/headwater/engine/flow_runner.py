"""``FlowRunner``: runs a flow's tasks on an executor and decides the flow's final state.

The flow is planned once (topological order, upstream edges per task: all O(tasks + edges)).
Then a work stack hands task runs to the executor as soon as what they depend on has been
*submitted* — upstream futures travel as arguments, so distributed executors chain them
without round trips. A mapped task is expanded into children as soon as its length is known;
child ``i`` of a task mapped over another mapped task depends only on child ``i`` upstream, and
the stack runs the deepest ready work first, so chains of maps run depth-first, index by index,
on every executor (on ``LocalExecutor`` that is also the order in which they run).

The final state: if any terminal task is unfinished the flow stays ``Running``; if any
reference task (default: the terminal tasks; mapped ones child by child) failed it is
``Failed``; otherwise ``Success``.
"""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from headwater.context import context as _context
from headwater.engine._initialize_result import FlowRunnerInitializeResult  # noqa: F401
from headwater.engine.mapping import _mapped_values, index_state
from headwater.engine.runner import Runner
from headwater.engine.signals import ENDRUN, HeadwaterStateSignal
from headwater.engine.state import (
    Failed,
    Finished,
    Mapped,
    Pending,
    Retrying,
    Running,
    Scheduled,
    State,
    Success,
)
from headwater.engine.task_runner import _PROCESS_CACHES, TaskRunner

if TYPE_CHECKING:
    from headwater.core.edge import Edge
    from headwater.core.flow import Flow
    from headwater.core.task import Task

__all__ = ["ENDRUN", "FlowRunner"]

_NOT_YET = object()
_EMPTY_MAPPED_PLACEHOLDER = Mapped(map_states=[])


# Progress bars of the runs going on in this process, by flow_run_id. Task runs executed in
# this process tick them; in a worker process this stays empty and costs one truth test.
_LIVE_BARS: dict[str, Any] = {}


def _run_task(
    runner: TaskRunner, state: State | None, upstream: dict, ctx: dict, map_index: int | None
) -> State:
    """What the executor runs for one task (or mapped child)."""
    for s in upstream.values():
        if type(s) is list:
            for e, s2 in upstream.items():
                if type(s2) is list:
                    upstream[e] = Mapped(
                        message="Mapped tasks submitted for execution.", map_states=s2
                    )
            break
    new = runner.run_unit(state, upstream, ctx, map_index)
    if _LIVE_BARS:
        bar = _LIVE_BARS.get(ctx.get("flow_run_id"))
        if bar is not None and bar.count_in_tasks:
            bar.finished(new)
    return new


def _strip(state: Any) -> Any:
    """A finished state without its result (a "released" state); anything else unchanged."""
    if type(state) is list:
        return [_strip(s) for s in state]
    if not isinstance(state, Finished) or getattr(state, "released", False):
        return state
    if type(state) is Mapped:
        new: State = Mapped(message=state.message, map_states=[_strip(c) for c in state.map_states])
    else:
        new = index_state(state, None)
        new.cached_inputs = None
    new.released = True  # type: ignore[attr-defined]
    return new


def _all_finished(handle: Any) -> bool:
    if type(handle) is list:
        return all(_all_finished(h) for h in handle)
    if type(handle) is Mapped:
        return all(_all_finished(c) for c in handle.map_states)
    return isinstance(handle, Finished)


class FlowRunner(Runner):
    """Runs a :class:`~headwater.core.flow.Flow`.

    Args:
        flow: the flow to run.
        task_runner_cls: the class running each task (default from config).
        state_handlers: runner-level handlers ``fn(runner, old, new)``.
    """

    def __init__(
        self,
        flow: Flow,
        task_runner_cls: type | None = None,
        state_handlers: list[Callable[..., Any]] | None = None,
    ) -> None:
        super().__init__(state_handlers=state_handlers)
        self.flow = flow
        if task_runner_cls is None:
            from headwater.engine import get_default_task_runner_class

            task_runner_cls = get_default_task_runner_class()
        self.task_runner_cls = task_runner_cls

    def __repr__(self) -> str:
        return f"<FlowRunner: {self.flow.name}>"

    def call_runner_target_handlers(self, old_state: State, new_state: State) -> State:
        flow = self.flow
        for handler in flow.state_handlers:
            new_state = self.call_state_handler(handler, (flow, old_state, new_state), new_state)
        self.call_on_failure(flow.on_failure, flow, old_state, new_state)
        return new_state

    def state_from_signal(self, sig: HeadwaterStateSignal, new_state: State) -> State:
        """The signal's state; without a result of its own, it keeps the task states."""
        state: State = sig.state
        if state.result is sig and isinstance(new_state.result, dict):
            state.result = new_state.result
        return state

    def handler_fault_state(
        self,
        handler: Callable[..., Any],
        what: str,
        exc: BaseException,
        new_state: State,
        kind: str = "state handler",
    ) -> State:
        """``Failed``, naming the handler; its result keeps the task states, if there are any."""
        state = super().handler_fault_state(handler, what, exc, new_state, kind)
        if isinstance(new_state.result, dict):
            state.result = new_state.result
        return state

    # -- entry point ----------------------------------------------------------------------
    def run(
        self,
        state: State | None = None,
        task_states: dict[Task, State] | None = None,
        return_tasks: Iterable[Task] | None = None,
        parameters: dict[str, Any] | None = None,
        task_runner_state_handlers: list[Callable[..., Any]] | None = None,
        executor: Any = None,
        context: dict[str, Any] | None = None,
        task_contexts: dict[Task, dict[str, Any]] | None = None,
        progress: Any = None,
    ) -> State:
        """Run the flow once and return its state; ``state.result`` maps ``return_tasks`` to
        their states.

        ``progress`` is ``True``, ``False`` or ``"auto"`` (default: ``config.flows.progress``);
        see :mod:`headwater.utilities.progress`.

        Raises:
            ValueError: unknown parameters, a missing required parameter, an invalid parameter
                value, or ``return_tasks`` not in the flow — before any task runs.
        """
        flow = self.flow
        return_set = set(return_tasks or ())
        if not return_set <= flow.tasks:
            missing = ", ".join(sorted(repr(t) for t in return_set - flow.tasks))
            raise ValueError(f"return_tasks not in {flow!r}: {missing}")
        params = self.validate_parameters(parameters or {})
        context = dict(context or {})
        if executor is None:
            executor = flow.executor
        if executor is None:
            from headwater.engine import get_default_executor_class

            executor = get_default_executor_class()()
        ctx = self.initialize_run(params, context)
        var = _context._var
        token = var.set(ctx)
        self.task_states: dict[Task, State] = {}
        bar, own_bar = self._progress_bar(progress)
        if bar is not None:
            bar.new_pass()
            # distributed futures report their own completion; elsewhere task runs tick the bar
            bar.count_in_tasks = not hasattr(executor, "client")
            _LIVE_BARS[ctx["flow_run_id"]] = bar
        self._bar = bar
        try:
            try:
                state = state or Pending()
                state = self.check_flow_is_pending_or_running(state)
                state = self.check_flow_reached_start_time(state)
                state = self.set_flow_to_running(state)
                with executor.start():  # the executor's pools/cluster live for this run
                    state = self.get_flow_run_state(
                        state,
                        task_states=dict(task_states or {}),
                        task_contexts=dict(task_contexts or {}),
                        return_tasks=return_set,
                        task_runner_state_handlers=task_runner_state_handlers,
                        executor=executor,
                        ctx=ctx,
                    )
            except ENDRUN as exc:
                state = exc.state
        except KeyboardInterrupt:
            raise
        except Exception as exc:
            if ctx.get("raise_on_exception"):
                raise
            msg = f"Unexpected error while running flow: {exc!r}"
            self.logger.exception(msg)
            state = Failed(msg, result=exc)
        finally:
            var.reset(token)
            if bar is not None:
                _LIVE_BARS.pop(ctx["flow_run_id"], None)
                self._bar = None
                if own_bar:
                    bar.close(state)
        return state

    def _progress_bar(self, progress: Any) -> tuple[Any, bool]:
        """``(bar, owned)``: the bar this run draws (``None`` for none), and whether it ends with it."""
        if progress is False:
            return None, False
        if progress is not None and hasattr(progress, "new_pass"):
            return progress, False  # one bar across the passes of flow.run()
        from headwater.utilities.progress import progress_bar_for

        bar = progress_bar_for(self.flow.name, progress)
        return bar, bar is not None

    # -- steps ----------------------------------------------------------------------------
    def validate_parameters(self, parameters: dict[str, Any]) -> dict[str, Any]:
        """Check names, required values and types of the flow's parameters."""
        flow_params = {p.name: p for p in self.flow.parameters()}
        unknown = sorted(set(parameters) - set(flow_params))
        if unknown:
            known = ", ".join(sorted(flow_params)) or "none"
            raise ValueError(
                f"Flow {self.flow.name!r} got unknown parameter(s): {', '.join(unknown)}. "
                f"Its parameters are: {known}."
            )
        missing = sorted(n for n, p in flow_params.items() if p.required and n not in parameters)
        if missing:
            raise ValueError(
                f"Flow {self.flow.name!r} is missing required parameter(s): {', '.join(missing)}. "
                "Pass them with flow.run(parameters={...}) or as keyword arguments."
            )
        out = dict(parameters)
        for name, p in flow_params.items():
            value = out[name] if name in out else p.default
            out[name] = p.validate_value(value) if (p.type is not None or name in out) else value
        return out

    def initialize_run(self, parameters: dict[str, Any], context: dict[str, Any]) -> dict[str, Any]:
        """Build the run context (flow keys, dates, parameters, caches, secrets, config)."""
        import pendulum

        from headwater.configuration import config

        base = _context.to_dict()
        base.update(context)
        flow = self.flow
        now = pendulum.now("UTC")
        start = base.get("scheduled_start_time") or now
        if not isinstance(start, pendulum.DateTime):
            start = pendulum.instance(start)
        flow_run_id = base.get("flow_run_id") or str(uuid.uuid4())
        cfg = base.get("config") or config
        secrets = {}
        try:
            secrets.update(cfg.context.secrets or {})
        except AttributeError:
            pass
        secrets.update(base.get("secrets") or {})
        try:
            checkpointing = bool(cfg.flows.checkpointing)
        except AttributeError:
            checkpointing = False
        date = start
        ctx = {
            **base,
            "flow": None,
            "flow_name": flow.name,
            "flow_run_id": flow_run_id,
            "flow_run_name": base.get("flow_run_name") or f"{flow.name}-{flow_run_id[:8]}",
            "scheduled_start_time": start,
            "parameters": parameters,
            "date": date,
            "today": date.strftime("%Y-%m-%d"),
            "yesterday": date.add(days=-1).strftime("%Y-%m-%d"),
            "tomorrow": date.add(days=1).strftime("%Y-%m-%d"),
            "today_nodash": date.strftime("%Y%m%d"),
            "yesterday_nodash": date.add(days=-1).strftime("%Y%m%d"),
            "tomorrow_nodash": date.add(days=1).strftime("%Y%m%d"),
            "checkpointing": base.get("checkpointing", checkpointing),
            "resume": base.get("resume", False),
            "caches": base.get("caches") if base.get("caches") is not None else _PROCESS_CACHES,
            "secrets": secrets,
            "config": cfg,
            "logger": self.logger,
            "task_run_count": 1,
            "task_loop_count": 1,
            "task_loop_result": None,
        }
        cache_dir = getattr(flow, "cache_dir", None)
        persistent = False
        try:
            persistent = bool(cfg.flows.get("persistent_cache", False))
        except AttributeError:
            pass
        if cache_dir is not None or persistent:
            from headwater.engine.persistent_cache import PersistentCache

            ctx["_persistent_cache"] = PersistentCache.for_flow(flow, cache_dir, cfg)
        return ctx

    def check_flow_is_pending_or_running(self, state: State) -> State:
        """Only pending or running flow states run; others are returned as they are."""
        if state.is_pending() or state.is_running():
            return state
        raise ENDRUN(state)

    def check_flow_reached_start_time(self, state: State) -> State:
        """A flow ``Scheduled`` for the future is returned as it is."""
        import pendulum

        if (
            isinstance(state, Scheduled)
            and state.start_time
            and state.start_time > pendulum.now("UTC")
        ):
            raise ENDRUN(state)
        return state

    def set_flow_to_running(self, state: State) -> State:
        """Move to ``Running``."""
        if state.is_running():
            return state
        new = Running(message="Running flow.")
        if self.flow.state_handlers or self.state_handlers or self.flow.on_failure:
            new = self.handle_state_change(state, new)
        if self.logger.isEnabledFor(20):
            self.logger.info("Beginning Flow run for '%s'", self.flow.name)
        return new

    # -- the scheduler --------------------------------------------------------------------
    def get_flow_run_state(
        self,
        state: State,
        task_states: dict[Task, State],
        task_contexts: dict[Task, dict[str, Any]],
        return_tasks: set[Task],
        task_runner_state_handlers: list[Callable[..., Any]] | None,
        executor: Any,
        ctx: dict[str, Any],
    ) -> State:
        """Submit every task run to ``executor``, collect the states, decide the final state."""
        if not state.is_running():
            raise ENDRUN(state)  # a state handler chose another state: no task runs
        flow = self.flow
        tasks = flow.sorted_tasks()
        up = flow._up
        constants = flow.constants
        plan = flow._derived("run_plan", lambda: _plan(tasks, up))
        mapped_tasks, childwise, wait_expanded, wait_complete, need0, roots = plan
        need = dict(need0)  # counts down during the run
        runner_cls = self.task_runner_cls
        flow_result = flow.result
        bar = getattr(self, "_bar", None)
        if bar is not None:
            bar.add_total(len(tasks) - len(mapped_tasks))
        bar_callbacks = bar is not None and not bar.count_in_tasks

        def make_runner(t: Task) -> TaskRunner:
            # made when the task is reached and dropped after submission (mapped tasks keep
            # theirs for their children): big flows never hold every runner at once
            r = runner_cls(
                task=t, state_handlers=task_runner_state_handlers, flow_result=flow_result
            )
            c = constants.get(t)
            if c:
                r.constants = c
            return r

        runners: dict[Task, TaskRunner] = {}
        no_edges: list[Edge] = []
        no_waiters: list[Task] = []

        handles: dict[Task, Any] = {}
        submitted: dict[Task, int] = {}
        resolved: dict[Task, dict[Edge, list[Any]]] = {}
        # children of mapped task d, waiting on child-wise upstream slots
        # Ready work. Root tasks are taken from ``roots`` one at a time, whenever the stack is
        # empty: the same order as pushing them all first, without allocating a (task, index)
        # pair per root up front (which, for 100,000 roots, sets off a full garbage collection).
        stack: list[tuple[Task, int]] = []
        n_roots = len(roots)
        next_root = 0
        light = _is_light(executor)
        if light:
            submit = executor.submit
        elif getattr(executor, "is_process_based", False):
            submit = _explaining_submit(executor)
        else:
            submit = _sharing_submit(executor, in_process=False)
        task_ctx_cache: dict[Task, dict[str, Any]] = {}

        def ctx_for(t: Task) -> dict[str, Any]:
            if not task_contexts:
                return ctx
            c = task_ctx_cache.get(t)
            if c is None:
                c = {**ctx, **task_contexts[t]} if t in task_contexts else ctx
                task_ctx_cache[t] = c
            return c

        def extra_for(t: Task, i: int | None) -> dict[str, Any] | None:
            if light:
                return None
            name = t.name if i is None else f"{t.name}[{i}]"
            return {
                "task_full_name": name,
                "map_index": i,
                "task_tags": t.tags,
                "task_name": t.name,
            }

        def fire(u: Task, waiters: Any) -> None:
            for d in waiters or no_waiters:
                need[d] -= 1
                if need[d] == 0:
                    stack.append((d, -1))

        def whole(u: Task) -> Any:
            return handles[u]

        def child_ready(d: Task, i: int) -> bool:
            res_d = resolved.get(d, ())
            for e in childwise.get(d, no_edges):
                if e in res_d:
                    continue
                slots = handles[e.upstream_task]
                if type(slots) is not list or slots[i] is _NOT_YET:
                    return False
            return True

        wait = executor.wait

        # -- releasing results nobody needs any more (only when return_tasks leaves some out) --
        # A task's result is dropped (its state kept, result-less and marked ``released``) once
        # every downstream task has been submitted — on LocalExecutor, once they have all
        # *finished*, so a later retry pass still finds every input it needs. Tasks mapped
        # child by child over another release it child by child.
        keep = return_tasks if isinstance(return_tasks, (set, frozenset)) else set(return_tasks)
        bounded = not keep.issuperset(tasks)
        consumers_left: dict[Task, int] = {}
        childwise_only: set[Task] = set()
        if bounded:
            for u in tasks:
                wc = _waiters(wait_complete.get(u))
                we = wait_expanded.get(u, no_waiters)
                consumers_left[u] = len(wc) + len(we)
                if we and not wc and u not in keep:
                    childwise_only.add(u)

        # children already released one by one (non-light executors), so that releasing the
        # whole task afterwards does not submit a second, useless strip call for each of them
        stripped_children: dict[Task, bytearray] = {}

        def strip_handle(h: Any, done: bytearray | None = None) -> Any:
            if light:
                return _strip(h)
            if type(h) is list:
                return [
                    h_i
                    if h_i is _NOT_YET or (done is not None and done[i])
                    else submit(_strip, h_i)
                    for i, h_i in enumerate(h)
                ]
            return submit(_strip, h)

        def release(u: Task) -> None:
            if u in keep or u not in handles:
                return
            if light:
                for d in itertools.chain(
                    _waiters(wait_complete.get(u)), wait_expanded.get(u, no_waiters)
                ):
                    if not _all_finished(handles[d]):
                        return
            handles[u] = strip_handle(handles[u], stripped_children.pop(u, None))

        def on_complete(t: Task) -> None:
            if not bounded:
                return
            for u in {e.upstream_task for e in up[t]}:
                left = consumers_left[u] - 1
                consumers_left[u] = left
                if left == 0:
                    release(u)
            if consumers_left[t] == 0 and t not in keep:
                release(t)

        def on_child(t: Task, i: int) -> None:
            for e in childwise.get(t, no_edges):
                u = e.upstream_task
                if u not in childwise_only:
                    continue
                slots_u = handles[u]
                if type(slots_u) is not list or slots_u[i] is _NOT_YET:
                    continue
                ok = True
                for d in wait_expanded[u]:
                    hd = handles.get(d)
                    if (
                        type(hd) is not list
                        or i >= len(hd)
                        or hd[i] is _NOT_YET
                        or (light and not isinstance(hd[i], Finished))
                    ):
                        ok = False
                        break
                if ok:
                    slots_u[i] = strip_handle(slots_u[i])
                    if not light:
                        done = stripped_children.get(u)
                        if done is None:
                            done = stripped_children[u] = bytearray(len(slots_u))
                        done[i] = 1

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
                        ups[e] = h[i] if (type(h) is list and e.mapped and not e.flattened) else h
                prior = task_states.get(t)
                child_state = None
                if type(prior) is Mapped and i < len(prior.map_states):
                    child_state = prior.map_states[i]
                if light:
                    fut = submit(_run_task, runners[t], child_state, ups, ctx_for(t), i)
                else:
                    fut = submit(
                        _run_task,
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
                    if type(hd) is list and i < len(hd) and hd[i] is _NOT_YET and child_ready(d, i):
                        stack.append((d, i))
                if bounded:
                    on_child(t, i)
                if submitted[t] == len(slots):
                    fire(t, _waiters(wait_complete.get(t)))
                    on_complete(t)
                continue

            if t not in mapped_tasks:
                runner = make_runner(t)
                ups = {e: handles[e.upstream_task] for e in up[t]}
                if light:
                    fut = submit(
                        _run_task,
                        runner,
                        task_states.get(t) if task_states else None,
                        ups,
                        ctx_for(t) if task_contexts else ctx,
                        None,
                    )
                else:
                    fut = submit(
                        _run_task,
                        runner,
                        task_states.get(t),
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
                if bounded:
                    on_complete(t)
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
                if not e.mapped:
                    continue
                s = wait(h)
                if type(s) is list:
                    s = Mapped(message="Mapped tasks submitted for execution.", map_states=s)
                parent_view[e] = s
            prior = task_states.get(t)
            ready, parent_state = runner.map_readiness(prior or Pending(), parent_view)
            if ready:
                for e, s in parent_view.items():
                    if e in cw and type(handles[e.upstream_task]) is list:
                        continue
                    values = _mapped_values(e, s)
                    lengths.append(len(values))
                    if type(s) is Mapped and not e.flattened:
                        res[e] = values
                    elif type(s) is Mapped:
                        res[e] = [Success(result=v) for v in values]
                    else:
                        res[e] = [index_state(s, v) for v in values]
                n = min(lengths) if lengths else 0
                if bar is not None:
                    bar.add_total(n)
                slots = [_NOT_YET] * n
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
                    fire(t, _waiters(wait_complete.get(t)))
                    on_complete(t)
                continue
            handles[t] = parent_state
            fire(t, wait_expanded.get(t))
            fire(t, _waiters(wait_complete.get(t)))
            on_complete(t)

        # collect
        try:
            raw = wait(handles)
        except Exception as exc:
            # A worker died, or a value could not travel between processes: settle task by
            # task instead, so that only the tasks concerned fail and the others keep their states.
            from headwater.exceptions import SerializationError
            from headwater.executors._dask_support import WorkerLostError

            if not isinstance(exc, (WorkerLostError, SerializationError)):
                raise
            raw = self._settle_one_by_one(
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
                s = Mapped(message="Mapped tasks submitted for execution.", map_states=s)
            final[t] = s
        self.task_states = final
        return self.determine_final_state(state, final, return_tasks)

    def _settle_one_by_one(
        self,
        tasks: list[Task],
        handles: dict[Task, Any],
        up: dict[Task, list[Edge]],
        resolved: dict[Task, dict[Edge, list[Any]]],
        runners: dict[Task, TaskRunner],
        make_runner: Callable[[Task], TaskRunner],
        task_states: dict[Task, State],
        ctx_for: Callable[[Task], dict[str, Any]],
        extra_for: Callable[[Task, int | None], dict[str, Any] | None],
        submit: Callable[..., Any],
        wait: Callable[[Any], Any],
        light: bool,
    ) -> dict[Task, Any]:
        """Collect each task's (and mapped child's) state separately, after a lost worker.

        Tasks are settled in topological order. A call whose own worker was lost (or whose
        value could not be pickled) gets a ``Failed`` state saying so — or ``Retrying``, when
        the task's retry settings allow. A call that only failed because an upstream call did
        is submitted again with the upstream states settled so far, so that it gets its normal
        trigger outcome.
        """
        from headwater.exceptions import SerializationError
        from headwater.executors._dask_support import WorkerLostError

        recoverable = (WorkerLostError, SerializationError)
        raw: dict[Task, Any] = {}
        replaced: set[tuple[Task, int | None]] = set()  # calls whose state we made here

        def prior_state(t: Task, i: int | None) -> State | None:
            prior = task_states.get(t)
            if i is None:
                return prior
            if type(prior) is Mapped and i < len(prior.map_states):
                return prior.map_states[i]
            return None

        def upstream_states(t: Task, i: int | None) -> tuple[dict[Edge, Any], bool]:
            ups: dict[Edge, Any] = {}
            touched = False
            res = resolved.get(t, {})
            for e in up[t]:
                u = e.upstream_task
                if i is not None and e in res:
                    ups[e] = res[e][i]
                    touched = touched or any(k[0] is u for k in replaced)
                    continue
                v = raw[u]
                if i is not None and type(v) is list and e.mapped and not e.flattened:
                    ups[e] = v[i]
                    touched = touched or (u, i) in replaced
                else:
                    ups[e] = v
                    touched = touched or any(k[0] is u for k in replaced)
            return ups, touched

        def settle(t: Task, i: int | None, h: Any) -> Any:
            resubmitted = False
            while True:
                try:
                    return wait(h)
                except recoverable as err:
                    own = (
                        isinstance(err, WorkerLostError)
                        and err.key is not None
                        and err.key == getattr(h, "key", None)
                    )
                    ups, touched = upstream_states(t, i)
                    if own or resubmitted or not touched:
                        replaced.add((t, i))
                        return self._lost_call_state(
                            t, i, err, prior_state(t, i), runners.get(t) or make_runner(t)
                        )
                    runner = runners.get(t) or make_runner(t)
                    if light:
                        h = submit(_run_task, runner, prior_state(t, i), ups, ctx_for(t), i)
                    else:
                        h = submit(
                            _run_task,
                            runner,
                            prior_state(t, i),
                            ups,
                            ctx_for(t),
                            i,
                            extra_context=extra_for(t, i),
                        )
                    resubmitted = True

        for t in tasks:
            h = handles[t]
            if type(h) is list:
                raw[t] = [settle(t, i, h_i) for i, h_i in enumerate(h)]
            else:
                raw[t] = settle(t, None, h)
        return raw

    def _lost_call_state(
        self, t: Task, i: int | None, err: BaseException, prior: State | None, runner: TaskRunner
    ) -> State:
        """``Failed`` (or ``Retrying``, for a lost worker with retries left) for one call."""
        from headwater.executors._dask_support import WorkerLostError

        name = t.name if i is None else f"{t.name}[{i}]"
        lost = isinstance(err, WorkerLostError)
        if lost:
            msg = f"The worker running task {name!r} was lost before the task finished: {err}"
        else:
            msg = f"Task {name!r} could not be run: {err}"
        running = Running(message="Starting task run.")
        try:
            new: State = runner._change(running, Failed(msg, result=err))
        except ENDRUN as exc:  # a state handler of the task failed
            return exc.state
        attempt = prior.run_count + 1 if isinstance(prior, Retrying) else 1
        if lost and isinstance(new, Failed) and attempt <= t.max_retries:
            if t.retry_on is None or isinstance(err, t.retry_on):
                import pendulum

                delay = t.retry_delay
                start = pendulum.now("UTC") + delay if delay is not None else pendulum.now("UTC")
                retry = Retrying(
                    message=f"Retrying Task (after attempt {attempt} of {t.max_retries + 1}): the worker was lost.",
                    start_time=start,
                    run_count=attempt,
                    context={"failure": msg},
                )
                try:
                    new = runner._change(new, retry)
                except ENDRUN as exc:
                    new = exc.state
        return new

    def determine_final_state(
        self, state: State, task_states: dict[Task, State], return_tasks: set[Task]
    ) -> State:
        """Apply the final-state rules and the flow's ``terminal_state_handler``."""
        flow = self.flow
        terminal = flow.terminal_tasks()
        reference = flow.reference_tasks()
        if not isinstance(return_tasks, (set, frozenset)):
            return_tasks = set(return_tasks)
        if len(return_tasks) == len(task_states) and return_tasks.issuperset(task_states):
            returned = dict(task_states)  # every task (flow.run's default): a plain copy
        else:
            returned = {t: task_states[t] for t in return_tasks if t in task_states}

        def expand(states: Iterable[State]) -> list[State]:
            out: list[State] = []
            for s in states:
                if type(s) is Mapped:
                    out.extend(s.map_states)
                    if not s.map_states:
                        out.append(s)
                else:
                    out.append(s)
            return out

        terminal_states = expand(task_states[t] for t in terminal)
        reference_states = expand(task_states[t] for t in reference)
        if not all(s.is_finished() for s in terminal_states):
            if self.logger.isEnabledFor(20):
                self.logger.info("Flow run RUNNING: terminal tasks are incomplete.")
            new: State = Running(message="Flow run in progress.", result=returned)
        elif any(s.is_failed() for s in reference_states):
            if self.logger.isEnabledFor(20):
                self.logger.info("Flow run FAILED: some reference tasks failed.")
            new = Failed(message="Some reference tasks failed.", result=returned)
        elif all(s.is_successful() for s in reference_states):
            if self.logger.isEnabledFor(20):
                self.logger.info("Flow run SUCCESS: all reference tasks succeeded")
            new = Success(message="All reference tasks succeeded.", result=returned)
        else:
            new = Success(message="No reference tasks failed.", result=returned)
        handler = flow.terminal_state_handler
        if handler is not None:
            args = (flow, new, {t: task_states[t] for t in reference})
            try:
                new = self.call_state_handler(handler, args, new, "terminal state handler")
            except ENDRUN as exc:  # it returned junk or raised: the flow's handlers still run
                new = exc.state
            except HeadwaterStateSignal as sig:
                new = self.state_from_signal(sig, new)
        if new is not state and (flow.state_handlers or self.state_handlers or flow.on_failure):
            new = self.handle_state_change(state, new)
        return new


def _plan(tasks: tuple[Task, ...], up: dict[Task, list[Edge]]) -> tuple[Any, ...]:
    """What a run of a flow needs to know about its graph, made once per graph.

    ``(mapped_tasks, childwise, wait_expanded, wait_complete, need, roots)``: the tasks with a
    mapped input; per mapped task, the edges it takes child by child; per task, the mapped
    tasks waiting for it to be expanded, and the tasks waiting for it to complete (see
    :func:`_add_waiter`); how many upstream conditions each task waits for; the tasks that
    wait for none. The flow keeps it until its graph changes (``Flow._derived``), so running
    the same flow again does not plan it again; runs copy ``need`` before counting it down.
    """
    mapped_tasks: set[Task] = set()
    for t in tasks:
        for e in up[t]:
            if e.mapped:
                mapped_tasks.add(t)
                break
    # dependency conditions: d waits for u to be "expanded" (child-wise map) or "complete"
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
                u = edges_in[0].upstream_task
                _add_waiter(wait_complete, u, d)
                need[d] = 1
                continue
            ups = {e.upstream_task for e in edges_in}
            for u in ups:
                _add_waiter(wait_complete, u, d)
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
                _add_waiter(wait_complete, u, d)
        childwise[d] = cw
        need[d] = len(by_up)
    roots = [t for t in tasks if need[t] == 0]
    return mapped_tasks, childwise, wait_expanded, wait_complete, need, roots


def _add_waiter(waiters: dict[Any, Any], u: Any, d: Any) -> None:
    """Record that ``d`` waits for ``u``: ``d`` itself if it is the first, then a list."""
    w = waiters.get(u)
    if w is None:
        waiters[u] = d
    elif type(w) is list:
        w.append(d)
    else:
        waiters[u] = [w, d]


def _waiters(w: Any) -> Any:
    """The waiters recorded by :func:`_add_waiter` as a sequence."""
    if w is None:
        return ()
    return w if type(w) is list else (w,)


def _on_done(fut: Any, bar: Any) -> None:
    add = getattr(fut, "add_done_callback", None)
    if add is not None:
        add(bar.future_done)


def _is_light(executor: Any) -> bool:
    from headwater.executors.local import LocalExecutor

    return type(executor) is LocalExecutor


# -- executors other than LocalExecutor: what a task run sends --------------------------------
def _run_shared_task(
    shared: Any, state: State | None, states: tuple, ctx: Any, map_index: int | None
) -> State:
    """:func:`_run_task` with the parts that do not change between calls sent as ``Shared``.

    ``shared.value`` is ``(runner, edges)`` — the task's runner (with its constant inputs) and
    its upstream edges, which hold the upstream tasks — and ``ctx.value`` the run's context:
    one copy of each per run (per mapped task for the runner), whatever the number of calls.
    ``states`` are the upstream states (or futures of them) in the order of ``edges``.
    """
    runner, edges = shared.value
    return _run_task(runner, state, dict(zip(edges, states)), ctx.value, map_index)


def _run_shared_task_in_process(
    shared: Any, state: State | None, states: tuple, ctx: Any, map_index: int | None
) -> State:
    """:func:`_run_shared_task` for executors that pickle results (see :func:`_run_task_in_process`)."""
    runner, edges = shared.value
    return _run_task_in_process(runner, state, dict(zip(edges, states)), ctx.value, map_index)


def _sharing_submit(executor: Any, in_process: bool) -> Callable[..., Any]:
    """``executor.submit`` that sends each task run's unchanging parts as ``Shared`` values.

    The run's context, and a mapped task's runner and upstream edges, are the same for many
    calls; wrapped in :class:`~headwater.executors.base.Shared`, an executor that pickles calls
    sends them once instead of once per call (a mapped task's edges hold its upstream tasks,
    constants included), and thread-based executors do not search them for futures.
    """
    from headwater.executors.base import Shared

    submit = executor.submit
    target = _run_shared_task_in_process if in_process else _run_shared_task
    contexts: dict[int, Any] = {}  # id(ctx) -> Shared(ctx)
    mapped: dict[int, tuple[Any, tuple]] = {}  # id(runner) -> (Shared((runner, edges)), edges)

    def sharing_submit(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        if fn is not _run_task:
            return submit(fn, *args, **kwargs)
        runner, prior, ups, ctx, map_index = args
        shared_ctx = contexts.get(id(ctx))
        if shared_ctx is None or shared_ctx.value is not ctx:
            shared_ctx = contexts[id(ctx)] = Shared(ctx, "context")
        edges = tuple(ups)
        if map_index is None:  # used once: nothing to remember
            shared = Shared((runner, edges), runner.task.name)
        else:
            hit = mapped.get(id(runner))
            if hit is None or hit[0].value[0] is not runner or hit[1] != edges:
                hit = mapped[id(runner)] = (Shared((runner, edges), runner.task.name), edges)
            shared = hit[0]
        return submit(target, shared, prior, tuple(ups.values()), shared_ctx, map_index, **kwargs)

    return sharing_submit


# -- process-based executors: explain what cannot be pickled ----------------------------------
def _run_task_in_process(
    runner: TaskRunner, state: State | None, upstream: dict, ctx: dict, map_index: int | None
) -> State:
    """:func:`_run_task` for executors that pickle results: an unpicklable value fails the task."""
    new = _run_task(runner, state, upstream, ctx, map_index)
    value = new.result
    if value is None or type(new) is Mapped or not new.is_successful():
        return new
    import cloudpickle

    try:
        cloudpickle.dumps(value)
    except Exception as exc:  # noqa: BLE001 - any pickling failure is explained the same way
        name = runner.task.name if map_index is None else f"{runner.task.name}[{map_index}]"
        from headwater.exceptions import SerializationError

        err = SerializationError(
            f"Task {name!r} returned {_short(value)}, which cannot be pickled to send it back from "
            f"the worker process ({exc}). To fix: return plain data (create objects such as open "
            "files, locks, connections or generators inside the tasks that use them), or run "
            "the flow on a thread-based executor."
        )
        return Failed(str(err), result=err)
    return new


def _short(obj: Any, limit: int = 80) -> str:
    try:
        text = repr(obj)
    except Exception:  # noqa: BLE001
        text = f"<{type(obj).__name__} object>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _explaining_submit(executor: Any) -> Callable[..., Any]:
    """``executor.submit`` for executors that pickle tasks: what cannot be pickled fails its task.

    A task run whose task, inputs or context cannot be pickled becomes a ``Failed`` state (in
    place of a future) whose message names the task, the value and the fix. A task downstream
    of such a task cannot be pickled either (its upstream edges hold the task); it is run here,
    in this process, so that it gets its normal trigger outcome.
    """
    from headwater.exceptions import SerializationError

    submit = _sharing_submit(executor, in_process=True)
    explained: list[State] = []  # the Failed states made here (their downstream runs here)

    def explaining_submit(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        if fn is not _run_task:
            return submit(fn, *args, **kwargs)
        try:
            return submit(_run_task, *args, **kwargs)
        except SerializationError as exc:
            runner, prior, ups, ctx, map_index = args
            if any(v is s for v in ups.values() for s in explained):
                return _run_task(runner, prior, executor.wait(dict(ups)), ctx, map_index)
            msg = _explain_unpicklable_run(executor, runner, prior, ups, ctx, map_index, exc)
            err = SerializationError(msg)
            err.__cause__ = exc
            failed = Failed(msg, result=err)
            explained.append(failed)
            return failed

    return explaining_submit


def _explain_unpicklable_run(
    executor: Any,
    runner: TaskRunner,
    prior: Any,
    ups: dict,
    ctx: dict,
    map_index: int | None,
    exc: BaseException,
) -> str:
    import cloudpickle

    def cause(obj: Any) -> BaseException | None:
        try:
            cloudpickle.dumps(obj)
        except Exception as e:  # noqa: BLE001
            return e
        return None

    task = runner.task
    name = task.name if map_index is None else f"{task.name}[{map_index}]"
    candidates: list[tuple[str, Any]] = []
    fn = getattr(task, "__wrapped__", None) or getattr(type(task), "run", None)
    if fn is not None:
        candidates.append((f"its function {getattr(fn, '__qualname__', fn)!r}", fn))
    candidates += [(f"its attribute {k!r}", v) for k, v in vars(task).items() if k != "__wrapped__"]
    candidates += [
        (f"its input {k!r}", v) for k, v in (getattr(runner, "constants", None) or {}).items()
    ]
    candidates += [(f"parameter {k!r}", v) for k, v in (ctx.get("parameters") or {}).items()]
    candidates += [
        (f"its upstream input {e.key or e.upstream_task.name!r}", v) for e, v in ups.items()
    ]
    candidates += [(f"context key {k!r}", v) for k, v in ctx.items() if k != "parameters"]
    if prior is not None:
        candidates.append(("its previous state", prior))
    what, value, why = "the task run", task, exc
    for label, obj in candidates:
        found = cause(obj)
        if found is not None:
            what, value, why = label, obj, found
            break
    qualname = getattr(value, "__qualname__", "") or ""
    if qualname.endswith("<lambda>") or "<locals>" in qualname:
        fix = (
            "it is a lambda or a function defined inside another function: define it with `def` "
            "at module level in an importable module, and pass what it needs as task inputs "
            "instead of closing over it"
        )
    else:
        fix = (
            "pass only picklable values (no open files, locks, sockets, connections or "
            "generators: create those inside the task that uses them), or run the flow on a "
            "thread-based executor such as LocalDaskExecutor(scheduler='threads')"
        )
    return (
        f"Task {name!r} cannot run on {executor!r}, which sends tasks to other processes: "
        f"{what} ({_short(value)}) cannot be pickled ({why}). To fix: {fix}."
    )
