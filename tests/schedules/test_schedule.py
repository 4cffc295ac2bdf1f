from __future__ import annotations

import datetime as dt
from datetime import timedelta

import pendulum
import pytest
from dateutil.rrule import DAILY, rrule

import headwater.schedules as schedules
from headwater.schedules import (
    CronSchedule,
    IntervalSchedule,
    RRuleSchedule,
    Schedule,
    adjustments,
    clocks,
    filters,
)
from headwater.schedules.clocks import ClockEvent

EPOCH = pendulum.datetime(2000, 1, 1)
JAN1 = pendulum.datetime(2024, 1, 1)  # a Monday


def iso(times):
    return [t.isoformat() for t in times]


def hourly(**kwargs):
    return clocks.IntervalClock(timedelta(hours=1), start_date=JAN1, **kwargs)


def daily(hour=0, **kwargs):
    return clocks.IntervalClock(timedelta(days=1), start_date=JAN1.add(hours=hour), **kwargs)


def test_public_names():
    assert sorted(schedules.__all__) == [
        "CronSchedule",
        "IntervalSchedule",
        "RRuleSchedule",
        "Schedule",
        "adjustments",
        "clocks",
        "filters",
    ]
    import headwater.schedules.schedules as mod

    assert mod.Schedule is Schedule


class TestNext:
    def test_one_clock(self):
        assert iso(Schedule([daily(9)]).next(2, after=EPOCH)) == [
            "2024-01-01T09:00:00+00:00",
            "2024-01-02T09:00:00+00:00",
        ]

    def test_zero(self):
        assert Schedule([daily()]).next(0) == []

    def test_after_defaults_to_now(self):
        before = pendulum.now("UTC")
        (t,) = Schedule([hourly()]).next(1)
        assert before < t <= before.add(hours=1)

    def test_fewer_when_the_schedule_ends(self):
        schedule = Schedule([hourly(end_date=JAN1.add(hours=1))])
        assert iso(schedule.next(5, after=EPOCH)) == [
            "2024-01-01T00:00:00+00:00",
            "2024-01-01T01:00:00+00:00",
        ]

    def test_return_events(self):
        schedule = Schedule([daily(parameter_defaults={"x": 1}, labels=["a"])])
        (event,) = schedule.next(1, after=EPOCH, return_events=True)
        assert isinstance(event, ClockEvent)
        assert event == ClockEvent(JAN1, {"x": 1}, ["a"])


class TestMergingClocks:
    def test_interleaved_in_time_order(self):
        schedule = Schedule([daily(9), daily(6), clocks.DatesClock([JAN1.add(hours=7)])])
        assert iso(schedule.next(4, after=EPOCH)) == [
            "2024-01-01T06:00:00+00:00",
            "2024-01-01T07:00:00+00:00",
            "2024-01-01T09:00:00+00:00",
            "2024-01-02T06:00:00+00:00",
        ]

    def test_identical_events_are_merged(self):
        schedule = Schedule([daily(), hourly(), daily()])
        assert iso(schedule.next(3, after=EPOCH)) == [
            "2024-01-01T00:00:00+00:00",
            "2024-01-01T01:00:00+00:00",
            "2024-01-01T02:00:00+00:00",
        ]

    def test_same_time_with_different_parameters_both_run(self):
        schedule = Schedule(
            [
                daily(parameter_defaults={"full": False}),
                daily(parameter_defaults={"full": True}),
                daily(parameter_defaults={"full": False}),
            ]
        )
        events = schedule.next(3, after=EPOCH, return_events=True)
        assert [(e.start_time, e.parameter_defaults) for e in events] == [
            (JAN1, {"full": False}),
            (JAN1, {"full": True}),
            (JAN1.add(days=1), {"full": False}),
        ]

    def test_same_time_in_different_zones_is_one_event(self):
        tokyo = clocks.DatesClock([JAN1.in_tz("Asia/Tokyo")])
        assert len(Schedule([tokyo, clocks.DatesClock([JAN1])]).next(5, after=EPOCH)) == 1

    def test_start_and_end_dates(self):
        a = clocks.DatesClock([JAN1, JAN1.add(days=3)])
        b = clocks.DatesClock([JAN1.add(days=1), JAN1.add(days=5)])
        assert Schedule([a, b]).start_date == JAN1
        assert Schedule([a, b]).end_date == JAN1.add(days=5)
        assert Schedule([a, clocks.IntervalClock(timedelta(hours=1))]).start_date is None
        assert Schedule([a, clocks.CronClock("* * * * *", start_date=JAN1)]).end_date is None


class TestFilters:
    def test_all_filters_must_pass(self):
        schedule = Schedule([hourly()], filters=[filters.is_weekend, filters.at_time(dt.time(3))])
        assert iso(schedule.next(2, after=EPOCH)) == [
            "2024-01-06T03:00:00+00:00",
            "2024-01-07T03:00:00+00:00",
        ]

    def test_one_or_filter_must_pass(self):
        schedule = Schedule(
            [daily()], or_filters=[filters.is_month_start, filters.is_day_of_week(2)]
        )
        assert iso(schedule.next(3, after=EPOCH)) == [
            "2024-01-01T00:00:00+00:00",
            "2024-01-03T00:00:00+00:00",
            "2024-01-10T00:00:00+00:00",
        ]

    def test_no_not_filter_may_pass(self):
        schedule = Schedule(
            [daily()], not_filters=[filters.is_weekend, filters.between_dates(1, 2, 1, 4)]
        )
        assert iso(schedule.next(3, after=EPOCH)) == [
            "2024-01-01T00:00:00+00:00",
            "2024-01-05T00:00:00+00:00",
            "2024-01-08T00:00:00+00:00",
        ]

    def test_all_kinds_together(self):
        schedule = Schedule(
            [hourly()],
            filters=[filters.between_times(dt.time(9), dt.time(11))],
            or_filters=[filters.is_day_of_week(0), filters.is_day_of_week(4)],
            not_filters=[filters.at_time(dt.time(10))],
        )
        assert iso(schedule.next(5, after=EPOCH)) == [
            "2024-01-01T09:00:00+00:00",
            "2024-01-01T11:00:00+00:00",
            "2024-01-05T09:00:00+00:00",
            "2024-01-05T11:00:00+00:00",
            "2024-01-08T09:00:00+00:00",
        ]

    def test_filters_see_the_local_time_of_the_clock(self):
        clock = clocks.IntervalClock(
            timedelta(hours=1), start_date=pendulum.datetime(2024, 1, 1, tz="Asia/Tokyo")
        )
        schedule = Schedule([clock], filters=[filters.at_time(dt.time(9))])
        assert iso(schedule.next(1, after=EPOCH)) == ["2024-01-01T09:00:00+09:00"]

    def test_a_filter_that_never_passes_ends_the_search_with_a_warning(self, monkeypatch):
        import headwater.schedules.schedules as mod

        monkeypatch.setattr(mod, "MAX_REJECTED", 50)
        schedule = Schedule([hourly()], filters=[lambda t: False])
        with pytest.warns(RuntimeWarning, match="rejected 50 clock events in a row"):
            assert schedule.next(1, after=EPOCH) == []

    def test_sparse_matches_are_found(self):
        schedule = Schedule(
            [clocks.IntervalClock(timedelta(minutes=1), start_date=JAN1)],
            filters=[filters.on_date(1, 20), filters.at_time(dt.time(6, 30))],
        )
        assert iso(schedule.next(1, after=EPOCH)) == ["2024-01-20T06:30:00+00:00"]


class TestAdjustments:
    def test_applied_in_order(self):
        schedule = Schedule(
            [clocks.DatesClock([pendulum.datetime(2024, 1, 5, 23)])],  # Friday 23:00
            adjustments=[adjustments.add(timedelta(hours=2)), adjustments.next_weekday],
        )
        assert iso(schedule.next(1, after=EPOCH)) == ["2024-01-08T01:00:00+00:00"]

    def test_weekend_events_moved_to_monday_run_once(self):
        schedule = Schedule([daily(9)], adjustments=[adjustments.next_weekday])
        times = schedule.next(7, after=pendulum.datetime(2024, 1, 4))
        assert iso(times) == [
            "2024-01-04T09:00:00+00:00",
            "2024-01-05T09:00:00+00:00",
            "2024-01-08T09:00:00+00:00",
            "2024-01-09T09:00:00+00:00",
            "2024-01-10T09:00:00+00:00",
            "2024-01-11T09:00:00+00:00",
            "2024-01-12T09:00:00+00:00",
        ]

    def test_events_moved_before_after_are_dropped(self):
        schedule = Schedule([hourly()], adjustments=[adjustments.add(timedelta(minutes=-90))])
        after = pendulum.datetime(2024, 1, 1, 5)
        assert iso(schedule.next(2, after=after)) == [
            "2024-01-01T05:30:00+00:00",
            "2024-01-01T06:30:00+00:00",
        ]

    def test_adjustment_after_filter(self):
        # the filter sees the clock time, the run gets the adjusted time
        schedule = Schedule(
            [daily(9)],
            filters=[filters.at_time(dt.time(9))],
            adjustments=[adjustments.add(timedelta(minutes=5))],
        )
        assert iso(schedule.next(1, after=EPOCH)) == ["2024-01-01T09:05:00+00:00"]

    def test_adjustment_may_return_a_stdlib_datetime(self):
        schedule = Schedule(
            [daily()], adjustments=[lambda t: dt.datetime(t.year, t.month, t.day, 12)]
        )
        (t,) = schedule.next(1, after=EPOCH)
        assert isinstance(t, pendulum.DateTime) and t.isoformat() == "2024-01-01T12:00:00+00:00"


class TestEmitEvents:
    def test_is_lazy_and_unbounded(self):
        stream = Schedule([hourly(parameter_defaults={"p": 1})]).emit_events(after=EPOCH)
        first = [next(stream) for _ in range(1000)]
        assert first[-1].start_time == JAN1.add(hours=999)
        assert first[0].parameter_defaults == {"p": 1}


class TestHelpers:
    def test_interval_schedule(self):
        schedule = IntervalSchedule(
            start_date=JAN1, interval=timedelta(minutes=30), end_date=JAN1.add(hours=1)
        )
        assert isinstance(schedule, Schedule)
        assert iso(schedule.next(5, after=EPOCH)) == [
            "2024-01-01T00:00:00+00:00",
            "2024-01-01T00:30:00+00:00",
            "2024-01-01T01:00:00+00:00",
        ]

    def test_cron_schedule(self):
        schedule = CronSchedule("0 0 1 * 1", start_date=JAN1, end_date=JAN1.add(days=8))
        assert iso(schedule.next(5, after=EPOCH)) == [
            "2024-01-01T00:00:00+00:00",
            "2024-01-08T00:00:00+00:00",
        ]
        strict = CronSchedule("0 0 1 * 1", start_date=JAN1, day_or=False)
        assert iso(strict.next(2, after=EPOCH)) == [
            "2024-01-01T00:00:00+00:00",
            "2024-04-01T00:00:00+00:00",
        ]

    def test_rrule_schedule(self):
        rule = rrule(DAILY, dtstart=dt.datetime(2024, 1, 1, 8), count=10)
        schedule = RRuleSchedule(rule, end_date=pendulum.datetime(2024, 1, 2, 8))
        assert iso(schedule.next(5, after=EPOCH)) == [
            "2024-01-01T08:00:00+00:00",
            "2024-01-02T08:00:00+00:00",
        ]

    def test_repr(self):
        schedule = Schedule([daily()], filters=[filters.is_weekday])
        assert repr(schedule).startswith("Schedule(clocks=[IntervalClock(")
        assert "filters=[is_weekday]" in repr(schedule)
