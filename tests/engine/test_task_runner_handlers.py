"""``TaskRunner``: the state handlers see every change a step makes, once, and only that.

The steps are pure ``state -> state``; the pipeline applies the handlers (``change_state``) on
each change, and a public step called on its own applies them to its own change.
"""

from __future__ import annotations

import datetime
from typing import Any

import pendulum
import pytest

from headwater import Task, task, triggers
from headwater.core.edge import Edge
from headwater.engine import state as st
from headwater.engine.scheduling.release import strip_state
from headwater.engine.signals import ENDRUN
from headwater.engine.task_runner import TaskRunner

HOUR = datetime.timedelta(hours=1)


class Add(Task):
    def run(self, x: int, y: int = 1) -> int:
        return x + y


def edge(key: str | None = "x", up: Task | None = None) -> Edge:
    return Edge(up or Task(name="up"), Task(name="down"), key=key)


class Recorder:
    """A task state handler that records each change it sees as ``(old, new)`` class names."""

    def __init__(self, answer: Any = None) -> None:
        self.seen: list[tuple[str, str]] = []
        self.answer = answer

    def __call__(self, t: Any, old: st.State, new: st.State) -> Any:
        self.seen.append((type(old).__name__, type(new).__name__))
        return self.answer(new) if callable(self.answer) else None


class TestEveryChangeOnce:
    def test_a_run(self) -> None:
        rec = Recorder()
        TaskRunner(Add(state_handlers=[rec])).run(upstream_states={edge(): st.Success(result=1)})
        assert rec.seen == [("Pending", "Running"), ("Running", "Success")]

    def test_an_invalid_cached_state_given(self) -> None:
        rec = Recorder()
        stale = st.Cached(result=9, cached_result_expiration=pendulum.now("UTC").add(hours=-1))
        out = TaskRunner(Add(state_handlers=[rec], cache_for=HOUR)).run(
            state=stale, upstream_states={edge(): st.Success(result=1)}, context={"caches": {}}
        )
        assert out.result == 2
        assert rec.seen == [
            ("Cached", "Pending"),
            ("Pending", "Running"),
            ("Running", "Success"),
            ("Success", "Cached"),
        ]

    def test_a_cached_state_reused_is_one_change(self) -> None:
        rec = Recorder()
        fresh = st.Cached(result=9, cached_result_expiration=pendulum.now("UTC").add(hours=1))
        stale = st.Cached(result=8, cached_result_expiration=pendulum.now("UTC").add(hours=-1))
        t = Add(name="add", state_handlers=[rec], cache_for=HOUR)
        out = TaskRunner(t).run(
            state=stale,
            upstream_states={edge(): st.Success(result=1)},
            context={"caches": {"add": [fresh]}},
        )
        assert out is fresh
        assert rec.seen == [("Cached", "Cached")]  # the invalid state, then the one reused

    def test_a_failure_then_a_retry(self) -> None:
        rec = Recorder()
        t = Add(state_handlers=[rec], max_retries=1, retry_delay=datetime.timedelta(0))
        out = TaskRunner(t).run()  # no x: the call fails
        assert type(out) is st.Retrying
        assert rec.seen == [("Pending", "Running"), ("Running", "Failed"), ("Failed", "Retrying")]

    def test_a_skip_ends_the_run_through_the_handlers(self) -> None:
        rec = Recorder(answer=lambda new: st.Failed("no skips") if new.is_skipped() else None)
        out = TaskRunner(Add(state_handlers=[rec])).run(upstream_states={edge(): st.Skipped()})
        assert type(out) is st.Failed and out.message == "no skips"
        assert rec.seen == [("Pending", "Skipped")]

    def test_a_paused_task_whose_time_is_up_resumes(self) -> None:
        rec = Recorder()
        paused = st.Paused(start_time=pendulum.now("UTC").add(seconds=-1))
        out = TaskRunner(Add(state_handlers=[rec])).run(
            state=paused, upstream_states={edge(): st.Success(result=1)}
        )
        assert out.is_successful()
        assert rec.seen[0] == ("Paused", "Resume")

    def test_a_released_upstream_result_fails_through_the_handlers(self) -> None:
        failures: list = []
        t = Add(on_failure=lambda task, state: failures.append(state))
        released = strip_state(st.Success(result=3))
        out = TaskRunner(t).run(upstream_states={edge(): released})
        assert type(out) is st.Failed and "released" in out.message
        assert failures == [out]

    def test_a_faulty_handler_is_not_called_again_on_its_own_fault(self) -> None:
        calls: list = []

        def broken(t: Any, old: st.State, new: st.State) -> None:
            calls.append(type(new).__name__)
            raise RuntimeError("handler broke")

        out = TaskRunner(Task(state_handlers=[broken])).run()
        assert type(out) is st.Failed and "handler broke" in out.message
        assert calls == ["Running"]

    def test_a_task_without_handlers_returns_a_state_of_its_own(self) -> None:
        # a run that ends before it starts returns the state it began in: never a shared one
        ups = {edge(): st.Running()}
        first = TaskRunner(Add()).run(upstream_states=ups)
        second = TaskRunner(Add()).run(upstream_states=ups)
        assert type(first) is st.Pending and first is not second


class TestPublicStepsOnTheirOwn:
    def test_a_step_applies_the_handlers_to_its_change(self) -> None:
        rec = Recorder(answer=lambda new: st.Failed("handled"))
        with pytest.raises(ENDRUN) as info:
            TaskRunner(Add(state_handlers=[rec])).check_upstream_skipped(
                st.Pending(), {edge(): st.Skipped()}
            )
        assert info.value.state.message == "handled"
        assert rec.seen == [("Pending", "Skipped")]

    def test_a_step_that_changes_nothing_calls_no_handler(self) -> None:
        rec = Recorder()
        runner = TaskRunner(Add(state_handlers=[rec]))
        s = st.Pending()
        assert runner.check_task_trigger(s, {edge(): st.Success()}) is s
        with pytest.raises(ENDRUN) as info:
            runner.check_task_is_ready(st.Success())
        assert type(info.value.state) is st.Success
        assert rec.seen == []

    def test_initialize_run_applies_them_to_a_resume(self) -> None:
        rec = Recorder()
        paused = st.Paused(start_time=pendulum.now("UTC").add(seconds=-1))
        out = TaskRunner(Add(state_handlers=[rec])).initialize_run(paused, {})
        assert type(out.state) is st.Resume and rec.seen == [("Paused", "Resume")]


class TestChangeState:
    def test_without_handlers_the_new_state_is_returned(self) -> None:
        new = st.Success()
        assert TaskRunner(Add()).change_state(st.Running(), new) is new

    def test_a_handler_may_replace_the_new_state(self) -> None:
        runner = TaskRunner(Add(state_handlers=[lambda t, old, new: st.Skipped("instead")]))
        out = runner.change_state(st.Pending(), st.Mapped(n_map_states=2))
        assert type(out) is st.Skipped and out.message == "instead"

    def test_a_faulty_handler_raises_endrun_with_a_failure(self) -> None:
        def broken(t: Any, old: st.State, new: st.State) -> None:
            raise RuntimeError("no")

        runner = TaskRunner(Add(state_handlers=[broken]))
        with pytest.raises(ENDRUN) as info:
            runner.change_state(st.Pending(), st.Running())
        assert type(info.value.state) is st.Failed and "broken" in info.value.state.message

    def test_the_old_name_is_the_same_method(self) -> None:
        assert TaskRunner._change is TaskRunner.change_state


class TestTriggers:
    def test_a_custom_trigger_is_called_when_every_upstream_succeeded(self) -> None:
        seen: list = []

        def picky(upstream_states: dict) -> bool:
            seen.append(len(upstream_states))
            return False

        out = TaskRunner(Add(trigger=picky)).run(upstream_states={edge(): st.Success(result=1)})
        assert type(out) is st.TriggerFailed and seen == [1]

    @pytest.mark.parametrize("trigger", [triggers.all_successful, triggers.all_finished])
    def test_the_default_triggers_still_see_other_states(self, trigger: Any) -> None:
        ups = {edge(): st.Success(result=1), edge(key=None): st.Failed()}
        out = TaskRunner(Add(trigger=trigger)).run(upstream_states=ups)
        assert out.is_successful() is (trigger is triggers.all_finished)

    def test_manual_only_pauses_a_task_whose_upstream_succeeded(self) -> None:
        @task(trigger=triggers.manual_only)
        def approve(x: int) -> int:
            return x

        out = TaskRunner(approve).run(upstream_states={edge(): st.Success(result=1)})
        assert type(out) is st.Paused
