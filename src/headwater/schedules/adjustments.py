"""Adjustments: functions that move a scheduled time.

An adjustment takes an event's start time (an aware ``DateTime`` in the clock's zone) and returns
the time the run should really start. A :class:`~headwater.schedules.Schedule` applies its
``adjustments`` in order to every event its filters keep.

Example: on the 1st of each month at 09:30, or the Monday after when the 1st is a weekend.

    >>> from datetime import timedelta
    >>> import pendulum
    >>> from headwater.schedules import Schedule, adjustments, clocks
    >>> start = pendulum.datetime(2024, 6, 1, tz="Europe/Berlin")
    >>> schedule = Schedule(
    ...     clocks=[clocks.CronClock("0 9 1 * *", start_date=start)],
    ...     adjustments=[adjustments.next_weekday, adjustments.add(timedelta(minutes=30))],
    ... )
    >>> [t.format("ddd YYYY-MM-DD HH:mm") for t in schedule.next(2, after=start)]
    ['Mon 2024-06-03 09:30', 'Mon 2024-07-01 09:30']
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable

import pendulum

from headwater.schedules._time import ONE_DAY, ScheduleTypeError, shift, to_datetime

__all__ = ["add", "next_weekday"]

Adjustment = Callable[[_dt.datetime], pendulum.DateTime]


def add(interval: _dt.timedelta) -> Adjustment:
    """Build an adjustment that moves each time by ``interval`` (which may be negative).

    As with :class:`~headwater.schedules.clocks.IntervalClock`, a shift of a day or more keeps
    the local wall-clock time across DST changes and a shorter one adds elapsed time.

    Raises:
        ValueError: ``interval`` is not a ``timedelta``.
    """
    if not isinstance(interval, _dt.timedelta):
        raise ScheduleTypeError(
            f"add: interval must be a datetime.timedelta, got {type(interval).__name__} "
            f"{interval!r}."
        )
    delta = _dt.timedelta(seconds=interval.total_seconds())
    if not isinstance(interval, pendulum.Duration):
        delta = interval

    def _adjust(dt: _dt.datetime) -> pendulum.DateTime:
        return shift(to_datetime(dt, "adjusted time"), delta)

    return _adjust


def next_weekday(dt: _dt.datetime) -> pendulum.DateTime:
    """Move a Saturday or Sunday time to the following Monday, keeping the local clock time.

    Weekday times are returned unchanged.
    """
    result = to_datetime(dt, "adjusted time")
    while result.weekday() >= 5:
        result = shift(result, ONE_DAY)
    return result
