"""Filters: predicates that keep or drop clock events.

A filter is any callable taking the event's start time (a timezone-aware ``DateTime`` in the
clock's zone) and returning ``True`` to keep it. The functions here either *are* filters
(``is_weekday``) or *build* one (``at_time(time(9))``). A
:class:`~headwater.schedules.Schedule` keeps an event when all of its ``filters`` pass, at least
one of its ``or_filters`` passes (if there are any) and none of its ``not_filters`` does.

Date and time-of-day filters read the local calendar and clock of the event's own zone.

A filter may also carry an ``earliest_date`` attribute: a function taking a local date and
returning the first date on or after it on which the filter could keep an event (``None`` when
it never will again). The date filters here have one, so a schedule skips straight to the next
possible day instead of testing every clock event in between (a minute clock filtered with
``on_date(6, 1)`` would otherwise test half a million events to find next June). A returned date
only has to be a lower bound: the schedule still tests every event it does not skip.

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
EarliestDate = Callable[[_dt.date], "_dt.date | None"]
_ONE_DAY = _dt.timedelta(days=1)


def _with_earliest_date(fn: Filter, earliest: EarliestDate) -> Filter:
    """Attach ``earliest`` to ``fn`` as its ``earliest_date`` (see the module docstring)."""
    fn.earliest_date = earliest  # type: ignore[attr-defined]
    return fn


def _shift_days(day: _dt.date, days: int) -> _dt.date | None:
    try:
        return day + _dt.timedelta(days=days)
    except OverflowError:
        return None


def _instant_dates(at: _dt.datetime) -> tuple[_dt.date, _dt.date]:
    """The local dates an instant can fall on in any zone: its UTC date +- one day."""
    day = instant(at).date()
    return _shift_days(day, -1) or day, _shift_days(day, 1) or day


def _next_month_day(day: _dt.date, month: int, dom: int, exact: bool) -> _dt.date | None:
    """The first date on or after ``day`` that is ``month``/``dom``.

    February 29 is found only in leap years when ``exact``; otherwise a non-leap year's
    March 1 stands in for it (the first day a range starting on February 29 can include).
    """
    for year in range(day.year, min(day.year + 9, _dt.MAXYEAR + 1)):
        try:
            candidate = _dt.date(year, month, dom)
        except ValueError:  # February 29 of a non-leap year
            if exact:
                continue
            candidate = _dt.date(year, 3, 1)
        if candidate >= day:
            return candidate
    return None


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

    def _filter(dt: _dt.datetime) -> bool:
        return instant(dt) == target

    first, last = _instant_dates(target)
    return _with_earliest_date(_filter, lambda day: None if day > last else max(day, first))


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

    def _filter(dt: _dt.datetime) -> bool:
        return lo_at <= instant(dt) <= hi_at

    first, last = _instant_dates(lo_at)[0], _instant_dates(hi_at)[1]
    return _with_earliest_date(_filter, lambda day: None if day > last else max(day, first))


def on_date(month: int, day: int) -> Filter:
    """Keep events on the given month and day of any year (local calendar).

    Raises:
        ValueError: there is no such day (``on_date(2, 30)``).
    """
    _check_month_day(month, day, "on_date")

    def _filter(dt: _dt.datetime) -> bool:
        return (dt.month, dt.day) == (month, day)

    return _with_earliest_date(_filter, lambda d: _next_month_day(d, month, day, exact=True))


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

    def _filter(dt: _dt.datetime) -> bool:
        key = (dt.month, dt.day)
        if lo <= hi:
            return lo <= key <= hi
        return key >= lo or key <= hi

    def earliest(day: _dt.date) -> _dt.date | None:
        key = (day.month, day.day)
        if (lo <= key <= hi) if lo <= hi else (key >= lo or key <= hi):
            return day
        return _next_month_day(day, start_month, start_day, exact=False)

    return _with_earliest_date(_filter, earliest)


def at_time(t: _dt.time) -> Filter:
    """Keep events whose local clock time is exactly ``t`` (a naive ``datetime.time``)."""
    _check_time(t, "at_time")

    def _filter(dt: _dt.datetime) -> bool:
        return dt.time() == t

    return _filter


def between_times(start: _dt.time, end: _dt.time) -> Filter:
    """Keep events whose local clock time is from ``start`` to ``end``, both included.

    If ``end`` is earlier than ``start`` the range wraps over midnight:
    ``between_times(time(22), time(6))`` keeps the night.
    """
    _check_time(start, "between_times start")
    _check_time(end, "between_times end")

    def _filter(dt: _dt.datetime) -> bool:
        t = dt.time()
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

    def _filter(dt: _dt.datetime) -> bool:
        return dt.weekday() == day_of_week

    return _with_earliest_date(
        _filter, lambda day: _shift_days(day, (day_of_week - day.weekday()) % 7)
    )


def _next_month_start(day: _dt.date) -> _dt.date | None:
    if day.day == 1:
        return day
    if day.month == 12:
        return _dt.date(day.year + 1, 1, 1) if day.year < _dt.MAXYEAR else None
    return _dt.date(day.year, day.month + 1, 1)


_with_earliest_date(
    is_weekday, lambda day: day if day.weekday() < 5 else _shift_days(day, 7 - day.weekday())
)
_with_earliest_date(
    is_weekend, lambda day: day if day.weekday() >= 5 else _shift_days(day, 5 - day.weekday())
)
_with_earliest_date(
    is_month_end, lambda day: day.replace(day=calendar.monthrange(day.year, day.month)[1])
)
_with_earliest_date(is_month_start, _next_month_start)
