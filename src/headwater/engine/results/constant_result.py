"""``ConstantResult``: a Result that holds a fixed value and stores nothing."""

from __future__ import annotations

from typing import Any

from headwater.engine.result.base import Location, Result

__all__ = ["ConstantResult"]


class ConstantResult(Result):
    """Holds a value in memory; ``read`` and ``write`` store and load nothing.

    Args:
        **kwargs: ``value`` (the constant), ``location`` and ``serializer``.

    >>> from headwater.engine.results import ConstantResult
    >>> ConstantResult(value=5).read("anywhere").value
    5
    """

    def read(self, location: str) -> Result:
        """Return a copy holding the constant (``location`` is only recorded)."""
        new = self.copy()
        new.location = location
        return new

    def write(self, value_: Any, /, **fmt: Any) -> Result:
        """Return a copy holding ``value_`` in memory; nothing is stored."""
        new = self.copy()
        new.value = value_
        return new

    def exists(self, location: Location, /, **fmt: Any) -> bool:
        """Whether the constant is set (not ``None``)."""
        return self.value is not None
