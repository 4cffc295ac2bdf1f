"""Schemas of schedules and their clocks; filters and adjustments by name.

Clock dates keep their time zone (``{"dt": ..., "tz": ...}``), so a schedule read back keeps
its daylight-saving behaviour. Only headwater's own filters and adjustments can be read back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from headwater.schedules import adjustments, clocks, filters, schedules
from headwater.serialization._fields import (
    Boolean,
    DateTime,
    DateTimeTZ,
    Dict,
    Field,
    JSONCompatible,
    List,
    Method,
    Nested,
    StatefulFunctionReference,
    String,
    TimeDelta,
)
from headwater.serialization._schema import ObjectSchema, OneOfSchema

__all__ = [
    "ClockSchema",
    "CronClockSchema",
    "DatesClockSchema",
    "IntervalClockSchema",
    "RRuleClockSchema",
    "ScheduleSchema",
]

FILTERS: list[Callable[..., Any]] = [
    filters.on_datetime,
    filters.on_date,
    filters.at_time,
    filters.between_datetimes,
    filters.between_dates,
    filters.between_times,
    filters.is_weekday,
    filters.is_weekend,
    filters.is_month_end,
    filters.is_day_of_week,
    filters.is_month_start,
]

ADJUSTMENTS: list[Callable[..., Any]] = [adjustments.add, adjustments.next_weekday]


class _ClockFields(ObjectSchema):
    parameter_defaults = Dict(keys=String(), values=JSONCompatible())
    labels = List(String())


class IntervalClockSchema(_ClockFields):
    class Meta:
        object_class = clocks.IntervalClock

    start_date = DateTimeTZ()
    end_date = DateTimeTZ()
    interval = TimeDelta(precision="microseconds", required=True)


class CronClockSchema(_ClockFields):
    class Meta:
        object_class = clocks.CronClock

    start_date = DateTimeTZ()
    end_date = DateTimeTZ()
    cron = String(required=True)
    day_or = Boolean()


class DatesClockSchema(_ClockFields):
    class Meta:
        object_class = clocks.DatesClock

    dates = List(DateTimeTZ(), required=True)


class RRuleSchema(ObjectSchema):
    """A ``dateutil`` rule as its RFC 5545 text, plus ``dtstart``/``until`` with their zones."""

    rr = Method("dump_rrule_str", "load_rrule_str")
    _dtstart = DateTime()
    _until = DateTime()

    def dump_rrule_str(self, obj: Any) -> str:
        return str(obj)

    def load_rrule_str(self, value: str) -> Any:
        from dateutil import rrule

        return rrule.rrulestr(value)

    def create_object(self, data: dict[str, Any], **kwargs: Any) -> Any:
        import pendulum

        params: dict[str, Any] = {"dtstart": data.get("_dtstart") or pendulum.datetime(2018, 6, 20)}
        if data.get("_until") is not None:
            params["until"] = data["_until"]
        return data["rr"].replace(**params)


class RRuleSetSchema(ObjectSchema):
    _rrule = List(Nested(RRuleSchema))
    _rdate = List(DateTime())
    _exrule = List(Nested(RRuleSchema))
    _exdate = List(DateTime())

    def create_object(self, data: dict[str, Any], **kwargs: Any) -> Any:
        from dateutil import rrule

        rrs = rrule.rruleset()
        for rr in data.get("_rrule") or ():
            rrs.rrule(rr)
        for dt in data.get("_rdate") or ():
            rrs.rdate(dt)
        for exrr in data.get("_exrule") or ():
            rrs.exrule(exrr)
        for exdt in data.get("_exdate") or ():
            rrs.exdate(exdt)
        return rrs


class RRuleBaseSchema(OneOfSchema):
    type_schemas = {"rrule": RRuleSchema, "rruleset": RRuleSetSchema}


class _RRule(Field):
    """The clock's rule (``rrule_obj`` in Prefect 1, ``rrule`` on headwater's clock)."""

    def serialize(self, name: str, obj: Any, schema: Any) -> Any:
        rule = getattr(obj, "rrule_obj", None) or getattr(obj, "rrule", None)
        return None if rule is None else RRuleBaseSchema(context=schema.context).dump(rule)

    def _deserialize(self, value: Any, name: str, data: Any, schema: Any) -> Any:
        return RRuleBaseSchema(context=schema.context).load(value)


class RRuleClockSchema(_ClockFields):
    class Meta:
        object_class = clocks.RRuleClock

    rrule_obj = _RRule()
    start_date = DateTimeTZ()
    end_date = DateTimeTZ()

    def create_object(self, data: dict[str, Any], **kwargs: Any) -> Any:
        if not self.context.get("create_object", True):
            return data
        data = dict(data)
        return clocks.RRuleClock(data.pop("rrule_obj"), **data)


class ClockSchema(OneOfSchema):
    """Chooses the clock schema by class name."""

    type_schemas = {
        "IntervalClock": IntervalClockSchema,
        "CronClock": CronClockSchema,
        "DatesClock": DatesClockSchema,
        "RRuleClock": RRuleClockSchema,
    }


class ScheduleSchema(ObjectSchema):
    class Meta:
        object_class = schedules.Schedule

    clocks = Nested(ClockSchema, required=True, many=True)
    filters = List(StatefulFunctionReference(FILTERS, reject_invalid=False))
    or_filters = List(StatefulFunctionReference(FILTERS, reject_invalid=False))
    not_filters = List(StatefulFunctionReference(FILTERS, reject_invalid=False))
    adjustments = List(StatefulFunctionReference(ADJUSTMENTS, reject_invalid=False))

    def create_object(self, data: dict[str, Any], **kwargs: Any) -> Any:
        from headwater.exceptions import SerializationError

        for key in ("filters", "or_filters", "not_filters", "adjustments"):
            if any(f is None for f in data.get(key) or ()):
                raise SerializationError(
                    f"This schedule's {key} hold a custom function, which cannot be read back "
                    "from a serialized schedule; only headwater's own filters and adjustments "
                    "can. Build the schedule in code instead."
                )
        return super().create_object(data)
