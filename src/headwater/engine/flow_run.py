"""``flow.run()``: run a flow in this process until it is done.

A single call runs the flow once — or, with a schedule and ``run_on_schedule``, once per
scheduled event. Within one run, tasks left ``Retrying`` (or ``Scheduled``) for a later time
are waited for and run again: everything else that was ready has already run, so waiting
never holds up ready work and never occupies a worker.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from headwater.context import context as _context
from headwater.engine.state import Mapped, Paused, Scheduled, State

if TYPE_CHECKING:
    from headwater.core.flow import Flow

__all__ = ["run_flow"]

_RUNNER_KWARGS = {
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
        raise ValueError(
            f"{flow!r}.run() was called inside its own `with Flow(...)` block; call it after the "
            "block ends."
        )
    flow_param_names = {p.name for p in flow.parameters()}
    given = {key: kwargs.pop(key) for key in list(kwargs) if key in flow_param_names}
    unknown = set(kwargs) - _RUNNER_KWARGS
    if unknown:
        raise ValueError(
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
    runner_cls(flow=flow).validate_parameters(params) if hasattr(
        runner_cls, "validate_parameters"
    ) else None

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
            ctx = dict(kwargs.get("context") or {})
            ctx["scheduled_start_time"] = scheduled_start_time
            return _run_until_done(flow, runner_cls, merged, {**kwargs, "context": ctx})

        return loop(flow.schedule, run_once, logger=_logger(), flow_name=flow.name)
    return _run_until_done(flow, runner_cls, params, kwargs)


def _logger():
    from headwater.utilities.logging import get_logger

    return get_logger("FlowRunner")


def _run_until_done(
    flow: Flow, runner_cls: type, params: dict[str, Any], kwargs: dict[str, Any]
) -> State:
    runner_kwargs = dict(kwargs)
    user_return = runner_kwargs.pop("return_tasks", None)
    return_tasks = set(flow.tasks) if user_return is None else set(user_return)
    task_states: dict[Any, State] = dict(runner_kwargs.pop("task_states", None) or {})
    logger = _logger()
    from headwater.utilities.progress import progress_bar_for

    bar = progress_bar_for(flow.name, runner_kwargs.pop("progress", None))
    runner_kwargs["progress"] = bar if bar is not None else False
    if bar is None:
        return _passes(
            flow, runner_cls, params, runner_kwargs, task_states, return_tasks, user_return, logger
        )
    state: State | None = None
    try:
        state = _passes(
            flow, runner_cls, params, runner_kwargs, task_states, return_tasks, user_return, logger
        )
        return state
    finally:
        bar.close(state)


def _passes(
    flow: Flow,
    runner_cls: type,
    params: dict[str, Any],
    runner_kwargs: dict[str, Any],
    task_states: dict[Any, State],
    return_tasks: set[Any],
    user_return: Any,
    logger: Any,
) -> State:
    import pendulum

    while True:
        runner = runner_cls(flow=flow)
        state = runner.run(
            parameters=params,
            task_states=task_states,
            return_tasks=return_tasks,
            **runner_kwargs,
        )
        all_states: dict[Any, State] = getattr(runner, "task_states", None) or (
            state.result if isinstance(state.result, dict) else {}
        )
        if not isinstance(state.result, dict) or not all_states:
            return state
        wake = _next_wake(all_states.values())
        if wake is None or state.is_finished():
            if user_return is not None and isinstance(state.result, dict):
                state.result = {t: s for t, s in state.result.items() if t in return_tasks}
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
