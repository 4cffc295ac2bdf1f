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
        name: defaults to the value's repr when it is at most 8 characters long, else
            ``Constant[<type name>]`` (``Constant[list]``).

    A flow run does not run a constant task: it succeeds with ``value`` at once
    (``is_constant``), without calling state handlers, as in Prefect Core 1.x.
    """

    is_constant = True

    def __init__(self, value: Any, name: str | None = None, **kwargs: Any) -> None:
        self.value = value
        if name is None:
            text = repr(value)
            name = text if len(text) <= 8 else f"Constant[{type(value).__name__}]"
        kwargs.setdefault("checkpoint", False)
        super().__init__(name=name, **kwargs)

    def run(self) -> Any:
        return self.value
