"""Schemas of tasks and parameters: their settings, never their code."""

from __future__ import annotations

from typing import Any

from headwater.serialization._fields import (
    Boolean,
    Function,
    Integer,
    JSONCompatible,
    Method,
    SortedList,
    StatefulFunctionReference,
    String,
    TimeDelta,
    to_qualified_name,
)
from headwater.serialization._schema import ObjectSchema

__all__ = ["ParameterSchema", "TaskSchema"]


def _triggers() -> list[Any]:
    from headwater import triggers as t

    return [
        t.all_finished,
        t.manual_only,
        t.always_run,
        t.all_successful,
        t.all_failed,
        t.any_successful,
        t.any_failed,
        t.some_failed,
        t.some_successful,
        *(getattr(t, n) for n in ("not_all_skipped",) if hasattr(t, n)),
    ]


def _cache_validators() -> list[Any]:
    from headwater.engine import cache_validators as cv

    return [
        cv.never_use,
        cv.duration_only,
        cv.all_inputs,
        cv.all_parameters,
        cv.partial_inputs_only,
        cv.partial_parameters_only,
    ]


class _Slug(String):
    """A task's slug: the one the flow being dumped gave it, if any (``context["slugs"]``)."""

    def serialize(self, name: str, obj: Any, schema: Any) -> Any:
        slugs = schema.context.get("slugs")
        if slugs is not None and obj in slugs:
            return slugs[obj]
        return super().serialize(name, obj, schema)


class _LazyReference(StatefulFunctionReference):
    """A function reference whose valid functions are looked up on first use."""

    def __init__(self, valid: Any, **kwargs: Any) -> None:
        super().__init__([], reject_invalid=False, **kwargs)
        self._valid = valid

    def _ensure(self) -> None:
        if self._valid is not None:
            self.valid_functions = {to_qualified_name(f): f for f in self._valid()}
            self._valid = None

    def _serialize(self, value: Any, name: str, obj: Any, schema: Any) -> Any:
        self._ensure()
        return super()._serialize(value, name, obj, schema)

    def _deserialize(self, value: Any, name: str, data: Any, schema: Any) -> Any:
        self._ensure()
        return super()._deserialize(value, name, data, schema)


class TaskMethodsMixin:
    """Reads task attributes with ``getattr`` (indexing a task builds a new task)."""

    context: dict[str, Any]

    def get_attribute(self, obj: Any, key: str, default: Any) -> Any:
        from headwater.core.task import Task

        if isinstance(obj, Task):
            return getattr(obj, key, default)
        return super().get_attribute(obj, key, default)  # type: ignore[misc]

    def load_inputs(self, task: Any) -> Any:
        from headwater.core.task import Task

        if not isinstance(task, Task):
            return self.get_attribute(task, "inputs", None)
        return {
            k: {"required": v["required"], "type": str(v["type"])} for k, v in task.inputs().items()
        }

    def load_outputs(self, task: Any) -> Any:
        from headwater.core.task import Task

        if not isinstance(task, Task):
            return self.get_attribute(task, "outputs", None)
        return str(task.outputs())

    def create_object(self, data: dict[str, Any], **kwargs: Any) -> Any:
        """Tasks loaded with the same slug in one ``load`` (a flow's tasks and its edges) are
        the same object."""
        slug = data.get("slug")
        auto_generated = data.pop("auto_generated", False)
        cache = self.context.setdefault("task_cache", {})
        if slug is None or slug not in cache:
            task = super().create_object(data)  # type: ignore[misc]
            if self.context.get("create_object", True):
                task.auto_generated = auto_generated
            if slug is None:
                return task
            cache[slug] = task
        return cache[slug]


def _task_class() -> type:
    from headwater.core.task import Task

    return Task


def _parameter_class() -> type:
    from headwater.core.parameter import Parameter

    return Parameter


def _qualified_type(obj: Any) -> str:
    return to_qualified_name(type(obj))


class TaskSchema(TaskMethodsMixin, ObjectSchema):
    class Meta:
        object_class = _task_class
        exclude_fields = ["type", "inputs", "outputs"]

    type = Function(_qualified_type, lambda x: x)
    name = String()
    slug = _Slug()
    tags = SortedList(String())
    max_retries = Integer()
    retry_delay = TimeDelta()
    inputs = Method("load_inputs")
    outputs = Method("load_outputs")
    timeout = Integer()
    trigger = _LazyReference(_triggers)
    skip_on_upstream_skip = Boolean()
    cache_for = TimeDelta()
    cache_key = String()
    cache_validator = _LazyReference(_cache_validators)
    auto_generated = Boolean()


class _ParameterDefault(JSONCompatible):
    def _serialize(self, value: Any, name: str, obj: Any, schema: Any) -> Any:
        import json

        from headwater.exceptions import SerializationError

        try:
            json.dumps(value)
        except (TypeError, ValueError):
            raise SerializationError(
                f"Parameter {getattr(obj, 'name', obj)!r}: its default {value!r} is not JSON "
                "compatible, so the flow cannot be serialized. Give a JSON value (str, number, "
                "bool, None, or lists and dicts of them) as the default."
            ) from None
        return value


class ParameterSchema(TaskMethodsMixin, ObjectSchema):
    class Meta:
        object_class = _parameter_class
        exclude_fields = ["type", "outputs", "slug"]

    type = Function(_qualified_type, lambda x: x)
    name = String(required=True)
    slug = _Slug()
    default = _ParameterDefault()
    required = Boolean()
    tags = SortedList(String())
    outputs = Method("load_outputs")


def serialize_task(task: Any) -> dict[str, Any]:
    """``task`` dumped with :class:`ParameterSchema` if it is a parameter, else
    :class:`TaskSchema`."""
    from headwater.core.parameter import Parameter

    schema = ParameterSchema() if isinstance(task, Parameter) else TaskSchema()
    return schema.dump(task)
