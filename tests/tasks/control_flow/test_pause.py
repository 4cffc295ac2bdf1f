"""Pausing: ``pause_task()``, the ``manual_only`` trigger and resuming a paused run."""

from __future__ import annotations

import builtins
import datetime
import io
import sys

import pendulum
import pytest

import headwater
from headwater import Flow, task, triggers
from headwater.engine import state as st
from headwater.engine.flow_runner import FlowRunner
from headwater.engine.task_runner import TaskRunner
from headwater.utilities.tasks import pause_task


@task
def one():
    return 1


@task
def approve(x):
    pause_task("waiting for approval")
    return x + 1


@task
def double(x):
    return 2 * x


@task(trigger=triggers.manual_only)
def deploy(x):
    return f"deployed {x}"


@task
def pause_odd(x):
    if x % 2:
        pause_task()
    return x * 10


class _NoStdin(io.StringIO):
    def read(self, *args):
        raise AssertionError("flow.run read stdin")

    readline = read


@pytest.fixture
def no_stdin(monkeypatch):
    """Fail the test if anything reads standard input."""
    monkeypatch.setattr(sys, "stdin", _NoStdin())

    def no_input(*args):
        raise AssertionError("flow.run called input()")

    monkeypatch.setattr(builtins, "input", no_input)


def build_approval_flow():
    with Flow("approval") as flow:
        a = approve(one())
        b = double(a)
    return flow, a, b


def test_paused_task_leaves_the_flow_running_without_reading_stdin(executor, no_stdin):
    flow, a, b = build_approval_flow()
    state = flow.run(executor=executor)
    assert state.is_running()
    assert isinstance(state.result[a], st.Paused)
    assert state.result[a].message == "waiting for approval"
    assert type(state.result[b]) is st.Pending


def test_resume_through_the_run_context(executor, no_stdin):
    flow, a, b = build_approval_flow()
    paused = flow.run(executor=executor)
    resumed = flow.run(task_states=paused.result, context={"resume": True}, executor=executor)
    assert resumed.is_successful()
    assert resumed.result[a].result == 2
    assert resumed.result[b].result == 4


def test_rerunning_without_resume_stays_paused(executor):
    flow, a, _ = build_approval_flow()
    paused = flow.run(executor=executor)
    again = flow.run(task_states=paused.result, executor=executor)
    assert again.is_running()
    assert isinstance(again.result[a], st.Paused)


def test_resume_state_through_the_flow_runner(executor):
    flow, a, b = build_approval_flow()
    paused = FlowRunner(flow).run(return_tasks=flow.tasks, executor=executor)
    task_states = {**paused.result, a: st.Resume()}
    resumed = FlowRunner(flow).run(
        task_states=task_states, return_tasks=flow.tasks, executor=executor
    )
    assert resumed.is_successful()
    assert resumed.result[b].result == 4


def test_resume_through_the_flow_runner_with_the_resume_context(executor, no_stdin):
    flow, a, b = build_approval_flow()
    paused = FlowRunner(flow).run(return_tasks=flow.tasks, executor=executor)
    assert paused.is_running()
    assert isinstance(paused.result[a], st.Paused)
    resumed = FlowRunner(flow).run(
        task_states=paused.result,
        context={"resume": True},
        return_tasks=flow.tasks,
        executor=executor,
    )
    assert resumed.is_successful()
    assert resumed.result[a].result == 2
    assert resumed.result[b].result == 4


def test_manual_only_trigger_pauses_until_resumed(executor, no_stdin):
    with Flow("manual") as flow:
        d = deploy(one())
    paused = flow.run(executor=executor)
    assert paused.is_running()
    assert isinstance(paused.result[d], st.Paused)
    assert "manual_only" in paused.result[d].message
    resumed = flow.run(task_states={**paused.result, d: st.Resume()}, executor=executor)
    assert resumed.is_successful()
    assert resumed.result[d].result == "deployed 1"


def test_paused_mapped_children_resume(executor):
    with Flow("mapped pause") as flow:
        values = pause_odd.map([1, 2, 3])
    paused = flow.run(executor=executor)
    children = paused.result[values].map_states
    assert [isinstance(c, st.Paused) for c in children] == [True, False, True]
    assert paused.is_running()
    resumed = flow.run(task_states=paused.result, context={"resume": True}, executor=executor)
    assert [c.result for c in resumed.result[values].map_states] == [10, 20, 30]
    assert resumed.is_successful()


def test_a_pause_whose_duration_is_over_resumes_by_itself(executor):
    flow, a, b = build_approval_flow()
    paused = flow.run(executor=executor)
    over = st.Paused("paused for a while", start_time=pendulum.now("UTC").subtract(seconds=1))
    resumed = flow.run(task_states={**paused.result, a: over}, executor=executor)
    assert resumed.is_successful()
    assert resumed.result[b].result == 4


def test_pause_with_a_duration_records_when_it_ends(executor):
    @task
    def wait_an_hour():
        pause_task(duration=datetime.timedelta(hours=1))

    with Flow("duration") as flow:
        w = wait_an_hour()
    before = pendulum.now("UTC")
    state = flow.run(executor=executor)
    paused = state.result[w]
    assert isinstance(paused, st.Paused)
    assert before.add(minutes=59) < paused.start_time < pendulum.now("UTC").add(hours=1, minutes=1)


def test_task_runner_sets_context_resume_for_a_resume_state():
    @task
    def report():
        return headwater.context.get("resume")

    assert TaskRunner(report).run(state=st.Resume()).result is True
    assert not TaskRunner(report).run().result
    assert headwater.context.get("resume") is None


def test_pause_task_does_nothing_when_resumed():
    with headwater.context(resume=True):
        assert approve.run(1) == 2


def test_pause_task_outside_a_run_raises_pause():
    from headwater.engine import signals

    with pytest.raises(signals.PAUSE, match="waiting for approval"):
        approve.run(1)
