"""Schemas of results: where a value is kept, never the value itself."""

from __future__ import annotations

from typing import Any

from headwater.serialization._fields import Function, String, to_qualified_name
from headwater.serialization._schema import ObjectSchema, OneOfSchema

__all__ = [
    "ConstantResultSchema",
    "CustomResultSchema",
    "LocalResultSchema",
    "NoResultSchema",
    "PrefectResultSchema",
    "ResultSchema",
    "SecretResultSchema",
    "StateResultSchema",
]


def _location(result: Any) -> Any:
    location = getattr(result, "location", None)
    if location is None or isinstance(location, str):
        return location
    if callable(location):  # a location function: its name, not its repr (which holds an id)
        return to_qualified_name(location)
    return str(location)


def _result_cls(name: str) -> Any:
    from headwater.engine import result, results

    return getattr(results, name, None) or getattr(result, name)


def _lazy(name: str) -> Any:
    def object_class() -> Any:
        return _result_cls(name)

    return object_class


class ResultSchema(ObjectSchema):
    class Meta:
        object_class = _lazy("Result")

    location = Function(_location, lambda x: x)


class NoResultSchema(ObjectSchema):
    def create_object(self, data: dict[str, Any], **kwargs: Any) -> Any:
        from headwater.engine.result import NoResult

        return NoResult if self.context.get("create_object", True) else data


class CustomResultSchema(ObjectSchema):
    """A result class headwater does not know: loaded back as a base ``Result``."""

    location = Function(_location, lambda x: x)
    type = Function(lambda r: to_qualified_name(type(r)), lambda x: x)

    def create_object(self, data: dict[str, Any], **kwargs: Any) -> Any:
        if not self.context.get("create_object", True):
            return data
        return _result_cls("Result")(location=data.get("location"))


class ConstantResultSchema(ObjectSchema):
    class Meta:
        object_class = _lazy("ConstantResult")

    location = Function(_location, lambda x: x)


class LocalResultSchema(ObjectSchema):
    class Meta:
        object_class = _lazy("LocalResult")

    dir = String(allow_none=False)
    location = Function(_location, lambda x: x)

    def create_object(self, data: dict[str, Any], **kwargs: Any) -> Any:
        return super().create_object({**data, "validate_dir": False})


class PrefectResultSchema(ObjectSchema):
    class Meta:
        object_class = _lazy("HeadwaterResult")

    location = Function(_location, lambda x: x)


class SecretResultSchema(ObjectSchema):
    class Meta:
        object_class = _lazy("SecretResult")
        exclude_fields = ["secret_type"]

    location = Function(_location, lambda x: x)
    secret_type = Function(lambda r: type(r.secret_task).__name__, lambda x: x)

    def create_object(self, data: dict[str, Any], **kwargs: Any) -> Any:
        from headwater.tasks.secrets import SecretBase

        return super().create_object({**data, "secret_task": SecretBase()})


class StateResultSchema(OneOfSchema):
    """Chooses the result schema by class; unknown result classes become ``CustomResult``."""

    type_schemas = {
        "Result": ResultSchema,
        "CustomResult": CustomResultSchema,
        "ConstantResult": ConstantResultSchema,
        "LocalResult": LocalResultSchema,
        "PrefectResult": PrefectResultSchema,
        "HeadwaterResult": PrefectResultSchema,
        "SecretResult": SecretResultSchema,
        "NoResultType": NoResultSchema,
    }

    def get_obj_type(self, obj: Any) -> str:
        name = type(obj).__name__
        if name == "HeadwaterResult":
            return "PrefectResult"  # the name Prefect 1 readers know
        return name if name in self.type_schemas else "CustomResult"

    def load_type(self, data: Any) -> str:
        name = data.get(self.type_field)
        return name if name in self.type_schemas else "CustomResult"
