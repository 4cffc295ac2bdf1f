"""Public path of the :class:`~headwater.context.Context` class."""

from headwater.context import Context, context

__all__ = ["Context", "context"]
