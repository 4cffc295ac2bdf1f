from __future__ import annotations

import datetime as dt

import pendulum
import pytest

from headwater.schedules import filters


def d(*args, tz="UTC"):
    return pendulum.datetime(*args, tz=tz)


class TestOnDatetime:
    def test_matches_the_instant_only(self):
        f = filters.on_datetime(d(2024, 1, 1, 9))
        assert f(d(2024, 1, 1, 9))
        assert f(d(2024, 1, 1, 9).in_tz("Asia/Tokyo"))
        assert not f(d(2024, 1, 1, 9, 0, 1))

    def test_naive_is_utc(self):
        assert filters.on_datetime(dt.datetime(2024, 1, 1, 9))(d(2024, 1, 1, 9))

    def test_distinguishes_the_two_occurrences_of_a_repeated_time(self):
        first = pendulum.parse("2024-11-03T01:30:00-04:00").in_tz("America/New_York")
        second = pendulum.parse("2024-11-03T01:30:00-05:00").in_tz("America/New_York")
        assert filters.on_datetime(second)(second)
        assert not filters.on_datetime(second)(first)


class TestBetweenDatetimes:
    def test_inclusive_bounds(self):
        f = filters.between_datetimes(d(2024, 1, 1), d(2024, 1, 2))
        assert f(d(2024, 1, 1)) and f(d(2024, 1, 1, 12)) and f(d(2024, 1, 2))
        assert not f(d(2023, 12, 31, 23, 59)) and not f(d(2024, 1, 2, 0, 0, 1))

    def test_compares_instants_across_zones(self):
        f = filters.between_datetimes(d(2024, 1, 1, 12), d(2024, 1, 1, 13))
        assert f(d(2024, 1, 1, 13, tz="Europe/Berlin"))  # 12:00 UTC
        assert not f(d(2024, 1, 1, 12, tz="Europe/Berlin"))  # 11:00 UTC


class TestOnDate:
    def test_month_and_day_any_year(self):
        f = filters.on_date(2, 29)
        assert f(d(2024, 2, 29, 15))
        assert not f(d(2024, 3, 1)) and not f(d(2024, 2, 28))

    def test_uses_the_local_calendar(self):
        f = filters.on_date(1, 1)
        assert f(d(2024, 1, 1, 0, 30, tz="Europe/Berlin"))  # still Dec 31 in UTC
        assert not f(d(2023, 12, 31, 23, 30, tz="UTC"))


class TestBetweenDates:
    def test_inside_a_year(self):
        f = filters.between_dates(3, 15, 4, 2)
        assert f(d(2024, 3, 15)) and f(d(2024, 3, 31)) and f(d(2024, 4, 2, 23))
        assert not f(d(2024, 3, 14)) and not f(d(2024, 4, 3))

    def test_wraps_over_new_year(self):
        f = filters.between_dates(12, 1, 1, 31)
        assert f(d(2024, 12, 1)) and f(d(2025, 1, 31)) and f(d(2024, 1, 15))
        assert not f(d(2024, 2, 1)) and not f(d(2024, 11, 30))

    def test_single_day(self):
        f = filters.between_dates(6, 1, 6, 1)
        assert f(d(2024, 6, 1, 23)) and not f(d(2024, 6, 2))


class TestAtTime:
    def test_local_clock_time(self):
        f = filters.at_time(dt.time(9, 30))
        assert f(d(2024, 1, 1, 9, 30, tz="Asia/Tokyo"))
        assert not f(d(2024, 1, 1, 9, 30, 1))
        assert not f(d(2024, 1, 1, 9, 31))


class TestBetweenTimes:
    def test_inclusive_bounds(self):
        f = filters.between_times(dt.time(9), dt.time(17))
        assert f(d(2024, 1, 1, 9)) and f(d(2024, 1, 1, 12)) and f(d(2024, 1, 1, 17))
        assert not f(d(2024, 1, 1, 8, 59)) and not f(d(2024, 1, 1, 17, 0, 1))

    def test_wraps_over_midnight(self):
        f = filters.between_times(dt.time(22), dt.time(6))
        assert f(d(2024, 1, 1, 23)) and f(d(2024, 1, 1, 0)) and f(d(2024, 1, 1, 6))
        assert not f(d(2024, 1, 1, 12)) and not f(d(2024, 1, 1, 21, 59))


class TestDayPredicates:
    # 2024-01-01 is a Monday; 2024-01-06 a Saturday; 2024-01-07 a Sunday
    @pytest.mark.parametrize(
        ("day", "weekday"),
        [(1, True), (5, True), (6, False), (7, False)],
    )
    def test_weekday_and_weekend(self, day, weekday):
        assert filters.is_weekday(d(2024, 1, day)) is weekday
        assert filters.is_weekend(d(2024, 1, day)) is (not weekday)

    def test_weekday_uses_local_calendar(self):
        # Saturday 00:30 in Berlin is still Friday in UTC
        assert filters.is_weekend(d(2024, 1, 6, 0, 30, tz="Europe/Berlin"))

    @pytest.mark.parametrize(
        ("date", "end"),
        [
            ((2024, 1, 31), True),
            ((2024, 2, 28), False),
            ((2024, 2, 29), True),
            ((2023, 2, 28), True),
            ((2024, 4, 30), True),
            ((2024, 12, 31), True),
            ((2024, 12, 30), False),
        ],
    )
    def test_is_month_end(self, date, end):
        assert filters.is_month_end(d(*date)) is end

    def test_is_month_start(self):
        assert filters.is_month_start(d(2024, 3, 1, 23))
        assert not filters.is_month_start(d(2024, 3, 2))

    def test_is_day_of_week(self):
        sunday = filters.is_day_of_week(6)
        monday = filters.is_day_of_week(0)
        assert sunday(d(2024, 1, 7)) and not sunday(d(2024, 1, 6))
        assert monday(d(2024, 1, 1)) and not monday(d(2024, 1, 2))
