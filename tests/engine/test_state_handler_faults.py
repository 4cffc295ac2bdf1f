"""State handlers that raise, signal or return junk end in a clear state.

A signal raised by a handler becomes that signal's state (as in Prefect Core 1.x). A handler
that returns something other than a ``State`` or ``None``, or raises an ordinary exception,
gives a ``Failed`` state naming the handler and what it did; the other tasks keep their states,
and a flow's state keeps every task state in ``state.result``. A raising ``on_failure`` keeps
the original failure visible.
"""

from __future__ import annotations

from typing import Any

import pytest

from headwater import Flow, Task, task
from headwater.engine import signals
from headwater.engine import state as st
from headwater.engine.task_runner import TaskRunner
from headwater.utilities.debug import raise_on_exception

ran: list[str] = []


# -- handlers (module level: process and distributed workers unpickle them) ---------------------
def return_five(obj: Any, old: st.State, new: st.State) -> Any:
    return 5


def raise_on_finish(obj: Any, old: st.State, new: st.State) -> None:
    if new.is_finished():
        raise ValueError("handler broke")


def skip_instead_of_running(obj: Any, old: st.State, new: st.State) -> None:
    if new.is_running():
        raise signals.SKIP("skipped by a handler")


def fail_on_success(obj: Any, old: st.State, new: st.State) -> None:
    if new.is_successful():
        raise signals.FAIL("rejected by a handler")


def broken_on_failure(obj: Any, state: st.State) -> None:
    raise ValueError("on_failure broke")


# -- tasks --------------------------------------------------------------------------------------
@task
def fine() -> int:
    return 1


@task
def after(x: Any) -> Any:
    return x


@task
def error() -> None:
    raise RuntimeError("the original error")


@task(state_handlers=[return_five])
def returns_junk() -> int:
    return 2


@task(state_handlers=[raise_on_finish])
def handler_raises() -> int:
    return 3


@task(on_failure=broken_on_failure)
def fails_and_on_failure_raises() -> None:
    raise RuntimeError("the original error")


def flow_of(t: Task) -> tuple[Flow, Task, Task, Task]:
    """``t``, a task beside it and a task after it."""
    with Flow(f"with-{t.name}") as flow:
        out = t()
        other = fine()
        down = after(out)
    return flow, out, other, down


class TestTaskHandlers:
    def test_returning_junk_fails_the_task_naming_the_handler(self, executor: Any) -> None:
        flow, bad, other, down = flow_of(returns_junk)
        state = flow.run(executor=executor)
        assert type(state) is st.Failed
        s = state.result[bad]
        assert type(s) is st.Failed
        assert s.message.startswith("State handler 'return_five' returned 5, not a State")
        assert isinstance(s.result, TypeError)
        assert state.result[other].result == 1
        assert type(state.result[down]) is st.TriggerFailed

    def test_raising_fails_the_task_naming_the_handler(self, executor: Any) -> None:
        flow, bad, other, down = flow_of(handler_raises)
        state = flow.run(executor=executor)
        s = state.result[bad]
        assert type(s) is st.Failed
        assert s.message == "State handler 'raise_on_finish' raised ValueError: handler broke"
        assert isinstance(s.result, ValueError)
        assert s.context["state_handler_error"] is s.result
        assert state.result[other].result == 1
        assert type(state.result[down]) is st.TriggerFailed

    def test_a_signal_becomes_its_state_and_the_task_does_not_run(self) -> None:
        @task(state_handlers=[skip_instead_of_running])
        def record() -> None:
            ran.append("record")

        ran.clear()
        flow, t, other, down = flow_of(record)
        state = flow.run()
        assert type(state.result[t]) is st.Skipped
        assert state.result[t].message == "skipped by a handler"
        assert ran == []
        assert type(state.result[down]) is st.Skipped
        assert state.is_successful()

    def test_a_signal_on_success_becomes_its_state(self) -> None:
        t = Task(state_handlers=[fail_on_success])
        out = TaskRunner(t).run()
        assert type(out) is st.Failed and out.message == "rejected by a handler"

    def test_the_handlers_after_a_signal_are_not_called(self) -> None:
        later: list[Any] = []
        t = Task(state_handlers=[fail_on_success, lambda *a: later.append(a[2])])
        TaskRunner(t).run()
        assert [type(s) for s in later] == [st.Running]

    def test_a_raising_on_failure_keeps_the_original_error(self) -> None:
        flow, bad, other, _ = flow_of(fails_and_on_failure_raises)
        state = flow.run()
        s = state.result[bad]
        assert type(s) is st.Failed
        assert "RuntimeError('the original error')" in s.message
        assert "on_failure handler 'broken_on_failure' raised ValueError: on_failure broke" in (
            s.message
        )
        assert isinstance(s.result, RuntimeError)
        assert isinstance(s.context["state_handler_error"], ValueError)
        assert state.result[other].result == 1

    def test_a_raising_handler_keeps_a_failure_s_class(self) -> None:
        class Spin(Task):
            def run(self) -> None:
                while True:
                    pass

        out = TaskRunner(Spin(timeout=0.05, state_handlers=[raise_on_finish])).run()
        assert type(out) is st.TimedOut
        assert "then state handler 'raise_on_finish' raised ValueError" in out.message

    def test_runner_level_handlers(self) -> None:
        out = TaskRunner(Task(), state_handlers=[return_five]).run()
        assert type(out) is st.Failed
        assert out.message.startswith("State handler 'return_five' returned 5")

    def test_a_callable_object_is_named_by_its_class(self) -> None:
        class Notifier:
            def __call__(self, obj: Any, old: st.State, new: st.State) -> Any:
                return "sent"

        out = TaskRunner(Task(state_handlers=[Notifier()])).run()
        assert out.message.startswith(
            "State handler 'TestTaskHandlers.test_a_callable_object_is_named_by_its_class."
            "<locals>.Notifier' returned 'sent', not a State"
        )

    def test_an_overridden_target_handler_call_that_raises(self) -> None:
        class OwnRunner(TaskRunner):
            def call_runner_target_handlers(self, old: st.State, new: st.State) -> st.State:
                raise ValueError("own handlers broke")

        out = OwnRunner(Task(state_handlers=[raise_on_finish])).run()
        assert type(out) is st.Failed
        assert "call_runner_target_handlers' raised ValueError: own handlers broke" in out.message

    def test_keyboard_interrupt_propagates(self) -> None:
        def interrupt(obj: Any, old: st.State, new: st.State) -> None:
            raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            Flow("ki", tasks=[Task(state_handlers=[interrupt])]).run()

    def test_raise_on_exception_propagates_handler_errors(self) -> None:
        with raise_on_exception():
            with pytest.raises(ValueError, match="handler broke"):
                TaskRunner(Task(state_handlers=[raise_on_finish])).run()
            with pytest.raises(TypeError, match="returned 5, not a State"):
                TaskRunner(Task(state_handlers=[return_five])).run()


def two_task_flow(**flow_kwargs: Any) -> tuple[Flow, Task, Task]:
    with Flow("f", **flow_kwargs) as flow:
        ok = fine()
        bad = error()
    return flow, ok, bad


class TestFlowHandlers:
    def assert_keeps_task_states(self, state: st.State, ok: Task, bad: Task) -> None:
        assert set(state.result) == {ok, bad}
        assert state.result[ok].result == 1
        assert isinstance(state.result[bad].result, RuntimeError)

    def test_returning_junk(self) -> None:
        def junk_at_the_end(flow: Flow, old: st.State, new: st.State) -> Any:
            return 5 if new.is_finished() else None

        flow, ok, bad = two_task_flow(state_handlers=[junk_at_the_end])
        state = flow.run()
        assert type(state) is st.Failed
        assert "state handler 'TestFlowHandlers.test_returning_junk.<locals>.junk_at_the_end' " in (
            state.message
        )
        assert "returned 5, not a State" in state.message
        self.assert_keeps_task_states(state, ok, bad)

    def test_returning_junk_from_a_successful_run(self) -> None:
        def junk_at_the_end(flow: Flow, old: st.State, new: st.State) -> Any:
            return [] if new.is_finished() else None

        with Flow("ok", state_handlers=[junk_at_the_end]) as flow:
            ok = fine()
        state = flow.run()
        assert type(state) is st.Failed
        assert state.message.startswith("State handler ")
        assert "returned [], not a State" in state.message
        assert state.result[ok].result == 1

    def test_raising(self) -> None:
        flow, ok, bad = two_task_flow(state_handlers=[raise_on_finish])
        state = flow.run()
        assert type(state) is st.Failed
        assert state.message == (
            "Some reference tasks failed. "
            "(then state handler 'raise_on_finish' raised ValueError: handler broke)"
        )
        assert isinstance(state.context["state_handler_error"], ValueError)
        self.assert_keeps_task_states(state, ok, bad)

    def test_raising_when_the_run_starts(self) -> None:
        def refuse(flow: Flow, old: st.State, new: st.State) -> None:
            raise ValueError("not now")

        ran.clear()

        @task
        def record() -> None:
            ran.append("record")

        state = Flow("f", tasks=[record], state_handlers=[refuse]).run()
        assert type(state) is st.Failed
        assert "raised ValueError: not now" in state.message
        assert ran == []

    def test_a_signal_becomes_its_state_and_keeps_the_task_states(self) -> None:
        def fail_at_the_end(flow: Flow, old: st.State, new: st.State) -> None:
            if new.is_finished():
                raise signals.FAIL("the flow handler says no")

        flow, ok, bad = two_task_flow(state_handlers=[fail_at_the_end])
        state = flow.run()
        assert type(state) is st.Failed and state.message == "the flow handler says no"
        self.assert_keeps_task_states(state, ok, bad)

    def test_a_signal_with_a_result_keeps_it(self) -> None:
        def succeed(flow: Flow, old: st.State, new: st.State) -> None:
            if new.is_finished():
                raise signals.SUCCESS("fine after all", result="mine")

        flow, _, _ = two_task_flow(state_handlers=[succeed])
        state = flow.run()
        assert type(state) is st.Success and state.result == "mine"

    def test_a_signal_when_the_run_starts_skips_the_run(self) -> None:
        ran.clear()

        @task
        def record() -> None:
            ran.append("record")

        state = Flow("f", tasks=[record], state_handlers=[skip_instead_of_running]).run()
        assert type(state) is st.Skipped and state.message == "skipped by a handler"
        assert ran == []

    def test_a_raising_on_failure_keeps_the_original_failure(self) -> None:
        flow, ok, bad = two_task_flow(on_failure=broken_on_failure)
        state = flow.run()
        assert type(state) is st.Failed
        assert state.message == (
            "Some reference tasks failed. "
            "(then on_failure handler 'broken_on_failure' raised ValueError: on_failure broke)"
        )
        self.assert_keeps_task_states(state, ok, bad)

    def test_terminal_state_handler_returning_junk(self) -> None:
        failures: list[st.State] = []

        def terminal(flow: Flow, state: st.State, reference_states: Any) -> Any:
            return "done"

        flow, ok, bad = two_task_flow(
            terminal_state_handler=terminal, on_failure=lambda f, s: failures.append(s)
        )
        state = flow.run()
        assert type(state) is st.Failed
        assert "terminal state handler " in state.message
        assert "returned 'done', not a State" in state.message
        self.assert_keeps_task_states(state, ok, bad)
        assert failures == [state]  # the flow's own handlers still saw the failure

    def test_terminal_state_handler_raising(self) -> None:
        def terminal(flow: Flow, state: st.State, reference_states: Any) -> Any:
            raise KeyError("missing")

        with Flow("ok", terminal_state_handler=terminal) as flow:
            ok = fine()
        state = flow.run()
        assert type(state) is st.Failed
        assert state.message.startswith("Terminal state handler ")
        assert "raised KeyError: 'missing'" in state.message
        assert isinstance(state.context["state_handler_error"], KeyError)
        assert state.result[ok].result == 1

    def test_terminal_state_handler_signal(self) -> None:
        def terminal(flow: Flow, state: st.State, reference_states: Any) -> Any:
            raise signals.SUCCESS("forgiven")

        flow, ok, bad = two_task_flow(terminal_state_handler=terminal)
        state = flow.run()
        assert type(state) is st.Success and state.message == "forgiven"
        self.assert_keeps_task_states(state, ok, bad)
