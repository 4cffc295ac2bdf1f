"""Daylight-saving transitions, with every expected time written out.

2024 transitions used below:

* America/New_York springs forward on 2024-03-10 at 02:00 EST (-05:00) -> 03:00 EDT (-04:00)
  and falls back on 2024-11-03 at 02:00 EDT -> 01:00 EST.
* Europe/Berlin springs forward on 2024-03-31 at 02:00 CET (+01:00) -> 03:00 CEST (+02:00)
  and falls back on 2024-10-27 at 03:00 CEST -> 02:00 CET.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum
import pytest

from headwater.schedules import CronSchedule, IntervalSchedule, Schedule, clocks

EPOCH = pendulum.datetime(2000, 1, 1, tz="UTC")


def iso(times):
    return [t.isoformat() for t in times]


def interval_times(interval, start, n):
    return iso(IntervalSchedule(start_date=start, interval=interval).next(n, after=EPOCH))


def cron_times(cron, start, n, after=EPOCH):
    return iso(CronSchedule(cron, start_date=start).next(n, after=after))


NY = "America/New_York"
BERLIN = "Europe/Berlin"


class TestHourlyIntervalKeepsElapsedTime:
    def test_new_york_spring_forward(self):
        start = pendulum.datetime(2024, 3, 10, 0, tz=NY)
        assert interval_times(timedelta(hours=1), start, 4) == [
            "2024-03-10T00:00:00-05:00",
            "2024-03-10T01:00:00-05:00",
            "2024-03-10T03:00:00-04:00",
            "2024-03-10T04:00:00-04:00",
        ]

    def test_new_york_fall_back_runs_the_repeated_hour_twice(self):
        start = pendulum.datetime(2024, 11, 3, 0, tz=NY)
        assert interval_times(timedelta(hours=1), start, 5) == [
            "2024-11-03T00:00:00-04:00",
            "2024-11-03T01:00:00-04:00",
            "2024-11-03T01:00:00-05:00",
            "2024-11-03T02:00:00-05:00",
            "2024-11-03T03:00:00-05:00",
        ]

    def test_berlin_spring_forward(self):
        start = pendulum.datetime(2024, 3, 31, 0, tz=BERLIN)
        assert interval_times(timedelta(hours=1), start, 4) == [
            "2024-03-31T00:00:00+01:00",
            "2024-03-31T01:00:00+01:00",
            "2024-03-31T03:00:00+02:00",
            "2024-03-31T04:00:00+02:00",
        ]

    def test_berlin_fall_back(self):
        start = pendulum.datetime(2024, 10, 27, 1, tz=BERLIN)
        assert interval_times(timedelta(hours=1), start, 4) == [
            "2024-10-27T01:00:00+02:00",
            "2024-10-27T02:00:00+02:00",
            "2024-10-27T02:00:00+01:00",
            "2024-10-27T03:00:00+01:00",
        ]

    def test_ninety_minutes_across_new_york_spring_forward(self):
        start = pendulum.datetime(2024, 3, 10, 0, 30, tz=NY)
        assert interval_times(timedelta(minutes=90), start, 3) == [
            "2024-03-10T00:30:00-05:00",
            "2024-03-10T03:00:00-04:00",
            "2024-03-10T04:30:00-04:00",
        ]

    def test_after_inside_the_repeated_hour(self):
        schedule = IntervalSchedule(
            start_date=pendulum.datetime(2024, 11, 3, 0, tz=NY), interval=timedelta(minutes=30)
        )
        after = pendulum.parse("2024-11-03T01:10:00-05:00")  # second pass through 01:xx
        assert iso(schedule.next(3, after=after)) == [
            "2024-11-03T01:30:00-05:00",
            "2024-11-03T02:00:00-05:00",
            "2024-11-03T02:30:00-05:00",
        ]


class TestDailyIntervalKeepsWallClock:
    def test_new_york_spring_forward(self):
        start = pendulum.datetime(2024, 3, 9, 9, tz=NY)
        assert interval_times(timedelta(days=1), start, 3) == [
            "2024-03-09T09:00:00-05:00",
            "2024-03-10T09:00:00-04:00",
            "2024-03-11T09:00:00-04:00",
        ]

    def test_new_york_fall_back(self):
        start = pendulum.datetime(2024, 11, 2, 9, tz=NY)
        assert interval_times(timedelta(days=1), start, 3) == [
            "2024-11-02T09:00:00-04:00",
            "2024-11-03T09:00:00-05:00",
            "2024-11-04T09:00:00-05:00",
        ]

    def test_berlin_spring_forward(self):
        start = pendulum.datetime(2024, 3, 30, 9, tz=BERLIN)
        assert interval_times(timedelta(days=1), start, 3) == [
            "2024-03-30T09:00:00+01:00",
            "2024-03-31T09:00:00+02:00",
            "2024-04-01T09:00:00+02:00",
        ]

    def test_berlin_fall_back(self):
        start = pendulum.datetime(2024, 10, 26, 9, tz=BERLIN)
        assert interval_times(timedelta(days=1), start, 3) == [
            "2024-10-26T09:00:00+02:00",
            "2024-10-27T09:00:00+01:00",
            "2024-10-28T09:00:00+01:00",
        ]

    def test_new_york_skipped_time_runs_at_the_jump_then_returns(self):
        start = pendulum.datetime(2024, 3, 9, 2, 30, tz=NY)
        assert interval_times(timedelta(days=1), start, 3) == [
            "2024-03-09T02:30:00-05:00",
            "2024-03-10T03:00:00-04:00",
            "2024-03-11T02:30:00-04:00",
        ]

    def test_new_york_repeated_time_runs_once(self):
        start = pendulum.datetime(2024, 11, 2, 1, 30, tz=NY)
        assert interval_times(timedelta(days=1), start, 3) == [
            "2024-11-02T01:30:00-04:00",
            "2024-11-03T01:30:00-04:00",
            "2024-11-04T01:30:00-05:00",
        ]

    def test_berlin_skipped_time(self):
        start = pendulum.datetime(2024, 3, 30, 2, 30, tz=BERLIN)
        assert interval_times(timedelta(days=1), start, 3) == [
            "2024-03-30T02:30:00+01:00",
            "2024-03-31T03:00:00+02:00",
            "2024-04-01T02:30:00+02:00",
        ]

    def test_berlin_repeated_time_runs_once(self):
        start = pendulum.datetime(2024, 10, 26, 2, 30, tz=BERLIN)
        assert interval_times(timedelta(days=1), start, 3) == [
            "2024-10-26T02:30:00+02:00",
            "2024-10-27T02:30:00+02:00",
            "2024-10-28T02:30:00+01:00",
        ]

    def test_after_just_before_the_dst_day(self):
        schedule = IntervalSchedule(
            start_date=pendulum.datetime(2024, 1, 1, 9, tz=NY), interval=timedelta(days=1)
        )
        after = pendulum.parse("2024-03-10T08:59:59-04:00")
        assert iso(schedule.next(2, after=after)) == [
            "2024-03-10T09:00:00-04:00",
            "2024-03-11T09:00:00-04:00",
        ]

    def test_day_and_a_half_keeps_wall_clock(self):
        start = pendulum.datetime(2024, 3, 9, 0, tz=NY)
        assert interval_times(timedelta(hours=36), start, 3) == [
            "2024-03-09T00:00:00-05:00",
            "2024-03-10T12:00:00-04:00",
            "2024-03-12T00:00:00-04:00",
        ]


class TestWeeklyIntervalKeepsWallClock:
    def test_new_york_spring_forward(self):
        start = pendulum.datetime(2024, 3, 3, 9, tz=NY)
        assert interval_times(timedelta(weeks=1), start, 3) == [
            "2024-03-03T09:00:00-05:00",
            "2024-03-10T09:00:00-04:00",
            "2024-03-17T09:00:00-04:00",
        ]

    def test_new_york_fall_back(self):
        start = pendulum.datetime(2024, 10, 27, 9, tz=NY)
        assert interval_times(timedelta(weeks=1), start, 3) == [
            "2024-10-27T09:00:00-04:00",
            "2024-11-03T09:00:00-05:00",
            "2024-11-10T09:00:00-05:00",
        ]

    def test_berlin_spring_forward(self):
        start = pendulum.datetime(2024, 3, 24, 9, tz=BERLIN)
        assert interval_times(timedelta(weeks=1), start, 3) == [
            "2024-03-24T09:00:00+01:00",
            "2024-03-31T09:00:00+02:00",
            "2024-04-07T09:00:00+02:00",
        ]

    def test_berlin_fall_back(self):
        start = pendulum.datetime(2024, 10, 20, 9, tz=BERLIN)
        assert interval_times(timedelta(weeks=1), start, 3) == [
            "2024-10-20T09:00:00+02:00",
            "2024-10-27T09:00:00+01:00",
            "2024-11-03T09:00:00+01:00",
        ]


class TestCronKeepsWallClock:
    def test_new_york_skipped_hour_runs_once_at_the_jump(self):
        start = pendulum.datetime(2024, 3, 9, tz=NY)
        assert cron_times("30 2 * * *", start, 3) == [
            "2024-03-09T02:30:00-05:00",
            "2024-03-10T03:00:00-04:00",
            "2024-03-11T02:30:00-04:00",
        ]

    def test_berlin_skipped_hour_runs_once_at_the_jump(self):
        start = pendulum.datetime(2024, 3, 30, tz=BERLIN)
        assert cron_times("30 2 * * *", start, 3) == [
            "2024-03-30T02:30:00+01:00",
            "2024-03-31T03:00:00+02:00",
            "2024-04-01T02:30:00+02:00",
        ]

    def test_new_york_repeated_hour_runs_once(self):
        start = pendulum.datetime(2024, 11, 2, tz=NY)
        assert cron_times("30 1 * * *", start, 3) == [
            "2024-11-02T01:30:00-04:00",
            "2024-11-03T01:30:00-04:00",
            "2024-11-04T01:30:00-05:00",
        ]

    def test_berlin_repeated_hour_runs_once(self):
        start = pendulum.datetime(2024, 10, 26, tz=BERLIN)
        assert cron_times("30 2 * * *", start, 3) == [
            "2024-10-26T02:30:00+02:00",
            "2024-10-27T02:30:00+02:00",
            "2024-10-28T02:30:00+01:00",
        ]

    def test_daily_cron_outside_the_transition_keeps_local_time(self):
        start = pendulum.datetime(2024, 3, 30, tz=BERLIN)
        assert cron_times("0 9 * * *", start, 3) == [
            "2024-03-30T09:00:00+01:00",
            "2024-03-31T09:00:00+02:00",
            "2024-04-01T09:00:00+02:00",
        ]

    def test_hourly_cron_new_york_spring_forward(self):
        start = pendulum.datetime(2024, 3, 10, tz=NY)
        assert cron_times("0 * * * *", start, 4) == [
            "2024-03-10T00:00:00-05:00",
            "2024-03-10T01:00:00-05:00",
            "2024-03-10T03:00:00-04:00",
            "2024-03-10T04:00:00-04:00",
        ]

    def test_hourly_cron_new_york_fall_back_runs_each_clock_hour_once(self):
        start = pendulum.datetime(2024, 11, 3, tz=NY)
        assert cron_times("0 * * * *", start, 4) == [
            "2024-11-03T00:00:00-04:00",
            "2024-11-03T01:00:00-04:00",
            "2024-11-03T02:00:00-05:00",
            "2024-11-03T03:00:00-05:00",
        ]

    def test_several_skipped_times_collapse_into_one_run(self):
        start = pendulum.datetime(2024, 3, 10, tz=NY)
        assert cron_times("0,30 2,3 * * *", start, 3) == [
            "2024-03-10T03:00:00-04:00",
            "2024-03-10T03:30:00-04:00",
            "2024-03-11T02:00:00-04:00",
        ]

    def test_after_in_the_second_pass_of_the_repeated_hour(self):
        start = pendulum.datetime(2024, 11, 1, tz=NY)
        after = pendulum.parse("2024-11-03T01:15:00-05:00")
        # 01:30 already ran at its first occurrence (01:30-04:00), before `after`
        assert cron_times("30 1 * * *", start, 2, after=after) == [
            "2024-11-04T01:30:00-05:00",
            "2024-11-05T01:30:00-05:00",
        ]

    def test_after_in_the_first_pass_of_the_repeated_hour(self):
        start = pendulum.datetime(2024, 11, 1, tz=NY)
        after = pendulum.parse("2024-11-03T01:15:00-04:00")
        assert cron_times("30 1 * * *", start, 2, after=after) == [
            "2024-11-03T01:30:00-04:00",
            "2024-11-04T01:30:00-05:00",
        ]

    def test_after_just_past_the_jump(self):
        start = pendulum.datetime(2024, 3, 1, tz=NY)
        after = pendulum.parse("2024-03-10T03:00:00-04:00")
        assert cron_times("30 2 * * *", start, 1, after=after) == ["2024-03-11T02:30:00-04:00"]

    def test_utc_cron_ignores_local_dst(self):
        assert cron_times("30 2 * * *", pendulum.datetime(2024, 3, 9, tz="UTC"), 3) == [
            "2024-03-09T02:30:00+00:00",
            "2024-03-10T02:30:00+00:00",
            "2024-03-11T02:30:00+00:00",
        ]


class TestRRuleKeepsWallClock:
    def test_berlin_daily_rule_across_both_transitions(self):
        from dateutil.rrule import DAILY, rrule

        rule = rrule(DAILY, byhour=2, byminute=30, bysecond=0)
        spring = clocks.RRuleClock(rule, start_date=pendulum.datetime(2024, 3, 30, tz=BERLIN))
        fall = clocks.RRuleClock(rule, start_date=pendulum.datetime(2024, 10, 26, tz=BERLIN))
        assert iso(Schedule([spring]).next(3, after=EPOCH)) == [
            "2024-03-30T02:30:00+01:00",
            "2024-03-31T03:00:00+02:00",
            "2024-04-01T02:30:00+02:00",
        ]
        assert iso(Schedule([fall]).next(3, after=EPOCH)) == [
            "2024-10-26T02:30:00+02:00",
            "2024-10-27T02:30:00+02:00",
            "2024-10-28T02:30:00+01:00",
        ]


@pytest.mark.parametrize(
    ("tz", "day"),
    [(NY, pendulum.datetime(2024, 3, 10)), (BERLIN, pendulum.datetime(2024, 3, 31))],
)
def test_no_event_is_reported_at_a_nonexistent_local_time(tz, day):
    start = pendulum.datetime(day.year, day.month, day.day, tz=tz)
    schedule = CronSchedule("*/15 * * * *", start_date=start)
    times = schedule.next(24, after=EPOCH)
    assert all(t.hour != 2 for t in times)
    assert iso(times[7:10]) == (
        ["2024-03-10T01:45:00-05:00", "2024-03-10T03:00:00-04:00", "2024-03-10T03:15:00-04:00"]
        if tz == NY
        else ["2024-03-31T01:45:00+01:00", "2024-03-31T03:00:00+02:00", "2024-03-31T03:15:00+02:00"]
    )
