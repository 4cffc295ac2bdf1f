"""Properties that hold for every clock, zone and starting point."""

from __future__ import annotations

import datetime as dt
from datetime import timedelta
from itertools import islice

import pendulum
from croniter import croniter
from hypothesis import given, settings
from hypothesis import strategies as st

from headwater.schedules import Schedule, clocks
from headwater.schedules._time import instant, localize, wall_clock

ZONES = [
    "UTC",
    "America/New_York",
    "Europe/Berlin",
    "Australia/Lord_Howe",  # a 30-minute DST shift
    "Pacific/Apia",  # skipped 2011-12-30 entirely
    "Asia/Kolkata",
]
US = timedelta(microseconds=1)

zones = st.sampled_from(ZONES).map(pendulum.timezone)
naive_times = st.datetimes(min_value=dt.datetime(2010, 1, 1), max_value=dt.datetime(2030, 1, 1))
aware_times = st.builds(
    lambda n, tz: pendulum.instance(n.replace(tzinfo=dt.UTC)).in_tz(tz), naive_times, zones
)

SETTINGS = settings(max_examples=150, deadline=None)


@SETTINGS
@given(naive_times, zones)
def test_localize_gives_the_first_instant_showing_that_local_time(naive, tz):
    t = localize(naive, tz)
    assert t.tzinfo is tz
    assert wall_clock(t, tz) >= naive
    assert wall_clock(instant(t) - US, tz) < naive


@SETTINGS
@given(naive_times, naive_times, zones)
def test_localize_is_monotonic(a, b, tz):
    a, b = sorted([a, b])
    assert instant(localize(a, tz)) <= instant(localize(b, tz))


@SETTINGS
@given(
    st.timedeltas(min_value=timedelta(seconds=1), max_value=timedelta(days=10)),
    aware_times,
    aware_times,
)
def test_interval_events(interval, start, after):
    clock = clocks.IntervalClock(interval, start_date=start)
    events = [e.start_time for e in islice(clock.events(after=after), 20)]
    assert len(events) == 20
    instants = [instant(e) for e in events]
    assert instants == sorted(set(instants))
    assert instants[0] > instant(after)
    assert instants[0] >= instant(start)
    assert all(e.tzinfo is start.tzinfo for e in events)
    if interval < timedelta(days=1):
        # elapsed time: exactly on the grid
        assert all((i - instant(start)) % interval == timedelta(0) for i in instants)
        assert all(b - a == interval for a, b in zip(instants, instants[1:]))


@SETTINGS
@given(st.integers(min_value=1, max_value=14), aware_times, aware_times)
def test_whole_day_intervals_keep_the_local_time_when_it_exists(days, start, after):
    tz = start.tzinfo
    interval = timedelta(days=days)
    clock = clocks.IntervalClock(interval, start_date=start)
    first_wall = wall_clock(start, tz)
    steps = []
    for event in islice(clock.events(after=after), 10):
        wall = wall_clock(event.start_time, tz)
        step = (wall - first_wall) // interval
        intended = first_wall + step * interval
        if wall != intended:
            # the intended local time does not exist that day (clocks sprang forward over it)
            assert all(
                wall_clock(instant(intended.replace(tzinfo=tz, fold=fold)), tz) != intended
                for fold in (0, 1)
            )
            # and the run is at the end of that gap
            assert wall_clock(instant(event.start_time) - US, tz) < intended
        steps.append(step)
    assert steps == list(range(steps[0], steps[0] + 10))  # no day is skipped or repeated


CRONS = ["0 * * * *", "*/20 * * * *", "30 2 * * *", "30 1 * * *", "0 0 * * 0", "15 3 1 * *"]


@SETTINGS
@given(st.sampled_from(CRONS), aware_times, aware_times)
def test_cron_events_match_once_per_local_time(cron, start, after):
    tz = start.tzinfo
    clock = clocks.CronClock(cron, start_date=start)
    events = [e.start_time for e in islice(clock.events(after=after), 15)]
    instants = [instant(e) for e in events]
    assert instants == sorted(set(instants))
    assert instants[0] > instant(after) and instants[0] >= instant(start)
    walls = [wall_clock(e, tz) for e in events]
    assert walls == sorted(set(walls))  # no local time runs twice
    for event, wall in zip(events, walls):
        if not croniter.match(cron, wall):
            # only a run moved out of a skipped hour is off the expression: it sits exactly
            # at a DST jump
            before = instant(event) - US
            assert tz.utcoffset(before.astimezone(tz)) != event.utcoffset()


@SETTINGS
@given(
    st.lists(
        st.tuples(
            st.timedeltas(min_value=timedelta(minutes=1), max_value=timedelta(days=2)),
            st.integers(min_value=0, max_value=2),
        ),
        min_size=1,
        max_size=4,
    ),
    aware_times,
    aware_times,
)
def test_schedule_merges_clocks_in_order_without_repeats(specs, start, after):
    schedule = Schedule(
        [
            clocks.IntervalClock(interval, start_date=start, parameter_defaults={"p": p})
            for interval, p in specs
        ]
    )
    events = schedule.next(25, after=after, return_events=True)
    assert len(events) == 25
    keys = [(instant(e.start_time), e.parameter_defaults["p"]) for e in events]
    assert len(set(keys)) == len(keys)
    assert [k[0] for k in keys] == sorted(k[0] for k in keys)
    assert keys[0][0] > instant(after)
    # nothing is skipped: each clock's own events before the last merged time all appear
    horizon = keys[-1][0]
    for clock in schedule.clocks:
        p = clock.parameter_defaults["p"]
        for event in clock.events(after=after):
            if instant(event.start_time) >= horizon:
                break
            assert (instant(event.start_time), p) in keys
