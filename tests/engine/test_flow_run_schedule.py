"""flow.run() with a schedule: waits for each event, merges its parameter defaults, stops at the end."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pendulum
import pytest

from headwater import Flow, Parameter, context, task
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


def test_runs_once_per_event_with_parameter_defaults_and_stops():
    start = pendulum.now("UTC").add(seconds=0.2)
    clock = IntervalClock(
        timedelta(seconds=0.2),
        start_date=start,
        end_date=start.add(seconds=0.4),
        parameter_defaults={"label": "from-clock"},
    )
    state = _flow(Schedule(clocks=[clock])).run()
    assert state.is_successful()
    assert [label for label, _ in seen] == ["from-clock"] * 3
    starts = [s for _, s in seen]
    assert starts == sorted(starts) and len(set(starts)) == 3
    assert all(s >= start.subtract(microseconds=1) for s in starts)


def test_explicit_parameters_override_event_defaults():
    when = pendulum.now("UTC").add(seconds=0.1)
    clock = DatesClock([when], parameter_defaults={"label": "from-clock"})
    _flow(Schedule(clocks=[clock])).run(label="explicit")
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


def test_scheduled_example_runs_three_times():
    example = Path(__file__).resolve().parents[2] / "examples" / "scheduled.py"
    proc = subprocess.run(
        [sys.executable, str(example)], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("tick: run scheduled for") == 3
