"""Running a submitted call under the context values it was submitted with (private).

Every executor runs ``fn(*args, **kwargs)`` with the submission's ``extra_context`` laid over
the current :mod:`headwater.context` values, and the previous values back afterwards:

    >>> import headwater
    >>> call_in_context(lambda: headwater.context.get("who"), (), {}, {"who": "me"})
    'me'
    >>> "who" in headwater.context
    False
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from headwater.context import context as _context

__all__ = ["call_in_context"]


def call_in_context(
    fn: Callable[..., Any],
    args: Any,
    kwargs: Any,
    ctx: Mapping[str, Any] | None,
) -> Any:
    """``fn(*args, **kwargs)`` with ``ctx`` (if any) added to the current context.

    The context variable is set directly rather than through ``with context(...)``: this runs
    once per task run on every executor but ``LocalExecutor``, where a context manager would
    cost several times as much.
    """
    if not ctx:
        return fn(*args, **kwargs)
    var = _context.context_var
    token = var.set({**_context.current(), **ctx})
    try:
        return fn(*args, **kwargs)
    finally:
        var.reset(token)
