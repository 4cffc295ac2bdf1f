"""Input checks shared by the file tasks."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

__all__ = ["require_existing", "require_path"]


def require_path(task: Any, arg: str, value: Any) -> Path:
    """Return ``value`` as a ``Path``; raise if it is missing or not path-like.

    Args:
        task: the task checking its input (named in the message).
        arg: the argument name (named in the message).
        value: what the user passed.

    Raises:
        ValueError: if ``value`` is ``None`` or empty.
        TypeError: if ``value`` is not a ``str`` or ``os.PathLike``.
    """
    owner = f"{type(task).__name__} {task.name!r}"
    if value is None or value == "":
        raise ValueError(
            f"{owner}: no `{arg}` given; pass {type(task).__name__}({arg}=...) or give {arg}= "
            "when calling the task."
        )
    if not isinstance(value, (str, os.PathLike)):
        raise TypeError(
            f"{owner}: `{arg}` must be a str or path-like object, got "
            f"{type(value).__name__}: {value!r}"
        )
    return Path(value)


def require_existing(task: Any, arg: str, value: Any) -> Path:
    """Like :func:`require_path`, and the path must exist.

    Raises:
        FileNotFoundError: if nothing exists at the path.
    """
    path = require_path(task, arg, value)
    if not path.exists():
        raise FileNotFoundError(
            f"{type(task).__name__} {task.name!r}: `{arg}` {str(path)!r} does not exist."
        )
    return path
