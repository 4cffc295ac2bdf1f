"""Run observers: what they hear of a flow run, on every executor, and what they cannot break."""

from __future__ import annotations

import doctest
import logging
import pickle
import threading
from collections import Counter
from concurrent.futures import Future
from datetime import timedelta
from typing import Any

import pendulum
import pytest

from headwater import Flow, Parameter, task
from headwater.engine import observers as observers_module
from headwater.engine import schedule_loop
from headwater.engine import state as st
from headwater.engine.flow_runner import FlowRunner
from headwater.engine.observers import RunObserver, RunObservers
from headwater.schedules import Schedule
from headwater.schedules.clocks import IntervalClock
from headwater.utilities.progress import ProgressBar


@task
def inc(x):
    return x + 1


@task
def total(xs):
    return sum(xs)


@task
def boom():
    raise ValueError("boom")


class Recorder(RunObserver):
    """Keeps every event, in order (thread-safe: task runs may report from worker threads)."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.lock = threading.Lock()

    def _add(self, name: str, kwargs: dict[str, Any]) -> None:
        with self.lock:
            self.events.append((name, kwargs))

    def flow_run_started(self, **kwargs: Any) -> None:
        self._add("started", kwargs)

    def tasks_planned(self, **kwargs: Any) -> None:
        self._add("planned", kwargs)

    def task_run_finished(self, **kwargs: Any) -> None:
        self._add("task", kwargs)

    def flow_run_finished(self, **kwargs: Any) -> None:
        self._add("finished", kwargs)

    def of(self, name: str) -> list[dict[str, Any]]:
        return [kw for n, kw in self.events if n == name]

    def task_runs(self) -> Counter[tuple[str, int | None]]:
        """How often each task run was heard, by task name (``constant`` for constants)."""
        return Counter((_name(kw["task"]), kw["map_index"]) for kw in self.of("task"))


def _name(t: Any) -> str:
    return t.name if t.name in ("inc", "total", "boom") else "constant"


def map_reduce_flow() -> tuple[Flow, Any]:
    with Flow("map-reduce") as flow:
        a = inc.map([1, 2, 3])
        b = inc.map(a)
        out = total(b)
    return flow, out


# -- what observers hear ---------------------------------------------------------------------------
def test_every_task_state_is_heard_once_on_every_executor(executor):
    flow, out = map_reduce_flow()
    recorder = Recorder()
    state = flow.run(executor=executor, observers=[recorder])
    assert state.is_successful() and state.result[out].result == 12
    runs = recorder.task_runs()
    # the constant list, 3 + 3 mapped children, the reduce: each exactly once
    assert runs == Counter({("constant", None): 1, ("total", None): 1, ("inc", 0): 2,
                            ("inc", 1): 2, ("inc", 2): 2})  # fmt: skip
    heard = {(kw["task"], kw["map_index"]): kw["state"] for kw in recorder.of("task")}
    assert len(heard) == len(recorder.of("task")) == 8  # no task run heard twice
    for (t, i), s in heard.items():
        final = state.result[t]
        assert (final if i is None else final.map_states[i]).result == s.result
    # as many task runs as were planned
    assert sum(kw["count"] for kw in recorder.of("planned")) == 8


def test_the_run_starts_and_finishes_with_its_id_flow_parameters_and_final_state():
    with Flow("params") as flow:
        x = Parameter("x", default=1)
        y = Parameter("y", type=int)
        inc(x)
        inc(y)
    recorder = Recorder()
    state = flow.run(y="41", context={"flow_run_id": "run-1"}, observers=[recorder])
    assert state.is_successful()
    names = [name for name, _ in recorder.events]
    assert names[0] == "started" and names[-1] == "finished"
    assert names.index("planned") < names.index("task")
    (started,) = recorder.of("started")
    assert started.pop("scheduled_start_time") is not None
    assert started == {
        "flow": flow,
        "run_id": "run-1",
        "parameters": {"x": 1, "y": 41},
        "flow_run_name": None,
        "executor": None,
        "parent_run_id": None,
    }
    (finished,) = recorder.of("finished")
    assert finished["flow"] is flow and finished["run_id"] == "run-1"
    assert finished["state"] is state and finished["error"] is None
    assert {kw["run_id"] for kw in recorder.of("task")} == {"run-1"}
    assert {kw["pass_number"] for kw in recorder.of("task")} == {1}


def test_a_map_that_ends_without_children_is_heard_whole():
    with Flow("upstream fails") as flow:
        failed = boom()
        mapped = inc.map(failed)
    recorder = Recorder()
    state = flow.run(observers=[recorder])
    assert state.is_failed()
    runs = recorder.task_runs()
    assert runs == Counter({("boom", None): 1, ("inc", None): 1})
    (heard,) = [kw["state"] for kw in recorder.of("task") if kw["task"] is mapped]
    assert heard.is_failed() and heard is state.result[mapped]


def test_tasks_given_a_finished_state_are_heard_with_it():
    flow, out = map_reduce_flow()
    known = st.Success(result=100)
    recorder = Recorder()
    state = flow.run(task_states={out: known}, observers=[recorder])
    assert state.result[out] is known
    (heard,) = [kw for kw in recorder.of("task") if kw["task"] is out]
    assert heard["state"] is known and heard["map_index"] is None


def test_each_pass_of_a_retrying_run_is_heard(monkeypatch):
    attempts = []

    @task(max_retries=1, retry_delay=timedelta(milliseconds=10))
    def flaky():
        attempts.append(1)
        if len(attempts) == 1:
            raise ValueError("first time")
        return "ok"

    with Flow("retry") as flow:
        flaky()
    recorder = Recorder()
    state = flow.run(observers=[recorder])
    assert state.is_successful()
    heard = [(kw["pass_number"], type(kw["state"]).__name__) for kw in recorder.of("task")]
    assert heard == [(1, "Retrying"), (2, "Success")]
    assert [kw["pass_number"] for kw in recorder.of("planned")] == [1, 2]
    assert len(recorder.of("started")) == len(recorder.of("finished")) == 1


def test_each_scheduled_run_is_a_run_of_its_own(monkeypatch):
    clock = schedule_loop.ManualClock(pendulum.now("UTC"))
    monkeypatch.setattr(schedule_loop, "clock", clock)
    start = pendulum.instance(clock.now()).add(seconds=1)
    schedule = Schedule([IntervalClock(timedelta(seconds=1), start, end_date=start.add(seconds=1))])
    with Flow("twice", schedule=schedule) as flow:
        inc(1)
    recorder = Recorder()
    flow.run(observers=[recorder])
    started, finished = recorder.of("started"), recorder.of("finished")
    assert len(started) == len(finished) == 2
    assert [s["run_id"] for s in started] == [f["run_id"] for f in finished]
    assert len({s["run_id"] for s in started}) == 2


def test_a_flow_runner_run_is_a_whole_run_for_its_observers():
    flow, out = map_reduce_flow()
    recorder = Recorder()
    state = FlowRunner(flow).run(return_tasks=[out], observers=[recorder])
    assert state.is_successful()
    assert [n for n, _ in recorder.events].count("started") == 1
    assert recorder.of("finished")[0]["state"] is state
    assert sum(recorder.task_runs().values()) == 8


def test_a_run_that_raises_tells_its_observers(monkeypatch):
    @task
    def interrupted():
        raise KeyboardInterrupt

    with Flow("ctrl-c") as flow:
        interrupted()
    recorder = Recorder()
    with pytest.raises(KeyboardInterrupt):
        flow.run(observers=[recorder])
    (finished,) = recorder.of("finished")
    assert finished["state"] is None and isinstance(finished["error"], KeyboardInterrupt)


def test_a_flow_run_inside_a_task_is_not_heard_by_the_enclosing_runs_observers():
    with Flow("inner") as inner:
        inc.map([1, 2, 3])

    @task
    def run_inner():
        return inner.run().is_successful()

    with Flow("outer") as outer:
        ok = run_inner()
    outer_observer = Recorder()
    state = outer.run(observers=[outer_observer])
    assert state.result[ok].result is True
    assert [(kw["task"], kw["map_index"]) for kw in outer_observer.of("task")] == [(ok, None)]
    assert [kw["flow"] for kw in outer_observer.of("started")] == [outer]


def test_observers_written_for_fewer_keywords_keep_working():
    class OnlyTasks(RunObserver):
        def __init__(self) -> None:
            self.states: list[Any] = []

        def task_run_finished(self, *, task, state, map_index, run_id, **kwargs):
            self.states.append(state)

    only = OnlyTasks()
    flow, _ = map_reduce_flow()
    assert flow.run(observers=[only]).is_successful()
    assert len(only.states) == 8


# -- what observers cannot break ------------------------------------------------------------------
class Broken(RunObserver):
    def __repr__(self) -> str:
        return "<Broken observer>"

    def flow_run_started(self, **kwargs: Any) -> None:
        raise RuntimeError("cannot start")

    def task_run_finished(self, **kwargs: Any) -> None:
        raise RuntimeError("cannot count")

    def flow_run_finished(self, **kwargs: Any) -> None:
        raise RuntimeError("cannot finish")


@pytest.mark.parametrize("kind", ["local", "dask-threads"])
def test_an_observer_that_raises_is_logged_and_the_run_carries_on(kind, caplog):
    from headwater.executors import LocalDaskExecutor, LocalExecutor

    executor = LocalExecutor() if kind == "local" else LocalDaskExecutor("threads", num_workers=2)
    flow, out = map_reduce_flow()
    after = Recorder()
    with caplog.at_level(logging.WARNING, logger="headwater"):
        state = flow.run(executor=executor, observers=[Broken(), after])
    assert state.is_successful() and state.result[out].result == 12
    # the observer after the broken one heard everything
    assert sum(after.task_runs().values()) == 8 and len(after.of("finished")) == 1
    warnings = [r for r in caplog.records if r.name == "headwater.observers"]
    # one warning per event that raised, naming the observer
    assert sorted(r.getMessage().split(" raised in ")[1].split(" ")[0] for r in warnings) == [
        "flow_run_finished",
        "flow_run_started",
        "task_run_finished",
    ]
    assert all(r.levelno == logging.WARNING for r in warnings)
    assert all("<Broken observer>" in r.getMessage() for r in warnings)
    assert any("cannot count" in r.getMessage() for r in warnings)


# -- the observers argument -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "message"),
    [
        (5, r"observers must be a list of RunObserver objects, got int 5; wrap"),
        (Recorder(), r"observers must be a list of RunObserver objects, got Recorder"),
        ([Recorder(), 5], r"observers\[1\] must be a RunObserver, got int 5; subclass"),
        ([Recorder], r"observers\[0\] must be a RunObserver, .*pass an instance: Recorder\(\)"),
        ([print], r"observers\[0\] must be a RunObserver, got builtin_function_or_method"),
    ],
)
def test_bad_observers_are_refused_at_the_call(value, message):
    flow, _ = map_reduce_flow()
    with pytest.raises(TypeError, match=r"Flow 'map-reduce'.run\(\): " + message):
        flow.run(observers=value)
    with pytest.raises(TypeError, match=r"FlowRunner.run\(\): " + message):
        FlowRunner(flow).run(observers=value)


def test_bad_observers_are_refused_before_waiting_for_a_schedule():
    far = pendulum.now("UTC").add(days=1)
    schedule = Schedule([IntervalClock(timedelta(days=1), far)])
    with Flow("later", schedule=schedule) as flow:
        inc(1)
    with pytest.raises(TypeError, match="observers"):
        flow.run(observers=[object()])


def test_a_parameter_named_observers_stays_a_parameter():
    with Flow("param") as flow:
        out = inc(Parameter("observers"))
    assert flow.run(observers=1).result[out].result == 2


# -- the progress bar is an observer --------------------------------------------------------------
def test_the_progress_bar_is_a_run_observer():
    bar = ProgressBar("etl", enabled=False, final=False)
    flow, _ = map_reduce_flow()
    assert flow.run(observers=[bar]).is_successful()
    assert bar.text().startswith("etl: [####################] 8/8 task runs")
    bar.tasks_planned(count=2, pass_number=2)  # a second pass counts over
    assert bar.text().startswith("etl: [....................] 0/2 task runs")


# -- RunObservers, the engine's side ----------------------------------------------------------------
def test_run_observers_travel_to_other_processes_empty():
    observers = RunObservers([Recorder()])
    copy = pickle.loads(pickle.dumps(observers))
    assert not copy and copy.observers == ()
    assert observers.observers


def test_futures_are_heard_once_whether_they_complete_before_or_after_collection():
    recorder = Recorder()
    watchers = RunObservers([recorder])
    executor = type("Remote", (), {"pickles_calls": True, "reports_completion": True})()
    watchers.start_pass(executor)
    assert watchers.by_callback and not watchers.in_tasks
    t1, t2 = inc.copy(), inc.copy()
    early, late = Future(), Future()
    watchers.watch(early, t1, None)
    watchers.watch(late, t2, None)
    early.set_result(st.Success(result=1))
    s2 = st.Success(result=2)
    watchers.collected({t1: st.Success(result=1), t2: s2}, mapped=set())
    late.set_result(s2)  # after collection: already heard
    assert recorder.task_runs() == Counter({("inc", None): 2})
    assert [kw["state"].result for kw in recorder.of("task")] == [1, 2]


def test_a_failed_future_is_left_to_collection():
    recorder = Recorder()
    watchers = RunObservers([recorder])
    watchers.start_pass(type("Remote", (), {"pickles_calls": True, "reports_completion": True})())
    fut: Future[Any] = Future()
    t = inc.copy()
    watchers.watch(fut, t, 0)
    fut.set_exception(RuntimeError("worker lost"))
    assert recorder.of("task") == []
    lost = st.Failed("lost")
    watchers.collected({t: st.Mapped(map_states=[lost])}, mapped={t})
    assert [(kw["map_index"], kw["state"]) for kw in recorder.of("task")] == [(0, lost)]


def test_the_module_example_runs():
    failures, tests = doctest.testmod(observers_module)
    assert tests > 0 and failures == 0


STUCK_CALLBACK_SCRIPT = """
import threading
from concurrent.futures import ThreadPoolExecutor

from headwater import task
from headwater.engine.observers import RunObserver, RunObservers

class Live(RunObserver):
    def task_run_finished(self, **kwargs):
        pass

class ClusterLike:
    # like a distributed executor: pickles calls, and its futures report completion
    pickles_calls = True
    reports_completion = True

callbacks = ThreadPoolExecutor(1)  # like the client's callback threads: joined at exit

class StuckFuture:
    # a finished call whose state can no longer be fetched (its client has closed)
    def add_done_callback(self, fn):
        callbacks.submit(fn, self)
    def cancelled(self):
        return False
    def exception(self, timeout=None):
        threading.Event().wait()  # forever
    def result(self, timeout=None):
        threading.Event().wait()

@task
def t():
    pass

observers = RunObservers([Live()])
observers.run_started("run", {})
observers.start_pass(ClusterLike())
observers.watch(StuckFuture(), t)
observers.run_finished(None)
print("done", flush=True)
"""


def test_a_cluster_future_that_cannot_be_fetched_does_not_keep_the_process_alive() -> None:
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-c", STUCK_CALLBACK_SCRIPT], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "done"
