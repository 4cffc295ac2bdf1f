"""Every mistake a user can make when building a schedule is a clear ``ValueError``."""

from __future__ import annotations

import datetime as dt
import re
from datetime import timedelta

import pendulum
import pytest
from dateutil.rrule import DAILY, rrule

from headwater.engine.schedule_loop import run_on_schedule
from headwater.schedules import (
    CronSchedule,
    IntervalSchedule,
    RRuleSchedule,
    Schedule,
    adjustments,
    clocks,
    filters,
)

JAN1 = pendulum.datetime(2024, 1, 1)
HOUR = timedelta(hours=1)


class _OpaqueZone(dt.tzinfo):
    """A tzinfo with no zone name or key: its DST rules cannot be known."""

    def utcoffset(self, d):
        return timedelta(hours=3)

    def dst(self, d):
        return timedelta(0)

    def tzname(self, d):
        return "Somewhere"


class TestIntervalClock:
    @pytest.mark.parametrize("interval", [60, 1.5, "1h", None])
    def test_interval_not_a_timedelta(self, interval):
        with pytest.raises(ValueError, match="interval must be a datetime.timedelta"):
            clocks.IntervalClock(interval)

    def test_type_error_too_for_prefect_compatibility(self):
        with pytest.raises(TypeError):
            clocks.IntervalClock(60)

    @pytest.mark.parametrize("interval", [timedelta(0), timedelta(seconds=-1)])
    def test_non_positive_interval(self, interval):
        with pytest.raises(ValueError, match="interval must be greater than 0"):
            clocks.IntervalClock(interval)

    def test_calendar_month_duration(self):
        with pytest.raises(ValueError, match="calendar months or years are not supported"):
            clocks.IntervalClock(pendulum.duration(months=1))

    def test_end_before_start(self):
        with pytest.raises(ValueError, match="end_date 2023-12-31T00:00:00\\+00:00 is before"):
            clocks.IntervalClock(HOUR, start_date=JAN1, end_date=JAN1.subtract(days=1))

    def test_end_before_start_across_zones(self):
        start = pendulum.datetime(2024, 1, 1, 12, tz="UTC")
        end = pendulum.datetime(2024, 1, 1, 12, tz="Europe/Berlin")  # 11:00 UTC
        with pytest.raises(ValueError, match="is before start_date"):
            clocks.IntervalClock(HOUR, start_date=start, end_date=end)

    def test_start_date_is_a_date(self):
        with pytest.raises(
            ValueError, match=r"start_date must be a datetime, got date .*datetime\(2024, 1, 1"
        ):
            clocks.IntervalClock(HOUR, start_date=dt.date(2024, 1, 1))

    def test_start_date_is_a_string(self):
        with pytest.raises(
            ValueError, match="start_date must be a datetime, got str.*pendulum.parse"
        ):
            clocks.IntervalClock(HOUR, start_date="2024-01-01")

    def test_end_date_is_a_number(self):
        with pytest.raises(ValueError, match="end_date must be a datetime, got int"):
            clocks.IntervalClock(HOUR, end_date=1700000000)

    def test_start_date_in_an_uninterpretable_zone(self):
        with pytest.raises(ValueError, match="cannot interpret time zone"):
            clocks.IntervalClock(HOUR, start_date=dt.datetime(2024, 1, 1, tzinfo=_OpaqueZone()))

    def test_parameter_defaults_not_a_dict(self):
        with pytest.raises(ValueError, match="parameter_defaults must be a dict"):
            clocks.IntervalClock(HOUR, parameter_defaults=[("x", 1)])

    def test_parameter_defaults_keys_not_names(self):
        with pytest.raises(ValueError, match="keys must be parameter names"):
            clocks.IntervalClock(HOUR, parameter_defaults={1: "x"})

    def test_labels_a_string(self):
        with pytest.raises(ValueError, match="labels must be a list of strings.*single label"):
            clocks.IntervalClock(HOUR, labels="prod")

    def test_labels_not_strings(self):
        with pytest.raises(ValueError, match="labels must be a list of strings"):
            clocks.IntervalClock(HOUR, labels=["a", 1])

    def test_after_not_a_datetime(self):
        with pytest.raises(ValueError, match="after must be a datetime"):
            next(clocks.IntervalClock(HOUR).events(after="now"))


class TestCronClock:
    @pytest.mark.parametrize(
        "cron", ["61 * * * *", "* 24 * * *", "0 0 * * 8", "not a cron", "", "* * *", "0 0 32 * *"]
    )
    def test_invalid_expression(self, cron):
        with pytest.raises(ValueError, match=re.escape(f"invalid cron expression {cron!r}")):
            clocks.CronClock(cron)

    def test_expression_that_never_matches(self):
        with pytest.raises(ValueError, match="'0 0 30 2 \\*' never matches"):
            clocks.CronClock("0 0 30 2 *")

    def test_not_a_string(self):
        with pytest.raises(ValueError, match="cron must be a string"):
            clocks.CronClock(5)

    def test_cron_schedule_validates_too(self):
        with pytest.raises(ValueError, match="invalid cron expression"):
            CronSchedule("every day")

    def test_end_before_start(self):
        with pytest.raises(ValueError, match="is before start_date"):
            clocks.CronClock("* * * * *", start_date=JAN1, end_date=JAN1.subtract(seconds=1))


class TestDatesClock:
    def test_empty(self):
        with pytest.raises(ValueError, match="dates must not be empty"):
            clocks.DatesClock([])

    def test_single_datetime(self):
        with pytest.raises(ValueError, match="dates must be a list of datetimes"):
            clocks.DatesClock(JAN1)

    def test_not_datetimes(self):
        with pytest.raises(ValueError, match="DatesClock date must be a datetime, got str"):
            clocks.DatesClock([JAN1, "2024-01-02"])


class TestRRuleClock:
    def test_not_an_rrule(self):
        with pytest.raises(ValueError, match="rrule must be a dateutil.rrule.rrule"):
            clocks.RRuleClock("FREQ=DAILY")

    def test_end_before_start(self):
        rule = rrule(DAILY, dtstart=dt.datetime(2024, 1, 2))
        with pytest.raises(ValueError, match="is before start_date"):
            RRuleSchedule(rule, end_date=JAN1)


class TestSchedule:
    def test_no_clocks_is_a_schedule_without_events(self):
        # Prefect 1 accepts Schedule(clocks=[]) (subclasses override next()).
        empty = Schedule([])
        assert empty.next(3) == []
        assert empty.start_date is None and empty.end_date is None

    def test_a_single_clock_not_in_a_list(self):
        with pytest.raises(ValueError, match="clocks must be a list of clocks.*wrap a single"):
            Schedule(clocks.IntervalClock(HOUR))

    def test_not_a_clock(self):
        with pytest.raises(ValueError, match="every item of clocks must be a Clock"):
            Schedule([HOUR])

    @pytest.mark.parametrize("name", ["filters", "or_filters", "not_filters", "adjustments"])
    def test_single_function_not_in_a_list(self, name):
        with pytest.raises(ValueError, match=f"{name} must be a list of functions"):
            Schedule([clocks.IntervalClock(HOUR)], **{name: filters.is_weekday})

    @pytest.mark.parametrize("name", ["filters", "or_filters", "not_filters", "adjustments"])
    def test_item_not_callable(self, name):
        with pytest.raises(ValueError, match=f"every item of {name} must be callable"):
            Schedule([clocks.IntervalClock(HOUR)], **{name: [filters.is_weekday, "weekday"]})

    def test_negative_n(self):
        with pytest.raises(ValueError, match="n must not be negative"):
            Schedule([clocks.IntervalClock(HOUR)]).next(-1)

    def test_n_not_an_int(self):
        with pytest.raises(ValueError, match="n must be an int"):
            Schedule([clocks.IntervalClock(HOUR)]).next(2.0)

    def test_interval_schedule_without_interval(self):
        with pytest.raises(TypeError, match="interval is required"):
            IntervalSchedule(start_date=JAN1)

    def test_interval_schedule_bad_interval(self):
        with pytest.raises(ValueError, match="interval must be greater than 0"):
            IntervalSchedule(interval=timedelta(0))


class TestFilters:
    @pytest.mark.parametrize(("month", "day"), [(2, 30), (13, 1), (0, 1), (4, 31)])
    def test_on_date_impossible_day(self, month, day):
        with pytest.raises(ValueError, match=f"there is no day {day} of month {month}"):
            filters.on_date(month, day)

    def test_on_date_not_ints(self):
        with pytest.raises(ValueError, match="month must be an int"):
            filters.on_date("1", 1)

    def test_between_dates_impossible_day(self):
        with pytest.raises(ValueError, match="between_dates end: there is no day 31 of month 6"):
            filters.between_dates(1, 1, 6, 31)

    def test_between_datetimes_reversed(self):
        with pytest.raises(ValueError, match="end 2023-12-31T00:00:00\\+00:00 is before start"):
            filters.between_datetimes(JAN1, JAN1.subtract(days=1))

    def test_between_datetimes_not_datetimes(self):
        with pytest.raises(ValueError, match="between_datetimes start must be a datetime"):
            filters.between_datetimes(dt.date(2024, 1, 1), JAN1)

    def test_on_datetime_not_a_datetime(self):
        with pytest.raises(ValueError, match="on_datetime must be a datetime"):
            filters.on_datetime("2024-01-01")

    @pytest.mark.parametrize("bad", ["09:00", 9, dt.datetime(2024, 1, 1, 9)])
    def test_at_time_not_a_time(self, bad):
        with pytest.raises(ValueError, match="at_time: expected a datetime.time"):
            filters.at_time(bad)

    def test_at_time_with_a_zone(self):
        with pytest.raises(ValueError, match="has a time zone; pass a naive time"):
            filters.at_time(dt.time(9, tzinfo=dt.UTC))

    def test_between_times_not_times(self):
        with pytest.raises(ValueError, match="between_times end: expected a datetime.time"):
            filters.between_times(dt.time(9), 17)

    @pytest.mark.parametrize("day", [-1, 7])
    def test_is_day_of_week_out_of_range(self, day):
        with pytest.raises(ValueError, match="from 0 \\(Monday\\) to 6 \\(Sunday\\)"):
            filters.is_day_of_week(day)

    def test_is_day_of_week_not_an_int(self):
        with pytest.raises(ValueError, match="day_of_week must be an int"):
            filters.is_day_of_week("monday")


class TestAdjustments:
    def test_add_not_a_timedelta(self):
        with pytest.raises(ValueError, match="add: interval must be a datetime.timedelta"):
            adjustments.add(3600)

    def test_adjustment_returning_garbage(self):
        schedule = Schedule([clocks.IntervalClock(HOUR)], adjustments=[lambda t: "tomorrow"])
        with pytest.raises(ValueError, match="adjusted time must be a datetime, got str"):
            schedule.next(1)


def test_run_on_schedule_negative_max_runs():
    schedule = Schedule([clocks.IntervalClock(HOUR)])
    with pytest.raises(ValueError, match="max_runs must not be negative"):
        run_on_schedule(schedule, lambda p, t: None, max_runs=-1)
