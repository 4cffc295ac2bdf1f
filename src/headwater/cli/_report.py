"""What ``headwater run`` prints about a finished run: a table of task states, or JSON.

The table::

    Flow 'squares': Success (All reference tasks succeeded.)
      n        Success                Task run succeeded.
      square   Mapped [4 Success]     ...

``--json`` prints one JSON document instead: the flow's name, final state and message, then
each task (in graph order) with its state, message and result. A result that is not
JSON-serializable is given as its ``repr``; a mapped task also lists its children.
"""

from __future__ import annotations

import json
from collections import Counter
from typing import TYPE_CHECKING, Any

from headwater.cli._app import CommandIO, one_line

if TYPE_CHECKING:
    from headwater.core.flow import Flow
    from headwater.engine.state import State

__all__ = ["json_report", "jsonable", "print_table", "state_record"]


def _task_states(state: State) -> dict[Any, State]:
    result = state.result
    return result if isinstance(result, dict) else {}


def _message(state: State) -> str:
    return one_line(state.message) if state.message is not None else ""


def print_table(flow: Flow, state: State, io: CommandIO) -> None:
    """Print the flow's final state, then one line per task."""
    io.out(f"Flow {flow.name!r}: {type(state).__name__} ({_message(state)})")
    task_states = _task_states(state)
    rows = []
    for task in flow.sorted_tasks():
        s = task_states.get(task)
        if s is None:
            rows.append((task.name, "-", "not run"))
            continue
        kind = type(s).__name__
        children = getattr(s, "map_states", None)
        if children is not None:
            counts = Counter(type(c).__name__ for c in children)
            detail = ", ".join(f"{n} {k}" for k, n in sorted(counts.items())) or "no children"
            kind = f"{kind} [{detail}]"
        rows.append((task.name, kind, _message(s)))
    if not rows:
        return
    w_name = max(len(r[0]) for r in rows)
    w_kind = max(len(r[1]) for r in rows)
    for name, kind, message in rows:
        io.out(f"  {name.ljust(w_name)}  {kind.ljust(w_kind)}  {message}".rstrip())


def jsonable(value: Any) -> Any:
    """``value`` itself when it is JSON-serializable (strictly: no NaN), else its ``repr``."""
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError, RecursionError):
        return repr(value)
    return value


def state_record(state: State) -> dict[str, Any]:
    """A state as JSON data: ``state``, ``message``, ``result`` (and ``map_states``)."""
    record: dict[str, Any] = {
        "state": type(state).__name__,
        "message": state.message if isinstance(state.message, str) else jsonable(state.message),
        "result": jsonable(state.result),
    }
    children = getattr(state, "map_states", None)
    if children is not None:
        record["map_states"] = [state_record(c) for c in children]
    return record


def json_report(flow: Flow, state: State, parameters: dict[str, Any]) -> str:
    """The run as one JSON document (see the module docstring)."""
    task_states = _task_states(state)
    tasks = []
    for task in flow.sorted_tasks():
        s = task_states.get(task)
        entry: dict[str, Any] = {"name": task.name, "slug": task.slug}
        if s is None:
            entry.update(state=None, message="not run", result=None)
        else:
            entry.update(state_record(s))
        tasks.append(entry)
    payload = {
        "flow": flow.name,
        "state": type(state).__name__,
        "message": state.message if isinstance(state.message, str) else jsonable(state.message),
        "successful": state.is_successful(),
        "parameters": {k: jsonable(v) for k, v in parameters.items()},
        "tasks": tasks,
    }
    return json.dumps(payload, indent=2)
