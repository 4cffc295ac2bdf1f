"""Saying which part of a submission cannot be pickled, and what to do about it (private).

Executors that send calls to other processes pickle each call when it is submitted. When that
fails, :func:`explain_pickling_error` finds the culprit — the function, an argument, a keyword
argument or a context value — and builds a :class:`~headwater.exceptions.SerializationError`
naming it with the fix (a lambda or local function is to be defined at module level; an open
file, lock or connection is to be created inside the task that uses it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from headwater.exceptions import SerializationError

__all__ = ["describe", "explain_pickling_error", "fix_hint", "short_repr"]


def short_repr(obj: Any, limit: int = 80) -> str:
    """``repr(obj)``, cut to ``limit`` characters (a placeholder if ``repr`` fails)."""
    try:
        r = repr(obj)
    except Exception:  # a broken __repr__ must not hide the real error
        r = f"<{type(obj).__name__} object>"
    return r if len(r) <= limit else r[: limit - 3] + "..."


def describe(fn: Any) -> str:
    """``function 'name' (file:line)``, or ``the callable <repr>`` for other callables."""
    name = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None)
    if name is None:
        return f"the callable {short_repr(fn)}"
    code = getattr(fn, "__code__", None)
    where = f" ({code.co_filename}:{code.co_firstlineno})" if code is not None else ""
    return f"function {name!r}{where}"


def fix_hint(obj: Any) -> str:
    """What to do so that ``obj`` pickles (the end of a sentence starting "To fix: ")."""
    name = getattr(obj, "__qualname__", "") or ""
    if name.endswith("<lambda>") or "<locals>" in name:
        return (
            "it is a lambda or a function defined inside another function: define it with "
            "`def` at module level (in an importable module) so it can be sent by reference, "
            "and pass what it needs as arguments rather than closing over it"
        )
    return (
        "make sure it and everything it refers to can be pickled (no open files, locks, "
        "sockets, database connections or generators), or use a thread-based executor"
    )


def _pickling_error(obj: Any) -> BaseException | None:
    """What pickling ``obj`` raises, or ``None`` if it pickles."""
    import cloudpickle

    try:
        cloudpickle.dumps(obj)
    except KeyboardInterrupt:
        raise
    except BaseException as exc:  # a __reduce__ may raise anything
        return exc
    return None


def explain_pickling_error(
    executor_name: str,
    fn: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    extra_context: dict[str, Any] | None,
    error: BaseException,
) -> SerializationError:
    """Build a :class:`SerializationError` naming the part of a submission that won't pickle.

    Args:
        executor_name: how the message names the executor.
        fn: the submitted function.
        args: its positional arguments.
        kwargs: its keyword arguments.
        extra_context: the context values submitted with it.
        error: what pickling the whole call raised (named if no single part fails).
    """
    culprit: str | None = None
    hint_obj: Any = None
    cause = _pickling_error(fn)
    if cause is not None:
        culprit, hint_obj = describe(fn), fn
    else:
        parts: list[tuple[str, Any]] = [(f"argument {i}", a) for i, a in enumerate(args)]
        parts += [(f"keyword argument {k!r}", v) for k, v in kwargs.items()]
        parts += [(f"context key {k!r}", v) for k, v in (extra_context or {}).items()]
        for label, value in parts:
            cause = _pickling_error(value)
            if cause is not None:
                culprit, hint_obj = f"{label} ({short_repr(value)})", value
                break
    if culprit is None:
        culprit, hint_obj, cause = f"the call to {describe(fn)}", fn, error
    return SerializationError(
        f"{executor_name} runs tasks in other processes, so it must pickle them, but "
        f"{culprit} cannot be pickled: {cause}. To fix: {fix_hint(hint_obj)}."
    )
