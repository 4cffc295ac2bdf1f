"""Schemas of states: class, message, context and where the result is kept (not the value)."""

from __future__ import annotations

from typing import Any

from headwater.engine import state
from headwater.serialization._fields import (
    DateTime,
    Dict,
    Field,
    Integer,
    JSONCompatible,
    Nested,
    String,
)
from headwater.serialization._schema import ObjectSchema, OneOfSchema
from headwater.serialization.result import StateResultSchema

__all__ = ["StateSchema"]


def _safe_result(obj: state.State, context: dict[str, Any]) -> Any:
    """The state's ``Result`` (its location only is dumped); ``NoResult`` for a raw value."""
    from headwater.engine.result import NoResult

    holder = getattr(obj, "_result", None)
    return NoResult if holder is None else holder


class _CachedInput(Field):
    """A cached input: a ``Result`` dumps its location; a raw value dumps as an empty Result."""

    def _serialize(self, value: Any, name: str, obj: Any, schema: Any) -> Any:
        if not getattr(type(value), "_is_headwater_result", False):
            from headwater.engine.result import Result

            value = Result()
        return StateResultSchema(context=schema.context).dump(value)

    def _deserialize(self, value: Any, name: str, data: Any, schema: Any) -> Any:
        return StateResultSchema(context=schema.context).load(value)


class _Message(String):
    def _serialize(self, value: Any, name: str, obj: Any, schema: Any) -> Any:
        return repr(value) if isinstance(value, BaseException) else str(value)


class BaseStateSchema(ObjectSchema):
    class Meta:
        object_class = state.State

    # the field shadows Schema.context on the class only; instances keep their context dict
    context = Dict(keys=String(), values=JSONCompatible())  # type: ignore[assignment]
    message = _Message()
    _result = Nested(StateResultSchema, value_selection_fn=_safe_result)
    cached_inputs = Dict(keys=String(), values=_CachedInput())

    def create_object(self, data: dict[str, Any], **kwargs: Any) -> Any:
        data = dict(data)
        data["result"] = data.pop("_result", None)
        return super().create_object(data)


def _schema(cls: type[state.State], base: type[ObjectSchema], **fields: Field) -> Any:
    meta = type("Meta", (), {"object_class": cls})
    metaclass: Any = type(base)
    return metaclass(
        f"{cls.__name__}Schema", (base,), {"Meta": meta, "__module__": __name__, **fields}
    )


class MetaStateSchema(BaseStateSchema):
    state = Nested("headwater.serialization.state.StateSchema")


class MappedSchema(BaseStateSchema):
    class Meta:
        object_class = state.Mapped
        exclude = ["_result", "map_states"]

    map_states = Nested("headwater.serialization.state.StateSchema", many=True)
    n_map_states = Integer()

    def get_attribute(self, obj: Any, key: str, default: Any) -> Any:
        if key == "n_map_states" and isinstance(obj, state.State):
            n = getattr(obj, "n_map_states", None)
            return n if n is not None else len(getattr(obj, "map_states", None) or ())
        return super().get_attribute(obj, key, default)

    def create_object(self, data: dict[str, Any], **kwargs: Any) -> Any:
        """The children are not in the dump: ``map_states`` holds one ``None`` per child."""
        data = dict(data)
        n = data.pop("n_map_states", 0) or 0
        obj = super().create_object({**data, "map_states": []})
        if isinstance(obj, state.Mapped):
            placeholders: list[Any] = [None] * n
            obj.map_states = placeholders
        return obj


_start = {"start_time": DateTime()}
PendingSchema = _schema(state.Pending, BaseStateSchema)
ClientFailedSchema = _schema(state.ClientFailed, MetaStateSchema)
SubmittedSchema = _schema(state.Submitted, MetaStateSchema)
QueuedSchema = _schema(state.Queued, MetaStateSchema, **_start)
ScheduledSchema = _schema(state.Scheduled, PendingSchema, **_start)
ResumeSchema = _schema(state.Resume, ScheduledSchema)
RetryingSchema = _schema(state.Retrying, ScheduledSchema, run_count=Integer())
PausedSchema = _schema(state.Paused, ScheduledSchema)
RunningSchema = _schema(state.Running, BaseStateSchema)
CancellingSchema = _schema(state.Cancelling, RunningSchema)
FinishedSchema = _schema(state.Finished, BaseStateSchema)
LoopedSchema = _schema(state.Looped, BaseStateSchema, loop_count=Integer())
SuccessSchema = _schema(state.Success, FinishedSchema)
CachedSchema = _schema(
    state.Cached,
    SuccessSchema,
    cached_parameters=JSONCompatible(),
    cached_result_expiration=DateTime(),
    hashed_inputs=Dict(keys=String(), values=String()),
)
SkippedSchema = _schema(state.Skipped, SuccessSchema)
FailedSchema = _schema(state.Failed, FinishedSchema)
CancelledSchema = _schema(state.Cancelled, FinishedSchema)
TimedOutSchema = _schema(state.TimedOut, FinishedSchema)
TriggerFailedSchema = _schema(state.TriggerFailed, FailedSchema)
ValidationFailedSchema = _schema(state.ValidationFailed, FailedSchema)


class StateSchema(OneOfSchema):
    """Chooses the schema of a state by its class name."""

    type_schemas = {
        "Cancelled": CancelledSchema,
        "Cached": CachedSchema,
        "ClientFailed": ClientFailedSchema,
        "Failed": FailedSchema,
        "Finished": FinishedSchema,
        "Looped": LoopedSchema,
        "Mapped": MappedSchema,
        "Paused": PausedSchema,
        "Pending": PendingSchema,
        "Queued": QueuedSchema,
        "Resume": ResumeSchema,
        "Retrying": RetryingSchema,
        "Running": RunningSchema,
        "Cancelling": CancellingSchema,
        "Scheduled": ScheduledSchema,
        "Skipped": SkippedSchema,
        "Submitted": SubmittedSchema,
        "Success": SuccessSchema,
        "TimedOut": TimedOutSchema,
        "TriggerFailed": TriggerFailedSchema,
        "ValidationFailed": ValidationFailedSchema,
        "State": BaseStateSchema,
    }
