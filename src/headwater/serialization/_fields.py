"""Fields: how one attribute of an object becomes JSON and back.

A field turns an attribute value into a JSON-compatible value (``serialize``) and a JSON value
back into a Python value (``deserialize``). ``None`` passes through unchanged; an attribute the
object does not have is left out of the dump. The names follow the marshmallow fields Prefect 1
used (``String``, ``TimeDelta``, ``Nested``...), without depending on marshmallow.
"""

from __future__ import annotations

import base64
import datetime
import importlib
import inspect
import json
import uuid
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from headwater.exceptions import SerializationError

if TYPE_CHECKING:
    from headwater.serialization._schema import Schema

__all__ = [
    "MISSING",
    "Boolean",
    "Bytes",
    "DateTime",
    "DateTimeTZ",
    "Dict",
    "Field",
    "Float",
    "Function",
    "FunctionReference",
    "Integer",
    "JSONCompatible",
    "List",
    "Method",
    "Nested",
    "SortedList",
    "StatefulFunctionReference",
    "String",
    "TimeDelta",
    "UUID",
    "missing",
    "to_qualified_name",
]


class _Missing:
    """The value of an attribute an object does not have (left out of the dump)."""

    _instance: _Missing | None = None

    def __new__(cls) -> _Missing:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __bool__(self) -> bool:
        return False

    def __repr__(self) -> str:
        return "<missing>"


MISSING = missing = _Missing()


def to_qualified_name(obj: Any) -> str:
    """The import path of ``obj``: ``module.qualname``.

    >>> import json
    >>> to_qualified_name(json.dumps)
    'json.dumps'
    """
    return f"{obj.__module__}.{obj.__qualname__}"


class Field:
    """Base field: the value passes through unchanged.

    Args:
        attribute: the object attribute to read (default: the field's own name).
        allow_none: accepted for compatibility; ``None`` always passes through.
        load_default: the value used on load when the key is absent.
        **kwargs: other marshmallow options, accepted and ignored.
    """

    def __init__(
        self,
        *args: Any,
        attribute: str | None = None,
        allow_none: bool = True,
        load_default: Any = MISSING,
        **kwargs: Any,
    ) -> None:
        self.attribute = attribute
        self.allow_none = allow_none
        self.load_default = load_default

    def serialize(self, name: str, obj: Any, schema: Schema) -> Any:
        """The JSON value of attribute ``name`` of ``obj`` (``MISSING`` to leave it out)."""
        value = schema.get_attribute(obj, self.attribute or name, MISSING)
        if value is MISSING or value is None:
            return value
        return self._serialize(value, name, obj, schema)

    def deserialize(self, value: Any, name: str, data: Mapping[str, Any], schema: Schema) -> Any:
        """The Python value of the JSON ``value`` found under ``name``."""
        if value is None:
            return None
        return self._deserialize(value, name, data, schema)

    def _serialize(self, value: Any, name: str, obj: Any, schema: Schema) -> Any:
        return value

    def _deserialize(self, value: Any, name: str, data: Mapping[str, Any], schema: Schema) -> Any:
        return value


class String(Field):
    def _serialize(self, value: Any, name: str, obj: Any, schema: Schema) -> Any:
        return str(value)


class Integer(Field):
    def _serialize(self, value: Any, name: str, obj: Any, schema: Schema) -> Any:
        if isinstance(value, datetime.timedelta):
            return int(value.total_seconds())
        return int(value)


class Float(Field):
    def _serialize(self, value: Any, name: str, obj: Any, schema: Schema) -> Any:
        return float(value)


class Boolean(Field):
    def _serialize(self, value: Any, name: str, obj: Any, schema: Schema) -> Any:
        return bool(value)


Bool = Boolean
Int = Integer
Str = String


class TimeDelta(Field):
    """A ``timedelta`` as a number of ``precision`` units (seconds by default)."""

    _UNITS = {"microseconds": 1e-6, "milliseconds": 1e-3, "seconds": 1.0, "minutes": 60.0}

    def __init__(self, precision: str = "seconds", **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if precision not in self._UNITS:
            raise ValueError(f"TimeDelta precision must be one of {sorted(self._UNITS)}")
        self.precision = precision

    def _serialize(self, value: Any, name: str, obj: Any, schema: Schema) -> Any:
        if not isinstance(value, datetime.timedelta):
            value = datetime.timedelta(seconds=float(value))
        micros = (value.days * 86_400 + value.seconds) * 1_000_000 + value.microseconds
        units = micros / (self._UNITS[self.precision] * 1_000_000)
        return int(units) if units == int(units) else units

    def _deserialize(self, value: Any, name: str, data: Mapping[str, Any], schema: Schema) -> Any:
        return datetime.timedelta(**{self.precision: value})


class DateTime(Field):
    """A datetime as an ISO 8601 string with its UTC offset."""

    def _serialize(self, value: Any, name: str, obj: Any, schema: Schema) -> Any:
        return value.isoformat()

    def _deserialize(self, value: Any, name: str, data: Mapping[str, Any], schema: Schema) -> Any:
        import pendulum

        return pendulum.parse(value)


class DateTimeTZ(Field):
    """A datetime as ``{"dt": naive ISO string, "tz": zone name}``, so the zone survives."""

    def _serialize(self, value: Any, name: str, obj: Any, schema: Schema) -> Any:
        import pendulum

        dt = pendulum.instance(value)
        zone: Any = dt.tzinfo
        return {"dt": dt.naive().isoformat(), "tz": zone.name}

    def _deserialize(self, value: Any, name: str, data: Mapping[str, Any], schema: Schema) -> Any:
        import pendulum

        return pendulum.parse(value["dt"], tz=value["tz"])


class JSONCompatible(Field):
    """Any value that ``json.dumps`` accepts; anything else is a clear error."""

    def _serialize(self, value: Any, name: str, obj: Any, schema: Schema) -> Any:
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            raise SerializationError(
                f"{type(obj).__name__}.{name} must be JSON compatible to be serialized, got "
                f"{value!r}; use str, int, float, bool, None, lists and dicts of them."
            ) from None
        return value


class Dict(Field):
    """A mapping; its values go through ``values`` when given."""

    def __init__(self, keys: Any = None, values: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.values = values if isinstance(values, Field) or values is None else values()

    def _serialize(self, value: Any, name: str, obj: Any, schema: Schema) -> Any:
        inner = self.values
        if inner is None:
            return dict(value)
        return {str(k): inner.serialize(k, value, schema) for k in value}

    def _deserialize(self, value: Any, name: str, data: Mapping[str, Any], schema: Schema) -> Any:
        inner = self.values
        if inner is None:
            return dict(value)
        return {k: inner.deserialize(v, k, value, schema) for k, v in value.items()}


class List(Field):
    """A list; each item goes through the ``inner`` field."""

    def __init__(self, inner: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.inner = inner if isinstance(inner, Field) or inner is None else inner()

    def _serialize(self, value: Any, name: str, obj: Any, schema: Schema) -> Any:
        items = list(value)
        if self.inner is None:
            return items
        return [
            self.inner._serialize(v, name, obj, schema)  # noqa: SLF001 - the same Field protocol
            if v is not None
            else None
            for v in items
        ]

    def _deserialize(self, value: Any, name: str, data: Mapping[str, Any], schema: Schema) -> Any:
        if self.inner is None:
            return list(value)
        return [self.inner.deserialize(v, name, data, schema) for v in value]


class SortedList(List):
    """A list sorted after serialization, so sets dump the same way every time."""

    def _serialize(self, value: Any, name: str, obj: Any, schema: Schema) -> Any:
        return sorted(super()._serialize(value, name, obj, schema))


class Function(Field):
    """Computed by ``serialize(obj)``; loaded with ``deserialize(value)``."""

    def __init__(
        self,
        serialize: Callable[[Any], Any] | None = None,
        deserialize: Callable[[Any], Any] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._dump = serialize
        self._load = deserialize

    def serialize(self, name: str, obj: Any, schema: Schema) -> Any:
        if self._dump is None:
            return MISSING
        return self._dump(obj)

    def _deserialize(self, value: Any, name: str, data: Mapping[str, Any], schema: Schema) -> Any:
        return value if self._load is None else self._load(value)


class Method(Field):
    """Computed by the schema method ``serialize``; loaded by the method ``deserialize``."""

    def __init__(
        self, serialize: str | None = None, deserialize: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self._dump = serialize
        self._load = deserialize

    def serialize(self, name: str, obj: Any, schema: Schema) -> Any:
        if self._dump is None:
            return MISSING
        return getattr(schema, self._dump)(obj)

    def _deserialize(self, value: Any, name: str, data: Mapping[str, Any], schema: Schema) -> Any:
        return value if self._load is None else getattr(schema, self._load)(value)


class Nested(Field):
    """Another schema's dump; ``many=True`` for a list of them.

    Args:
        nested: a schema class, or its dotted import path (resolved on first use).
        many: the value is an iterable of objects.
        only: dump only these fields of the nested schema.
        value_selection_fn: ``fn(obj, context) -> value`` choosing the value to dump
            (``context`` holds ``value`` and ``attr``); return ``MISSING`` to leave it out.
    """

    def __init__(
        self,
        nested: Any,
        value_selection_fn: Callable[[Any, dict[str, Any]], Any] | None = None,
        many: bool = False,
        only: Iterable[str] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.nested = nested
        self.many = many
        self.only = list(only) if only is not None else None
        self.value_selection_fn = value_selection_fn

    def schema(self, parent: Schema) -> Schema:
        nested = self.nested
        if isinstance(nested, str):
            module, _, name = nested.rpartition(".")
            nested = self.nested = getattr(importlib.import_module(module), name)
        return nested(only=self.only, context=parent.context)  # type: ignore[no-any-return]

    def serialize(self, name: str, obj: Any, schema: Schema) -> Any:
        if self.value_selection_fn is not None:
            value = schema.get_attribute(obj, self.attribute or name, MISSING)
            schema.context.update(value=value, attr=name)
            value = self.value_selection_fn(obj, schema.context)
        else:
            value = schema.get_attribute(obj, self.attribute or name, MISSING)
        if value is MISSING or value is None:
            return value
        return self._serialize(value, name, obj, schema)

    def _serialize(self, value: Any, name: str, obj: Any, schema: Schema) -> Any:
        inner = self.schema(schema)
        if self.many:
            return [inner.dump(v) for v in value]
        return inner.dump(value)

    def _deserialize(self, value: Any, name: str, data: Mapping[str, Any], schema: Schema) -> Any:
        inner = self.schema(schema)
        if self.many:
            return [inner.load(v) for v in value]
        return inner.load(value)


class Bytes(Field):
    """Bytes as a base64 string."""

    def _serialize(self, value: Any, name: str, obj: Any, schema: Schema) -> Any:
        return base64.b64encode(value).decode("utf-8")

    def _deserialize(self, value: Any, name: str, data: Mapping[str, Any], schema: Schema) -> Any:
        return base64.b64decode(value)


class UUID(Field):
    """A UUID, checked on load and kept as a string."""

    def _serialize(self, value: Any, name: str, obj: Any, schema: Schema) -> Any:
        return str(value)

    def _deserialize(self, value: Any, name: str, data: Mapping[str, Any], schema: Schema) -> Any:
        try:
            return str(uuid.UUID(str(value)))
        except ValueError:
            raise SerializationError(f"{name}: {value!r} is not a valid UUID") from None


class FunctionReference(Field):
    """A function as its qualified name; only ``valid_functions`` load back.

    Args:
        valid_functions: the functions that can be loaded back.
        reject_invalid: raise for any other function (else dump its name, load ``None``).
    """

    def __init__(
        self, valid_functions: Iterable[Callable[..., Any]], reject_invalid: bool = True, **kw: Any
    ) -> None:
        super().__init__(**kw)
        self.valid_functions = {to_qualified_name(f): f for f in valid_functions}
        self.reject_invalid = reject_invalid

    def _serialize(self, value: Any, name: str, obj: Any, schema: Schema) -> Any:
        if self.reject_invalid and value not in self.valid_functions.values():
            raise SerializationError(f"{name}: {value!r} is not one of the serializable functions")
        return to_qualified_name(value)

    def _deserialize(self, value: Any, name: str, data: Mapping[str, Any], schema: Schema) -> Any:
        if self.reject_invalid and value not in self.valid_functions:
            raise SerializationError(f"{name}: {value!r} is not one of the serializable functions")
        return self.valid_functions.get(value, value)


def _json_safe(value: Any) -> Any:
    """A closure variable as JSON: datetimes, times and timedeltas get tagged strings."""
    if isinstance(value, datetime.datetime):
        return "//datetime:" + value.isoformat()
    if isinstance(value, datetime.time):
        return "//time:" + value.isoformat()
    if isinstance(value, datetime.timedelta):
        return "//timedelta:" + str(value.total_seconds())
    try:
        json.dumps(value)
    except (TypeError, ValueError):
        # no repr: it may hold an object id, and the dump must not change between processes
        return "//object:" + to_qualified_name(type(value))
    return value


def _from_json_safe(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    import pendulum

    if value.startswith("//datetime:"):
        return pendulum.parse(value[len("//datetime:") :])
    if value.startswith("//time:"):
        return pendulum.parse(value[len("//time:") :]).time()  # type: ignore[union-attr]
    if value.startswith("//timedelta:"):
        return datetime.timedelta(seconds=float(value[len("//timedelta:") :]))
    return value


class StatefulFunctionReference(FunctionReference):
    """A function, or a function built by a factory, as ``{"fn": name, "kwargs": {...}}``.

    A function a factory returned (``some_successful(at_least=2)``) dumps the factory's name
    and the factory arguments it closed over; loading calls the factory again with them.
    """

    def _serialize(self, value: Any, name: str, obj: Any, schema: Schema) -> Any:
        try:
            qual_name = to_qualified_name(value)
        except AttributeError:
            qual_name = to_qualified_name(type(value))
        bases = sorted(
            (fn for fn in self.valid_functions if qual_name.startswith(fn)), key=len, reverse=True
        )
        if not bases and self.reject_invalid:
            raise SerializationError(
                f"{type(obj).__name__}.{name}: custom functions cannot be serialized here; "
                f"{value!r} is not one of headwater's own."
            )
        base_name = bases[0] if bases else qual_name
        try:
            nonlocals = dict(inspect.getclosurevars(value).nonlocals)
        except TypeError:
            nonlocals = {}
        factory = self.valid_functions.get(base_name)
        if factory is value:
            nonlocals = {}
        elif factory is not None:  # built by the factory: keep the factory's own arguments
            try:
                wanted = set(inspect.signature(factory).parameters)
            except (TypeError, ValueError):
                wanted = set(nonlocals)
            nonlocals = {k: v for k, v in nonlocals.items() if k in wanted}
        return {"fn": base_name, "kwargs": {k: _json_safe(v) for k, v in nonlocals.items()}}

    def _deserialize(self, value: Any, name: str, data: Mapping[str, Any], schema: Schema) -> Any:
        base_name = value["fn"]
        fn = self.valid_functions.get(base_name)
        if fn is None:
            if self.reject_invalid:
                raise SerializationError(
                    f"{name}: {base_name!r} cannot be loaded; only headwater's own functions "
                    "can be read back from a serialized object."
                )
            return None
        kwargs = {k: _from_json_safe(v) for k, v in (value.get("kwargs") or {}).items()}
        return fn(**kwargs) if kwargs else fn
