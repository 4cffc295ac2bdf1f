"""Checks of the keyword arguments of ``flow.run()``, made before anything runs.

A wrong type fails at the call with a ``TypeError`` naming the flow, the argument and the value,
instead of deep inside the run (or, on a schedule, at the first scheduled time)::

    >>> from headwater import Flow
    >>> Flow("etl").run(context=5)
    Traceback (most recent call last):
    ...
    TypeError: Flow 'etl'.run(): context must be a dict of context keys to values, got int 5.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from headwater.core import _options
from headwater.core.task import Task

if TYPE_CHECKING:
    from headwater.core.flow import Flow

__all__ = ["check_run_options", "validate_parameters"]


def _got(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 80 else text[:77] + '...'}"


def _mapping(value: Any, what: str, owner: str, shape: str) -> Mapping[Any, Any] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        raise TypeError(f"{owner}: {what} must be a dict of {shape}, got {_got(value)}.")
    return value


def _task_key(key: Any, what: str, owner: str) -> None:
    if not isinstance(key, Task):
        hint = (
            " (keys are the task objects themselves, not their names)"
            if isinstance(key, str)
            else ""
        )
        raise TypeError(f"{owner}: every key of {what} must be a Task, got {_got(key)}{hint}.")


def check_run_options(
    flow: Flow, parameters: Any, runner_cls: Any, kwargs: Mapping[str, Any]
) -> None:
    """Check the types of ``flow.run``'s arguments.

    Args:
        flow: the flow being run.
        parameters: the ``parameters`` argument.
        runner_cls: the ``runner_cls`` argument.
        kwargs: the runner options (``executor``, ``context``, ``task_states``, ...).

    Raises:
        TypeError: an argument has the wrong type.
    """
    owner = f"Flow {flow.name!r}.run()"
    _check_parameters(parameters, owner)
    _check_runner_cls(runner_cls, owner)
    _options.check_executor(kwargs.get("executor"), owner)
    context = _mapping(kwargs.get("context"), "context", owner, "context keys to values")
    for key in context or ():
        if not isinstance(key, str):
            raise TypeError(f"{owner}: context keys must be strings, got {_got(key)}.")
    _check_task_states(kwargs.get("task_states"), owner)
    _check_task_contexts(kwargs.get("task_contexts"), owner)
    _check_return_tasks(kwargs.get("return_tasks"), owner)
    _options.check_callables(
        kwargs.get("task_runner_state_handlers"),
        "task_runner_state_handlers",
        owner,
        "fn(task_runner, old_state, new_state)",
    )
    from headwater.engine.observers import check_observers

    check_observers(kwargs.get("observers"), owner)
    history = kwargs.get("history")
    if history is not None and not isinstance(history, bool):
        raise TypeError(
            f"{owner}: history must be True, False or None (as configured), got {_got(history)}."
        )


def _check_parameters(parameters: Any, owner: str) -> None:
    params = _mapping(parameters, "parameters", owner, "parameter names to values")
    for name in params or ():
        if not isinstance(name, str):
            raise TypeError(f"{owner}: parameter names must be strings, got {_got(name)}.")


def _check_runner_cls(runner_cls: Any, owner: str) -> None:
    if runner_cls is None:
        return
    has_run = callable(getattr(runner_cls, "run", None))
    if isinstance(runner_cls, type) and has_run:
        return
    hint = f"; pass the class, runner_cls={type(runner_cls).__name__}" if has_run else ""
    raise TypeError(
        f"{owner}: runner_cls must be a flow runner class such as FlowRunner, got "
        f"{_got(runner_cls)}{hint}."
    )


def _check_task_states(value: Any, owner: str) -> None:
    from headwater.engine.state import State

    states = _mapping(value, "task_states", owner, "tasks to states")
    for task, state in (states or {}).items():
        _task_key(task, "task_states", owner)
        if not isinstance(state, State):
            raise TypeError(
                f"{owner}: task_states[{task!r}] must be a State such as Success(result=...), "
                f"got {_got(state)}."
            )


def _check_task_contexts(value: Any, owner: str) -> None:
    contexts = _mapping(value, "task_contexts", owner, "tasks to dicts of context")
    for task, ctx in (contexts or {}).items():
        _task_key(task, "task_contexts", owner)
        if not isinstance(ctx, Mapping):
            raise TypeError(
                f"{owner}: task_contexts[{task!r}] must be a dict of context keys to values, "
                f"got {_got(ctx)}."
            )


def _check_return_tasks(returns: Any, owner: str) -> None:
    if returns is None:
        return
    _options.check_task_list(returns, "return_tasks", owner)
    assert isinstance(returns, Iterable)
    for task in returns:
        if not isinstance(task, Task):
            raise TypeError(
                f"{owner}: return_tasks must hold tasks, got {_got(task)}; pass the task "
                "objects returned when the flow was built."
            )


def validate_parameters(flow: Flow, parameters: dict[str, Any]) -> dict[str, Any]:
    """Check the names, required values and types of ``flow``'s parameters.

    Args:
        flow: the flow to be run.
        parameters: the values given, by parameter name.

    Returns:
        Every parameter's value: the given ones (converted to their ``type``), else defaults.

    Raises:
        ValueError: an unknown name, a missing required parameter, or an invalid value.
    """
    flow_params = {p.name: p for p in flow.parameters()}
    unknown = sorted(set(parameters) - set(flow_params))
    if unknown:
        known = ", ".join(sorted(flow_params)) or "none"
        raise ValueError(
            f"Flow {flow.name!r} got unknown parameter(s): {', '.join(unknown)}. "
            f"Its parameters are: {known}."
        )
    missing = sorted(n for n, p in flow_params.items() if p.required and n not in parameters)
    if missing:
        raise ValueError(
            f"Flow {flow.name!r} is missing required parameter(s): {', '.join(missing)} "
            f"(Flow.run did not receive the following required parameters: "
            f"{', '.join(missing)}). Pass them with flow.run(parameters={{...}}) or as keyword "
            "arguments."
        )
    out = dict(parameters)
    for name, p in flow_params.items():
        value = out[name] if name in out else p.default
        out[name] = p.validate_value(value) if (p.type is not None or name in out) else value
    return out
