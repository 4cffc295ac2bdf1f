"""Clocks: the sources of scheduled times.

A clock emits an endless (or finite) increasing stream of :class:`ClockEvent`\\ s, each a start
time plus the parameter defaults and labels that runs at that time should use. A
:class:`~headwater.schedules.Schedule` merges the streams of several clocks and then filters and
adjusts them.

* :class:`IntervalClock` — every ``interval`` from ``start_date``;
* :class:`CronClock` — at the times a cron expression matches;
* :class:`DatesClock` — at an explicit list of datetimes;
* :class:`RRuleClock` — at the times an iCalendar recurrence rule (``dateutil.rrule``) gives.

Every time is a timezone-aware pendulum ``DateTime`` in the zone of the clock's ``start_date``
(UTC when there is none); a naive ``datetime`` given to a clock is read as UTC. Intervals of a day
or more, cron expressions and recurrence rules keep the local wall-clock time across daylight-
saving changes; intervals shorter than a day keep the elapsed time. See ``docs/schedules.md``.

Example:

    >>> from datetime import timedelta
    >>> import pendulum
    >>> from headwater.schedules import clocks
    >>> clock = clocks.IntervalClock(
    ...     timedelta(days=1),
    ...     start_date=pendulum.datetime(2024, 3, 9, 9, tz="America/New_York"),
    ...     parameter_defaults={"region": "us"},
    ... )
    >>> events = clock.events(after=pendulum.datetime(2024, 3, 9, tz="UTC"))
    >>> for event in [next(events), next(events)]:
    ...     print(event.start_time.isoformat(), event.parameter_defaults)
    2024-03-09T09:00:00-05:00 {'region': 'us'}
    2024-03-10T09:00:00-04:00 {'region': 'us'}

    The daily run stays at 09:00 local time although New York moved its clocks forward on
    2024-03-10.
"""

from __future__ import annotations

import bisect
import datetime as _dt
import itertools
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

import pendulum

from headwater.schedules._time import (
    ONE_DAY,
    ScheduleTypeError,
    instant,
    localize,
    shift,
    to_datetime,
    utc_naive,
    wall_clock,
    zone_of,
)

__all__ = [
    "Clock",
    "ClockEvent",
    "CronClock",
    "DatesClock",
    "IntervalClock",
    "RRuleClock",
]

_ONE_US = _dt.timedelta(microseconds=1)
#: The start date of an :class:`IntervalClock` created without one.
DEFAULT_START_DATE = pendulum.DateTime(2019, 1, 1, tzinfo=pendulum.UTC)


class ClockEvent:
    """One scheduled time, with the parameter defaults and labels of the clock that emitted it.

    Events order by ``start_time`` and compare with each other and with plain datetimes
    (``event < datetime`` compares the start time). Two events are equal when their start time,
    parameter defaults and labels are; an event is equal to a datetime equal to its start time.

    Args:
        start_time: when the run should start.
        parameter_defaults: parameter values for the run (overriding the flow's defaults).
        labels: labels attached to the run (``None``: none given).
    """

    __slots__ = ("labels", "parameter_defaults", "start_time")

    def __init__(
        self,
        start_time: _dt.datetime,
        parameter_defaults: Mapping[str, Any] | None = None,
        labels: Iterable[str] | None = None,
    ) -> None:
        self.start_time = start_time
        self.parameter_defaults: dict[str, Any] = dict(parameter_defaults or {})
        self.labels: list[str] | None = None if labels is None else list(labels)

    # Comparisons use instants (see ``instant``): two occurrences of a repeated local time in
    # the same zone are different events even though their clock readings are equal.

    def _other(self, other: object) -> _dt.datetime | None:
        if isinstance(other, ClockEvent):
            return instant(other.start_time)
        if isinstance(other, _dt.datetime):
            return instant(other)
        return None

    def __eq__(self, other: object) -> bool:
        if isinstance(other, ClockEvent):
            return (
                instant(self.start_time) == instant(other.start_time)
                and self.parameter_defaults == other.parameter_defaults
                and self.labels == other.labels
            )
        if isinstance(other, _dt.datetime):
            return instant(self.start_time) == instant(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(instant(self.start_time))

    def __lt__(self, other: object) -> bool:
        key = self._other(other)
        return NotImplemented if key is None else instant(self.start_time) < key

    def __le__(self, other: object) -> bool:
        key = self._other(other)
        return NotImplemented if key is None else instant(self.start_time) <= key

    def __gt__(self, other: object) -> bool:
        key = self._other(other)
        return NotImplemented if key is None else instant(self.start_time) > key

    def __ge__(self, other: object) -> bool:
        key = self._other(other)
        return NotImplemented if key is None else instant(self.start_time) >= key

    def __repr__(self) -> str:
        parts = [repr(self.start_time)]
        if self.parameter_defaults:
            parts.append(f"parameter_defaults={self.parameter_defaults!r}")
        if self.labels:
            parts.append(f"labels={self.labels!r}")
        return f"ClockEvent({', '.join(parts)})"

    def to_dict(self) -> dict[str, Any]:
        """The event as a plain dict (``start_time``, ``parameter_defaults``, ``labels``)."""
        return {
            "start_time": self.start_time,
            "parameter_defaults": dict(self.parameter_defaults),
            "labels": None if self.labels is None else list(self.labels),
        }


class Clock:
    """Base class of clocks.

    Subclasses implement :meth:`_times`, which yields increasing start times strictly after a
    given instant; the base class handles ``start_date``/``end_date`` bounds and wraps the times
    into :class:`ClockEvent`\\ s.

    Args:
        start_date: no event is earlier than this; its time zone is the clock's zone.
        end_date: no event is later than this.
        parameter_defaults: parameter values for every run this clock schedules.
        labels: labels for every run this clock schedules (``None``: none given).

    Raises:
        ValueError: a date is not a datetime, ``end_date`` is before ``start_date``, or
            ``parameter_defaults``/``labels`` have the wrong shape.
    """

    def __init__(
        self,
        start_date: _dt.datetime | None = None,
        end_date: _dt.datetime | None = None,
        parameter_defaults: Mapping[str, Any] | None = None,
        labels: Iterable[str] | None = None,
    ) -> None:
        name = type(self).__name__
        self.start_date = None if start_date is None else to_datetime(start_date, "start_date")
        self.end_date = None if end_date is None else to_datetime(end_date, "end_date")
        if self.start_date is not None and self.end_date is not None:
            if instant(self.end_date) < instant(self.start_date):
                raise ValueError(
                    f"{name}: end_date {self.end_date.isoformat()} is before start_date "
                    f"{self.start_date.isoformat()}; no run could ever be scheduled."
                )
        if parameter_defaults is not None and not isinstance(parameter_defaults, Mapping):
            raise ScheduleTypeError(
                f"{name}: parameter_defaults must be a dict of parameter name to value, "
                f"got {type(parameter_defaults).__name__}."
            )
        if parameter_defaults is not None and not all(
            isinstance(k, str) for k in parameter_defaults
        ):
            raise ScheduleTypeError(f"{name}: parameter_defaults keys must be parameter names.")
        label_list = None if labels is None or isinstance(labels, str) else list(labels)
        if labels is not None and (
            label_list is None or not all(isinstance(label, str) for label in label_list)
        ):
            raise ScheduleTypeError(
                f"{name}: labels must be a list of strings, got {labels!r}; "
                "wrap a single label in a list."
            )
        self.parameter_defaults: dict[str, Any] = dict(parameter_defaults or {})
        self.labels: list[str] | None = label_list

    def events(self, after: _dt.datetime | None = None) -> Iterator[ClockEvent]:
        """Yield this clock's events in increasing order.

        Args:
            after: only events strictly after this instant (default: now).

        Yields:
            ClockEvent: events at or after ``start_date``, after ``after``, and not after
            ``end_date``.
        """
        lower = pendulum.now("UTC") if after is None else to_datetime(after, "after")
        if self.start_date is not None and instant(lower) < instant(self.start_date):
            lower = to_datetime(instant(self.start_date) - _ONE_US, "after")
        floor = instant(lower)
        end = None if self.end_date is None else instant(self.end_date)
        for time in self._times(lower):
            at = instant(time)
            if end is not None and at > end:
                return
            if at <= floor:
                continue
            floor = at
            yield ClockEvent(time, self.parameter_defaults, self.labels)

    def _times(self, after: pendulum.DateTime) -> Iterator[pendulum.DateTime]:
        """Yield increasing start times; those at or before ``after`` are dropped by the caller."""
        raise NotImplementedError

    def _repr_args(self) -> list[str]:
        args = []
        if self.start_date is not None:
            args.append(f"start_date={self.start_date.isoformat()!r}")
        if self.end_date is not None:
            args.append(f"end_date={self.end_date.isoformat()!r}")
        if self.parameter_defaults:
            args.append(f"parameter_defaults={self.parameter_defaults!r}")
        if self.labels:
            args.append(f"labels={self.labels!r}")
        return args

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(self._repr_args())})"


class IntervalClock(Clock):
    """Events every ``interval``, starting at ``start_date``.

    Intervals of a day or more keep the local wall-clock time of ``start_date`` across DST
    changes (a daily 09:00 run stays at 09:00); shorter intervals keep the elapsed time (an
    hourly run stays an hour apart, so its local clock reading shifts by the DST offset).

    Args:
        interval: a positive ``timedelta``.
        start_date: the first event; defaults to 2019-01-01 00:00 UTC. Its zone is the zone the
            wall-clock rule applies in.
        end_date: no event after this.
        parameter_defaults: parameter values for each run.
        labels: labels for each run.

    Raises:
        ValueError: ``interval`` is not a positive ``timedelta`` (a ``TypeError`` too when it
            is not a ``timedelta`` at all), or a date is invalid.
    """

    def __init__(
        self,
        interval: _dt.timedelta,
        start_date: _dt.datetime | None = None,
        end_date: _dt.datetime | None = None,
        parameter_defaults: Mapping[str, Any] | None = None,
        labels: Iterable[str] | None = None,
    ) -> None:
        if not isinstance(interval, _dt.timedelta):
            raise ScheduleTypeError(
                f"IntervalClock: interval must be a datetime.timedelta, got "
                f"{type(interval).__name__} {interval!r}; e.g. timedelta(minutes=5)."
            )
        if isinstance(interval, pendulum.Duration) and (interval.years or interval.months):
            raise ValueError(
                "IntervalClock: intervals of calendar months or years are not supported; "
                "use a CronClock (e.g. '0 0 1 * *') or an RRuleClock instead."
            )
        if interval <= _dt.timedelta(0):
            raise ValueError(f"IntervalClock: interval must be greater than 0, got {interval!r}.")
        super().__init__(start_date, end_date, parameter_defaults, labels)
        if isinstance(interval, pendulum.Duration):
            interval = _dt.timedelta(seconds=interval.total_seconds())
        self.interval: _dt.timedelta = interval

    def _times(self, after: pendulum.DateTime) -> Iterator[pendulum.DateTime]:
        start = self.start_date or DEFAULT_START_DATE
        interval = self.interval
        if instant(after) < instant(start):
            k = 0
        else:
            k = (utc_naive(after) - utc_naive(start)) // interval
            if interval >= ONE_DAY:
                # wall-clock steps can differ from elapsed ones by a DST offset
                k = max(0, k - 1)
        for i in itertools.count(k):
            yield start if i == 0 else shift(start, interval, i)

    def _repr_args(self) -> list[str]:
        return [f"interval={self.interval!r}", *super()._repr_args()]


class CronClock(Clock):
    """Events at the times a cron expression matches, in the zone of ``start_date``.

    The expression is read in the local wall-clock time of ``start_date``'s zone (UTC without a
    start date). A matching local time that does not exist because clocks spring forward runs
    once, at the first valid instant after the gap (the moment of the change); a matching local
    time that occurs twice because clocks fall back runs once, at its first occurrence.

    Args:
        cron: a cron expression such as ``"30 2 * * 1-5"`` (anything ``croniter`` accepts,
            including ``@daily``-style aliases).
        start_date: no event before this; its time zone is the zone the expression is read in.
        end_date: no event after this.
        parameter_defaults: parameter values for each run.
        labels: labels for each run.
        day_or: when both day-of-month and day-of-week are restricted, match either of them
            (``True``, the default, as standard cron does) or both (``False``).

    Raises:
        ValueError: the expression is invalid or can never match, or a date is invalid.
    """

    def __init__(
        self,
        cron: str,
        start_date: _dt.datetime | None = None,
        end_date: _dt.datetime | None = None,
        parameter_defaults: Mapping[str, Any] | None = None,
        labels: Iterable[str] | None = None,
        day_or: bool | None = None,
    ) -> None:
        if not isinstance(cron, str):
            raise ScheduleTypeError(
                f"CronClock: cron must be a string such as '0 * * * *', got "
                f"{type(cron).__name__} {cron!r}."
            )
        super().__init__(start_date, end_date, parameter_defaults, labels)
        self.cron = cron
        self.day_or = True if day_or is None else bool(day_or)
        self._tz = zone_of(self.start_date or DEFAULT_START_DATE)
        from croniter import CroniterBadDateError, CroniterError, croniter

        probe = _dt.datetime(2000, 1, 1)
        try:
            croniter(cron, probe, day_or=self.day_or).get_next(_dt.datetime)
        except CroniterBadDateError as exc:
            raise ValueError(f"CronClock: cron expression {cron!r} never matches a date.") from exc
        except (CroniterError, ValueError, KeyError, TypeError) as exc:
            raise ValueError(
                f"CronClock: invalid cron expression {cron!r} ({exc}); a cron expression has the "
                "fields 'minute hour day-of-month month day-of-week', e.g. '30 2 * * 1-5'."
            ) from exc

    def _times(self, after: pendulum.DateTime) -> Iterator[pendulum.DateTime]:
        from croniter import CroniterBadDateError, croniter

        tz = self._tz
        it = croniter(self.cron, wall_clock(after, tz), day_or=self.day_or)
        while True:
            try:
                naive = it.get_next(_dt.datetime)
            except CroniterBadDateError:
                return
            yield localize(naive, tz)

    def _repr_args(self) -> list[str]:
        args = [repr(self.cron), *super()._repr_args()]
        if not self.day_or:
            args.append("day_or=False")
        return args


class DatesClock(Clock):
    """Events at an explicit list of datetimes.

    Args:
        dates: the start times (duplicates are dropped, order does not matter).
        parameter_defaults: parameter values for each run.
        labels: labels for each run.

    Raises:
        ValueError: ``dates`` is empty or holds something that is not a datetime.
    """

    def __init__(
        self,
        dates: Iterable[_dt.datetime],
        parameter_defaults: Mapping[str, Any] | None = None,
        labels: Iterable[str] | None = None,
    ) -> None:
        if isinstance(dates, _dt.datetime) or not isinstance(dates, Iterable):
            raise ScheduleTypeError(
                f"DatesClock: dates must be a list of datetimes, got {dates!r}; "
                "wrap a single date in a list."
            )
        by_instant = {instant(d): d for d in (to_datetime(d, "DatesClock date") for d in dates)}
        converted = [by_instant[key] for key in sorted(by_instant)]
        if not converted:
            raise ValueError("DatesClock: dates must not be empty.")
        super().__init__(converted[0], converted[-1], parameter_defaults, labels)
        self.dates: list[pendulum.DateTime] = converted
        self._instants = sorted(by_instant)

    def _times(self, after: pendulum.DateTime) -> Iterator[pendulum.DateTime]:
        instants = getattr(self, "_instants", None)  # absent on clocks pickled before it was kept
        if instants is None:
            return iter(self.dates)
        return itertools.islice(self.dates, bisect.bisect_right(instants, instant(after)), None)

    def _repr_args(self) -> list[str]:
        args = super()._repr_args()[2:]
        return [f"[{', '.join(repr(d.isoformat()) for d in self.dates)}]", *args]


class RRuleClock(Clock):
    """Events at the times a ``dateutil.rrule.rrule`` recurrence rule gives.

    The rule is evaluated in local wall-clock time, like a cron expression, with the same
    handling of skipped and repeated local times. Its zone is that of ``start_date`` if given,
    else that of the rule's ``dtstart`` (UTC when ``dtstart`` is naive).

    Args:
        rrule: a ``dateutil.rrule.rrule``; its ``count``, ``until`` and ``by...`` parts apply.
        start_date: replaces the rule's ``dtstart`` (and so its time zone and its default time
            of day).
        end_date: no event after this.
        parameter_defaults: parameter values for each run.
        labels: labels for each run.

    Raises:
        ValueError: ``rrule`` is not an ``rrule``, or a date is invalid.
    """

    def __init__(
        self,
        rrule: Any,
        start_date: _dt.datetime | None = None,
        end_date: _dt.datetime | None = None,
        parameter_defaults: Mapping[str, Any] | None = None,
        labels: Iterable[str] | None = None,
    ) -> None:
        from dateutil.rrule import rrule as _rrule

        if not isinstance(rrule, _rrule):
            raise ScheduleTypeError(
                f"RRuleClock: rrule must be a dateutil.rrule.rrule, got "
                f"{type(rrule).__name__} {rrule!r}; e.g. rrule(DAILY, byhour=9)."
            )
        dtstart = rrule._dtstart  # noqa: SLF001 - dateutil has no public accessor for it
        given_start = start_date
        if start_date is None:
            start_date = dtstart if dtstart.tzinfo else dtstart.replace(tzinfo=_dt.UTC)
        super().__init__(start_date, end_date, parameter_defaults, labels)
        assert self.start_date is not None
        rule_start = self.start_date
        if given_start is None:
            self.start_date = None  # as in Prefect 1; the rule's own dtstart still applies
        tz = zone_of(rule_start)
        until = rrule._until  # noqa: SLF001 - dateutil has no public accessor for it
        if until is not None and until.tzinfo is not None:
            until = wall_clock(until, tz)
        self.rrule = rrule
        self._tz = tz
        self._naive_rule = rrule.replace(dtstart=wall_clock(rule_start, tz), until=until)

    def _times(self, after: pendulum.DateTime) -> Iterator[pendulum.DateTime]:
        tz = self._tz
        for naive in self._naive_rule.xafter(wall_clock(after, tz), inc=True):
            yield localize(naive, tz)

    def _repr_args(self) -> list[str]:
        return [repr(str(self.rrule)), *super()._repr_args()]
