"""Operators on tasks: ``t[k]``, ``a + b``, ``a > b``, ``a | b`` ... build new tasks.

:class:`~headwater.core.task.Task` inherits :class:`TaskOperators`. Each operator binds a task
from :mod:`headwater.tasks.core.operators` in the active flow::

    from headwater import Flow, Parameter

    with Flow("ops") as flow:
        x = Parameter("x")
        y = (x + 1) * 2          # Add, then Mul
        first = x[0]             # GetItem, named "x[0]"

``==`` is not overloaded (tasks hash by identity); use :meth:`TaskOperators.is_equal`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from headwater.core.flow import Flow
    from headwater.core.task import Task

__all__ = ["TaskOperators"]


class TaskOperators:
    """Operator methods of :class:`~headwater.core.task.Task` (a mixin; not used on its own)."""

    name: str
    checkpoint: bool | None
    result: Any

    if TYPE_CHECKING:

        def set_dependencies(
            self,
            flow: Flow | None = None,
            upstream_tasks: Any = None,
            downstream_tasks: Any = None,
            keyword_tasks: Any = None,
            mapped: bool = False,
            validate: bool | None = None,
        ) -> Task: ...

    def __getitem__(self, key: Any) -> Task:
        from headwater.core.task import Task
        from headwater.tasks.core.operators import GetItem

        name = f"{self.name}[{key.name}]" if isinstance(key, Task) else f"{self.name}[{key!r}]"
        # the item keeps the task's checkpoint and result settings
        item = GetItem(name=name, checkpoint=self.checkpoint, result=self.result)
        return item.bind(self, key)

    def __or__(self, other: Any) -> Any:
        self.set_dependencies(downstream_tasks=[other])
        return other

    def __ror__(self, other: Any) -> Task:
        self.set_dependencies(upstream_tasks=[other])
        return self  # type: ignore[return-value]

    def _op(self, cls_name: str, *args: Any) -> Task:
        from headwater.tasks.core import operators

        return getattr(operators, cls_name)().bind(*args)  # type: ignore[no-any-return]

    def __add__(self, other: Any) -> Task:
        return self._op("Add", self, other)

    def __radd__(self, other: Any) -> Task:
        return self._op("Add", other, self)

    def __sub__(self, other: Any) -> Task:
        return self._op("Sub", self, other)

    def __rsub__(self, other: Any) -> Task:
        return self._op("Sub", other, self)

    def __mul__(self, other: Any) -> Task:
        return self._op("Mul", self, other)

    def __rmul__(self, other: Any) -> Task:
        return self._op("Mul", other, self)

    def __truediv__(self, other: Any) -> Task:
        return self._op("Div", self, other)

    def __rtruediv__(self, other: Any) -> Task:
        return self._op("Div", other, self)

    def __floordiv__(self, other: Any) -> Task:
        return self._op("FloorDiv", self, other)

    def __rfloordiv__(self, other: Any) -> Task:
        return self._op("FloorDiv", other, self)

    def __mod__(self, other: Any) -> Task:
        return self._op("Mod", self, other)

    def __rmod__(self, other: Any) -> Task:
        return self._op("Mod", other, self)

    def __pow__(self, other: Any) -> Task:
        return self._op("Pow", self, other)

    def __rpow__(self, other: Any) -> Task:
        return self._op("Pow", other, self)

    def __and__(self, other: Any) -> Task:
        return self._op("And", self, other)

    def __rand__(self, other: Any) -> Task:
        return self._op("And", other, self)

    def __gt__(self, other: Any) -> Task:
        return self._op("GreaterThan", self, other)

    def __ge__(self, other: Any) -> Task:
        return self._op("GreaterThanOrEqual", self, other)

    def __lt__(self, other: Any) -> Task:
        return self._op("LessThan", self, other)

    def __le__(self, other: Any) -> Task:
        return self._op("LessThanOrEqual", self, other)

    def is_equal(self, other: Any) -> Task:
        """A task whose result is ``self == other``."""
        return self._op("Equal", self, other)

    def is_not_equal(self, other: Any) -> Task:
        """A task whose result is ``self != other``."""
        return self._op("NotEqual", self, other)

    def not_(self) -> Task:
        """A task whose result is ``not self``."""
        return self._op("Not", self)

    def or_(self, other: Any) -> Task:
        """A task whose result is ``self or other``."""
        return self._op("Or", self, other)
