"""The steps of ``FlowRunner.run`` called one by one, and what ``flow.run`` adds around them."""

from __future__ import annotations

import datetime
import warnings

import pendulum
import pytest

import headwater
from headwater import Flow, Parameter, Task, task
from headwater.engine import signals
from headwater.engine import state as st
from headwater.engine.flow_runner import ENDRUN, FlowRunner, FlowRunnerInitializeResult
from headwater.executors import LocalExecutor
from headwater.utilities.configuration import set_temporary_config

ZERO = datetime.timedelta(0)


@task
def one():
    return 1


@task
def inc(x):
    return x + 1


def one_task_flow():
    with Flow("steps") as flow:
        t = one()
    return flow, t


class TestInitializeRun:
    def test_returns_the_named_tuple(self):
        flow, t = one_task_flow()
        out = FlowRunner(flow).initialize_run(
            state=None, task_states={}, context={}, task_contexts={}, parameters={}
        )
        assert isinstance(out, FlowRunnerInitializeResult)
        assert out.state.is_pending()
        assert out.task_contexts == {t: {"task_name": "one", "task_slug": t.slug}}

    def test_a_given_state_is_kept(self):
        flow, _ = one_task_flow()
        s = st.Running()
        out = FlowRunner(flow).initialize_run(
            state=s, task_states={}, context={}, task_contexts={}, parameters={}
        )
        assert out.state is s

    def test_unparsable_date_warns_and_keeps_it(self, caplog):
        flow, _ = one_task_flow()
        ctx = (
            FlowRunner(flow)
            .initialize_run(
                state=None,
                task_states={},
                context={"date": "soon"},
                task_contexts={},
                parameters={},
            )
            .context
        )
        assert ctx["date"] == "soon"
        assert ctx["today"] == pendulum.now("UTC").strftime("%Y-%m-%d")
        assert "could not be parsed" in caplog.text


class TestSteps:
    @pytest.mark.parametrize("state", [st.Success(), st.Failed(), st.Skipped(), st.Finished()])
    def test_set_flow_to_running_ends_the_run_for_finished_states(self, state):
        with pytest.raises(ENDRUN):
            FlowRunner(Flow("f")).set_flow_to_running(state)

    @pytest.mark.parametrize("state", [st.Pending(), st.Retrying(), st.Scheduled()])
    def test_pending_states_become_running(self, state):
        assert type(FlowRunner(Flow("f")).set_flow_to_running(state)) is st.Running

    def test_get_flow_run_state_runs_the_tasks(self):
        flow, t = one_task_flow()
        out = FlowRunner(flow).get_flow_run_state(
            st.Running(),
            task_states={},
            task_contexts={},
            return_tasks={t},
            task_runner_state_handlers=[],
            executor=LocalExecutor(),
        )
        assert out.is_successful()
        assert out.result[t].result == 1

    def test_an_unfinished_terminal_task_keeps_the_running_state_itself(self):
        flow, t = one_task_flow()
        running = st.Running()
        later = st.Retrying(start_time=pendulum.now("UTC").add(days=1))
        out = FlowRunner(flow).get_flow_run_state(
            running,
            task_states={t: later},
            task_contexts={},
            return_tasks={t},
            task_runner_state_handlers=None,
            executor=LocalExecutor(),
        )
        assert out is running
        assert out.result == {t: later}

    def test_a_subclass_decides_the_final_state(self):
        class Strict(FlowRunner):
            def determine_final_state(self, *args, **kwargs):
                return st.Failed("not good enough")

        flow, _ = one_task_flow()
        assert Strict(flow).run().message == "not good enough"

    def test_handlers_see_the_failure_of_a_failing_initialize_run(self):
        seen = []

        class Broken(FlowRunner):
            def initialize_run(self, *args, **kwargs):
                raise RuntimeError("no")

        flow = Flow("f", state_handlers=[lambda f, old, new: seen.append((type(old), type(new)))])
        state = Broken(flow).run()
        assert state.is_failed() and "RuntimeError('no')" in state.message
        assert seen == [(st.Pending, st.Failed)]

    def test_endrun_from_initialize_run_ends_the_run(self):
        class Early(FlowRunner):
            def initialize_run(self, *args, **kwargs):
                raise ENDRUN(st.Pending("not yet"))

        assert Early(Flow("f")).run().message == "not yet"

    def test_terminal_state_handler_gets_the_reference_states(self):
        got = []

        @task
        def maybe(x):
            if x:
                raise ValueError(x)
            return x

        with Flow("f", terminal_state_handler=lambda f, s, refs: got.append(refs)) as flow:
            maybe.map([0, 1])
        flow.run()
        assert isinstance(got[0], set)
        assert sorted(type(s).__name__ for s in got[0]) == ["Failed", "Success"]


class TestRunWithoutFlowRun:
    def test_a_missing_required_parameter_fails_its_task(self):
        y = Parameter("y")
        flow = Flow("f", tasks=[y])
        state = FlowRunner(flow).run(return_tasks=[y])
        assert state.is_failed()
        assert "required but not provided" in state.result[y].message

    def test_parameters_from_the_context(self):
        x, y = Parameter("x"), Parameter("y")
        flow = Flow("f", tasks=[x, y])
        state = FlowRunner(flow).run(
            parameters={"x": 2}, context={"parameters": {"x": 5, "y": 6}}, return_tasks=[x, y]
        )
        assert (state.result[x].result, state.result[y].result) == (2, 6)

    def test_caches_do_not_outlive_the_run(self):
        import random

        @task(cache_for=datetime.timedelta(minutes=1))
        def draw():
            return random.random()

        with Flow("f") as flow:
            d = draw()
        first = FlowRunner(flow).run(return_tasks=[d]).result[d].result
        assert FlowRunner(flow).run(return_tasks=[d]).result[d].result != first
        # flow.run shares one cache per process, as in Prefect Core 1.x
        again = flow.run().result[d].result
        assert flow.run().result[d].result == again


class TestFlowRun:
    def test_starts_from_scheduled(self):
        seen = []
        flow = Flow("f", state_handlers=[lambda f, old, new: seen.append(type(old))])
        flow.add_task(one)
        flow.run()
        assert seen == [st.Scheduled, st.Running]

    def test_a_given_state_that_does_not_run_reports_every_task(self):
        flow, t = one_task_flow()
        state = flow.run(state=st.Success())
        assert state.is_successful()
        assert state.result[t].is_pending() and state.result[t].message == "Task not run."

    def test_a_retry_pass_keeps_the_flow_running_state(self):
        seen = []
        calls = []

        @task(max_retries=1, retry_delay=ZERO)
        def flaky():
            calls.append(1)
            if len(calls) == 1:
                raise ValueError("first")
            return 2

        flow = Flow("f", state_handlers=[lambda f, old, new: seen.append(type(new))])
        flow.add_task(flaky)
        assert flow.run().is_successful()
        assert seen == [st.Running, st.Success]

    def test_the_scheduled_start_time_is_the_runs(self):
        @task
        def when():
            return headwater.context.scheduled_start_time

        with Flow("f") as flow:
            w = when()
        state = flow.run(context={"scheduled_start_time": 42})
        assert isinstance(state.result[w].result, datetime.datetime)


class TestKnownStates:
    def test_a_finished_task_is_not_run_again(self):
        calls = []

        class Track(LocalExecutor):
            def submit(self, fn, /, *args, **kwargs):
                calls.append(fn)
                return super().submit(fn, *args, **kwargs)

        with Flow("f") as flow:
            a = one()
            b = inc(a)
        state = FlowRunner(flow).run(
            task_states={a: st.Success(result=5)}, return_tasks=[b], executor=Track()
        )
        assert state.result[b].result == 6
        assert len(calls) == 1

    def test_constants_are_not_submitted(self):
        calls = []

        class Track(LocalExecutor):
            def submit(self, fn, /, *args, **kwargs):
                calls.append(fn)
                return super().submit(fn, *args, **kwargs)

        with Flow("f") as flow:
            out = inc.map([1, 2])  # the list becomes a constant task of the flow
        [c] = [t for t in flow.tasks if getattr(t, "is_constant", False)]
        state = FlowRunner(flow).run(return_tasks=[out, c], executor=Track())
        assert state.result[out].result == [2, 3]
        assert state.result[c].result == [1, 2]
        assert len(calls) == 2  # the two children

    def test_secrets_run_again_after_a_restart(self):
        from headwater.tasks.secrets import HeadwaterSecret

        with Flow("f") as flow:
            s = HeadwaterSecret("KEY")
            v = inc(s)
        with headwater.context(secrets={"KEY": 1}):
            state = FlowRunner(flow).run(task_states={s: st.Success()}, return_tasks=[v])
        assert state.result[v].result == 2


class TestDefaultClasses:
    def test_an_unimportable_default_class_warns_and_falls_back(self):
        from headwater.engine import get_default_flow_runner_class

        with set_temporary_config({"engine.flow_runner.default_class": "nowhere.Runner"}):
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                cls = get_default_flow_runner_class()
        assert cls is FlowRunner
        assert any("nowhere.Runner" in str(w.message) for w in caught)


def test_signals_from_flow_state_handlers_become_the_state():
    def handler(flow, old, new):
        raise signals.FAIL("no")

    assert FlowRunner(Flow("f", state_handlers=[handler], tasks=[Task()])).run().is_failed()


def test_run_task_runs_one_task_as_an_executor_would():
    from headwater.core.edge import Edge
    from headwater.engine.flow_runner import run_task
    from headwater.engine.task_runner import TaskRunner

    s = run_task(one, None, {}, {}, None, TaskRunner, None)
    assert s.is_successful() and s.result == 1
    edge = Edge(one, inc, key="x")
    s = run_task(inc, None, {edge: st.Success(result=2)}, {}, None, TaskRunner, None)
    assert s.result == 3


def test_flow_run_given_a_scheduled_state_waits_for_its_start_time(monkeypatch):
    from headwater.engine import schedule_loop

    clock = schedule_loop.ManualClock()
    monkeypatch.setattr(schedule_loop, "clock", clock)
    ran_at = []

    @task
    def when():
        ran_at.append(schedule_loop.clock.now())
        return 1

    with Flow("later") as flow:
        t = when()
    start = pendulum.instance(clock.now()).add(seconds=0.3)
    state = flow.run(state=st.Scheduled(start_time=start))
    assert state.is_successful() and state.result[t].result == 1
    # it waited (on the run's clock) until the start time, and only then ran the task
    assert sum(clock.slept) >= 0.3 - 1e-6
    assert ran_at == [clock.now()] and clock.now() >= start
