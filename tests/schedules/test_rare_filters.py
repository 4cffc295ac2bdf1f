"""Filters that keep few events: the search skips ahead instead of giving up, and finds the
same events a plain event-by-event scan would."""

from __future__ import annotations

import datetime as dt
from datetime import timedelta

import pendulum
import pytest

from headwater import Flow, task
from headwater.schedules import Schedule, clocks, filters
from headwater.schedules.schedules import SearchLimitReached


def iso(times):
    return [t.isoformat() for t in times]


def minutely(**kwargs):
    return clocks.IntervalClock(timedelta(minutes=1), **kwargs)


def plain(f):
    """The same filter without its earliest_date, so every event is tested."""
    return lambda t: f(t)


class TestRareFiltersFindTheirEvents:
    def test_a_minute_clock_on_one_day_a_year(self):
        schedule = Schedule([minutely()], filters=[filters.on_date(6, 1)])
        after = pendulum.datetime(2024, 6, 2, tz="UTC")
        assert iso(schedule.next(2, after=after)) == [
            "2025-06-01T00:00:00+00:00",
            "2025-06-01T00:01:00+00:00",
        ]

    def test_february_29_with_a_time_of_day_across_a_century_gap(self):
        # 2100 is not a leap year: eight years between two February 29ths
        schedule = Schedule(
            [minutely()], filters=[filters.on_date(2, 29), filters.at_time(dt.time(6, 30))]
        )
        after = pendulum.datetime(2097, 1, 1, tz="UTC")
        assert iso(schedule.next(2, after=after)) == [
            "2104-02-29T06:30:00+00:00",
            "2108-02-29T06:30:00+00:00",
        ]

    def test_or_filters_of_dates(self):
        schedule = Schedule([minutely()], or_filters=[filters.on_date(1, 1), filters.on_date(6, 1)])
        after = pendulum.datetime(2024, 6, 1, 23, 59, tz="UTC")
        assert iso(schedule.next(1, after=after)) == ["2025-01-01T00:00:00+00:00"]

    def test_a_datetime_in_the_past_ends_the_schedule_at_once(self):
        schedule = Schedule(
            [minutely()], filters=[filters.on_datetime(pendulum.datetime(2020, 1, 1))]
        )
        assert schedule.next(1, after=pendulum.datetime(2024, 1, 1)) == []
        assert schedule.next_event(after=pendulum.datetime(2024, 1, 1)) is None

    def test_a_datetime_years_ahead(self):
        target = pendulum.datetime(2030, 3, 4, 5, 6)
        schedule = Schedule([minutely()], filters=[filters.on_datetime(target)])
        assert schedule.next(2, after=pendulum.datetime(2024, 1, 1)) == [target]

    def test_local_calendar_far_from_utc(self):
        for zone in ("Pacific/Kiritimati", "Pacific/Pago_Pago", "America/St_Johns"):
            start = pendulum.datetime(2024, 1, 1, tz=zone)
            schedule = Schedule([minutely(start_date=start)], filters=[filters.on_date(6, 1)])
            first = schedule.next(1, after=pendulum.datetime(2024, 6, 3, tz="UTC"))[0]
            assert (first.year, first.month, first.day, first.hour, first.minute) == (
                2025, 6, 1, 0, 0
            ), zone  # fmt: skip

    def test_filters_without_earliest_date_are_searched_past_100_000_events(self):
        # 103,680 rejected minutes before the match
        june_1 = lambda t: (t.month, t.day) == (6, 1)  # noqa: E731
        schedule = Schedule([minutely()], filters=[june_1])
        after = pendulum.datetime(2025, 3, 21, tz="UTC")
        assert iso(schedule.next(1, after=after)) == ["2025-06-01T00:00:00+00:00"]


@pytest.mark.parametrize(
    ("kept", "n"),
    [
        ([filters.on_date(3, 10)], 30),
        ([filters.on_date(2, 29)], 24),
        ([filters.between_dates(2, 29, 3, 2)], 80),
        ([filters.between_dates(12, 30, 1, 2)], 100),
        ([filters.is_month_end], 30),
        ([filters.is_month_start, filters.is_weekend], 30),
        ([filters.is_day_of_week(2), filters.between_times(dt.time(22), dt.time(2))], 30),
        ([filters.is_weekday, filters.on_date(3, 10)], 30),
        (
            [
                filters.between_datetimes(
                    pendulum.datetime(2025, 3, 9), pendulum.datetime(2025, 3, 11)
                )
            ],
            49,
        ),
        ([filters.on_datetime(pendulum.datetime(2025, 11, 2, 6))], 1),
    ],
)
@pytest.mark.parametrize("zone", ["UTC", "America/New_York", "Australia/Lord_Howe", "Asia/Tokyo"])
def test_skipping_finds_exactly_what_testing_every_event_finds(kept, n, zone):
    # DST changes in these zones fall inside the searched years
    start = pendulum.datetime(2024, 1, 1, tz=zone)
    clock = clocks.IntervalClock(timedelta(hours=1), start_date=start)
    after = pendulum.datetime(2024, 2, 1, tz="UTC")
    fast = Schedule([clock], filters=kept).next(n, after=after)
    slow = Schedule([clock], filters=[plain(f) for f in kept]).next(n, after=after)
    assert fast == slow and fast  # (equal instants)


def test_several_clocks_with_a_rare_filter_stay_in_time_order():
    schedule = Schedule(
        [
            minutely(parameter_defaults={"c": "a"}),
            clocks.CronClock("30 12 * * *", parameter_defaults={"c": "b"}),
        ],
        filters=[filters.on_date(6, 1)],
    )
    events = schedule.next(3, after=pendulum.datetime(2024, 6, 1, 12, 29), return_events=True)
    assert [(e.start_time.isoformat(), e.parameter_defaults["c"]) for e in events] == [
        ("2024-06-01T12:30:00+00:00", "a"),
        ("2024-06-01T12:30:00+00:00", "b"),
        ("2024-06-01T12:31:00+00:00", "a"),
    ]


def test_dates_clock_skips_to_later_dates_quickly():
    days = [pendulum.datetime(2024, 1, 1).add(days=i) for i in range(20_000)]
    schedule = Schedule([clocks.DatesClock(days)], filters=[filters.on_date(7, 4)])
    assert iso(schedule.next(2, after=pendulum.datetime(2024, 7, 5))) == [
        "2025-07-04T00:00:00+00:00",
        "2026-07-04T00:00:00+00:00",
    ]


class TestSearchLimit:
    def test_next_event_raises_with_how_far_it_searched(self, monkeypatch):
        import headwater.schedules.schedules as mod

        monkeypatch.setattr(mod, "MAX_REJECTED", 10)
        schedule = Schedule([minutely()], filters=[lambda t: False])
        with pytest.raises(SearchLimitReached, match="rejected 10 clock events") as exc:
            schedule.next_event(after=pendulum.datetime(2024, 1, 1))
        assert exc.value.searched_until == pendulum.datetime(2024, 1, 1, 0, 10)

    def test_a_stopped_clock_stops_the_merged_stream(self, monkeypatch):
        # events of the daily clock after the point where the other clock's search stopped
        # would otherwise come out while later events of that clock were never looked at
        import headwater.schedules.schedules as mod

        monkeypatch.setattr(mod, "MAX_REJECTED", 10)
        never_on_minutes = lambda t: t.second == 0 and (t.minute == 0 or t.hour == 0)  # noqa: E731
        schedule = Schedule([minutely(), clocks.CronClock("0 0 * * *")], filters=[never_on_minutes])
        with pytest.warns(RuntimeWarning, match="rejected 10 clock events"):
            times = schedule.next(3, after=pendulum.datetime(2024, 1, 1, 0, 59))
        assert iso(times) == ["2024-01-01T01:00:00+00:00"]


def test_flow_run_on_a_schedule_that_is_over_says_when_it_ended():
    @task
    def noop():
        return 1

    schedule = Schedule(
        [
            clocks.IntervalClock(
                timedelta(hours=1),
                start_date=pendulum.datetime(2024, 1, 1),
                end_date=pendulum.datetime(2024, 1, 2),
            )
        ]
    )
    with Flow("nightly", schedule=schedule) as flow:
        noop()
    with pytest.raises(ValueError, match="it ended at 2024-01-02T00:00:00") as exc:
        flow.run()
    assert "Flow 'nightly'" in str(exc.value)
    assert flow.run(run_on_schedule=False).is_successful()
