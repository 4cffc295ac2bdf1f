"""Filters: predicates that keep or drop clock events.

A filter is any callable taking the event's start time (a timezone-aware ``DateTime`` in the
clock's zone) and returning ``True`` to keep it. The functions here either *are* filters
(``is_weekday``) or *build* one (``at_time(time(9))``). A
:class:`~headwater.schedules.Schedule` keeps an event when all of its ``filters`` pass, at least
one of its ``or_filters`` passes (if there are any) and none of its ``not_filters`` does.

Date and time-of-day filters read the local calendar and clock of the event's own zone.

Example: hourly from 09:00 to 17:00 on weekdays, except at noon.

    >>> from datetime import time, timedelta
    >>> import pendulum
    >>> from headwater.schedules import Schedule, clocks, filters
    >>> start = pendulum.datetime(2024, 1, 5, tz="Europe/Berlin")  # a Friday
    >>> schedule = Schedule(
    ...     clocks=[clocks.IntervalClock(timedelta(hours=1), start_date=start)],
    ...     filters=[filters.is_weekday, filters.between_times(time(9), time(17))],
    ...     not_filters=[filters.at_time(time(12))],
    ... )
    >>> times = schedule.next(10, after=start)
    >>> [t.format("ddd HH:mm") for t in times]  # doctest: +NORMALIZE_WHITESPACE
    ['Fri 09:00', 'Fri 10:00', 'Fri 11:00', 'Fri 13:00', 'Fri 14:00', 'Fri 15:00',
     'Fri 16:00', 'Fri 17:00', 'Mon 09:00', 'Mon 10:00']
"""

from __future__ import annotations

import calendar
import datetime as _dt
from collections.abc import Callable

from headwater.schedules._time import ScheduleTypeError, instant, to_datetime

__all__ = [
    "at_time",
    "between_dates",
    "between_datetimes",
    "between_times",
    "is_day_of_week",
    "is_month_end",
    "is_month_start",
    "is_weekday",
    "is_weekend",
    "on_date",
    "on_datetime",
]

Filter = Callable[[_dt.datetime], bool]


def _check_month_day(month: int, day: int, what: str) -> None:
    for name, value in (("month", month), ("day", day)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise ScheduleTypeError(f"{what}: {name} must be an int, got {value!r}.")
    try:
        _dt.date(2000, month, day)  # a leap year, so February 29 is allowed
    except ValueError as exc:
        raise ValueError(f"{what}: there is no day {day} of month {month} ({exc}).") from exc


def _check_time(value: _dt.time, what: str) -> None:
    if not isinstance(value, _dt.time):
        raise ScheduleTypeError(
            f"{what}: expected a datetime.time such as time(9, 30), got {value!r}."
        )
    if value.tzinfo is not None:
        raise ValueError(
            f"{what}: {value!r} has a time zone; pass a naive time, which is compared with the "
            "local clock time of each event (set the zone with the clock's start_date)."
        )


def on_datetime(dt: _dt.datetime) -> Filter:
    """Keep only the event at exactly the instant ``dt`` (naive means UTC)."""
    target = instant(to_datetime(dt, "on_datetime"))

    def _filter(event: _dt.datetime) -> bool:
        return instant(event) == target

    return _filter


def between_datetimes(start: _dt.datetime, end: _dt.datetime) -> Filter:
    """Keep events from ``start`` to ``end``, both included (naive means UTC).

    Raises:
        ValueError: ``end`` is before ``start``.
    """
    lo = to_datetime(start, "between_datetimes start")
    hi = to_datetime(end, "between_datetimes end")
    if instant(hi) < instant(lo):
        raise ValueError(
            f"between_datetimes: end {hi.isoformat()} is before start {lo.isoformat()}."
        )
    lo_at, hi_at = instant(lo), instant(hi)

    def _filter(event: _dt.datetime) -> bool:
        return lo_at <= instant(event) <= hi_at

    return _filter


def on_date(month: int, day: int) -> Filter:
    """Keep events on the given month and day of any year (local calendar).

    Raises:
        ValueError: there is no such day (``on_date(2, 30)``).
    """
    _check_month_day(month, day, "on_date")

    def _filter(event: _dt.datetime) -> bool:
        return (event.month, event.day) == (month, day)

    return _filter


def between_dates(start_month: int, start_day: int, end_month: int, end_day: int) -> Filter:
    """Keep events between two days of the year, both included (local calendar).

    If the end comes before the start in the calendar the range wraps over New Year:
    ``between_dates(12, 1, 1, 31)`` keeps December and January.

    Raises:
        ValueError: a month/day pair is not a real day.
    """
    _check_month_day(start_month, start_day, "between_dates start")
    _check_month_day(end_month, end_day, "between_dates end")
    lo, hi = (start_month, start_day), (end_month, end_day)

    def _filter(event: _dt.datetime) -> bool:
        key = (event.month, event.day)
        if lo <= hi:
            return lo <= key <= hi
        return key >= lo or key <= hi

    return _filter


def at_time(t: _dt.time) -> Filter:
    """Keep events whose local clock time is exactly ``t`` (a naive ``datetime.time``)."""
    _check_time(t, "at_time")

    def _filter(event: _dt.datetime) -> bool:
        return event.time() == t

    return _filter


def between_times(start: _dt.time, end: _dt.time) -> Filter:
    """Keep events whose local clock time is from ``start`` to ``end``, both included.

    If ``end`` is earlier than ``start`` the range wraps over midnight:
    ``between_times(time(22), time(6))`` keeps the night.
    """
    _check_time(start, "between_times start")
    _check_time(end, "between_times end")

    def _filter(event: _dt.datetime) -> bool:
        t = event.time()
        if start <= end:
            return start <= t <= end
        return t >= start or t <= end

    return _filter


def is_weekday(dt: _dt.datetime) -> bool:
    """Whether ``dt`` falls Monday to Friday (local calendar)."""
    return dt.weekday() < 5


def is_weekend(dt: _dt.datetime) -> bool:
    """Whether ``dt`` falls on Saturday or Sunday (local calendar)."""
    return dt.weekday() >= 5


def is_month_end(dt: _dt.datetime) -> bool:
    """Whether ``dt`` falls on the last day of its month (local calendar)."""
    return dt.day == calendar.monthrange(dt.year, dt.month)[1]


def is_month_start(dt: _dt.datetime) -> bool:
    """Whether ``dt`` falls on the first day of its month (local calendar)."""
    return dt.day == 1


def is_day_of_week(day_of_week: int) -> Filter:
    """Keep events on one day of the week: ``0`` is Monday, ``6`` is Sunday.

    Raises:
        ValueError: ``day_of_week`` is not in ``0..6``.
    """
    if isinstance(day_of_week, bool) or not isinstance(day_of_week, int):
        raise ScheduleTypeError(
            f"is_day_of_week: day_of_week must be an int from 0 (Monday) to 6 (Sunday), "
            f"got {day_of_week!r}."
        )
    if not 0 <= day_of_week <= 6:
        raise ValueError(
            f"is_day_of_week: day_of_week must be from 0 (Monday) to 6 (Sunday), got {day_of_week}."
        )

    def _filter(event: _dt.datetime) -> bool:
        return event.weekday() == day_of_week

    return _filter
