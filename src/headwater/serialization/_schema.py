"""Schemas: declarative dump/load of objects as JSON-compatible dicts.

A schema lists its fields as class attributes. ``dump(obj)`` reads each field from the object
and returns a dict with a ``__version__`` key; ``load(data)`` turns such a dict back into an
object of ``Meta.object_class`` (built with the loaded fields, except ``Meta.exclude_fields``).
:class:`OneOfSchema` picks a schema by the object's class name and records it under ``type``.
This is the shape Prefect 1 produced with marshmallow; headwater needs no marshmallow for it::

    from headwater.serialization._fields import Integer, String
    from headwater.serialization._schema import ObjectSchema

    class Point:
        def __init__(self, x, label=None):
            self.x, self.label = x, label

    class PointSchema(ObjectSchema):
        class Meta:
            object_class = Point

        x = Integer()
        label = String()

    data = PointSchema().dump(Point(3, "a"))
    assert data["x"] == 3 and "__version__" in data
    assert PointSchema().load(data).label == "a"
"""

from __future__ import annotations

import types
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from headwater.exceptions import SerializationError
from headwater.serialization._fields import MISSING, Field

__all__ = ["ObjectSchema", "OneOfSchema", "Schema"]


class _SchemaMeta(type):
    """Collects the declared fields of a schema class and of its bases, in order."""

    def __new__(mcs, name: str, bases: tuple[type, ...], ns: dict[str, Any]) -> _SchemaMeta:
        cls = super().__new__(mcs, name, bases, ns)
        fields: dict[str, Field] = {}
        for base in reversed(cls.__mro__[1:]):
            fields.update(getattr(base, "_declared_fields", {}))
        fields.update({k: v for k, v in ns.items() if isinstance(v, Field)})
        cls._declared_fields = fields  # type: ignore[attr-defined]
        return cls


class Schema(metaclass=_SchemaMeta):
    """Base of all schemas.

    Args:
        only: dump and load only these fields.
        exclude: leave these fields out.
        context: a dict shared with nested schemas (e.g. a cache of loaded tasks).
        many: accepted for compatibility.
    """

    _declared_fields: ClassVar[dict[str, Field]]

    class Meta:
        object_class: Any = None
        exclude_fields: ClassVar[list[str]] = []
        exclude: ClassVar[list[str]] = []

    def __init__(
        self,
        only: Iterable[str] | None = None,
        exclude: Iterable[str] | None = None,
        context: dict[str, Any] | None = None,
        many: bool = False,
        **kwargs: Any,
    ) -> None:
        self.only = set(only) if only is not None else None
        self.exclude = set(exclude or ()) | set(getattr(self.Meta, "exclude", ()) or ())
        self.context: dict[str, Any] = context if context is not None else {}
        self.many = many

    @property
    def fields(self) -> dict[str, Field]:
        """The fields this schema instance dumps and loads."""
        return {
            name: f
            for name, f in self._declared_fields.items()
            if name not in self.exclude and (self.only is None or name in self.only)
        }

    def dump(self, obj: Any) -> Any:
        """``obj`` as JSON-compatible data."""
        raise NotImplementedError(f"{type(self).__name__} does not implement dump")

    def load(self, data: Any, create_object: bool = True, **kwargs: Any) -> Any:
        """The object that ``data`` describes."""
        raise NotImplementedError(f"{type(self).__name__} does not implement load")

    def get_attribute(self, obj: Any, key: str, default: Any) -> Any:
        """The value of ``key`` on ``obj`` (by item for mappings, else by attribute)."""
        if isinstance(obj, Mapping):
            return obj.get(key, default)
        return getattr(obj, key, default)


class ObjectSchema(Schema):
    """A schema whose ``load`` builds an object of ``Meta.object_class``."""

    def dump(self, obj: Any) -> dict[str, Any]:
        """``obj`` as a JSON-compatible dict."""
        if self.many:
            return [self._dump_one(o) for o in obj]  # type: ignore[return-value]
        return self._dump_one(obj)

    def _dump_one(self, obj: Any) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, field in self.fields.items():
            value = field.serialize(name, obj, self)
            if value is not MISSING:
                out[name] = value
        return self.post_dump(out)

    def post_dump(self, data: dict[str, Any]) -> dict[str, Any]:
        """Adds the ``__version__`` of headwater that wrote the dump."""
        from headwater import __version__

        data.setdefault("__version__", __version__)
        return data

    def load(self, data: Mapping[str, Any], create_object: bool = True, **kwargs: Any) -> Any:
        """The object ``data`` describes (or the loaded field dict when ``create_object`` is
        false).

        Raises:
            SerializationError: ``data`` is not a dict.
        """
        if not isinstance(data, Mapping):
            raise SerializationError(
                f"{type(self).__name__}.load needs a dict, got {type(data).__name__}: {data!r}"
            )
        self.context.setdefault("create_object", create_object)
        loaded: dict[str, Any] = {}
        for name, field in self.fields.items():
            if name in data:
                loaded[name] = field.deserialize(data[name], name, data, self)
            elif field.load_default is not MISSING:
                loaded[name] = field.load_default
        return self.create_object(loaded)

    def create_object(self, data: dict[str, Any], **kwargs: Any) -> Any:
        """Build ``Meta.object_class(**data)`` minus ``Meta.exclude_fields`` (or return ``data``
        when the context says not to create objects)."""
        if not self.context.get("create_object", True):
            return data
        object_class = getattr(self.Meta, "object_class", None)
        if object_class is None:
            return data
        if isinstance(object_class, types.FunctionType):
            object_class = object_class()
        excluded = set(getattr(self.Meta, "exclude_fields", ()) or ())
        return object_class(**{k: v for k, v in data.items() if k not in excluded})


class OneOfSchema(Schema):
    """Chooses a schema by class name (``type_schemas``) and records the name under ``type``.

    An object whose class is not listed is dumped with the schema of its nearest listed base
    class, under that base's name.
    """

    type_field = "type"
    type_schemas: ClassVar[dict[str, type[Schema]]] = {}

    def get_obj_type(self, obj: Any) -> str:
        """The ``type_schemas`` key to dump ``obj`` with."""
        for klass in type(obj).__mro__:
            if klass.__name__ in self.type_schemas:
                return klass.__name__
        raise SerializationError(
            f"{type(self).__name__} cannot serialize a {type(obj).__name__}: known types are "
            f"{', '.join(sorted(self.type_schemas))}."
        )

    def _schema(self, type_name: str) -> Any:
        return self.type_schemas[type_name](only=self.only, context=self.context)

    def dump(self, obj: Any) -> Any:
        """``obj`` as a dict with a ``type`` key."""
        if self.many:
            return [self.dump_one(o) for o in obj]
        return self.dump_one(obj)

    def dump_one(self, obj: Any) -> dict[str, Any]:
        type_name = self.get_obj_type(obj)
        out = self._schema(type_name).dump(obj)
        out[self.type_field] = type_name
        return out  # type: ignore[no-any-return]

    def load(self, data: Any, create_object: bool = True, **kwargs: Any) -> Any:
        """The object a dict made by :meth:`dump` describes.

        Raises:
            SerializationError: ``data`` has no known ``type``.
        """
        if self.many:
            return [self.load(d, create_object) for d in data]
        if not isinstance(data, Mapping):
            raise SerializationError(
                f"{type(self).__name__}.load needs a dict, got {type(data).__name__}: {data!r}"
            )
        type_name = self.load_type(data)
        body = {k: v for k, v in data.items() if k != self.type_field}
        return self._schema(type_name).load(body, create_object=create_object)

    def load_type(self, data: Mapping[str, Any]) -> str:
        """The ``type_schemas`` key to load ``data`` with."""
        type_name = data.get(self.type_field)
        if type_name not in self.type_schemas:
            raise SerializationError(
                f"{type(self).__name__} cannot load type {type_name!r}: known types are "
                f"{', '.join(sorted(self.type_schemas))}."
            )
        return str(type_name)
