"""Schedules: clocks merged, filtered and adjusted.

A :class:`Schedule` answers one question — *when are the next runs?* — by merging the event
streams of its clocks in time order, keeping the events its filters accept, and moving each kept
event with its adjustments. A flow given ``schedule=`` runs at those times when it is run with
``flow.run(run_on_schedule=True)``; each event's ``parameter_defaults`` become that run's
parameters.

:func:`IntervalSchedule`, :func:`CronSchedule` and :func:`RRuleSchedule` build the common
one-clock schedules.

Example: 02:30 New York time does not exist on 2024-03-10, so that night's run starts when
the clocks jump from 02:00 to 03:00.

    >>> import pendulum
    >>> from headwater.schedules import CronSchedule, Schedule, clocks
    >>> schedule = CronSchedule(
    ...     "30 2 * * *", start_date=pendulum.datetime(2024, 3, 9, tz="America/New_York")
    ... )
    >>> for t in schedule.next(3, after=pendulum.datetime(2024, 3, 9, tz="UTC")):
    ...     print(t.isoformat())
    2024-03-09T02:30:00-05:00
    2024-03-10T03:00:00-04:00
    2024-03-11T02:30:00-04:00

A daily incremental load, plus a full one on Sundays, from one schedule:

    >>> schedule = Schedule(clocks=[
    ...     clocks.CronClock("0 1 * * *", parameter_defaults={"full": False}),
    ...     clocks.CronClock("0 1 * * 0", parameter_defaults={"full": True}),
    ... ])
    >>> for e in schedule.next(3, after=pendulum.datetime(2024, 1, 6), return_events=True):
    ...     print(e.start_time.format("ddd HH:mm"), e.parameter_defaults)
    Sat 01:00 {'full': False}
    Sun 01:00 {'full': False}
    Sun 01:00 {'full': True}
"""

from __future__ import annotations

import datetime as _dt
import heapq
import warnings
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Literal, cast, overload

import pendulum

from headwater.schedules._time import ScheduleTypeError, instant, to_datetime
from headwater.schedules.clocks import (
    Clock,
    ClockEvent,
    CronClock,
    IntervalClock,
    RRuleClock,
)

__all__ = ["CronSchedule", "IntervalSchedule", "RRuleSchedule", "Schedule", "SearchLimitReached"]

#: How many clock events of one clock in a row the filters may reject before the search stops
#: (filters with an ``earliest_date``, such as the date filters, skip whole days without
#: testing them, so this bounds only the events actually tested).
MAX_REJECTED = 600_000
#: A filter's ``earliest_date`` is a local date; skipping stops this long before its UTC
#: midnight, which is earlier than its local midnight in every time zone.
_SKIP_MARGIN = _dt.timedelta(hours=16)
#: Restarting a clock costs about as much as testing a few of its events; skip only when
#: this many events' worth of time or more is jumped over.
_SKIP_MIN_EVENTS = 64


class SearchLimitReached(RuntimeError):
    """The filters rejected :data:`MAX_REJECTED` events of a clock in a row.

    Attributes:
        searched_until: the start time of the last event tested; every event up to it has
            been considered, so a search may resume after it.
    """

    def __init__(self, message: str, searched_until: pendulum.DateTime) -> None:
        super().__init__(message)
        self.searched_until = searched_until


class _Limit:
    """Marks, in a clock's stream, where the filters' search stopped."""

    __slots__ = ("start_time",)

    def __init__(self, start_time: _dt.datetime) -> None:
        self.start_time = start_time


def _callables(value: Iterable[Callable[..., Any]] | None, what: str) -> list[Callable[..., Any]]:
    if value is None:
        return []
    if callable(value) or not isinstance(value, Iterable):
        raise ScheduleTypeError(
            f"Schedule: {what} must be a list of functions, got {value!r}; "
            "wrap a single function in a list."
        )
    items = list(value)
    for item in items:
        if not callable(item):
            raise ScheduleTypeError(
                f"Schedule: every item of {what} must be callable, got {item!r}."
            )
    return items


def _event_instant(event: ClockEvent | _Limit) -> _dt.datetime:
    return instant(event.start_time)


class Schedule:
    """When a flow runs: clocks merged in time order, then filtered, then adjusted.

    An event is kept when every function in ``filters`` returns true, at least one in
    ``or_filters`` does (when that list is not empty), and none in ``not_filters`` does. The
    kept event's start time then passes through each of ``adjustments`` in turn.

    Events from different clocks at the same time are all kept, in the order of ``clocks``,
    unless they are equal (same time, parameter defaults and labels). Adjusted events that would fall at or before ``after``, or
    before an event already emitted, are dropped, so the stream stays sorted and never repeats.

    Args:
        clocks: one or more :class:`~headwater.schedules.clocks.Clock`\\ s.
        filters: functions ``datetime -> bool`` that must all accept an event.
        or_filters: functions of which at least one must accept an event.
        not_filters: functions of which none may accept an event.
        adjustments: functions ``datetime -> datetime`` applied in order to each kept event.

    Raises:
        ValueError: ``clocks`` holds something that is not a clock, or a filter or
            adjustment is not callable. (An empty ``clocks`` is a schedule with no events.)
    """

    def __init__(
        self,
        clocks: Iterable[Clock],
        filters: Iterable[Callable[[_dt.datetime], bool]] | None = None,
        or_filters: Iterable[Callable[[_dt.datetime], bool]] | None = None,
        not_filters: Iterable[Callable[[_dt.datetime], bool]] | None = None,
        adjustments: Iterable[Callable[[_dt.datetime], _dt.datetime]] | None = None,
    ) -> None:
        if isinstance(clocks, Clock) or not isinstance(clocks, Iterable):
            raise ScheduleTypeError(
                f"Schedule: clocks must be a list of clocks, got {clocks!r}; "
                "wrap a single clock in a list."
            )
        self.clocks: list[Clock] = list(clocks)  # may be empty: then no events (as Prefect 1)
        for clock in self.clocks:
            if not isinstance(clock, Clock):
                raise ScheduleTypeError(
                    f"Schedule: every item of clocks must be a Clock (IntervalClock, CronClock, "
                    f"DatesClock, RRuleClock), got {clock!r}."
                )
        self.filters = _callables(filters, "filters")
        self.or_filters = _callables(or_filters, "or_filters")
        self.not_filters = _callables(not_filters, "not_filters")
        self.adjustments = _callables(adjustments, "adjustments")

    @property
    def start_date(self) -> pendulum.DateTime | None:
        """The earliest clock start date (``None`` if a clock has none)."""
        dates = [c.start_date for c in self.clocks]
        if not dates or any(d is None for d in dates):
            return None
        return min(d for d in dates if d is not None)

    @property
    def end_date(self) -> pendulum.DateTime | None:
        """The latest clock end date (``None`` if a clock runs forever)."""
        dates = [c.end_date for c in self.clocks]
        if not dates or any(d is None for d in dates):
            return None
        return max(d for d in dates if d is not None)

    def _accepts(self, dt: _dt.datetime) -> bool:
        return (
            all(f(dt) for f in self.filters)
            and (not self.or_filters or any(f(dt) for f in self.or_filters))
            and not any(f(dt) for f in self.not_filters)
        )

    def _adjust(self, dt: _dt.datetime) -> _dt.datetime:
        for adjust in self.adjustments:
            dt = to_datetime(adjust(dt), "adjusted time")
        return dt

    def _earliest_date(self, day: _dt.date) -> _dt.date | None:
        """A lower bound on the next local date the filters can keep (``None``: never)."""
        bound = day
        for f in self.filters:
            earliest = getattr(f, "earliest_date", None)
            if earliest is not None:
                found = earliest(day)
                if found is None:
                    return None
                bound = max(bound, found)
        if self.or_filters:
            options = [getattr(f, "earliest_date", None) for f in self.or_filters]
            if all(o is not None for o in options):
                found_any = [d for d in (o(day) for o in options if o is not None) if d is not None]
                if not found_any:
                    return None
                bound = max(bound, min(found_any))
        return bound

    def _skippable(self) -> bool:
        return any(hasattr(f, "earliest_date") for f in self.filters) or bool(
            self.or_filters and all(hasattr(f, "earliest_date") for f in self.or_filters)
        )

    def _kept(self, clock: Clock, after: _dt.datetime) -> Iterator[ClockEvent | _Limit]:
        """One clock's events that the filters keep, skipping days they cannot keep."""
        skippable = self._skippable()
        lower = after
        rejected = 0
        previous: _dt.datetime | None = None  # the start of the event before, if any
        while True:
            restart = False
            for event in clock.events(after=lower):
                start = event.start_time
                if self._accepts(start):
                    rejected = 0
                    previous = start
                    yield event
                    continue
                if skippable:
                    day = start.date()
                    bound = self._earliest_date(day)
                    if bound is None:
                        return  # the filters can never keep another event of this clock
                    if bound > day:
                        at, skip_to = instant(start), _skip_target(bound)
                        step = None if previous is None else at - instant(previous)
                        if skip_to > at and (
                            step is None or skip_to - at >= step * _SKIP_MIN_EVENTS
                        ):
                            lower, restart, previous = skip_to, True, None
                            break
                previous = start
                rejected += 1
                if rejected >= MAX_REJECTED:
                    yield _Limit(start)
                    return
            if not restart:
                return

    def _events(self, after: _dt.datetime | None) -> Iterator[ClockEvent | _Limit]:
        after_dt = pendulum.now("UTC") if after is None else to_datetime(after, "after")
        merged = heapq.merge(*(self._kept(c, after_dt) for c in self.clocks), key=_event_instant)
        floor = instant(after_dt)
        last: _dt.datetime | None = None
        emitted_at_last: list[ClockEvent] = []
        for event in merged:
            if type(event) is _Limit:
                # a clock's search stopped here: a later event of another clock could come
                # after events of this one that were never looked at, so stop too
                yield event
                return
            assert isinstance(event, ClockEvent)
            start = self._adjust(event.start_time)
            at = instant(start)
            if at <= floor or (last is not None and at < last):
                continue
            out = ClockEvent(start, event.parameter_defaults, event.labels)
            if at == last:
                if out in emitted_at_last:
                    continue
                emitted_at_last.append(out)
            else:
                last, emitted_at_last = at, [out]
            yield out

    def emit_events(self, after: _dt.datetime | None = None) -> Iterator[ClockEvent]:
        """Yield the schedule's events in time order, lazily.

        Args:
            after: only events strictly after this instant (default: now).

        Yields:
            ClockEvent: filtered and adjusted events; the stream ends when every clock has
            ended or its filters can keep no later event (warning if they rejected
            ``MAX_REJECTED`` events of a clock in a row).
        """
        for event in self._events(after):
            if type(event) is _Limit:
                warnings.warn(_limit_message(event), RuntimeWarning, stacklevel=2)
                return
            assert isinstance(event, ClockEvent)
            yield event

    def next_event(self, after: _dt.datetime | None = None) -> ClockEvent | None:
        """The first event strictly after ``after`` (default: now), or ``None`` if none is left.

        Raises:
            SearchLimitReached: the filters rejected ``MAX_REJECTED`` events of a clock in a
                row; its ``searched_until`` says how far the search got.
        """
        for event in self._events(after):
            if type(event) is _Limit:
                raise SearchLimitReached(
                    _limit_message(event), cast(pendulum.DateTime, event.start_time)
                )
            assert isinstance(event, ClockEvent)
            return event
        return None

    @overload
    def next(
        self, n: int, after: _dt.datetime | None = None, return_events: Literal[False] = False
    ) -> list[pendulum.DateTime]: ...

    @overload
    def next(
        self, n: int, after: _dt.datetime | None = None, *, return_events: Literal[True]
    ) -> list[ClockEvent]: ...

    @overload
    def next(
        self, n: int, after: _dt.datetime | None, return_events: Literal[True]
    ) -> list[ClockEvent]: ...

    def next(
        self, n: int, after: _dt.datetime | None = None, return_events: bool = False
    ) -> list[pendulum.DateTime] | list[ClockEvent]:
        """The next ``n`` scheduled times (fewer if the schedule ends).

        Args:
            n: how many.
            after: only times strictly after this instant (default: now).
            return_events: return :class:`~headwater.schedules.clocks.ClockEvent`\\ s (with
                parameter defaults and labels) instead of datetimes.

        Raises:
            ValueError: ``n`` is negative or not an int.
        """
        if isinstance(n, bool) or not isinstance(n, int):
            raise ScheduleTypeError(f"Schedule.next: n must be an int, got {n!r}.")
        if n < 0:
            raise ValueError(f"Schedule.next: n must not be negative, got {n}.")
        events: list[ClockEvent] = []
        if n:
            for event in self.emit_events(after=after):
                events.append(event)
                if len(events) >= n:
                    break
        if return_events:
            return events
        return [cast(pendulum.DateTime, e.start_time) for e in events]

    def __repr__(self) -> str:
        parts = [f"clocks={self.clocks!r}"]
        for name in ("filters", "or_filters", "not_filters", "adjustments"):
            value = getattr(self, name)
            if value:
                names = ", ".join(getattr(f, "__qualname__", repr(f)) for f in value)
                parts.append(f"{name}=[{names}]")
        return f"Schedule({', '.join(parts)})"


def _skip_target(day: _dt.date) -> _dt.datetime:
    """An instant before the first instant of local date ``day`` in every time zone."""
    midnight = _dt.datetime(day.year, day.month, day.day, tzinfo=_dt.UTC)
    try:
        return midnight - _SKIP_MARGIN
    except OverflowError:
        return midnight


def _limit_message(limit: _Limit) -> str:
    return (
        f"Schedule: the filters rejected {MAX_REJECTED} clock events in a row (up to "
        f"{limit.start_time.isoformat()}); no further events are searched. Give the filter an "
        "earliest_date (see headwater.schedules.filters) or use a sparser clock."
    )


def IntervalSchedule(
    start_date: _dt.datetime | None = None,
    interval: _dt.timedelta | None = None,
    end_date: _dt.datetime | None = None,
) -> Schedule:
    """A schedule with one :class:`~headwater.schedules.clocks.IntervalClock`.

    Raises:
        TypeError: ``interval`` is missing.
        ValueError: ``interval`` is not a positive ``timedelta``, or a date is invalid.
    """
    if interval is None:
        raise ScheduleTypeError("IntervalSchedule: interval is required, e.g. timedelta(hours=1).")
    return Schedule(clocks=[IntervalClock(interval, start_date=start_date, end_date=end_date)])


def CronSchedule(
    cron: str,
    start_date: _dt.datetime | None = None,
    end_date: _dt.datetime | None = None,
    day_or: bool | None = None,
) -> Schedule:
    """A schedule with one :class:`~headwater.schedules.clocks.CronClock`.

    Raises:
        ValueError: the cron expression or a date is invalid.
    """
    return Schedule(
        clocks=[CronClock(cron, start_date=start_date, end_date=end_date, day_or=day_or)]
    )


def RRuleSchedule(
    rrule: Any,
    start_date: _dt.datetime | None = None,
    end_date: _dt.datetime | None = None,
) -> Schedule:
    """A schedule with one :class:`~headwater.schedules.clocks.RRuleClock`.

    Raises:
        ValueError: ``rrule`` is not a ``dateutil.rrule.rrule`` or a date is invalid.
    """
    return Schedule(clocks=[RRuleClock(rrule, start_date=start_date, end_date=end_date)])
