from __future__ import annotations

import datetime as dt
import pickle
import zoneinfo
from datetime import timedelta

import pendulum
import pytest
from dateutil import tz as dateutil_tz
from dateutil.rrule import DAILY, HOURLY, MO, WEEKLY, rrule

from headwater.schedules import clocks
from headwater.schedules.clocks import ClockEvent

EPOCH = pendulum.datetime(2000, 1, 1, tz="UTC")


def take(clock, n, after=EPOCH):
    out = []
    for event in clock.events(after=after):
        out.append(event)
        if len(out) == n:
            break
    return out


def iso(events):
    return [e.start_time.isoformat() for e in events]


class TestClockEvent:
    def test_defaults(self):
        event = ClockEvent(pendulum.datetime(2024, 1, 1))
        assert event.parameter_defaults == {}
        assert event.labels is None  # as in Prefect 1: no labels given

    def test_copies_its_inputs(self):
        params, labels = {"x": 1}, ["a"]
        event = ClockEvent(pendulum.datetime(2024, 1, 1), params, labels)
        params["x"] = 2
        labels.append("b")
        assert event.parameter_defaults == {"x": 1}
        assert event.labels == ["a"]

    def test_equality(self):
        t = pendulum.datetime(2024, 1, 1)
        assert ClockEvent(t, {"x": 1}, ["a"]) == ClockEvent(t, {"x": 1}, ["a"])
        assert ClockEvent(t, {"x": 1}) != ClockEvent(t, {"x": 2})
        assert ClockEvent(t, labels=["a"]) != ClockEvent(t, labels=["b"])
        assert ClockEvent(t) != ClockEvent(t.add(seconds=1))
        assert ClockEvent(t) == t
        assert ClockEvent(t) != "2024-01-01"

    def test_same_instant_in_other_zone_is_equal(self):
        t = pendulum.datetime(2024, 1, 1, 12)
        assert ClockEvent(t) == ClockEvent(t.in_tz("Asia/Tokyo"))
        assert hash(ClockEvent(t)) == hash(ClockEvent(t.in_tz("Asia/Tokyo")))

    def test_two_occurrences_of_a_repeated_local_time_differ(self):
        first = pendulum.parse("2024-11-03T01:30:00-04:00").in_tz("America/New_York")
        second = pendulum.parse("2024-11-03T01:30:00-05:00").in_tz("America/New_York")
        assert ClockEvent(first) != ClockEvent(second)
        assert ClockEvent(first) < ClockEvent(second)
        assert ClockEvent(second) > first

    def test_ordering_with_events_and_datetimes(self):
        a = ClockEvent(pendulum.datetime(2024, 1, 1))
        b = ClockEvent(pendulum.datetime(2024, 1, 2))
        assert a < b and a <= b and b > a and b >= a
        assert sorted([b, a]) == [a, b]
        assert a < pendulum.datetime(2024, 1, 1, 1)
        assert pendulum.datetime(2024, 1, 1, 1) > a
        assert a <= pendulum.datetime(2024, 1, 1)
        with pytest.raises(TypeError):
            _ = a < 5

    def test_hashable_and_usable_in_sets(self):
        t = pendulum.datetime(2024, 1, 1)
        assert len({ClockEvent(t), ClockEvent(t), ClockEvent(t.add(hours=1))}) == 2

    def test_repr_and_to_dict(self):
        t = pendulum.datetime(2024, 1, 1)
        event = ClockEvent(t, {"x": 1}, ["a"])
        assert "parameter_defaults={'x': 1}" in repr(event)
        assert event.to_dict() == {"start_time": t, "parameter_defaults": {"x": 1}, "labels": ["a"]}


class TestIntervalClock:
    def test_default_start_date_is_2019_utc(self):
        clock = clocks.IntervalClock(timedelta(hours=6))
        assert iso(take(clock, 2, after=pendulum.datetime(2018, 1, 1))) == [
            "2019-01-01T00:00:00+00:00",
            "2019-01-01T06:00:00+00:00",
        ]

    def test_after_defaults_to_now(self):
        clock = clocks.IntervalClock(timedelta(minutes=1))
        before = pendulum.now("UTC")
        first = next(clock.events()).start_time
        assert before < first <= pendulum.now("UTC").add(minutes=1)
        assert first.second == 0 and first.microsecond == 0

    def test_events_are_on_the_grid_and_after_after(self):
        start = pendulum.datetime(2024, 1, 1, tz="UTC")
        clock = clocks.IntervalClock(timedelta(minutes=7), start_date=start)
        after = pendulum.datetime(2024, 1, 1, 1, 0)
        assert iso(take(clock, 3, after=after)) == [
            "2024-01-01T01:03:00+00:00",
            "2024-01-01T01:10:00+00:00",
            "2024-01-01T01:17:00+00:00",
        ]

    def test_event_exactly_at_after_is_excluded(self):
        start = pendulum.datetime(2024, 1, 1)
        clock = clocks.IntervalClock(timedelta(hours=1), start_date=start)
        assert iso(take(clock, 1, after=start)) == ["2024-01-01T01:00:00+00:00"]

    def test_start_date_is_included(self):
        start = pendulum.datetime(2024, 1, 1)
        clock = clocks.IntervalClock(timedelta(hours=1), start_date=start)
        assert take(clock, 1, after=start.subtract(microseconds=1))[0].start_time == start

    def test_end_date_is_inclusive_and_ends_the_stream(self):
        start = pendulum.datetime(2024, 1, 1)
        clock = clocks.IntervalClock(
            timedelta(hours=1), start_date=start, end_date=start.add(hours=2)
        )
        assert iso(clock.events(after=EPOCH)) == [
            "2024-01-01T00:00:00+00:00",
            "2024-01-01T01:00:00+00:00",
            "2024-01-01T02:00:00+00:00",
        ]

    def test_events_are_in_the_start_date_zone(self):
        start = pendulum.datetime(2024, 6, 1, 9, tz="Asia/Kolkata")
        (event,) = take(clock := clocks.IntervalClock(timedelta(days=1), start_date=start), 1)
        assert event.start_time.timezone_name == "Asia/Kolkata"
        assert clock.start_date == start

    def test_sub_second_interval(self):
        start = pendulum.datetime(2024, 1, 1)
        clock = clocks.IntervalClock(timedelta(milliseconds=200), start_date=start)
        assert [e.start_time.microsecond for e in take(clock, 4, after=start)] == [
            200_000,
            400_000,
            600_000,
            800_000,
        ]

    def test_far_after_is_cheap_and_exact(self):
        start = pendulum.datetime(2019, 1, 1)
        clock = clocks.IntervalClock(timedelta(seconds=1), start_date=start)
        after = pendulum.datetime(2030, 5, 5, 5, 5, 5, 500_000)
        assert iso(take(clock, 1, after=after)) == ["2030-05-05T05:05:06+00:00"]

    def test_parameter_defaults_and_labels_on_every_event(self):
        clock = clocks.IntervalClock(
            timedelta(hours=1), parameter_defaults={"x": 1}, labels=["prod"]
        )
        events = take(clock, 2)
        assert all(e.parameter_defaults == {"x": 1} and e.labels == ["prod"] for e in events)
        events[0].parameter_defaults["x"] = 99
        assert events[1].parameter_defaults == {"x": 1}
        assert clock.parameter_defaults == {"x": 1}

    def test_pendulum_duration_interval(self):
        start = pendulum.datetime(2024, 1, 1)
        clock = clocks.IntervalClock(pendulum.duration(hours=2), start_date=start)
        assert iso(take(clock, 2, after=start)) == [
            "2024-01-01T02:00:00+00:00",
            "2024-01-01T04:00:00+00:00",
        ]
        assert type(clock.interval) is timedelta

    def test_pickles(self):
        clock = clocks.IntervalClock(
            timedelta(days=1), start_date=pendulum.datetime(2024, 1, 1, tz="Europe/Berlin")
        )
        copy = pickle.loads(pickle.dumps(clock))
        assert iso(take(copy, 3)) == iso(take(clock, 3))

    def test_repr(self):
        clock = clocks.IntervalClock(timedelta(hours=1), start_date=pendulum.datetime(2024, 1, 1))
        assert repr(clock) == (
            "IntervalClock(interval=datetime.timedelta(seconds=3600), "
            "start_date='2024-01-01T00:00:00+00:00')"
        )


class TestDateInputs:
    def test_naive_start_date_is_utc(self):
        clock = clocks.IntervalClock(timedelta(hours=1), start_date=dt.datetime(2024, 1, 1, 9))
        assert clock.start_date.isoformat() == "2024-01-01T09:00:00+00:00"
        assert clock.start_date.timezone_name == "UTC"

    def test_zoneinfo_start_date_keeps_dst_rules(self):
        start = dt.datetime(2024, 3, 9, 9, tzinfo=zoneinfo.ZoneInfo("America/New_York"))
        clock = clocks.IntervalClock(timedelta(days=1), start_date=start)
        assert iso(take(clock, 2)) == ["2024-03-09T09:00:00-05:00", "2024-03-10T09:00:00-04:00"]

    def test_dateutil_zone_start_date_keeps_dst_rules(self):
        start = dt.datetime(2024, 3, 9, 9, tzinfo=dateutil_tz.gettz("America/New_York"))
        clock = clocks.IntervalClock(timedelta(days=1), start_date=start)
        assert iso(take(clock, 2)) == ["2024-03-09T09:00:00-05:00", "2024-03-10T09:00:00-04:00"]

    def test_fixed_offset_start_date(self):
        start = dt.datetime(2024, 3, 9, 9, tzinfo=dt.timezone(timedelta(hours=5, minutes=30)))
        clock = clocks.IntervalClock(timedelta(days=1), start_date=start)
        assert iso(take(clock, 2)) == ["2024-03-09T09:00:00+05:30", "2024-03-10T09:00:00+05:30"]

    def test_stdlib_utc(self):
        start = dt.datetime(2024, 3, 9, 9, tzinfo=dt.UTC)
        clock = clocks.CronClock("0 9 * * *", start_date=start)
        assert iso(take(clock, 1)) == ["2024-03-09T09:00:00+00:00"]


class TestCronClock:
    def test_without_start_date_runs_in_utc(self):
        clock = clocks.CronClock("15 */6 * * *")
        assert iso(take(clock, 3, after=pendulum.datetime(2024, 1, 1, 5))) == [
            "2024-01-01T06:15:00+00:00",
            "2024-01-01T12:15:00+00:00",
            "2024-01-01T18:15:00+00:00",
        ]

    def test_after_defaults_to_now(self):
        before = pendulum.now("UTC")
        first = next(clocks.CronClock("* * * * *").events()).start_time
        assert before < first <= before.add(minutes=1)

    def test_start_date_is_inclusive(self):
        start = pendulum.datetime(2024, 1, 1, 6, 15)
        clock = clocks.CronClock("15 */6 * * *", start_date=start)
        assert take(clock, 1)[0].start_time == start

    def test_local_zone(self):
        clock = clocks.CronClock(
            "0 9 * * 1-5", start_date=pendulum.datetime(2024, 1, 5, tz="Asia/Tokyo")
        )
        assert iso(take(clock, 3)) == [
            "2024-01-05T09:00:00+09:00",
            "2024-01-08T09:00:00+09:00",
            "2024-01-09T09:00:00+09:00",
        ]

    def test_end_date(self):
        start = pendulum.datetime(2024, 1, 1)
        clock = clocks.CronClock("0 0 * * *", start_date=start, end_date=start.add(days=2))
        assert len(list(clock.events(after=EPOCH))) == 3

    def test_day_or(self):
        # the 1st of the month, or a Monday (standard cron) -- or only Mondays that are the 1st
        start = pendulum.datetime(2024, 1, 1)
        either = clocks.CronClock("0 0 1 * 1", start_date=start)
        both = clocks.CronClock("0 0 1 * 1", start_date=start, day_or=False)
        assert iso(take(either, 3)) == [
            "2024-01-01T00:00:00+00:00",
            "2024-01-08T00:00:00+00:00",
            "2024-01-15T00:00:00+00:00",
        ]
        assert iso(take(both, 2)) == ["2024-01-01T00:00:00+00:00", "2024-04-01T00:00:00+00:00"]

    def test_aliases(self):
        clock = clocks.CronClock("@daily", start_date=pendulum.datetime(2024, 1, 1, 1))
        assert iso(take(clock, 1)) == ["2024-01-02T00:00:00+00:00"]

    def test_parameter_defaults_and_labels(self):
        clock = clocks.CronClock("* * * * *", parameter_defaults={"a": 1}, labels=["x"])
        (event,) = take(clock, 1)
        assert event.parameter_defaults == {"a": 1} and event.labels == ["x"]

    def test_does_not_touch_pendulum_apis_removed_in_v3(self):
        # Prefect Core 1.4.1's cron clock crashed here on pendulum 3
        start = pendulum.datetime(2024, 1, 1, tz="America/Chicago")
        assert len(take(clocks.CronClock("*/5 * * * *", start_date=start), 50)) == 50

    def test_repr(self):
        clock = clocks.CronClock("0 0 * * *", day_or=False)
        assert repr(clock) == "CronClock('0 0 * * *', day_or=False)"


class TestDatesClock:
    def test_sorted_unique_and_after(self):
        d1 = pendulum.datetime(2024, 1, 3)
        d2 = pendulum.datetime(2024, 1, 1)
        d3 = pendulum.datetime(2024, 1, 2)
        clock = clocks.DatesClock([d1, d2, d3, d1.in_tz("Asia/Tokyo")])
        assert [e.start_time for e in clock.events(after=EPOCH)] == [d2, d3, d1]
        assert [e.start_time for e in clock.events(after=d3)] == [d1]
        assert list(clock.events(after=d1)) == []
        assert clock.start_date == d2 and clock.end_date == d1

    def test_keeps_both_occurrences_of_a_repeated_local_time(self):
        first = pendulum.parse("2024-11-03T01:30:00-04:00").in_tz("America/New_York")
        second = pendulum.parse("2024-11-03T01:30:00-05:00").in_tz("America/New_York")
        clock = clocks.DatesClock([second, first])
        assert iso(clock.events(after=EPOCH)) == [
            "2024-11-03T01:30:00-04:00",
            "2024-11-03T01:30:00-05:00",
        ]

    def test_after_defaults_to_now(self):
        past = pendulum.now("UTC").subtract(days=1)
        future = pendulum.now("UTC").add(days=1)
        clock = clocks.DatesClock([past, future])
        assert [e.start_time for e in clock.events()] == [future]

    def test_naive_dates_are_utc_and_zones_are_kept(self):
        clock = clocks.DatesClock(
            [dt.datetime(2024, 1, 1, 12), pendulum.datetime(2024, 1, 1, 12, tz="Europe/Berlin")]
        )
        assert iso(clock.events(after=EPOCH)) == [
            "2024-01-01T12:00:00+01:00",
            "2024-01-01T12:00:00+00:00",
        ]

    def test_parameter_defaults(self):
        clock = clocks.DatesClock([pendulum.datetime(2024, 1, 1)], parameter_defaults={"p": 2})
        assert next(clock.events(after=EPOCH)).parameter_defaults == {"p": 2}


class TestRRuleClock:
    def test_aware_dtstart_sets_the_zone(self):
        start = dt.datetime(2024, 1, 1, 9, tzinfo=zoneinfo.ZoneInfo("Europe/Berlin"))
        clock = clocks.RRuleClock(rrule(WEEKLY, byweekday=MO, dtstart=start, count=3))
        assert iso(clock.events(after=EPOCH)) == [
            "2024-01-01T09:00:00+01:00",
            "2024-01-08T09:00:00+01:00",
            "2024-01-15T09:00:00+01:00",
        ]

    def test_naive_dtstart_is_utc(self):
        clock = clocks.RRuleClock(
            rrule(HOURLY, interval=5, dtstart=dt.datetime(2024, 1, 1), count=2)
        )
        assert iso(clock.events(after=EPOCH)) == [
            "2024-01-01T00:00:00+00:00",
            "2024-01-01T05:00:00+00:00",
        ]

    def test_start_date_replaces_dtstart(self):
        rule = rrule(DAILY, dtstart=dt.datetime(2020, 1, 1, 3))
        clock = clocks.RRuleClock(
            rule, start_date=pendulum.datetime(2024, 5, 1, 7, tz="Asia/Tokyo")
        )
        assert iso(take(clock, 2)) == ["2024-05-01T07:00:00+09:00", "2024-05-02T07:00:00+09:00"]

    def test_until_and_end_date(self):
        start = pendulum.datetime(2024, 1, 1, tz="Europe/Berlin")
        until = dt.datetime(2024, 1, 3, tzinfo=dt.UTC)  # 01:00 local on Jan 3
        rule = rrule(DAILY, dtstart=start, until=until)
        assert len(list(clocks.RRuleClock(rule).events(after=EPOCH))) == 3
        ended = clocks.RRuleClock(rrule(DAILY, dtstart=start), end_date=start.add(days=1))
        assert len(list(ended.events(after=EPOCH))) == 2

    def test_after(self):
        rule = rrule(DAILY, dtstart=dt.datetime(2024, 1, 1, 6), count=10)
        clock = clocks.RRuleClock(rule)
        assert iso(clock.events(after=pendulum.datetime(2024, 1, 9))) == [
            "2024-01-09T06:00:00+00:00",
            "2024-01-10T06:00:00+00:00",
        ]

    def test_labels(self):
        rule = rrule(DAILY, dtstart=dt.datetime(2024, 1, 1), count=1)
        assert next(clocks.RRuleClock(rule, labels=["l"]).events(after=EPOCH)).labels == ["l"]


def test_clock_base_class_is_abstract():
    with pytest.raises(NotImplementedError):
        next(clocks.Clock().events())
