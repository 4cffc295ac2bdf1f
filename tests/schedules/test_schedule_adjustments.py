from __future__ import annotations

import datetime as dt
from datetime import timedelta

import pendulum

from headwater.schedules import adjustments


class TestAdd:
    def test_adds_elapsed_time_below_a_day(self):
        shift = adjustments.add(timedelta(hours=1))
        start = pendulum.datetime(2024, 3, 10, 1, 30, tz="America/New_York")
        assert shift(start).isoformat() == "2024-03-10T03:30:00-04:00"

    def test_keeps_wall_clock_for_a_day_or_more(self):
        shift = adjustments.add(timedelta(days=1))
        start = pendulum.datetime(2024, 3, 9, 9, tz="America/New_York")
        assert shift(start).isoformat() == "2024-03-10T09:00:00-04:00"

    def test_negative(self):
        shift = adjustments.add(timedelta(minutes=-15))
        assert shift(pendulum.datetime(2024, 1, 1)).isoformat() == "2023-12-31T23:45:00+00:00"

    def test_pendulum_duration(self):
        shift = adjustments.add(pendulum.duration(days=2))
        assert shift(pendulum.datetime(2024, 1, 1)).isoformat() == "2024-01-03T00:00:00+00:00"

    def test_accepts_stdlib_datetimes_and_returns_pendulum(self):
        result = adjustments.add(timedelta(hours=2))(dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
        assert isinstance(result, pendulum.DateTime)
        assert result.isoformat() == "2024-01-01T02:00:00+00:00"


class TestNextWeekday:
    def test_weekday_unchanged(self):
        friday = pendulum.datetime(2024, 1, 5, 9, tz="Europe/Berlin")
        assert adjustments.next_weekday(friday) == friday

    def test_weekend_moves_to_monday_keeping_the_clock_time(self):
        saturday = pendulum.datetime(2024, 1, 6, 9, 15, tz="Europe/Berlin")
        sunday = pendulum.datetime(2024, 1, 7, 9, 15, tz="Europe/Berlin")
        expected = "2024-01-08T09:15:00+01:00"
        assert adjustments.next_weekday(saturday).isoformat() == expected
        assert adjustments.next_weekday(sunday).isoformat() == expected

    def test_across_a_dst_change(self):
        saturday = pendulum.datetime(2024, 3, 30, 9, tz="Europe/Berlin")
        assert adjustments.next_weekday(saturday).isoformat() == "2024-04-01T09:00:00+02:00"
