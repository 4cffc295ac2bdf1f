"""``flow.run()`` on a schedule: merged parameters, the next run time logged, Ctrl-C between runs.

The runs wait on a :class:`~headwater.engine.schedule_loop.ManualClock` (it moves only when slept
on), so what each test sees does not depend on how busy the machine is.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import pendulum
import pytest

from headwater import Flow, Parameter, context, task
from headwater.engine import schedule_loop
from headwater.schedules import Schedule
from headwater.schedules.clocks import DatesClock, IntervalClock


@task
def describe(greeting, name):
    return (greeting, name, context.scheduled_start_time)


def build_flow(schedule: Schedule):
    with Flow("greeter", schedule=schedule) as flow:
        result = describe(Parameter("greeting", default="hello"), Parameter("name"))
    return flow, result


@pytest.fixture
def clock(monkeypatch) -> schedule_loop.ManualClock:
    manual = schedule_loop.ManualClock(pendulum.now("UTC"))
    monkeypatch.setattr(schedule_loop, "clock", manual)
    return manual


def test_each_run_merges_event_defaults_with_explicit_parameters_and_logs_the_next_time(
    caplog, clock
):
    start = pendulum.instance(clock.now()).add(seconds=0.25)
    step = timedelta(milliseconds=200)
    clock = IntervalClock(
        step,
        start_date=start,
        end_date=start + 2 * step,
        parameter_defaults={"greeting": "good morning", "name": "from the clock"},
    )
    flow, result = build_flow(Schedule([clock]))
    finished = []
    flow.state_handlers.append(
        lambda f, old, new: finished.append(new) if new.is_finished() else None
    )
    with caplog.at_level(logging.INFO, logger="headwater"):
        state = flow.run(name="Ada")
    assert len(finished) == 3
    assert state is finished[-1] and state.is_successful()
    # the clock's default for `greeting` applies; the explicit `name` wins over the clock's
    assert state.result[result].result == ("good morning", "Ada", start + 2 * step)
    waits = [
        r.getMessage() for r in caplog.records if "Waiting for next scheduled" in r.getMessage()
    ]
    assert waits == [
        f"Waiting for next scheduled run at {t.isoformat()}"
        for t in (start, start + step, start + 2 * step)
    ]
    assert any("no more runs" in r.getMessage() for r in caplog.records)


def test_ctrl_c_while_waiting_stops_cleanly_and_returns_the_last_runs_state(
    monkeypatch, caplog, clock
):
    first = pendulum.instance(clock.now()).add(seconds=0.2)
    flow, result = build_flow(Schedule([DatesClock([first, first.add(days=1)])]))
    finished = []
    flow.state_handlers.append(
        lambda f, old, new: finished.append(new) if new.is_finished() else None
    )
    sleep = clock.sleep

    def sleep_then_ctrl_c(seconds):
        if finished:  # the first run is over: the user presses Ctrl-C while the loop waits
            raise KeyboardInterrupt
        sleep(seconds)

    monkeypatch.setattr(clock, "sleep", sleep_then_ctrl_c)
    with caplog.at_level(logging.INFO, logger="headwater"):
        state = flow.run(name="Ada")
    assert len(finished) == 1
    assert state is finished[0] and state.is_successful()
    assert state.result[result].result == ("hello", "Ada", first)
    messages = [r.getMessage() for r in caplog.records]
    assert f"Waiting for next scheduled run at {first.add(days=1).isoformat()}" in messages
    assert "Interrupted while waiting for the next scheduled run; stopping." in messages
