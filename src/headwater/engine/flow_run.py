"""``flow.run()``: run a flow in this process until it is done.

A single call runs the flow once — or, with a schedule and ``run_on_schedule``, once per
scheduled event. A run starts from ``Scheduled`` (at its scheduled time; now without a
schedule), unless ``state=`` gives another state. Within one run, tasks left ``Retrying`` (or
``Scheduled``) for a later time are waited for and run again, the flow staying ``Running``:
everything else that was ready has already run, so waiting never holds up ready work and never
occupies a worker. Each of these is a *pass* of the run (:class:`FlowRun`).

The final state's result maps every task of the flow to its state (``Pending("Task not
run.")`` for a task the run never reached), unless ``return_tasks`` names the ones to keep.
Cached results (``cache_for``) are shared by the runs of this process.

The run's observers (``observers=[...]``, the progress bar and the run-history recorder unless
``history=False``, see :mod:`headwater.engine.observers`) hear of its start, of every pass's
task runs and of its end.
Waiting — for the scheduled start time and for retries — happens on
:data:`headwater.engine.schedule_loop.clock`.
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable
from typing import TYPE_CHECKING, Any

from headwater.context import context as _context
from headwater.engine.observers import RunObservers, check_observers, default_observers
from headwater.engine.state import Mapped, Paused, Pending, Scheduled, State

if TYPE_CHECKING:
    import datetime as _dt
    import logging

    from headwater.core.flow import Flow
    from headwater.core.task import Task

__all__ = ["FlowRun", "run_flow"]

_RUNNER_KWARGS = {
    "flow_run_name",
    "state",
    "executor",
    "context",
    "task_states",
    "task_contexts",
    "return_tasks",
    "task_runner_state_handlers",
    "progress",
    "observers",
    "history",
}


def run_flow(
    flow: Flow,
    parameters: dict[str, Any] | None = None,
    run_on_schedule: bool | None = None,
    runner_cls: type | None = None,
    **kwargs: Any,
) -> State:
    """Implementation of :meth:`Flow.run`."""
    if _context.get("flow") is flow:
        raise _RunCallError(
            f"{flow!r}.run() was called inside its own `with Flow(...)` block: don't call "
            "`flow.run()` from within a `Flow` context manager; call it after the block ends."
        )
    given = _split_parameters(flow, kwargs)
    from headwater.engine._run_options import check_run_options, validate_parameters

    check_run_options(flow, parameters, runner_cls, kwargs)
    params = {**(parameters or {}), **given}
    flow.validate()
    if runner_cls is None:
        from headwater.engine import get_default_flow_runner_class

        runner_cls = get_default_flow_runner_class()
    # Check parameters before anything runs (also before waiting for a schedule).
    values = validate_parameters(flow, params)
    if flow.schedule is not None and _follows_schedule(run_on_schedule):
        return _run_scheduled(flow, runner_cls, params, kwargs)
    return FlowRun(flow, runner_cls, params, kwargs, values=values).run()


class _RunCallError(TypeError, ValueError, RuntimeError):
    """``flow.run()`` called wrongly (Prefect 1 raised TypeError/RuntimeError for these)."""


def _split_parameters(flow: Flow, kwargs: dict[str, Any]) -> dict[str, Any]:
    """Take the flow's parameters out of ``kwargs``; the rest must be runner options."""
    flow_param_names = {p.name for p in flow.parameters()}
    given = {key: kwargs.pop(key) for key in list(kwargs) if key in flow_param_names}
    unknown = set(kwargs) - _RUNNER_KWARGS
    if unknown:
        raise _RunCallError(
            f"{flow!r}.run() got unexpected keyword argument(s) {', '.join(sorted(unknown))}: "
            f"they are neither parameters of the flow "
            f"({', '.join(sorted(flow_param_names)) or 'none'}) nor runner options "
            f"({', '.join(sorted(_RUNNER_KWARGS))})."
        )
    return given


def _follows_schedule(run_on_schedule: bool | None) -> bool:
    if run_on_schedule is not None:
        return run_on_schedule
    from headwater.configuration import setting

    return bool(setting("flows.run_on_schedule"))


def _run_scheduled(
    flow: Flow, runner_cls: type, params: dict[str, Any], options: dict[str, Any]
) -> State:
    """One :class:`FlowRun` per event of the flow's schedule (see :mod:`.schedule_loop`)."""
    from headwater.engine.schedule_loop import run_on_schedule

    def run_once(parameter_defaults: dict[str, Any], scheduled_start_time: Any) -> State:
        merged = {**(parameter_defaults or {}), **params}
        return FlowRun(flow, runner_cls, merged, options, scheduled_start_time).run()

    state: State = run_on_schedule(flow.schedule, run_once, logger=_logger(), flow_name=flow.name)
    return state


def _logger() -> logging.Logger:
    from headwater.utilities.logging import get_logger

    return get_logger("FlowRunner")


class FlowRun:
    """One run of a flow: its passes until it is done, told to its observers.

    Args:
        flow: the flow.
        runner_cls: the flow runner class; each pass gets a new runner.
        parameters: the parameter values given to the run.
        options: the runner options of ``flow.run`` (``executor``, ``context``, ``state``,
            ``task_states``, ``return_tasks``, ``observers``, ``progress``...).
        scheduled_start_time: when the run is due (default: now).
        values: the parameters' values as the run sees them (defaults filled in, typed
            parameters converted), if already known; told to the observers.
    """

    def __init__(
        self,
        flow: Flow,
        runner_cls: type,
        parameters: dict[str, Any],
        options: dict[str, Any],
        scheduled_start_time: Any = None,
        values: dict[str, Any] | None = None,
    ) -> None:
        self.flow = flow
        self.runner_cls = runner_cls
        self.parameters = parameters
        self.values = values
        opts = dict(options)
        self.user_return: Iterable[Task] | None = opts.pop("return_tasks", None)
        self.return_tasks: set[Task] = set(
            flow.tasks if self.user_return is None else self.user_return
        )
        self.task_states: dict[Task, State] = dict(opts.pop("task_states", None) or {})
        start = scheduled_start_time or _now()
        state = opts.pop("state", None)
        self.state: State = Scheduled(start_time=start, result={}) if state is None else state
        self.context = self._run_context(opts, start)
        observers = check_observers(opts.pop("observers", None), f"Flow {flow.name!r}.run()")
        history = opts.pop("history", None)  # flow.run(history=) > Flow(history=) > config
        if history is None:
            history = getattr(flow, "history", None)
        observers += tuple(o for o in default_observers(history) if o not in observers)
        from headwater.utilities.progress import progress_bar_for

        bar = progress_bar_for(flow.name, opts.pop("progress", None))
        self.observers = RunObservers(observers + ((bar,) if bar is not None else ()), flow)
        opts["progress"] = False
        if self.observers:
            opts["observers"] = self.observers
        self.runner_kwargs = opts
        self.logger = _logger()

    def _run_context(self, opts: dict[str, Any], start: Any) -> dict[str, Any]:
        """The context given to every pass: one run id, name and start time for all of them."""
        ctx = dict(opts.pop("context", None) or {})
        run_name = opts.pop("flow_run_name", None)
        if run_name is not None:
            ctx["flow_run_name"] = run_name
        ctx["scheduled_start_time"] = start
        ctx.setdefault("flow_run_id", str(uuid.uuid4()))
        if ctx.get("caches") is None and _context.get("caches") is None:
            from headwater.engine._task_reuse import PROCESS_CACHES

            ctx["caches"] = PROCESS_CACHES
        opts["context"] = ctx
        return ctx

    def run(self) -> State:
        """Run the passes; the observers hear of the start and of the end (also an error's)."""
        observers = self.observers
        if observers:
            ctx = self.context
            observers.run_started(
                str(ctx["flow_run_id"]),
                self._told_parameters(),
                scheduled_start_time=ctx.get("scheduled_start_time"),
                flow_run_name=ctx.get("flow_run_name"),
                executor=self.runner_kwargs.get("executor") or getattr(self.flow, "executor", None),
                parent_run_id=_context.get("flow_run_id"),
            )
        try:
            state = self.finish(self.passes())
        except BaseException as exc:
            observers.run_finished(None, exc)
            raise
        observers.run_finished(state)
        return state

    def _told_parameters(self) -> dict[str, Any]:
        """The parameter values for the observers: as the run sees them, if they are valid."""
        if self.values is not None:
            return dict(self.values)
        from headwater.engine._run_options import validate_parameters

        try:
            return validate_parameters(self.flow, self.parameters)
        except ValueError:  # the run itself reports the bad value, in its state
            return dict(self.parameters)

    def passes(self) -> State:
        """Run passes until the flow is finished or no task waits for a time to run again."""
        state: State = self.state
        if isinstance(state, Scheduled) and state.start_time is not None:
            self._wait(state.start_time, retry=False)
        task_states = self.task_states
        while True:
            runner = self.runner_cls(flow=self.flow)
            state = runner.run(
                state=state,
                parameters=self.parameters,
                task_states=task_states,
                return_tasks=self.return_tasks,
                **self.runner_kwargs,
            )
            if state.is_finished() or isinstance(state, Scheduled):
                return state
            all_states = _pass_states(runner, state)
            wake = _next_wake(all_states.values()) if all_states else None
            if wake is None:
                return state
            self._wait(wake, retry=True)
            task_states = all_states

    def _wait(self, when: _dt.datetime, retry: bool) -> None:
        """Wait on the run's clock until ``when`` (for the scheduled start, or a retry)."""
        from headwater.engine import schedule_loop

        now = schedule_loop.pendulum_now()
        if not when > now:
            return
        naptime = (when - now).total_seconds()
        if self.logger.isEnabledFor(20):
            if retry:
                self.logger.info("Waiting %.3g s for tasks scheduled to retry at %s", naptime, when)
            else:
                self.logger.info("Waiting for the run scheduled at %s", when)
        schedule_loop.clock.sleep(naptime)

    def finish(self, state: State) -> State:
        """The final state's result: the ``return_tasks``, or every task of the flow."""
        result = state.result
        if self.user_return is not None:
            if isinstance(result, dict):
                keep = self.return_tasks
                state.result = {t: s for t, s in result.items() if t in keep}
        elif result is None or isinstance(result, dict):
            result = {} if result is None else result
            for t in self.flow.tasks:
                if t not in result:
                    result[t] = Pending(message="Task not run.")
            state.result = result
        return state


def _now() -> Any:
    """Now, on the run's clock, as a ``pendulum`` datetime (as states hold times)."""
    from headwater.engine import schedule_loop

    return schedule_loop.pendulum_now()


def _pass_states(runner: Any, state: State) -> dict[Task, State]:
    """Every task's state after a pass that left the flow running (empty: nothing to redo)."""
    if not isinstance(state.result, dict):
        return {}
    found: dict[Task, State] = getattr(runner, "task_states", None) or state.result
    return found


def _next_wake(states: Collection[State]) -> Any:
    """Earliest start time among Scheduled/Retrying states (mapped children included).

    ``Paused`` is a ``Scheduled`` state too, but a paused task waits for a person, not for the
    clock: ``flow.run`` returns and the pause's ``start_time`` only records when it would end.
    """
    earliest = None
    for s in states:
        if type(s) is Mapped:
            for c in s.map_states:
                earliest = _earlier(c, earliest)
        elif isinstance(s, Scheduled):
            earliest = _earlier(s, earliest)
    return earliest


def _earlier(state: State | None, earliest: Any) -> Any:
    if isinstance(state, Scheduled) and state.start_time is not None:
        if not isinstance(state, Paused) and (earliest is None or state.start_time < earliest):
            return state.start_time
    return earliest
