"""Operator tasks, built by the operators on :class:`~headwater.core.task.Task`.

``a + b`` inside a flow adds an ``Add`` task whose inputs are ``a`` and ``b``; ``t["k"]`` adds a
``GetItem`` task named ``"t['k']"``.
"""

from __future__ import annotations

import operator
from typing import Any

from headwater.core.task import Task

__all__ = [
    "Add",
    "And",
    "Div",
    "Equal",
    "FloorDiv",
    "GetAttr",
    "GetItem",
    "GreaterThan",
    "GreaterThanOrEqual",
    "LessThan",
    "LessThanOrEqual",
    "Mod",
    "Mul",
    "Not",
    "NotEqual",
    "Or",
    "Pow",
    "Sub",
]


class _Operator(Task):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.auto_generated = True


class GetItem(_Operator):
    """``task_result[key]``."""

    def run(self, task_result: Any, key: Any) -> Any:
        return task_result[key]


class _NoDefault:
    """The default of ``GetAttr``'s ``default``: none given (pickles as this same object)."""

    def __repr__(self) -> str:
        return "<no default>"

    def __reduce__(self) -> str:
        return "_NO_DEFAULT"


_NO_DEFAULT: Any = _NoDefault()


class GetAttr(_Operator):
    """``getattr(task_result, attr[, default])`` (dotted paths allowed).

    Args:
        default: returned when the attribute is missing (given here, or to the call); without
            one a missing attribute is an ``AttributeError``.
        *args: :class:`~headwater.core.task.Task` options.
        **kwargs: :class:`~headwater.core.task.Task` options.
    """

    def __init__(self, default: Any = _NO_DEFAULT, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.default = default

    def run(self, task_result: Any, attr: str, default: Any = _NO_DEFAULT) -> Any:
        try:
            return operator.attrgetter(attr)(task_result)
        except AttributeError:
            if default is _NO_DEFAULT:
                default = self.default
            if default is _NO_DEFAULT:
                raise
            return default


def _binary(name: str, fn: Any, doc: str) -> type[Task]:
    def run(self: Task, x: Any, y: Any) -> Any:
        return fn(x, y)

    return type(name, (_Operator,), {"run": run, "__doc__": doc, "__module__": __name__})


Add = _binary("Add", operator.add, "``x + y``.")
Sub = _binary("Sub", operator.sub, "``x - y``.")
Mul = _binary("Mul", operator.mul, "``x * y``.")
Div = _binary("Div", operator.truediv, "``x / y``.")
FloorDiv = _binary("FloorDiv", operator.floordiv, "``x // y``.")
Mod = _binary("Mod", operator.mod, "``x % y``.")
Pow = _binary("Pow", operator.pow, "``x ** y``.")
And = _binary("And", lambda x, y: x and y, "``x and y``.")
Or = _binary("Or", lambda x, y: x or y, "``x or y``.")
Equal = _binary("Equal", operator.eq, "``x == y``.")
NotEqual = _binary("NotEqual", operator.ne, "``x != y``.")
GreaterThan = _binary("GreaterThan", operator.gt, "``x > y``.")
GreaterThanOrEqual = _binary("GreaterThanOrEqual", operator.ge, "``x >= y``.")
LessThan = _binary("LessThan", operator.lt, "``x < y``.")
LessThanOrEqual = _binary("LessThanOrEqual", operator.le, "``x <= y``.")


class Not(_Operator):
    """``not x``."""

    def run(self, x: Any) -> bool:
        return not x
