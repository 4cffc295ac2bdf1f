"""flow.run() with a schedule: waits for each event, merges its parameter defaults, stops at the end.

The runs wait on a :class:`~headwater.engine.schedule_loop.ManualClock`, which moves only when
slept on: each test sees exactly the waits and runs it describes, however busy the machine is.
"""

from __future__ import annotations

import runpy
from datetime import timedelta
from pathlib import Path

import pendulum
import pytest

from headwater import Flow, Parameter, context, task
from headwater.engine import schedule_loop
from headwater.schedules import Schedule
from headwater.schedules.clocks import DatesClock, IntervalClock

seen: list[tuple[str, object]] = []


@task
def record(label):
    seen.append((label, context.scheduled_start_time))
    return label


def _flow(schedule) -> Flow:
    with Flow("scheduled", schedule=schedule) as flow:
        record(Parameter("label", default="default"))
    return flow


@pytest.fixture(autouse=True)
def _clear():
    seen.clear()


@pytest.fixture
def clock(monkeypatch) -> schedule_loop.ManualClock:
    manual = schedule_loop.ManualClock(pendulum.now("UTC"))
    monkeypatch.setattr(schedule_loop, "clock", manual)
    return manual


def test_runs_once_per_event_with_parameter_defaults_and_stops(clock):
    start = pendulum.instance(clock.now()).add(seconds=0.2)
    interval = IntervalClock(
        timedelta(seconds=0.2),
        start_date=start,
        end_date=start.add(seconds=0.4),
        parameter_defaults={"label": "from-clock"},
    )
    state = _flow(Schedule(clocks=[interval])).run()
    assert state.is_successful()
    assert [label for label, _ in seen] == ["from-clock"] * 3
    starts = [s for _, s in seen]
    assert starts == sorted(starts) and len(set(starts)) == 3
    assert all(s >= start.subtract(microseconds=1) for s in starts)
    # each run waited for its time, and no longer
    assert starts == [start, start.add(seconds=0.2), start.add(seconds=0.4)]
    assert clock.now() == starts[-1]


def test_explicit_parameters_override_event_defaults(clock):
    when = pendulum.instance(clock.now()).add(seconds=0.1)
    dates = DatesClock([when], parameter_defaults={"label": "from-clock"})
    _flow(Schedule(clocks=[dates])).run(label="explicit")
    assert [label for label, _ in seen] == ["explicit"]


def test_run_on_schedule_false_runs_once_now():
    far = pendulum.now("UTC").add(days=1)
    flow = _flow(Schedule(clocks=[DatesClock([far])]))
    state = flow.run(run_on_schedule=False)
    assert state.is_successful()
    assert [label for label, _ in seen] == ["default"]


def test_run_on_schedule_default_comes_from_config():
    from headwater.utilities.configuration import set_temporary_config

    far = pendulum.now("UTC").add(days=1)
    with set_temporary_config({"flows.run_on_schedule": False}):
        assert _flow(Schedule(clocks=[DatesClock([far])])).run().is_successful()
    assert len(seen) == 1


def test_bad_parameters_fail_before_waiting_for_the_schedule():
    far = pendulum.now("UTC").add(days=1)
    with pytest.raises(ValueError, match="unknown parameter"):
        _flow(Schedule(clocks=[DatesClock([far])])).run(parameters={"nope": 1})
    assert seen == []


def test_scheduled_example_runs_three_times(clock, capsys):
    example = Path(__file__).resolve().parents[2] / "examples" / "scheduled.py"
    with pytest.raises(SystemExit) as exit_:
        runpy.run_path(str(example), run_name="__main__")
    out = capsys.readouterr().out
    assert exit_.value.code == 0, out
    assert out.count("tick: run scheduled for") == 3
    # one second apart, as the schedule says: the loop slept through the schedule's times
    assert 2.0 <= sum(clock.slept) <= 3.0
