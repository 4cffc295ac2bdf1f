"""``flow.run()``: run a flow in this process until it is done.

A single call runs the flow once — or, with a schedule and ``run_on_schedule``, once per
scheduled event. A run starts from ``Scheduled`` (at its scheduled time; now without a
schedule), unless ``state=`` gives another state. Within one run, tasks left ``Retrying`` (or
``Scheduled``) for a later time are waited for and run again, the flow staying ``Running``:
everything else that was ready has already run, so waiting never holds up ready work and never
occupies a worker.

The final state's result maps every task of the flow to its state (``Pending("Task not
run.")`` for a task the run never reached), unless ``return_tasks`` names the ones to keep.
Cached results (``cache_for``) are shared by the runs of this process.
"""

from __future__ import annotations

import time
import uuid
from typing import TYPE_CHECKING, Any

from headwater.context import context as _context
from headwater.engine.state import Mapped, Paused, Pending, Scheduled, State

if TYPE_CHECKING:
    from headwater.core.flow import Flow

__all__ = ["run_flow"]

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
    flow_param_names = {p.name for p in flow.parameters()}
    given = {key: kwargs.pop(key) for key in list(kwargs) if key in flow_param_names}
    unknown = set(kwargs) - _RUNNER_KWARGS
    if unknown:
        raise _RunCallError(
            f"{flow!r}.run() got unexpected keyword argument(s) {', '.join(sorted(unknown))}: they are "
            f"neither parameters of the flow ({', '.join(sorted(flow_param_names)) or 'none'}) nor "
            f"runner options ({', '.join(sorted(_RUNNER_KWARGS))})."
        )
    from headwater.engine._run_options import check_run_options

    check_run_options(flow, parameters, runner_cls, kwargs)
    params = {**(parameters or {}), **given}
    flow.validate()
    if runner_cls is None:
        from headwater.engine import get_default_flow_runner_class

        runner_cls = get_default_flow_runner_class()
    # Check parameters before anything runs (also before waiting for a schedule).
    from headwater.engine._run_options import validate_parameters

    validate_parameters(flow, params)

    if run_on_schedule is None:
        from headwater.configuration import config

        try:
            run_on_schedule = bool(config.flows.run_on_schedule)
        except AttributeError:
            run_on_schedule = True
    if flow.schedule is not None and run_on_schedule:
        from headwater.engine.schedule_loop import run_on_schedule as loop

        def run_once(parameter_defaults: dict[str, Any], scheduled_start_time: Any) -> State:
            merged = {**(parameter_defaults or {}), **params}
            return _run_until_done(flow, runner_cls, merged, dict(kwargs), scheduled_start_time)

        return loop(flow.schedule, run_once, logger=_logger(), flow_name=flow.name)
    return _run_until_done(flow, runner_cls, params, kwargs, None)


class _RunCallError(TypeError, ValueError, RuntimeError):
    """``flow.run()`` called wrongly (Prefect 1 raised TypeError/RuntimeError for these)."""


def _logger():
    from headwater.utilities.logging import get_logger

    return get_logger("FlowRunner")


def _run_until_done(
    flow: Flow,
    runner_cls: type,
    params: dict[str, Any],
    kwargs: dict[str, Any],
    scheduled_start_time: Any,
) -> State:
    import pendulum

    runner_kwargs = dict(kwargs)
    user_return = runner_kwargs.pop("return_tasks", None)
    return_tasks = set(flow.tasks) if user_return is None else set(user_return)
    task_states: dict[Any, State] = dict(runner_kwargs.pop("task_states", None) or {})
    start = scheduled_start_time or pendulum.now("UTC")
    state = runner_kwargs.pop("state", None)
    if state is None:
        state = Scheduled(start_time=start, result={})
    ctx = dict(runner_kwargs.get("context") or {})
    run_name = runner_kwargs.pop("flow_run_name", None)
    if run_name is not None:
        ctx["flow_run_name"] = run_name
    ctx["scheduled_start_time"] = start
    ctx.setdefault("flow_run_id", str(uuid.uuid4()))  # one id for every pass of this run
    if ctx.get("caches") is None and _context.get("caches") is None:
        from headwater.engine.task_runner import _PROCESS_CACHES

        ctx["caches"] = _PROCESS_CACHES
    runner_kwargs["context"] = ctx
    logger = _logger()
    from headwater.utilities.progress import progress_bar_for

    bar = progress_bar_for(flow.name, runner_kwargs.pop("progress", None))
    runner_kwargs["progress"] = bar if bar is not None else False
    out: State | None = None
    try:
        out = _passes(
            flow, runner_cls, params, runner_kwargs, state, task_states, return_tasks, logger
        )
    finally:
        if bar is not None:
            bar.close(out)
    result = out.result
    if user_return is not None:
        if isinstance(result, dict):
            out.result = {t: s for t, s in result.items() if t in return_tasks}
    elif result is None or isinstance(result, dict):
        result = {} if result is None else result
        for t in flow.tasks:
            if t not in result:
                result[t] = Pending(message="Task not run.")
        out.result = result
    return out


def _passes(
    flow: Flow,
    runner_cls: type,
    params: dict[str, Any],
    runner_kwargs: dict[str, Any],
    state: State,
    task_states: dict[Any, State],
    return_tasks: set[Any],
    logger: Any,
) -> State:
    """Run passes until the flow is finished or no task waits for a time to run again."""
    import pendulum

    if isinstance(state, Scheduled) and state.start_time is not None:
        naptime = (state.start_time - pendulum.now("UTC")).total_seconds()
        if naptime > 0:
            if logger.isEnabledFor(20):
                logger.info("Waiting for the run scheduled at %s", state.start_time)
            time.sleep(naptime)
    while True:
        runner = runner_cls(flow=flow)
        state = runner.run(
            state=state,
            parameters=params,
            task_states=task_states,
            return_tasks=return_tasks,
            **runner_kwargs,
        )
        if state.is_finished() or isinstance(state, Scheduled):
            return state
        all_states: dict[Any, State] = getattr(runner, "task_states", None) or (
            state.result if isinstance(state.result, dict) else {}
        )
        if not isinstance(state.result, dict) or not all_states:
            return state
        wake = _next_wake(all_states.values())
        if wake is None:
            return state
        naptime = max((wake - pendulum.now("UTC")).total_seconds(), 0.0)
        if naptime > 0 and logger.isEnabledFor(20):
            logger.info("Waiting %.3g s for tasks scheduled to retry at %s", naptime, wake)
        time.sleep(naptime)
        task_states = all_states


def _next_wake(states: Any) -> Any:
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


def _earlier(state: State, earliest: Any) -> Any:
    if isinstance(state, Scheduled) and state.start_time is not None:
        if not isinstance(state, Paused) and (earliest is None or state.start_time < earliest):
            return state.start_time
    return earliest
