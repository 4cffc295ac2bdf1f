from __future__ import annotations

import datetime as dt
import logging
from datetime import timedelta

import pendulum
import pytest

from headwater.engine import schedule_loop
from headwater.engine.schedule_loop import SLEEP_STEP, run_on_schedule
from headwater.schedules import Schedule, clocks, filters

T0 = pendulum.datetime(2024, 1, 1, 12)
STEP = timedelta(milliseconds=200)


class FakeTime:
    """A clock that only moves when slept on (or when a run takes time)."""

    def __init__(self, start: dt.datetime) -> None:
        self.current = start
        self.sleeps: list[float] = []

    def now(self) -> dt.datetime:
        return self.current

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.sleeps.append(seconds)
        self.current = self.current + timedelta(seconds=seconds)

    def advance(self, seconds: float) -> None:
        self.current = self.current + timedelta(seconds=seconds)


def short_schedule(start=T0 + timedelta(milliseconds=100), n=3, **kwargs):
    """An interval clock every 0.2 s from ``start``, ending after ``n`` events."""
    return Schedule(
        [clocks.IntervalClock(STEP, start_date=start, end_date=start + STEP * (n - 1), **kwargs)]
    )


class Recorder:
    def __init__(self, fake: FakeTime | None = None, duration: float = 0.0) -> None:
        self.calls: list[tuple[dict, dt.datetime, dt.datetime]] = []
        self.fake = fake
        self.duration = duration

    def __call__(self, parameter_defaults, scheduled_start_time):
        now = self.fake.now() if self.fake else pendulum.now("UTC")
        self.calls.append((parameter_defaults, scheduled_start_time, now))
        if self.fake and self.duration:
            self.fake.advance(self.duration)
        return f"state-{len(self.calls)}"


def test_runs_each_event_once_at_its_time_then_stops_when_the_schedule_ends(caplog):
    fake = FakeTime(T0)
    run = Recorder(fake)
    schedule = short_schedule(parameter_defaults={"x": 1})
    with caplog.at_level(logging.INFO, logger="headwater"):
        state = run_on_schedule(schedule, run, sleep=fake.sleep, now=fake.now)
    expected = [T0 + timedelta(milliseconds=ms) for ms in (100, 300, 500)]
    assert [c[1] for c in run.calls] == expected
    assert all(c[0] == {"x": 1} for c in run.calls)
    # each run happened exactly when scheduled (the fake clock only moves when slept on)
    assert [c[2] for c in run.calls] == expected
    assert state == "state-3"
    waits = [r.getMessage() for r in caplog.records if "Waiting for next" in r.getMessage()]
    assert waits == [f"Waiting for next scheduled run at {t.isoformat()}" for t in expected]
    assert all(r.levelno == logging.INFO for r in caplog.records)
    assert any("no more runs" in r.getMessage() for r in caplog.records)


def test_sleeps_in_small_steps():
    fake = FakeTime(T0)
    schedule = Schedule([clocks.DatesClock([T0 + timedelta(seconds=3)])])
    run_on_schedule(schedule, Recorder(fake), sleep=fake.sleep, now=fake.now)
    assert len(fake.sleeps) == 6
    assert all(s <= SLEEP_STEP for s in fake.sleeps)
    assert fake.current == T0 + timedelta(seconds=3)


def test_parameter_defaults_of_each_clock_reach_the_run():
    fake = FakeTime(T0)
    schedule = Schedule(
        [
            clocks.DatesClock([T0 + timedelta(seconds=1)], parameter_defaults={"who": "a"}),
            clocks.DatesClock([T0 + timedelta(seconds=2)], parameter_defaults={"who": "b"}),
        ]
    )
    run = Recorder(fake)
    run_on_schedule(schedule, run, sleep=fake.sleep, now=fake.now)
    assert [c[0] for c in run.calls] == [{"who": "a"}, {"who": "b"}]


def test_run_once_gets_a_fresh_dict():
    fake = FakeTime(T0)
    schedule = short_schedule(parameter_defaults={"x": 1})

    def run(params, when):
        assert params == {"x": 1}
        params["x"] = 2

    run_on_schedule(schedule, run, sleep=fake.sleep, now=fake.now)
    assert schedule.clocks[0].parameter_defaults == {"x": 1}


def test_a_schedule_already_over_is_an_error_naming_its_end():
    fake = FakeTime(T0 + timedelta(days=1))
    run = Recorder(fake)
    schedule = short_schedule()
    with pytest.raises(
        ValueError, match="no runs after .*: it ended at 2024-01-01T12:00:00.5"
    ) as e:
        run_on_schedule(schedule, run, sleep=fake.sleep, now=fake.now, flow_name="etl")
    assert str(e.value).startswith("Flow 'etl': the schedule has no runs after 2024-01-02T12:00")
    assert "flow.run(run_on_schedule=False)" in str(e.value)
    assert run.calls == [] and fake.sleeps == []


def test_a_schedule_whose_filters_keep_nothing_more_is_an_error_saying_so():
    fake = FakeTime(T0)
    past = filters.on_datetime(T0 - timedelta(days=3))
    schedule = Schedule([clocks.IntervalClock(timedelta(minutes=1))], filters=[past])
    with pytest.raises(ValueError, match="its filters can keep no later event"):
        run_on_schedule(schedule, Recorder(fake), sleep=fake.sleep, now=fake.now)


def test_a_rare_filter_on_a_minute_clock_is_waited_for_and_run():
    # a minute clock kept only on June 1: the next run is almost a year away
    fake = FakeTime(pendulum.datetime(2024, 6, 2, 8))
    run = Recorder(fake)

    def sleep(seconds):  # a year of waiting passes an hour per step, landing on the hour
        fake.sleep(3600 if seconds == SLEEP_STEP else seconds)

    schedule = Schedule(
        [clocks.IntervalClock(timedelta(minutes=1))], filters=[filters.on_date(6, 1)]
    )
    state = run_on_schedule(schedule, run, sleep=sleep, now=fake.now, max_runs=1)
    assert state == "state-1"
    first = pendulum.datetime(2025, 6, 1, 0, 0)
    assert [c[1:] for c in run.calls] == [(first, first)]  # ran at its time, not before


def test_when_the_filters_search_stops_the_loop_waits_and_searches_on(monkeypatch, caplog):
    import headwater.schedules.schedules as mod

    monkeypatch.setattr(mod, "MAX_REJECTED", 50)
    fake = FakeTime(T0)
    run = Recorder(fake)

    def sleep(seconds):  # long waits pass a minute per step, landing on the minute
        fake.sleep(60 if seconds == SLEEP_STEP else seconds)

    # a filter without earliest_date, keeping one minute a week: far more than 50 rejections
    only = lambda t: t.weekday() == 2 and t.hour == 9 and t.minute == 0  # noqa: E731
    schedule = Schedule([clocks.IntervalClock(timedelta(minutes=1))], filters=[only])
    with caplog.at_level(logging.INFO, logger="headwater"):
        state = run_on_schedule(schedule, run, sleep=sleep, now=fake.now, max_runs=1)
    assert state == "state-1"
    wednesday = pendulum.datetime(2024, 1, 3, 9)
    assert [c[1:] for c in run.calls] == [(wednesday, wednesday)]
    assert any("searching on from then" in r.getMessage() for r in caplog.records)


def test_an_event_due_now_runs_without_sleeping_and_past_events_are_skipped():
    fake = FakeTime(T0 + timedelta(milliseconds=250))  # the 0.1 s event is past
    run = Recorder(fake)
    run_on_schedule(short_schedule(), run, sleep=fake.sleep, now=fake.now)
    assert [c[1] for c in run.calls] == [
        T0 + timedelta(milliseconds=300),
        T0 + timedelta(milliseconds=500),
    ]


def test_events_missed_during_a_long_run_are_skipped_not_repeated():
    fake = FakeTime(T0)
    run = Recorder(fake, duration=0.3)  # each run takes longer than the interval
    run_on_schedule(short_schedule(n=5), run, sleep=fake.sleep, now=fake.now)
    assert [c[1] for c in run.calls] == [
        T0 + timedelta(milliseconds=100),
        T0 + timedelta(milliseconds=500),
        T0 + timedelta(milliseconds=900),
    ]


def test_a_clock_stepping_back_does_not_repeat_an_event():
    # after the first run the system clock is set back by 0.15 s (e.g. by NTP)
    fake = FakeTime(T0)

    def lagging_now():
        return fake.current - timedelta(milliseconds=150) if run.calls else fake.current

    run = Recorder(fake)
    run_on_schedule(short_schedule(), run, sleep=fake.sleep, now=lagging_now)
    starts = [c[1] for c in run.calls]
    assert starts == sorted(set(starts)) and len(starts) == 3


def test_max_runs():
    fake = FakeTime(T0)
    run = Recorder(fake)
    schedule = Schedule([clocks.IntervalClock(STEP, start_date=T0)])  # never ends
    state = run_on_schedule(schedule, run, sleep=fake.sleep, now=fake.now, max_runs=4)
    assert state == "state-4" and len(run.calls) == 4
    assert run_on_schedule(schedule, run, sleep=fake.sleep, now=fake.now, max_runs=0) is None


def test_after_delays_the_first_run():
    fake = FakeTime(T0)
    run = Recorder(fake)
    run_on_schedule(
        short_schedule(),
        run,
        after=T0 + timedelta(milliseconds=300),
        sleep=fake.sleep,
        now=fake.now,
    )
    assert [c[1] for c in run.calls] == [T0 + timedelta(milliseconds=500)]


def test_keyboard_interrupt_while_waiting_returns_the_last_state(caplog):
    fake = FakeTime(T0)
    run = Recorder(fake)

    def sleep(seconds):
        if len(run.calls) == 2:
            raise KeyboardInterrupt
        fake.sleep(seconds)

    with caplog.at_level(logging.INFO, logger="headwater"):
        state = run_on_schedule(short_schedule(n=10), run, sleep=sleep, now=fake.now)
    assert state == "state-2" and len(run.calls) == 2
    assert "Interrupted while waiting" in caplog.records[-1].getMessage()


def test_keyboard_interrupt_during_a_run_propagates():
    fake = FakeTime(T0)

    def run(params, when):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_on_schedule(short_schedule(), run, sleep=fake.sleep, now=fake.now)


def test_custom_logger(caplog):
    fake = FakeTime(T0)
    logger = logging.getLogger("my.app")
    with caplog.at_level(logging.INFO, logger="my.app"):
        run_on_schedule(
            short_schedule(n=1), Recorder(fake), sleep=fake.sleep, now=fake.now, logger=logger
        )
    assert [r.name for r in caplog.records] == ["my.app", "my.app"]


def test_real_clock_and_sleep():
    # by default the loop reads and waits on the system clock: about 0.2 s of real waiting.
    # (A sequence of runs on the real clock would depend on the machine's load: a late wake-up
    # skips the events it missed. The fake-clock tests above check sequences.)
    assert isinstance(schedule_loop.clock, schedule_loop.SystemClock)
    start = pendulum.now("UTC").add(seconds=0.2)
    run = Recorder()
    state = run_on_schedule(Schedule([clocks.DatesClock([start])]), run)
    assert state == "state-1"
    assert [c[1] for c in run.calls] == [start]
    # no run starts before its scheduled time
    assert all(actual >= scheduled for _, scheduled, actual in run.calls)


def test_the_system_clock_is_aware_utc_and_sleeps_with_time_sleep(monkeypatch):
    clock = schedule_loop.SystemClock()
    assert clock.now().utcoffset() == timedelta(0)
    assert abs((clock.now() - pendulum.now("UTC")).total_seconds()) < 60
    slept = []
    monkeypatch.setattr(schedule_loop.time, "sleep", slept.append)
    clock.sleep(0.25)
    assert slept == [0.25]


def test_the_loop_uses_the_module_clock_when_none_is_given(monkeypatch):
    fake = schedule_loop.ManualClock(T0)
    monkeypatch.setattr(schedule_loop, "clock", fake)
    run = Recorder(fake)
    state = run_on_schedule(short_schedule(), run)
    assert state == "state-3"
    assert [c[2] for c in run.calls] == [T0 + timedelta(milliseconds=ms) for ms in (100, 300, 500)]
    assert sum(fake.slept) == pytest.approx(0.5)


def test_naive_now_is_utc():
    fake = FakeTime(T0)
    run = Recorder(fake)
    naive_now = lambda: fake.current.in_tz("UTC").naive()  # noqa: E731
    run_on_schedule(short_schedule(), run, sleep=fake.sleep, now=naive_now)
    assert [c[1] for c in run.calls] == [T0 + timedelta(milliseconds=ms) for ms in (100, 300, 500)]
