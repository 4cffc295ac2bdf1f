"""``Constant``: a task that returns a fixed value.

Constants passed to tasks inside a flow are stored as flow constants, not as tasks; an explicit
``Constant`` is useful when a value must be mapped over or shared as a node.
"""

from __future__ import annotations

from typing import Any

from headwater.core.task import Task

__all__ = ["Constant"]


class Constant(Task):
    """Returns ``value``.

    Args:
        value: the value to return.
        name: defaults to the value's repr (shortened).
    """

    def __init__(self, value: Any, name: str | None = None, **kwargs: Any) -> None:
        self.value = value
        if name is None:
            text = repr(value)
            name = text if len(text) <= 30 else text[:27] + "..."
        kwargs.setdefault("checkpoint", False)
        super().__init__(name=name, **kwargs)

    def run(self) -> Any:
        return self.value
