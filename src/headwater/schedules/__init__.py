"""Schedules: when a flow runs.

A :class:`Schedule` is built from *clocks* (which emit times), *filters* (which drop some of them)
and *adjustments* (which move the rest). All times are timezone-aware pendulum ``DateTime``\\ s,
computed in the zone of each clock's ``start_date`` so that daily and cron schedules keep their
local wall-clock time across daylight-saving changes.

Example:

    >>> from datetime import timedelta
    >>> import pendulum
    >>> from headwater.schedules import IntervalSchedule
    >>> schedule = IntervalSchedule(
    ...     start_date=pendulum.datetime(2024, 1, 1, 6, tz="Europe/Berlin"),
    ...     interval=timedelta(days=1),
    ... )
    >>> schedule.next(2, after=pendulum.datetime(2024, 1, 1, tz="UTC"))
    [DateTime(2024, 1, 1, 6, 0, 0, tzinfo=Timezone('Europe/Berlin')),
     DateTime(2024, 1, 2, 6, 0, 0, tzinfo=Timezone('Europe/Berlin'))]

Given to a flow (``Flow("nightly", schedule=schedule)``), the schedule makes ``flow.run()`` sleep
until each of these times and run the flow then.

See ``docs/schedules.md`` for the full guide, including how DST changes are handled.
"""

from __future__ import annotations

from headwater.schedules import adjustments, clocks, filters
from headwater.schedules.schedules import CronSchedule, IntervalSchedule, RRuleSchedule, Schedule

__all__ = [
    "CronSchedule",
    "IntervalSchedule",
    "RRuleSchedule",
    "Schedule",
    "adjustments",
    "clocks",
    "filters",
]
