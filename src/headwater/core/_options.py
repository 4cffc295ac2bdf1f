"""Checks of the options given to ``Task(...)``, ``Flow(...)`` and task calls.

Each check runs once, when the task or flow is built, and raises the exception Prefect Core 1.x
raised for that mistake (a ``TypeError`` for a value of the wrong type) with a message naming the
task or flow, the option and the value given, and saying what to pass instead::

    >>> from headwater import Task
    >>> Task(name="load", result="out.pkl")
    Traceback (most recent call last):
    ...
    TypeError: Task 'load': result must be a Result, got str 'out.pkl'; to store results in that file use result=LocalResult(location='out.pkl') (from headwater.engine.results import LocalResult).

The checks are duck-typed where the engine is: an executor is anything with ``start``,
``submit`` and ``wait``; a result anything but plain data that has some of a Result's
attributes (``read``, ``write``, ``exists``, ``copy``, ``location``); a schedule anything with
``next``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

__all__ = [
    "check_callable",
    "check_callables",
    "check_cache_key",
    "check_executor",
    "check_mappable",
    "check_overrides",
    "check_result",
    "check_schedule",
    "check_tags",
    "check_task_list",
    "check_template",
    "describe_callable",
    "mapping_hint",
]


def _got(value: Any) -> str:
    text = repr(value)
    if len(text) > 80:
        text = text[:77] + "..."
    return f"{type(value).__name__} {text}"


def _callable_name(fn: Any) -> str:
    return getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn)


def check_tags(tags: Any, owner: str) -> set[str]:
    """The tags as a set of strings.

    Raises:
        TypeError: ``tags`` is a bare string, not iterable, or holds something not a string.
    """
    if tags is None:
        return set()
    if isinstance(tags, str):
        raise TypeError(
            f"{owner}: tags must be an iterable of strings, not a bare string {tags!r} "
            f"(write tags=[{tags!r}])."
        )
    if not isinstance(tags, Iterable):
        raise TypeError(
            f"{owner}: tags must be an iterable of strings such as ['etl'], got {_got(tags)}."
        )
    out = set()
    for tag in tags:
        if not isinstance(tag, str):
            raise TypeError(f"{owner}: every tag must be a string, got {_got(tag)} in tags.")
        out.add(tag)
    return out


def check_callable(value: Any, what: str, owner: str, signature: str = "") -> None:
    """Raise ``TypeError`` unless ``value`` is ``None`` or callable."""
    if value is not None and not callable(value):
        shape = f" {signature}" if signature else ""
        raise TypeError(f"{owner}: {what} must be callable, a function{shape}, got {_got(value)}.")


def check_callables(value: Any, what: str, owner: str, signature: str = "") -> list[Any]:
    """``value`` (a list of callables, or ``None``) as a list.

    Raises:
        TypeError: ``value`` is not a list or tuple, or an item is not callable.
    """
    if value is None:
        return []
    shape = f" {signature}" if signature else ""
    if callable(value) or not isinstance(value, (list, tuple)):
        raise TypeError(
            f"{owner}: {what} must be a list of callables (functions{shape}), got {_got(value)}; "
            "wrap a single function in a list."
        )
    for i, fn in enumerate(value):
        if not callable(fn):
            raise TypeError(
                f"{owner}: {what}[{i}] must be callable, a function{shape}, got {_got(fn)}."
            )
    return list(value)


_RESULT_ATTRS = ("read", "write", "exists", "copy", "location")


def _is_result(value: Any) -> bool:
    """Loosely: not plain data, and with some of a Result's attributes (test doubles pass)."""
    if isinstance(value, (str, bytes, int, float, list, tuple, set, dict, type)):
        return False
    return not hasattr(value, "__fspath__") and any(hasattr(value, a) for a in _RESULT_ATTRS)


def check_result(value: Any, owner: str) -> None:
    """Raise ``TypeError`` unless ``value`` is ``None`` or a Result.

    A string is the usual mistake (a path or directory meant for a ``LocalResult``): the message
    shows the ``LocalResult`` to write instead.
    """
    if value is None or _is_result(value):
        return
    hint = (
        "pass a Result such as LocalResult(dir=...) (from headwater.engine.results import "
        "LocalResult)"
    )
    if isinstance(value, str) or hasattr(value, "__fspath__"):
        import os

        path = os.fspath(value)
        base = os.path.basename(path.rstrip("/\\"))
        if "." in base and not path.endswith(("/", "\\")):
            hint = (
                f"to store results in that file use result=LocalResult(location={path!r}) "
                "(from headwater.engine.results import LocalResult)"
            )
        else:
            hint = (
                f"to store results in that directory use result=LocalResult(dir={path!r}) "
                "(from headwater.engine.results import LocalResult)"
            )
    elif isinstance(value, type) and any(hasattr(value, a) for a in _RESULT_ATTRS):
        hint = f"pass an instance, {value.__name__}(...), not the class"
    raise TypeError(f"{owner}: result must be a Result, got {_got(value)}; {hint}.")


def check_template(value: Any, what: str, owner: str) -> None:
    """Raise ``TypeError`` unless ``value`` is ``None``, a string template or a callable."""
    if value is None or isinstance(value, str) or callable(value):
        return
    if hasattr(value, "__fspath__"):
        return
    raise TypeError(
        f"{owner}: {what} must be a string template such as '{{task_name}}-{{map_index}}' or "
        f"a function of the run's keyword arguments returning one, got {_got(value)}."
    )


def check_cache_key(value: Any, owner: str) -> None:
    """Raise ``TypeError`` unless ``value`` is ``None`` or a string."""
    if value is not None and not isinstance(value, str):
        raise TypeError(
            f"{owner}: cache_key must be a string naming the cache shared by tasks, got "
            f"{_got(value)}; write cache_key={str(value)!r}."
        )


def check_task_list(value: Any, what: str, owner: str) -> None:
    """Raise ``TypeError`` unless ``value`` is ``None`` or an iterable of tasks.

    A single task or a string is refused (iterating a string would give its characters).
    """
    if value is None:
        return
    from headwater.core.task import Task

    if isinstance(value, Task):
        raise TypeError(
            f"{owner}: {what} must be a list of tasks, got the single task {value!r}; write "
            f"{what}=[{value.name}]."
        )
    if isinstance(value, (str, bytes, dict)) or not isinstance(value, Iterable):
        raise TypeError(
            f"{owner}: {what} must be a list of tasks, got {_got(value)}; write {what}=[...]."
        )


def check_executor(value: Any, owner: str) -> None:
    """Raise ``TypeError`` unless ``value`` is ``None`` or an executor instance."""
    if value is None:
        return
    if isinstance(value, type):
        raise TypeError(
            f"{owner}: executor must be an executor instance, got the class {value.__name__}; "
            f"write executor={value.__name__}()."
        )
    if all(callable(getattr(value, name, None)) for name in ("start", "submit", "wait")):
        return
    names = ["LocalExecutor", "LocalDaskExecutor", "DaskExecutor"]
    if isinstance(value, str):
        lowered = value.lower()
        if "dask" in lowered and ("local" in lowered or "thread" in lowered):
            names = ["LocalDaskExecutor"]
        elif "dask" in lowered or "distributed" in lowered:
            names = ["DaskExecutor", "LocalDaskExecutor"]
        elif "local" in lowered:
            names = ["LocalExecutor"]
    use = " or ".join(f"{n}()" for n in names)
    raise TypeError(
        f"{owner}: executor must be an executor instance, got {_got(value)}; use {use} "
        f"(from headwater.executors import {', '.join(names)})."
    )


def check_schedule(value: Any, owner: str) -> None:
    """Raise ``TypeError`` unless ``value`` is ``None`` or a schedule."""
    if value is None or callable(getattr(value, "next", None)):
        return
    if isinstance(value, str):
        hint = (
            f"for a cron expression use schedule=CronSchedule({value!r}) "
            "(from headwater.schedules import CronSchedule)"
        )
    elif callable(getattr(value, "events", None)):
        hint = "wrap the clock in a schedule: schedule=Schedule(clocks=[clock])"
    elif hasattr(value, "total_seconds"):
        hint = (
            "for a fixed interval use schedule=IntervalSchedule(interval=...) "
            "(from headwater.schedules import IntervalSchedule)"
        )
    else:
        hint = "build one with headwater.schedules (Schedule, CronSchedule, IntervalSchedule)"
    raise TypeError(f"{owner}: schedule must be a Schedule, got {_got(value)}; {hint}.")


def check_overrides(task_args: dict[str, Any], owner: str) -> None:
    """Check the options a task call's ``task_args`` (or ``task.copy(...)``) override."""
    for key, value in task_args.items():
        if key == "tags":
            check_tags(value, owner)
        elif key == "state_handlers":
            check_callables(value, key, owner)
        elif key in ("trigger", "cache_validator", "on_failure"):
            check_callable(value, key, owner)
        elif key == "result":
            check_result(value, owner)
        elif key in ("target", "task_run_name"):
            check_template(value, key, owner)
        elif key == "cache_key":
            check_cache_key(value, owner)


def mapping_hint() -> str:
    """What to map over instead of a dict (or other mapping)."""
    return (
        "a dict cannot be mapped over (its children would be indexed 0, 1, ... and find no "
        "such keys); map over list(d.keys()), list(d.values()) or list(d.items()) instead"
    )


def check_mappable(value: Any, key: str, owner: str) -> None:
    """Raise ``TypeError`` if the constant ``value`` cannot be mapped over as argument ``key``.

    Mapping child ``i`` takes ``value[i]``: ``value`` must be a sequence (a list, tuple, range,
    string...), not a dict, a set or a single value.
    """
    from collections.abc import Mapping

    if isinstance(value, Mapping):
        raise TypeError(
            f"{owner}: cannot map over argument {key!r}, {_got(value)}: {mapping_hint()}."
        )
    if not (hasattr(value, "__getitem__") and hasattr(value, "__len__")):
        fix = (
            "turn it into a list first, e.g. sorted(...) or list(...)"
            if hasattr(value, "__iter__")
            else "pass a list, or wrap the value in unmapped(...) to give every child all of it"
        )
        raise TypeError(
            f"{owner}: cannot map over argument {key!r}, {_got(value)}: mapping needs a "
            f"sequence that can be indexed (a list or tuple); {fix}."
        )


def describe_callable(fn: Callable[..., Any]) -> str:
    """How messages name a user's function: its qualified name."""
    return _callable_name(fn)
