"""Prefect 1 schedule behaviours: empty schedules, subclasses, defaults, filter signatures."""

from __future__ import annotations

import pendulum
from dateutil import rrule

from headwater import Flow, Task
from headwater.schedules import Schedule, clocks, filters


def test_a_schedule_subclass_that_overrides_next_drives_flow_run():
    class Twice(Schedule):
        def __init__(self):
            self.calls = 0
            super().__init__(clocks=[])

        def next(self, n, **kwargs):
            if self.calls < 2:
                self.calls += 1
                return [clocks.ClockEvent(pendulum.now("UTC").add(seconds=0.05))]
            return []

    runs = []

    class Count(Task):
        def run(self):
            runs.append(1)

    Flow("twice", tasks=[Count()], schedule=Twice()).run()
    assert runs == [1, 1]


def test_labels_and_rrule_start_default_to_none():
    assert clocks.ClockEvent(pendulum.now("UTC")).labels is None
    assert clocks.IntervalClock(pendulum.duration(hours=1)).labels is None
    clock = clocks.RRuleClock(rrule.rrule(freq=rrule.DAILY))
    assert clock.start_date is None
    assert len(list(Schedule([clock]).next(2))) == 2


def test_filters_take_the_datetime_as_dt():
    assert filters.is_day_of_week(0)(dt=pendulum.datetime(2024, 1, 1))  # a Monday
