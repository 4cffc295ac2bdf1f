"""Running a flow in a test and checking its task states, with failure messages that explain.

::

    from headwater import Flow, Parameter, task
    from headwater.testing import assert_task_states, run_flow, task_state

    @task
    def double(x):
        return 2 * x

    with Flow("double") as flow:
        result = double(Parameter("x"))

    state = run_flow(flow, x=21)
    assert_task_states(state, {"double": "Success", "x": "Success"})
    assert task_state(state, result).result == 42

When states differ, :func:`assert_task_states` raises an ``AssertionError`` listing every task
whose state is not the expected one, with the state's message and, for a task that raised, the
exception and its traceback (for a mapped task: those of its failed children).
"""

from __future__ import annotations

import traceback
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from headwater.core.flow import Flow
    from headwater.core.task import Task
    from headwater.engine.state import State

__all__ = ["assert_task_states", "run_flow", "task_state"]

Expected = str | type["State"]
_TRACEBACK_LINES = 30
_CHILDREN_SHOWN = 5


def run_flow(
    flow: Flow,
    parameters: Mapping[str, Any] | None = None,
    *,
    executor: Any = None,
    **params: Any,
) -> State:
    """Run ``flow`` once, now (its schedule, if any, is not followed), and return its state.

    Args:
        flow: the flow to run.
        parameters: parameter values by name (for parameters named like this function's own
            arguments, e.g. ``executor``).
        executor: the executor to run on (default: the flow's, else the configured one).
        **params: more parameter values by name.

    Returns:
        The flow run's final state; its ``result`` maps each task to its state.

    Raises:
        TypeError: a value is given for a name that is not one of the flow's parameters.
    """
    values = {**(parameters or {}), **params}
    known = {p.name for p in flow.parameters()}
    unknown = sorted(set(values) - known)
    if unknown:
        raise TypeError(
            f"run_flow(): flow {flow.name!r} has no parameter {', '.join(map(repr, unknown))}; "
            f"its parameters are: {', '.join(sorted(known)) or '(none)'}"
        )
    options: dict[str, Any] = {} if executor is None else {"executor": executor}
    state: State = flow.run(parameters=values, run_on_schedule=False, **options)
    return state


def task_state(flow_state: State, task: Task | str) -> State:
    """The state of one task in a flow run's state.

    Args:
        flow_state: the state returned by ``flow.run()`` or :func:`run_flow`.
        task: the task, or its name (which must then be the name of exactly one task).

    Raises:
        LookupError: the task has no state in this run, or the name matches no task or several.
    """
    states = _task_states(flow_state)
    if not isinstance(task, str):
        if task not in states:
            raise LookupError(_not_in_run(task, states))
        return states[task]
    found = [t for t in states if t.name == task]
    if len(found) != 1:
        raise LookupError(_name_problem(task, found, states))
    return states[found[0]]


def assert_task_states(flow_state: State, expected: Mapping[Task | str, Expected]) -> None:
    """Check the states of some tasks of a flow run; report every difference at once.

    A state matches a name when its class or one it derives from has that name, as ``isinstance``
    would: ``"Success"`` matches ``Cached`` too, ``"Failed"`` matches ``TriggerFailed`` and
    ``TimedOut``; name the subclass to be exact. A mapped task's ``Mapped`` state matches
    ``"Mapped"``, and ``"Success"`` only when every child is a success too. A task name applies
    to every task of that name.

    Args:
        flow_state: the state returned by ``flow.run()`` or :func:`run_flow`.
        expected: ``{task or task name: state class or its name}``, e.g.
            ``{"load": "Success", extract: Failed}``.

    Raises:
        AssertionError: some states differ (the message lists each one with its state, message
            and exception), or a named task is not in the run.
        ValueError: an expected value is not the name of a state class.
    """
    __tracebackhide__ = True  # pytest shows the caller's line, not this helper's
    states = _task_states(flow_state)
    problems: list[str] = []
    for key, want in expected.items():
        name = _state_name(want)
        if isinstance(key, str):
            tasks = [t for t in states if t.name == key]
            if not tasks:
                problems.append(f"- {_name_problem(key, tasks, states)}")
        else:
            tasks = [key]
            if key not in states:
                problems.append(f"- {_not_in_run(key, states)}")
                continue
        for t in tasks:
            state = states[t]
            if not _matches(state, want):
                problems.append(_describe_mismatch(t, name, state, states))
    if problems:
        head = f"{len(problems)} of {len(expected)} expected task states differ"
        raise AssertionError(f"{head} (flow run: {flow_state!r}):\n" + "\n".join(problems))


# -- helpers -------------------------------------------------------------------------------------
def _task_states(flow_state: State) -> dict[Task, State]:
    result = getattr(flow_state, "result", None)
    if isinstance(result, dict):
        return result
    text = f"expected the state of a flow run (its result maps tasks to states), got {flow_state!r}"
    if isinstance(result, BaseException):
        text += "\n" + _exception_text(result, "    ")
    raise AssertionError(text)


def _state_name(want: Expected) -> str:
    from headwater.engine.state import State

    if isinstance(want, type) and issubclass(want, State):
        return want.__name__
    if isinstance(want, str) and want in _state_class_names():
        return want
    names = ", ".join(sorted(_state_class_names()))
    raise ValueError(f"expected a state class or one of its names ({names}), got {want!r}")


def _state_class_names() -> set[str]:
    from headwater.engine.state import State

    names = set()
    todo: list[type] = [State]
    while todo:
        cls = todo.pop()
        names.add(cls.__name__)
        todo.extend(cls.__subclasses__())
    return names


def _matches(state: State, want: Expected) -> bool:
    exact = type(state) is want or type(state).__name__ == want
    if not exact and not _derives(state, want):
        return False
    children = getattr(state, "map_states", None)
    if children and not exact:  # "Success" of a mapped task: of every child too
        return all(_matches(child, want) for child in children)
    return True


def _derives(state: State, want: Expected) -> bool:
    if isinstance(want, type):
        return isinstance(state, want)
    return any(cls.__name__ == want for cls in type(state).__mro__)


def _label(task: Task, states: Mapping[Task, State]) -> str:
    same_name = sum(1 for t in states if t.name == task.name)
    return f"task {task.name!r}" + (f" (slug {task.slug!r})" if same_name > 1 else "")


def _describe_mismatch(task: Task, want: str, state: State, states: Mapping[Task, State]) -> str:
    lines = [f"- {_label(task, states)}: expected {want}, got {_state_line(state)}"]
    if _raised(state):
        lines.append(_exception_text(state.result, "    "))
    children = getattr(state, "map_states", None) or []
    failed = [(i, s) for i, s in enumerate(children) if s.is_failed()]
    for i, child in failed[:_CHILDREN_SHOWN]:
        lines.append(f"    child {i}: {_state_line(child)}")
        if _raised(child):
            lines.append(_exception_text(child.result, "        "))
    if len(failed) > _CHILDREN_SHOWN:
        lines.append(f"    ... and {len(failed) - _CHILDREN_SHOWN} more failed children")
    return "\n".join(lines)


def _raised(state: State) -> bool:
    """Whether the state holds an exception its task raised (not a signal that made it)."""
    from headwater.engine.signals import HeadwaterStateSignal

    exc = getattr(state, "result", None)
    return isinstance(exc, BaseException) and not isinstance(exc, HeadwaterStateSignal)


def _state_line(state: State) -> str:
    text = type(state).__name__
    return text + (f": {state.message}" if state.message else "")


def _exception_text(exc: BaseException, indent: str) -> str:
    lines = "".join(traceback.format_exception(exc)).rstrip("\n").splitlines()
    if len(lines) > _TRACEBACK_LINES:
        lines = [lines[0], "...", *lines[-(_TRACEBACK_LINES - 2) :]]
    return "\n".join(indent + line for line in lines)


def _not_in_run(task: Task, states: Mapping[Task, State]) -> str:
    return (
        f"task {task!r} has no state in this flow run (it is not in the flow, or the run left "
        f"it out with return_tasks); tasks with states: {_names(states)}"
    )


def _name_problem(name: str, found: list[Task], states: Mapping[Task, State]) -> str:
    if not found:
        return f"no task named {name!r} in this flow run; tasks with states: {_names(states)}"
    slugs = ", ".join(repr(t.slug) for t in found)
    return f"{len(found)} tasks are named {name!r} (slugs {slugs}): pass the Task itself"


def _names(states: Mapping[Task, State]) -> str:
    return ", ".join(sorted(repr(t.name) for t in states)) or "(none)"
