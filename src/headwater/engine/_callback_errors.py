"""Messages for a task that fails because one of its callbacks raised, or a checkpoint failed.

A task runs user code besides ``run()``: its trigger, its cache validator, a callable target and
a callable ``task_run_name``. When one of those raises, the task's ``Failed`` message names which
one, so the traceback does not have to be read to find it::

    >>> def my_validator(state, inputs, parameters):
    ...     raise ValueError("no cache here")
    >>> callback_failure("load", "cache validator", my_validator, ValueError("no cache here"))
    "Task 'load': cache validator my_validator raised ValueError: no cache here"
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

__all__ = ["callback_failure", "checkpoint_failure", "raised_in"]


def _name(fn: Any) -> str:
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None)
    if name is None:  # a callable object
        name = type(fn).__qualname__
    return str(name)


def callback_failure(task_name: str, what: str, fn: Any, exc: BaseException) -> str:
    """``"Task 'x': <what> <fn name> raised <Type>: <message>"``."""
    return f"Task {task_name!r}: {what} {_name(fn)} raised {type(exc).__name__}: {exc}"


def raised_in(exc: BaseException, fn: Any) -> bool:
    """Whether ``fn``'s own code is among the frames ``exc`` (or an error it wraps) came from."""
    code = getattr(fn, "__code__", None) or getattr(type(fn).__call__, "__code__", None)
    if code is None:
        return False
    seen: set[int] = set()
    error: BaseException | None = exc
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        tb = error.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code is code:
                return True
            tb = tb.tb_next
        error = error.__cause__ or error.__context__
    return False


def checkpoint_failure(
    task_name: str, result: Any, fmt: Mapping[str, Any], exc: BaseException
) -> str:
    """The message of a task whose result could not be written: names where it was going."""
    where = _checkpoint_location(result, fmt, exc)
    return f"Could not checkpoint the result of {task_name!r} to {where}: {exc!r}"


def _checkpoint_location(result: Any, fmt: Mapping[str, Any], exc: BaseException) -> str:
    location: Any = None
    try:
        location = result.format(**fmt).location
    except Exception:  # the template itself may be what failed
        location = getattr(result, "location", None)
    if location is None or callable(location):
        filename = getattr(exc, "filename", None)
        if filename is not None:
            return repr(os.fspath(filename))
        where = getattr(result, "dir", None)
        return f"a new location in {where!r}" if where else f"a new location of {result!r}"
    path_for = getattr(result, "path_for", None)
    if callable(path_for):
        try:
            location = path_for(location)
        except Exception:  # keep the unjoined location
            pass
    return repr(location)
