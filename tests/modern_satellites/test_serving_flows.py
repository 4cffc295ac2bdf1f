"""Serving flows on their schedules in this process: cron, interval, rrule, Ctrl-C."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from headwater.deployments import Deployment, RunnerDeployment, run_deployment, serve
from headwater.engine.schedule_loop import ManualClock
from headwater.exceptions import ServerNotAvailableError
from headwater.modern.serving import build_schedule, serve_flow, to_deployment

START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)


def named(fn, name):
    fn.name = name
    return fn


def make_report(calls):
    def report(region="eu"):
        calls.append(region)
        return region.upper()

    return named(report, "report")


def quiet(*deployments, **kw):
    return serve(*deployments, print_starting_message=False, **kw)


class TestSchedules:
    def test_interval_runs_at_once_then_every_interval_in_one_wait_each(self):
        clock, calls = ManualClock(START), []
        runner = quiet(
            to_deployment(make_report(calls), "hourly", interval=3600, clock=clock),
            clock=clock,
            max_runs=3,
        )
        assert [r.scheduled.hour for r in runner.runs] == [0, 1, 2]
        assert clock.slept == [3600.0, 3600.0]  # never polling: one sleep per wait
        assert calls == ["eu"] * 3 and all(r.ok and r.result == "EU" for r in runner.runs)

    def test_cron_and_parameters(self):
        clock, calls = ManualClock(START), []
        d = to_deployment(
            make_report(calls), cron="30 6 * * *", parameters={"region": "us"}, clock=clock
        )
        runner = quiet(d, clock=clock, max_runs=2)
        assert [(r.scheduled.day, r.scheduled.hour, r.scheduled.minute) for r in runner.runs] == [
            (1, 6, 30),
            (2, 6, 30),
        ]
        assert calls == ["us", "us"]

    def test_rrule_string(self):
        clock = ManualClock(START)
        d = to_deployment(make_report([]), rrule="FREQ=WEEKLY;BYDAY=MO;BYHOUR=9", clock=clock)
        runner = quiet(d, clock=clock, max_runs=2)
        assert [r.scheduled.date().isoformat() for r in runner.runs] == ["2024-01-01", "2024-01-08"]

    def test_several_deployments_interleave_in_time_order(self):
        clock = ManualClock(START)
        often = to_deployment(
            make_report([]), "often", interval=dt.timedelta(minutes=20), clock=clock
        )
        hourly = to_deployment(make_report([]), "hourly", cron="0 * * * *", clock=clock)
        runner = quiet(often, hourly, clock=clock, max_runs=6)
        assert [(r.deployment, r.scheduled.minute) for r in runner.runs] == [
            ("often", 0),
            ("hourly", 0),
            ("often", 20),
            ("often", 40),
            ("often", 0),
            ("hourly", 0),
        ]

    def test_a_failing_run_does_not_stop_serving(self):
        clock = ManualClock(START)

        def broken():
            raise RuntimeError("boom")

        runner = quiet(
            to_deployment(named(broken, "broken"), interval=60, clock=clock),
            clock=clock,
            max_runs=2,
        )
        assert [r.ok for r in runner.runs] == [False, False]
        assert "boom" in str(runner.runs[0].error)

    def test_paused_and_unscheduled_deployments_end_the_loop(self):
        clock = ManualClock(START)
        paused = to_deployment(make_report([]), interval=60, paused=True, clock=clock)
        assert quiet(paused, clock=clock).runs == []
        assert quiet(to_deployment(make_report([])), clock=clock).runs == []

    def test_schedule_objects_and_bad_values(self):
        from headwater.schedules import IntervalSchedule

        schedule = IntervalSchedule(start_date=START, interval=dt.timedelta(hours=2))
        assert build_schedule(schedules=[schedule], start=START).clocks == schedule.clocks
        with pytest.raises(ValueError, match="interval must be"):
            build_schedule(interval=-1, start=START)
        with pytest.raises(ValueError, match="invalid cron expression"):
            build_schedule(cron="every day", start=START)
        with pytest.raises(ValueError, match="recurrence rule"):
            build_schedule(rrule="FREQ=SOMETIMES", start=START)
        with pytest.raises(TypeError, match="headwater schedules or clocks"):
            build_schedule(schedules=["daily"], start=START)


def test_limit_bounds_runs_going_at_once():
    import threading

    clock = ManualClock(START)
    log, lock = [], threading.Lock()

    def work():
        with lock:
            log.append("in")
        time.sleep(0.01)  # the run's work
        with lock:
            log.append("out")

    first = to_deployment(named(work, "work"), "a", interval=60, clock=clock)
    second = to_deployment(named(work, "work"), "b", interval=60, clock=clock)
    runner = quiet(first, second, clock=clock, max_runs=6, limit=1)
    assert len(runner.runs) == 6 and all(r.ok for r in runner.runs)
    assert log == ["in", "out"] * 6  # never two runs at once


class TestServerFeatures:
    def test_work_pools_and_apply_name_the_local_way(self):
        with pytest.raises(ServerNotAvailableError, match="serve"):
            to_deployment(make_report([]), work_pool_name="k8s")
        d = to_deployment(make_report([]))
        assert isinstance(d, RunnerDeployment) and RunnerDeployment is Deployment
        with pytest.raises(ServerNotAvailableError, match="serve"):
            d.apply()
        with pytest.raises(ServerNotAvailableError, match="call the flow"):
            run_deployment("report/report")

    def test_bad_arguments(self):
        with pytest.raises(TypeError, match="to_deployment"):
            serve(make_report([]))
        with pytest.raises(TypeError, match="unexpected options"):
            to_deployment(make_report([]), colour="blue")
        with pytest.raises(ValueError, match="limit"):
            serve(to_deployment(make_report([])), limit=0)

    def test_run_now(self):
        calls = []
        assert to_deployment(make_report(calls), parameters={"region": "us"}).run() == "US"
        assert calls == ["us"]


class TestWithFlows:
    def test_flow_serve_and_to_deployment(self):
        from headwater import flow

        calls = []

        @flow(name="tidy")
        def tidy(days: int = 7):
            calls.append(days)
            return days

        clock = ManualClock(START)
        runner = tidy.serve(
            interval=600,
            parameters={"days": 3},
            clock=clock,
            max_runs=2,
            print_starting_message=False,
        )
        assert calls == [3, 3] and [r.result for r in runner.runs] == [3, 3]
        d = tidy.to_deployment("nightly", cron="0 2 * * *", clock=clock)
        assert d.name == "nightly" and d.flow_name == "tidy"

    def test_serve_flow_directly(self):
        clock, calls = ManualClock(START), []
        runner = serve_flow(
            make_report(calls), interval=60, clock=clock, max_runs=1, print_starting_message=False
        )
        assert len(runner.runs) == 1 and calls == ["eu"]


SERVER = textwrap.dedent(
    """
    import signal

    # as in a terminal: a process started in the background may inherit SIGINT ignored
    signal.signal(signal.SIGINT, signal.default_int_handler)
    from headwater.deployments import serve, to_deployment

    def tick():
        print("tick", flush=True)

    tick.name = "tick"
    serve(to_deployment(tick, interval=3600))
    """
)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_ctrl_c_stops_serving_cleanly(signum):
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        lines = []
        deadline = time.monotonic() + 60
        while "tick" not in lines and time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line.strip())
        assert "tick" in lines, proc.stderr.read()
        assert any("Press Ctrl-C to stop" in line for line in lines)
        os.kill(proc.pid, signum)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err
    assert "Stopped serving." in out
    assert "Traceback" not in err
