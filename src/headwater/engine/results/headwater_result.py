"""``HeadwaterResult``: the serialized JSON text *is* the location; nothing touches a disk.

Useful for small values (numbers, short strings, small dicts) that should travel with a task's
state. ``PrefectResult`` is the same class under its Prefect Core 1.x name.

>>> from headwater.engine.results import HeadwaterResult
>>> written = HeadwaterResult().write({"rows": 8})
>>> written.location
'{"rows": 8}'
>>> HeadwaterResult().read(written.location).value
{'rows': 8}
"""

from __future__ import annotations

from typing import Any

from headwater.engine.result.base import Location, Result
from headwater.exceptions import SerializationError

__all__ = ["HeadwaterResult", "PrefectResult"]


class HeadwaterResult(Result):
    """Stores a value in its own location string, as JSON text.

    Locations are never formatted (JSON holds braces), so ``format`` returns an unchanged copy
    and templates given as ``location`` are replaced by the JSON on ``write``.

    Args:
        **kwargs: ``value``, ``location`` and ``serializer`` (default
            :class:`~headwater.engine.serializers.JSONSerializer`; a
            :class:`~headwater.engine.serializers.DateTimeSerializer` works too).

    Raises:
        TypeError: if ``serializer`` is another kind of serializer.
    """

    def __init__(self, **kwargs: Any) -> None:
        if kwargs.get("serializer") is None:
            from headwater.engine.serializers import JSONSerializer

            kwargs["serializer"] = JSONSerializer()
        super().__init__(**kwargs)

    @property
    def serializer(self) -> Any:
        """How values become text: a ``JSONSerializer`` or a ``DateTimeSerializer``."""
        return self._serializer

    @serializer.setter
    def serializer(self, value: Any) -> None:
        from headwater.engine.serializers import DateTimeSerializer, JSONSerializer

        if not isinstance(value, JSONSerializer | DateTimeSerializer):
            raise TypeError(
                f"HeadwaterResult keeps the serialized value as its location, so it only "
                f"supports JSONSerializer or DateTimeSerializer, not {value!r}."
            )
        self._serializer = value

    def __setstate__(self, state: dict[str, Any]) -> None:
        if "serializer" in state:  # pickled before the serializer was checked
            state = dict(state)
            state["_serializer"] = state.pop("serializer")
        self.__dict__.update(state)

    def format(self, **fmt: Any) -> Result:
        """Return an unchanged copy: the location is data, not a template."""
        return self.copy()

    def read(self, location: str) -> Result:
        """Deserialize the value held in ``location``.

        Raises:
            ResultReadError: if ``location`` is not text this serializer can read.
        """
        data = location.encode("utf-8") if isinstance(location, str) else location
        new = self.copy()
        new.value = self._deserialize(data, location)
        new.location = location
        return new

    def write(self, value_: Any, /, **fmt: Any) -> Result:
        """Serialize ``value_``; the returned Result's location is the serialized text.

        Raises:
            SerializationError: if the value cannot be serialized, or the serializer's output
                is not UTF-8 text.
        """
        data = self._serialize(value_)
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError:
            raise SerializationError(
                f"HeadwaterResult keeps the serialized value as its location, but "
                f"{self.serializer!r} produced binary data; use a text serializer such as "
                "JSONSerializer."
            ) from None
        new = self.copy()
        new.value = value_
        new.location = text
        return new

    def exists(self, location: Location, /, **fmt: Any) -> bool:
        """Whether ``location`` holds text this Result's serializer can read."""
        if not isinstance(location, str | bytes):
            return False
        data = location.encode("utf-8") if isinstance(location, str) else location
        try:
            self.serializer.deserialize(data)
        except Exception:
            return False
        return True


PrefectResult = HeadwaterResult
