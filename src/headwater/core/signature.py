"""What a task's ``run()`` signature says, read once when the task (or its class) is made.

:class:`TaskSignature` holds the argument names, the required ones and the defaults, and
rejects what tasks cannot take (``*args``, positional-only or reserved argument names), so that
binding arguments and running the task never call :func:`inspect.signature`::

    >>> def run(x, y=1, **kwargs):
    ...     return x + y
    >>> sig = TaskSignature(run, "Task 'add'", skip_self=False)
    >>> sig.names, sig.required, sig.defaults, sig.var_kw
    (('x', 'y'), ('x',), {'y': 1}, True)

:func:`infer_nout` reads the number of outputs from a ``Tuple[...]`` return annotation, and
:class:`InstanceSignature` gives ``inspect.signature(task)`` the signature of *calling* the
task: ``run()``'s arguments plus ``mapped``, ``task_args``, ``upstream_tasks`` and ``flow``.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import Any

__all__ = ["RESERVED_ARGS", "InstanceSignature", "TaskSignature", "call_signature", "infer_nout"]

RESERVED_ARGS = frozenset({"upstream_tasks", "mapped", "task_args", "flow"})
"""Argument names a task's ``run()`` may not use: calling a task takes them itself."""


class TaskSignature:
    """What the engine needs to know about a ``run()`` signature, computed once per function.

    Args:
        fn: the ``run`` function (or the function a ``FunctionTask`` runs).
        owner: names the task in error messages (``"Task 'load'"``).
        skip_self: leave out a first argument named ``self`` (``run`` read from the class).

    Raises:
        ValueError: ``fn`` cannot be inspected, or takes ``*args``, positional-only arguments
            or an argument named in :data:`RESERVED_ARGS`.
    """

    __slots__ = ("names", "required", "defaults", "var_kw", "params")

    def __init__(self, fn: Callable[..., Any], owner: str, skip_self: bool) -> None:
        try:
            sig = inspect.signature(fn)
        except (ValueError, TypeError) as exc:
            raise ValueError(
                f"This function can not be inspected (it is likely a built-in or C function): "
                f"{owner} runs {fn!r} ({exc}). Wrap it in a def or lambda that calls it."
            ) from exc
        params = list(sig.parameters.values())
        if skip_self and params and params[0].name == "self":
            params = params[1:]
        names: list[str] = []
        required: list[str] = []
        defaults: dict[str, Any] = {}
        var_kw = False
        for p in params:
            _check_parameter(p, owner)
            if p.kind is p.VAR_KEYWORD:
                var_kw = True
                continue
            names.append(p.name)
            if p.default is p.empty:
                required.append(p.name)
            else:
                defaults[p.name] = p.default
        #: the arguments that can be passed by name, in order
        self.names = tuple(names)
        #: the arguments without a default
        self.required = tuple(required)
        #: the defaults of the others
        self.defaults = defaults
        #: whether ``run()`` takes ``**kwargs``
        self.var_kw = var_kw
        #: the :class:`inspect.Parameter` objects (``self`` left out)
        self.params = params

    def accepts(self, name: str) -> bool:
        """Whether an argument ``name`` can be passed to ``run()``."""
        return self.var_kw or name in self.names

    def bind(self, task: object, args: tuple[Any, ...], kwargs: dict[str, Any]) -> dict[str, Any]:
        """The call ``task(*args, **kwargs)`` as ``{argument: value}``.

        Raises:
            TypeError: the arguments do not fit (too many, unknown, repeated or missing); the
                message names ``task``.
        """
        names = self.names
        if len(args) > len(names):
            raise TypeError(
                f"{task!r} takes {len(names)} positional argument(s) "
                f"({', '.join(names) or 'none'}) but {len(args)} were given."
            )
        callargs = dict(zip(names, args))
        for k, v in kwargs.items():
            if k in callargs:
                raise TypeError(f"{task!r} got multiple values for argument {k!r}")
            if k not in names and not self.var_kw:
                raise TypeError(
                    f"{task!r} got an unexpected keyword argument {k!r}; run() accepts "
                    f"{', '.join(names) or 'no arguments'}."
                )
            callargs[k] = v
        missing = [n for n in self.required if n not in callargs]
        if missing:
            raise TypeError(
                f"{task!r}: missing a required argument: {missing[0]!r} (run() needs "
                f"{', '.join(map(repr, missing))}; pass it as an argument of the call)."
            )
        return callargs


def _check_parameter(p: inspect.Parameter, owner: str) -> None:
    if p.kind is p.VAR_POSITIONAL:
        raise ValueError(
            f"Tasks cannot have *args in run(): {owner} declares *{p.name}. Use named "
            "arguments (or a single list argument) instead."
        )
    if p.kind is p.POSITIONAL_ONLY:
        raise ValueError(
            f"Tasks cannot have positional-only arguments in run(): {owner} declares "
            f"{p.name!r} before '/'."
        )
    if p.kind is not p.VAR_KEYWORD and p.name in RESERVED_ARGS:
        raise ValueError(
            f"{owner}: run() argument {p.name!r} is reserved by headwater "
            f"({', '.join(sorted(RESERVED_ARGS))}); rename it."
        )


def infer_nout(fn: Callable[..., Any]) -> int | None:
    """The number of outputs ``fn``'s return annotation gives (``Tuple[int, str]``: 2), or None.

    ``None`` when there is no annotation, it is not a fixed-length tuple, or it cannot be
    resolved.
    """
    ann = getattr(fn, "__annotations__", {}).get("return")
    if ann is None:
        return None
    if isinstance(ann, str):
        try:
            ann = typing.get_type_hints(fn).get("return")
        except Exception:
            return None
    origin = typing.get_origin(ann)
    if origin is tuple and ann not in (typing.Tuple, tuple):  # noqa: UP006 - bare: any length
        args = typing.get_args(ann)
        if not args or args == ((),):
            return 0  # Tuple[()]
        if args[-1] is not Ellipsis:
            return len(args)
    return None


_CALL_PARAMETERS = [
    inspect.Parameter("mapped", inspect.Parameter.KEYWORD_ONLY, default=False, annotation=bool),
    inspect.Parameter("task_args", inspect.Parameter.KEYWORD_ONLY, default=None, annotation=dict),
    inspect.Parameter("upstream_tasks", inspect.Parameter.KEYWORD_ONLY, default=None),
    inspect.Parameter("flow", inspect.Parameter.KEYWORD_ONLY, default=None),
]


def call_signature(run: Callable[..., Any]) -> inspect.Signature:
    """The signature of calling a task: ``run()``'s parameters plus the call's own options."""
    params = list(inspect.signature(run).parameters.values())
    kinds = (
        inspect.Parameter.POSITIONAL_ONLY,
        inspect.Parameter.POSITIONAL_OR_KEYWORD,
        inspect.Parameter.VAR_POSITIONAL,
    )
    ordered = [p for p in params if p.kind in kinds]
    ordered += [p for p in params if p.kind is inspect.Parameter.KEYWORD_ONLY]
    taken = {p.name for p in params}
    ordered += [p for p in _CALL_PARAMETERS if p.name not in taken]
    ordered += [p for p in params if p.kind is inspect.Parameter.VAR_KEYWORD]
    return inspect.Signature(parameters=ordered, return_annotation="Task")


class InstanceSignature:
    """``task.__signature__``: the call signature of a task instance (see :func:`call_signature`).

    On the class it is absent, so ``inspect.signature(TaskClass)`` describes ``__init__``.
    """

    def __get__(self, obj: Any, cls: type | None = None) -> inspect.Signature:
        if obj is None:
            raise AttributeError("__signature__")
        return call_signature(obj.run)
