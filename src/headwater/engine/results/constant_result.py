"""``ConstantResult``: a Result that holds a fixed value and stores nothing."""

from __future__ import annotations

from typing import Any

from headwater.engine.result.base import Location, Result

__all__ = ["ConstantResult"]


class ConstantResult(Result):
    """Holds a constant value in memory: ``read`` returns it, and nothing is ever written.

    Args:
        **kwargs: ``value`` (the constant) and ``location`` (unused).

    Raises:
        ValueError: if a ``serializer`` is given (a constant is never serialized).

    >>> from headwater.engine.results import ConstantResult
    >>> ConstantResult(value=5).read("anywhere").value
    5
    """

    def __init__(self, **kwargs: Any) -> None:
        if "serializer" in kwargs:
            raise ValueError(
                "Can't pass a serializer to a ConstantResult: its value is held in memory and "
                "never serialized."
            )
        super().__init__(**kwargs)

    def read(self, location: str) -> Result:
        """Return this Result itself, whatever ``location`` is."""
        return self

    def write(self, value_: Any, /, **fmt: Any) -> Result:
        """Refuse: a constant is not written.

        Raises:
            ValueError: always.
        """
        raise ValueError(
            "Cannot write values to a ConstantResult: it holds a constant; use a storing "
            "Result such as LocalResult to persist values."
        )

    def exists(self, location: Location, /, **fmt: Any) -> bool:
        """Always true: the constant is always there."""
        return True
