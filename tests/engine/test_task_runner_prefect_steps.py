"""``TaskRunner`` steps called as Prefect Core 1.x calls them, and the run-level behaviour they give.

The steps that take ``inputs`` take a ``Result`` per argument and read the run context from
``headwater.context``; ``initialize_run`` returns ``(state, context)``; a parent of a mapped task
run with ``is_mapped_parent=True`` ends ``Mapped``; a ``cache_for`` task ends ``Cached``.
"""

from __future__ import annotations

import datetime
from typing import Any

import pendulum
import pytest

import headwater
from headwater import Flow, Task, task
from headwater.core.edge import Edge
from headwater.engine import signals
from headwater.engine import state as st
from headwater.engine.result import Result
from headwater.engine.runner import Runner, StateHandlerReturnError, call_state_handlers
from headwater.engine.signals import ENDRUN
from headwater.engine.task_runner import TaskRunner, TaskRunnerInitializeResult
from headwater.utilities.debug import raise_on_exception

HOUR = datetime.timedelta(hours=1)


class Add(Task):
    def run(self, x, y=1):
        return x + y


def edge(key: str | None = None, mapped: bool = False) -> Edge:
    return Edge(Task(name="up"), Task(name="down"), key=key, mapped=mapped)


class ListResult(Result):
    """Keeps every written value in a list; the location is the index."""

    def __init__(self, data: list | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.data = data if data is not None else []

    def write(self, value_: Any, /, **fmt: Any) -> Result:
        self.data.append(value_)
        return ListResult(self.data, value=value_, location=len(self.data) - 1)

    def read(self, location: Any) -> Result:
        return ListResult(self.data, value=self.data[location], location=location)


class TestStepsWithResultInputs:
    def test_get_task_run_state_uses_the_values_of_the_results(self) -> None:
        out = TaskRunner(Add()).get_task_run_state(st.Running(), {"x": Result(1), "y": Result(2)})
        assert out.is_successful() and out.result == 3

    def test_steps_read_the_run_context(self) -> None:
        runner = TaskRunner(Task(max_retries=1, retry_delay=datetime.timedelta(0)))
        assert runner.check_for_retry(st.Failed(), {}).is_retrying()
        with headwater.context(task_run_count=2):
            failed = st.Failed()
            assert runner.check_for_retry(failed, {}) is failed

    def test_get_task_inputs_gives_results(self) -> None:
        up = st.Success(result=1)
        inputs = TaskRunner(Add()).get_task_inputs(st.Pending(), {edge("x"): up})
        assert inputs == {"x": Result(1)}
        assert inputs["x"] is up._result

    def test_a_paused_task_is_returned_as_paused(self) -> None:
        @task
        def wait() -> None:
            raise signals.PAUSE("wait for me")

        assert type(TaskRunner(wait).get_task_run_state(st.Running(), {})) is st.Paused


class TestInitializeRun:
    def test_returns_state_and_context(self) -> None:
        ctx: dict = {}
        out = TaskRunner(Task(tags=["a"])).initialize_run(st.Retrying(run_count=2), ctx)
        assert isinstance(out, TaskRunnerInitializeResult)
        assert out.context is ctx
        assert ctx["task_run_count"] == 3 and ctx["task_tags"] == {"a"}

    def test_runner_unwraps_meta_states(self) -> None:
        inner = st.Scheduled()
        state, ctx = Runner().initialize_run(st.Queued(state=st.Submitted(state=inner)), {})
        assert state is inner
        assert isinstance(Runner().initialize_run(None, {})[0], st.Pending)


class TestCaching:
    def test_a_cache_for_task_ends_cached_and_is_reused(self) -> None:
        calls: list = []

        @task(cache_for=HOUR)
        def slow(x):
            calls.append(x)
            return x * 2

        with Flow("cache") as flow:
            out = slow(4)
        caches: dict = {}
        first = flow.run(context={"caches": caches})
        second = flow.run(context={"caches": caches})
        assert type(first.result[out]) is st.Cached and first.result[out].result == 8
        assert type(second.result[out]) is st.Cached and second.result[out].result == 8
        assert calls == [4]

    def test_a_given_cached_state_is_validated(self) -> None:
        runner = TaskRunner(Add(cache_for=HOUR))
        ups = {edge("x"): st.Success(result=1)}
        fresh = st.Cached(result=99, cached_result_expiration=pendulum.now("UTC").add(hours=1))
        assert runner.run(state=fresh, upstream_states=ups) is fresh
        stale = st.Cached(result=99, cached_result_expiration=pendulum.now("UTC").add(hours=-1))
        out = runner.run(state=stale, upstream_states=ups)
        assert out.result == 2


class TestMappedCaching:
    def make(self, validator: Any) -> tuple[Flow, Any, list]:
        calls: list = []

        @task(cache_for=HOUR, cache_validator=validator)
        def double(x):
            calls.append(x)
            return 2 * x

        with Flow("mapped cache") as flow:
            out = double.map(headwater.Parameter("xs"))
        return flow, out, calls

    def test_children_with_equal_inputs_share_results(self) -> None:
        from headwater.engine.cache_validators import all_inputs

        flow, out, calls = self.make(all_inputs)
        caches: dict = {}
        flow.run(parameters={"xs": [1]}, context={"caches": caches})
        state = flow.run(parameters={"xs": [2, 1]}, context={"caches": caches})
        assert state.result[out].result == [4, 2]
        assert calls == [1, 2]  # the second child reused the first run's child

    def test_with_duration_only_a_child_reuses_only_its_own_results(self) -> None:
        flow, out, calls = self.make(None)
        caches: dict = {}
        flow.run(parameters={"xs": [1]}, context={"caches": caches})
        state = flow.run(parameters={"xs": [5, 6]}, context={"caches": caches})
        assert state.result[out].result == [2, 12]  # child 0 reused its own result
        assert calls == [1, 6]


class TestMappedParent:
    def test_is_mapped_parent_only_checks_and_counts(self) -> None:
        seen: list = []
        runner = TaskRunner(Add(), state_handlers=[lambda r, old, new: seen.append(new)])
        out = runner.run(
            upstream_states={edge("x", mapped=True): st.Success(result=[1, 2, 3])},
            is_mapped_parent=True,
        )
        assert type(out) is st.Mapped and out.n_map_states == 3
        assert [type(s) for s in seen] == [st.Mapped]

    def test_ready_to_map_fails_without_a_successful_mapped_upstream(self) -> None:
        with pytest.raises(ENDRUN) as info:
            TaskRunner(Add()).check_task_ready_to_map(
                st.Pending(), {edge("x", mapped=True): st.Failed()}
            )
        assert info.value.state.is_failed()


class TestLooping:
    def test_every_loop_is_checkpointed(self) -> None:
        result = ListResult()

        @task(result=result)
        def count() -> int:
            n = headwater.context.get("task_loop_result", 0) + 1
            if n < 3:
                raise signals.LOOP(result=n)
            return n

        state = TaskRunner(count).run(context={"checkpointing": True})
        assert state.result == 3
        assert result.data == [1, 2, 3]

    def test_a_retry_continues_the_loop_that_failed(self) -> None:
        seen: list = []

        @task(max_retries=1, retry_delay=datetime.timedelta(0))
        def loop() -> int:
            i = headwater.context.task_loop_count
            seen.append((headwater.context.task_run_count, i))
            if i == 2 and headwater.context.task_run_count == 1:
                raise ValueError("fails once, at the second loop")
            if i < 3:
                raise signals.LOOP(result=i)
            return i

        runner = TaskRunner(loop)
        retrying = runner.run()
        assert retrying.is_retrying()
        assert runner.run(state=retrying).result == 3
        # the loops after the retried one count their runs from 1 again (as Prefect Core 1.x)
        assert seen == [(1, 1), (1, 2), (2, 2), (1, 3)]


class TestStateHandlers:
    def test_a_handler_may_set_its_own_attributes(self) -> None:
        def stamp(t: Any, old: st.State, new: st.State) -> st.State:
            new.timestamp = "now"
            return new

        out = TaskRunner(Task(state_handlers=[stamp])).run()
        assert out.is_successful() and out.timestamp == "now"

    def test_a_handler_raising_pause_pauses_the_task(self) -> None:
        def pause(t: Any, old: st.State, new: st.State) -> None:
            if new.is_running():
                raise signals.PAUSE("not now")

        assert type(TaskRunner(Task(state_handlers=[pause])).run()) is st.Paused

    def test_a_flow_handler_raising_pause_pauses_the_flow(self) -> None:
        def pause(flow: Any, old: st.State, new: st.State) -> None:
            if new.is_running():
                raise signals.PAUSE("flow paused")

        state = Flow("paused", tasks=[Task()], state_handlers=[pause]).run()
        assert type(state) is st.Paused and state.message == "flow paused"

    def test_handle_state_change_lets_pause_through(self) -> None:
        class PausingRunner(Runner):
            def call_runner_target_handlers(self, old: st.State, new: st.State) -> st.State:
                raise signals.PAUSE()

        with pytest.raises(signals.PAUSE):
            PausingRunner().handle_state_change(st.Pending(), st.Running())

    def test_under_raise_on_exception_junk_is_handed_on_and_then_named(self) -> None:
        received: list = []

        def junk(t: Any, old: st.State, new: st.State) -> int:
            return 5

        def after(t: Any, old: st.State, new: Any) -> None:
            received.append(new)

        with raise_on_exception():
            with pytest.raises(StateHandlerReturnError, match="'.*junk' returned 5") as info:
                TaskRunner(Task(state_handlers=[junk, after])).run()
        assert received == [5]
        assert isinstance(info.value, AttributeError) and isinstance(info.value, TypeError)


class TestCallStateHandlers:
    def test_a_decorated_step_calls_the_handlers_on_a_change(self) -> None:
        seen: list = []

        class Custom(Runner):
            @call_state_handlers
            def check(self, state: st.State, ok: bool) -> st.State:
                if ok:
                    return state
                raise signals.SKIP("not today")

        runner = Custom(state_handlers=[lambda r, old, new: seen.append((old, new))])
        pending = st.Pending()
        assert runner.check(pending, True) is pending
        out = runner.check(pending, False)
        assert type(out) is st.Skipped
        assert seen == [(pending, out)]

    def test_endrun_is_raised_again_with_the_handled_state(self) -> None:
        class Custom(Runner):
            @call_state_handlers
            def stop(self, state: st.State) -> st.State:
                raise ENDRUN(st.Failed("stop"))

        with pytest.raises(ENDRUN) as info:
            Custom(state_handlers=[lambda r, old, new: st.Failed("handled")]).stop(st.Pending())
        assert info.value.state.message == "handled"


class TestRun:
    def test_endrun_raised_by_the_task_ends_in_its_state(self) -> None:
        class Stop(Task):
            def run(self):
                raise ENDRUN(st.Pending("later"))

        out = TaskRunner(Stop()).run()
        assert type(out) is st.Pending and out.message == "later"

    def test_a_skipped_child_skips_a_reduce(self) -> None:
        ups = {edge("x"): st.Mapped(map_states=[st.Success(result=1), st.Skipped()])}
        assert type(TaskRunner(Add()).run(upstream_states=ups)) is st.Skipped

    def test_context_is_the_context_the_runner_was_made_in(self) -> None:
        with headwater.context(who="me"):
            runner = TaskRunner(Task())
        assert runner.context["who"] == "me"
        assert "who" not in headwater.context

    def test_an_overridden_step_is_called_with_results(self) -> None:
        got: list = []

        class Recording(TaskRunner):
            def get_task_run_state(self, state, inputs, context=None):
                got.append(inputs)
                return super().get_task_run_state(state, inputs)

        out = Recording(Add()).run(upstream_states={edge("x"): st.Success(result=2)})
        assert out.result == 3
        assert got == [{"x": Result(2)}]


class TestTargets:
    def test_a_callable_target_may_return_a_template(self, tmp_path: Any) -> None:
        from headwater.engine.results import LocalResult

        stored = LocalResult(dir=str(tmp_path))
        LocalResult(dir=str(tmp_path), location="t-stored").write(7)
        t = Task(name="t", target=lambda **kw: "{task_name}-stored", result=stored)
        out = TaskRunner(t).run()
        assert type(out) is st.Cached and out.result == 7

    def test_an_input_named_value_formats_the_location(self, tmp_path: Any) -> None:
        from headwater.engine.results import LocalResult

        class Echo(Task):
            def run(self, value):
                return value

        t = Echo(result=LocalResult(dir=str(tmp_path), location="{value}.txt"))
        out = TaskRunner(t).run(
            upstream_states={edge("value"): st.Success(result=2)}, context={"checkpointing": True}
        )
        assert out._result.location.endswith("2.txt")
