"""Modern states, headwater.runtime, get_run_logger, tags, run observers, server-only names."""

from __future__ import annotations

import logging

import pytest

import headwater
from headwater import flow, runtime, tags, task
from headwater.engine.observers import RunObserver
from headwater.engine.state import Success
from headwater.exceptions import ServerNotAvailableError
from headwater.logging import disable_run_logger, get_run_logger
from headwater.modern.errors import CrashedRun, FailedRun, MissingContextError
from headwater.states import (
    AwaitingRetry,
    Cached,
    Completed,
    Crashed,
    Failed,
    Pending,
    Retrying,
    State,
    StateType,
    TimedOut,
)


def test_factories_give_the_type_and_name_prefect3_uses():
    cases = {
        Completed: (StateType.COMPLETED, "Completed"),
        Cached: (StateType.COMPLETED, "Cached"),
        Failed: (StateType.FAILED, "Failed"),
        TimedOut: (StateType.FAILED, "TimedOut"),
        Crashed: (StateType.CRASHED, "Crashed"),
        Retrying: (StateType.RUNNING, "Retrying"),
        AwaitingRetry: (StateType.SCHEDULED, "AwaitingRetry"),
        Pending: (StateType.PENDING, "Pending"),
    }
    for factory, (kind, name) in cases.items():
        state = factory()
        assert (state.type, state.name) == (kind, name)
    assert {t.value for t in StateType} == {
        "COMPLETED",
        "FAILED",
        "CRASHED",
        "CANCELLED",
        "PENDING",
        "RUNNING",
        "SCHEDULED",
        "PAUSED",
        "CANCELLING",
    }


def test_result_is_a_method_and_raises_on_failure():
    assert Completed(data=[1]).result() == [1]
    error = ValueError("x")
    failed = Failed(message="m", data=error)
    with pytest.raises(ValueError):
        failed.result()
    assert failed.result(raise_on_failure=False) is error
    with pytest.raises(FailedRun, match="no data"):
        Failed(message="no data").result()
    with pytest.raises(CrashedRun):
        Crashed().result()


def test_questions():
    state = Completed()
    assert state.is_completed() and state.is_final() and not state.is_failed()
    assert Failed().is_failed() and Crashed().is_crashed() and Pending().is_pending()
    assert isinstance(state, State)


def test_prefect1_flows_keep_prefect1_states():
    with headwater.Flow("p1") as graph:
        one = task(lambda: 1)()
    state = graph.run()
    assert isinstance(state.result[one], Success)
    assert state.result[one].result == 1  # an attribute in Prefect 1


def test_runtime_outside_and_inside_runs():
    assert runtime.flow_run.id is None
    assert runtime.flow_run.parameters == {}
    assert runtime.task_run.run_count == 0

    @task
    def inside(x):
        return runtime.task_run.id, runtime.task_run.parameters, runtime.flow_run.name

    @flow(flow_run_name="named")
    def main(x: int):
        with tags("a", "b"):
            ids = inside(x)
        return ids, runtime.flow_run.tags, runtime.flow_run.run_count, runtime.flow_run.flow_name

    (task_id, task_params, flow_name), flow_tags, count, name = main(5)
    assert len(task_id) == 36 and task_params == {"x": 5} and flow_name == "named"
    assert flow_tags == [] and count == 1 and name == "main"


def test_task_runs_inside_tags_blocks_carry_the_tags():
    @task
    def tagged():
        return runtime.task_run.tags

    @flow
    def main():
        with tags("a", "b"):
            return tagged()

    assert main() == ["a", "b"]


def test_tags_around_a_flow_call_tag_the_flow_run():
    @flow
    def tagged():
        return runtime.flow_run.tags

    with tags("nightly"):
        assert tagged() == ["nightly"]


def test_get_run_logger_in_runs_and_outside(caplog):
    @task
    def logs():
        get_run_logger().info("task says hi")

    @flow(flow_run_name="loud")
    def main():
        get_run_logger().warning("flow says hi")
        logs()

    with caplog.at_level(logging.INFO, logger="headwater"):
        main()
    records = {r.getMessage(): r for r in caplog.records}
    assert "Flow run 'loud' - flow says hi" in records
    assert records["Task run 'logs' - task says hi"].flow_run_name == "loud"
    with pytest.raises(MissingContextError, match="no active flow or task run"):
        get_run_logger()
    with disable_run_logger():
        get_run_logger().info("dropped")


class Recorder(RunObserver):
    def __init__(self):
        self.events = []

    def flow_run_started(self, *, flow, run_id, parameters, parent_run_id=None, **kw):
        self.events.append(("started", flow.name, parameters, parent_run_id is not None))

    def task_run_finished(self, *, task, state, map_index, run_id, **kw):
        self.events.append(("task", task.name, state.type.value, map_index))

    def flow_run_finished(self, *, flow, state, run_id, error, **kw):
        self.events.append(("finished", flow.name, state.type.value, error))


def test_runs_notify_run_observers():
    recorder = Recorder()

    @task
    def one():
        return 1

    @flow(observers=[recorder])
    def child():
        return one()

    @flow(observers=[recorder])
    def parent(x: int):
        one()
        one.submit().wait()
        return child()

    parent(1)
    assert recorder.events == [
        ("started", "parent", {"x": 1}, False),
        ("task", "one", "COMPLETED", None),
        ("task", "one", "COMPLETED", None),
        ("started", "child", {}, True),
        ("task", "one", "COMPLETED", None),
        ("finished", "child", "COMPLETED", None),
        ("finished", "parent", "COMPLETED", None),
    ]


def test_a_crash_is_reported_with_its_error():
    recorder = Recorder()

    @flow(observers=[recorder])
    def interrupted():
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        interrupted()
    kind, name, state, error = recorder.events[-1]
    assert (kind, state) == ("finished", "CRASHED")
    assert isinstance(error, KeyboardInterrupt)


def test_server_only_names_raise_with_the_local_alternative():
    with pytest.raises(ServerNotAvailableError, match="serve"):
        headwater.deploy()
    with pytest.raises(ServerNotAvailableError, match="history"):
        headwater.get_client()

    @flow
    def local():
        pass

    with pytest.raises(ServerNotAvailableError, match="serve"):
        local.deploy(name="x", work_pool_name="pool")


def test_runs_are_told_to_the_default_observers_too():
    from headwater.engine import observers
    from headwater.modern.notify import notifier_for

    default = getattr(observers, "default_observers", None)
    if default is None:
        pytest.skip("this build has no default observers")
    extra = Recorder()

    @flow
    def noted():
        pass

    notifier = notifier_for(noted, "run-id", [extra])
    assert notifier is not None
    kinds = [type(o) for o in notifier.observers]
    assert kinds[0] is Recorder
    assert kinds[1:] == [type(o) for o in default()]
