"""``FlowRunner`` and ``flow.run()`` on the default LocalExecutor."""

from __future__ import annotations

import asyncio
import datetime
import threading

import pendulum
import pytest

import headwater
from headwater import Flow, Parameter, Task, task, triggers
from headwater.core.parameter import DateTimeParameter
from headwater.engine import signals
from headwater.engine import state as st
from headwater.engine.flow_runner import FlowRunner
from headwater.executors import LocalExecutor
from headwater.utilities.debug import raise_on_exception

ZERO = datetime.timedelta(0)


@task
def one():
    return 1


@task
def inc(x):
    return x + 1


@task
def add(x, y):
    return x + y


@task
def boom():
    raise ValueError("boom")


def make_flow(*fns):
    with Flow("f") as flow:
        tasks = [fn() for fn in fns]
    return flow, tasks


# -- FlowRunner steps -------------------------------------------------------------------------
class TestValidateParameters:
    def runner(self):
        with Flow("params") as flow:
            inc(Parameter("x"))
            inc(Parameter("y", default=2))
            inc(Parameter("n", default=1, type=int))
        return FlowRunner(flow)

    def test_defaults_and_given(self):
        assert self.runner().validate_parameters({"x": 1}) == {"x": 1, "y": 2, "n": 1}

    def test_unknown(self):
        with pytest.raises(
            ValueError, match="unknown parameter\\(s\\): z.*Its parameters are: n, x, y"
        ):
            self.runner().validate_parameters({"x": 1, "z": 3})

    def test_missing_required(self):
        with pytest.raises(ValueError, match="missing required parameter\\(s\\): x"):
            self.runner().validate_parameters({})

    def test_type_conversion(self):
        assert self.runner().validate_parameters({"x": 1, "n": "5"})["n"] == 5

    def test_type_error_names_the_parameter(self):
        with pytest.raises(ValueError, match="Invalid value for parameter 'n': 'five'"):
            self.runner().validate_parameters({"x": 1, "n": "five"})


def initialize(flow, state=None, context=None, parameters=None, task_contexts=None):
    return FlowRunner(flow).initialize_run(
        state=state,
        task_states={},
        context=dict(context or {}),
        task_contexts=dict(task_contexts or {}),
        parameters=dict(parameters or {}),
    )


class TestInitializeRun:
    def test_context_keys(self):
        flow, _ = make_flow(one)
        out = initialize(flow, context={"flow_run_id": "abc-123456789"}, parameters={"p": 1})
        ctx = out.context
        assert out.state.is_pending()
        assert ctx["flow_name"] == "f"
        assert ctx["flow_run_id"] == "abc-123456789"
        assert ctx["flow_run_name"] == "f-abc-1234"
        assert ctx["parameters"] == {"p": 1}
        assert isinstance(ctx["scheduled_start_time"], pendulum.DateTime)
        date = ctx["date"]
        assert ctx["today"] == date.strftime("%Y-%m-%d")
        assert ctx["tomorrow_nodash"] == date.add(days=1).strftime("%Y%m%d")
        assert ctx["yesterday"] == date.subtract(days=1).strftime("%Y-%m-%d")
        for key in (
            "date",
            "today_nodash",
            "yesterday_nodash",
            "tomorrow",
            "checkpointing",
            "caches",
            "secrets",
            "config",
        ):
            assert key in ctx

    def test_dates_come_from_the_context_date(self):
        flow, _ = make_flow(one)
        when = pendulum.datetime(2021, 3, 4, tz="UTC")
        ctx = initialize(flow, context={"date": "2021-03-04T00:00:00+00:00"}).context
        assert ctx["date"] == when
        assert ctx["today"] == "2021-03-04"
        assert ctx["yesterday_nodash"] == "20210303"

    def test_scheduled_start_time_is_kept(self):
        flow, _ = make_flow(one)
        when = pendulum.datetime(2021, 3, 4, tz="UTC")
        assert (
            initialize(flow, context={"scheduled_start_time": when}).context["scheduled_start_time"]
            == when
        )

    def test_parameters_over_context_parameters_over_defaults(self):
        with Flow("p") as flow:
            inc(Parameter("x"))
            inc(Parameter("y", default=2))
            inc(Parameter("z", default=3))
        ctx = initialize(
            flow, context={"parameters": {"x": 0, "y": 5}}, parameters={"x": 1}
        ).context
        assert ctx["parameters"] == {"x": 1, "y": 5, "z": 3}

    def test_task_contexts_name_every_task(self):
        flow, (a,) = make_flow(one)
        out = initialize(flow, task_contexts={a: {"extra": 1}})
        assert out.task_contexts == {a: {"extra": 1, "task_name": "one", "task_slug": a.slug}}

    def test_a_fresh_cache_per_run_unless_given(self):
        flow, _ = make_flow(one)
        caches = {"k": []}
        assert initialize(flow).context["caches"] == {}
        assert initialize(flow, context={"caches": caches}).context["caches"] is caches


class TestCheckFlowIsPendingOrRunning:
    @pytest.mark.parametrize("state", [st.Pending(), st.Running(), st.Scheduled()])
    def test_continues(self, state):
        flow, _ = make_flow(one)
        assert FlowRunner(flow).check_flow_is_pending_or_running(state) is state

    @pytest.mark.parametrize("state", [st.Success(), st.Failed()])
    def test_finished_flow_is_returned(self, state):
        flow, _ = make_flow(one)
        assert FlowRunner(flow).run(state=state) is state


class TestCheckFlowReachedStartTime:
    def test_future_scheduled_flow_is_returned(self):
        flow, _ = make_flow(one)
        s = st.Scheduled(start_time=pendulum.now("UTC").add(days=1))
        assert FlowRunner(flow).run(state=s) is s

    def test_past_scheduled_flow_runs(self):
        flow, _ = make_flow(one)
        s = st.Scheduled(start_time=pendulum.now("UTC").subtract(days=1))
        assert FlowRunner(flow).run(state=s).is_successful()


class TestSetFlowToRunning:
    def test_pending_becomes_running_with_handlers(self):
        seen = []
        flow = Flow("f", state_handlers=[lambda f, old, new: seen.append((type(old), type(new)))])
        out = FlowRunner(flow).set_flow_to_running(st.Pending())
        assert type(out) is st.Running
        assert seen == [(st.Pending, st.Running)]

    def test_running_stays(self):
        flow, _ = make_flow(one)
        s = st.Running()
        assert FlowRunner(flow).set_flow_to_running(s) is s


class TestFinalState:
    def test_all_reference_tasks_succeeded(self):
        flow, _ = make_flow(one, one)
        state = flow.run()
        assert type(state) is st.Success
        assert state.message == "All reference tasks succeeded."

    def test_some_reference_tasks_failed(self):
        flow, _ = make_flow(one, boom)
        state = flow.run()
        assert type(state) is st.Failed
        assert state.message == "Some reference tasks failed."

    def test_failure_outside_the_reference_tasks(self):
        flow, (a, b) = make_flow(one, boom)
        flow.set_reference_tasks([a])
        assert flow.run().is_successful()

    def test_non_terminal_failure_with_a_tolerant_terminal_task(self):
        @task(trigger=triggers.all_finished)
        def cleanup():
            return "clean"

        with Flow("f") as flow:
            cleanup(upstream_tasks=[boom()])
        assert flow.run().is_successful()

    def test_reference_tasks_that_are_not_terminal(self):
        with Flow("f") as flow:
            b = boom()
            after = task(lambda: 1, name="after", trigger=triggers.always_run)(upstream_tasks=[b])
        assert flow.run().is_successful()
        flow.set_reference_tasks([b, after])
        assert flow.run().is_failed()

    def test_no_reference_tasks_failed(self):
        # a finished reference state that is neither successful nor failed: Cancelled
        flow, _ = make_flow(one)
        runner = FlowRunner(flow)
        [t] = flow.tasks
        out = runner.determine_final_state(
            st.Running(), key_states={st.Cancelled()}, return_states={}, terminal_states=set()
        )
        assert type(out) is st.Success
        assert out.message == "No reference tasks failed."

    def test_unfinished_terminal_task_leaves_the_flow_running(self):
        @task
        def pause():
            raise signals.PAUSE("wait for me")

        flow, (p,) = make_flow(pause)
        state = flow.run()
        assert type(state) is st.Running
        assert type(state.result[p]) is st.Paused
        assert state.result[p].message == "wait for me"

    def test_skipped_counts_as_success(self):
        @task
        def skip():
            raise signals.SKIP("no")

        flow, _ = make_flow(skip)
        assert flow.run().is_successful()

    def test_mapped_reference_task_counts_children(self):
        @task
        def maybe(x):
            if x == 2:
                raise ValueError("two")
            return x

        with Flow("f") as flow:
            m = maybe.map([1, 2, 3])
        state = flow.run()
        assert state.is_failed()
        assert [type(c) for c in state.result[m].map_states] == [st.Success, st.Failed, st.Success]

    def test_empty_flow(self):
        state = Flow("empty").run()
        assert state.is_successful()
        assert state.result == {}

    def test_result_maps_every_task(self):
        flow, (a, b) = make_flow(one, boom)
        state = flow.run()
        assert set(state.result) == {a, b}
        assert state.result[a].result == 1
        assert state.result[b].message == "Error during execution of task: ValueError('boom')"


class TestFlowStateHandlers:
    def test_flow_handlers_see_every_change(self):
        seen = []
        flow = Flow(
            "f", state_handlers=[lambda f, old, new: seen.append((f, type(old), type(new)))]
        )
        flow.add_task(one)
        flow.run()
        # flow.run starts from Scheduled (now), as in Prefect Core 1.x
        assert seen == [(flow, st.Scheduled, st.Running), (flow, st.Running, st.Success)]
        seen.clear()
        FlowRunner(flow).run()
        assert seen == [(flow, st.Pending, st.Running), (flow, st.Running, st.Success)]

    def test_handler_can_replace_the_final_state(self):
        def handler(f, old, new):
            if new.is_finished():
                return st.Failed("overruled")
            return None

        flow = Flow("f", tasks=[one], state_handlers=[handler])
        state = flow.run()
        assert type(state) is st.Failed and state.message == "overruled"

    def test_runner_level_handlers(self):
        seen = []
        flow = Flow("f", tasks=[one])
        FlowRunner(
            flow, state_handlers=[lambda r, old, new: seen.append((type(r), type(new)))]
        ).run()
        assert seen == [(FlowRunner, st.Running), (FlowRunner, st.Success)]

    def test_on_failure(self):
        calls = []
        flow = Flow("f", tasks=[boom], on_failure=lambda f, s: calls.append((f, type(s))))
        flow.run()
        assert calls == [(flow, st.Failed)]

    def test_on_failure_not_called_on_success(self):
        calls = []
        Flow("f", tasks=[one], on_failure=lambda f, s: calls.append(1)).run()
        assert calls == []

    def test_failing_flow_handler_fails_the_run(self):
        def bad(f, old, new):
            raise RuntimeError("handler broke")

        state = Flow("f", tasks=[one], state_handlers=[bad]).run()
        assert state.is_failed()
        assert "handler broke" in state.message

    def test_task_runner_state_handlers(self):
        seen = []
        flow, (a,) = make_flow(one)
        flow.run(task_runner_state_handlers=[lambda r, old, new: seen.append((r.task, type(new)))])
        assert seen == [(a, st.Running), (a, st.Success)]

    def test_task_handlers_in_a_flow(self):
        seen = []

        @task(state_handlers=[lambda t, old, new: seen.append(type(new))])
        def watched():
            return 1

        make_flow(watched)[0].run()
        assert seen == [st.Running, st.Success]

    def test_terminal_state_handler(self):
        calls = []

        def terminal(flow, state, reference_states):
            calls.append((type(state), sorted(type(s).__name__ for s in reference_states)))
            return st.Success("forgiven")

        flow, _ = make_flow(boom)
        flow.terminal_state_handler = terminal
        state = flow.run()
        assert type(state) is st.Success and state.message == "forgiven"
        assert calls == [(st.Failed, ["Failed"])]

    def test_terminal_state_handler_returning_none_keeps_the_state(self):
        flow = Flow("f", tasks=[boom], terminal_state_handler=lambda *a: None)
        assert flow.run().message == "Some reference tasks failed."


class TestRunOptions:
    def test_return_tasks(self):
        flow, (a, b) = make_flow(one, one)
        state = flow.run(return_tasks=[a])
        assert set(state.result) == {a}

    def test_return_tasks_not_in_flow(self):
        flow, _ = make_flow(one)
        state = FlowRunner(flow).run(return_tasks=[Task(name="stranger")])
        assert state.is_failed()
        assert "return_tasks not in" in state.message and "stranger" in state.message

    def test_flow_runner_returns_only_return_tasks(self):
        flow, (a, b) = make_flow(one, one)
        assert FlowRunner(flow).run().result == {}
        assert set(FlowRunner(flow).run(return_tasks=[b]).result) == {b}

    def test_task_states_resume_a_run(self):
        calls = []

        @task
        def first():
            calls.append("first")
            return 10

        with Flow("f") as flow:
            a = first()
            b = inc(a)
        state = flow.run(task_states={a: st.Success(result=41)})
        assert calls == []
        assert state.result[b].result == 42

    def test_task_states_pending_reruns(self):
        flow, (a,) = make_flow(one)
        assert flow.run(task_states={a: st.Pending()}).result[a].result == 1

    def test_task_contexts(self):
        @task
        def read():
            return headwater.context.get("special")

        with Flow("f") as flow:
            a = read()
            b = read()
        state = flow.run(task_contexts={a: {"special": "A"}})
        assert state.result[a].result == "A"
        assert state.result[b].result is None

    def test_context_argument(self):
        @task
        def read():
            return headwater.context.get("special")

        flow, (a,) = make_flow(read)
        assert flow.run(context={"special": 7}).result[a].result == 7

    def test_explicit_executor(self):
        flow, (a,) = make_flow(one)
        assert flow.run(executor=LocalExecutor()).result[a].result == 1

    def test_unexpected_keyword(self):
        flow, _ = make_flow(one)
        with pytest.raises(ValueError, match="unexpected keyword argument\\(s\\) bogus"):
            flow.run(bogus=1)

    def test_engine_error_becomes_a_failed_flow(self):
        class BrokenExecutor(LocalExecutor):
            def wait(self, futures):
                raise RuntimeError("engine exploded")

        flow, _ = make_flow(one)
        state = flow.run(executor=BrokenExecutor())
        assert type(state) is st.Failed
        assert (
            state.message == "Unexpected error while running flow: RuntimeError('engine exploded')"
        )


class TestParametersInRuns:
    def flow_with_log(self):
        ran = []

        @task
        def record(x):
            ran.append(x)
            return x

        with Flow("p") as flow:
            x = Parameter("x")
            n = Parameter("n", default=1, type=int)
            r = record(x)
            record(n)
        return flow, ran, x, r

    def test_keyword_and_dict_parameters(self):
        flow, ran, x, r = self.flow_with_log()
        assert flow.run(x=5).result[r].result == 5
        assert flow.run(parameters={"x": 6}).result[r].result == 6

    def test_missing_required_before_any_task(self):
        flow, ran, *_ = self.flow_with_log()
        with pytest.raises(ValueError, match="missing required parameter\\(s\\): x"):
            flow.run()
        assert ran == []

    def test_unknown_before_any_task(self):
        flow, ran, *_ = self.flow_with_log()
        with pytest.raises(ValueError, match="unknown parameter\\(s\\): nope"):
            flow.run(parameters={"x": 1, "nope": 2})
        assert ran == []

    def test_invalid_value_before_any_task(self):
        flow, ran, *_ = self.flow_with_log()
        with pytest.raises(ValueError, match="parameter 'n'.*'abc'"):
            flow.run(x=1, n="abc")
        assert ran == []

    def test_typed_value_is_converted(self):
        flow, ran, *_ = self.flow_with_log()
        flow.run(x=1, n="3")
        assert sorted(ran, key=str) == [1, 3]

    def test_parameters_in_context(self):
        @task
        def read():
            return headwater.context.parameters

        with Flow("p") as flow:
            Parameter("a", default=1)()
            r = read()
        assert flow.run(a=2).result[r].result == {"a": 2}

    def test_datetime_parameter(self):
        with Flow("dt") as flow:
            when = DateTimeParameter("when")
            out = task(lambda when: when, name="echo")(when)
        value = flow.run(when="2020-01-02T03:04:05+00:00").result[out].result
        assert isinstance(value, pendulum.DateTime)
        assert value == pendulum.datetime(2020, 1, 2, 3, 4, 5, tz="UTC")

    def test_datetime_parameter_bad_value(self):
        p = DateTimeParameter("when")
        with pytest.raises(ValueError, match="'when'.*not an ISO-8601"):
            p.validate_value("not a date")

    def test_datetime_parameter_none(self):
        assert DateTimeParameter("when", default=None).validate_value(None) is None

    def test_pydantic_typed_parameter(self):
        p = Parameter("ids", default=[], type=list[int])
        assert p.validate_value(["1", 2]) == [1, 2]
        with pytest.raises(ValueError, match="Invalid value for parameter 'ids'"):
            p.validate_value(["x"])


class TestRetries:
    def test_retry_until_success(self):
        counts = []

        @task(max_retries=3, retry_delay=ZERO)
        def flaky():
            counts.append(headwater.context.task_run_count)
            if len(counts) < 3:
                raise ValueError("not yet")
            return "ok"

        flow, (f,) = make_flow(flaky)
        state = flow.run()
        assert state.result[f].result == "ok"
        assert counts == [1, 2, 3]

    def test_retries_exhausted(self):
        counts = []

        @task(max_retries=2, retry_delay=ZERO)
        def always():
            counts.append(1)
            raise ValueError("never")

        flow, (a,) = make_flow(always)
        state = flow.run()
        assert type(state.result[a]) is st.Failed
        assert len(counts) == 3

    def test_retry_on_other_exception_does_not_retry(self):
        counts = []

        @task(max_retries=2, retry_delay=ZERO, retry_on=KeyError)
        def wrong():
            counts.append(1)
            raise ValueError("not a key error")

        flow, _ = make_flow(wrong)
        assert flow.run().is_failed()
        assert counts == [1]

    def test_retry_on_matching_exception_retries(self):
        counts = []

        @task(max_retries=2, retry_delay=ZERO, retry_on=[KeyError])
        def right():
            counts.append(1)
            raise KeyError("k")

        make_flow(right)[0].run()
        assert counts == [1, 1, 1]

    def test_retry_keeps_upstream_inputs(self):
        seen = []

        @task(max_retries=1, retry_delay=ZERO)
        def flaky(x):
            seen.append(x)
            if len(seen) == 1:
                raise ValueError("first")
            return x

        with Flow("f") as flow:
            r = flaky(inc(1))
        assert flow.run().result[r].result == 2
        assert seen == [2, 2]

    def test_a_waiting_retry_does_not_block_independent_tasks(self):
        events = []

        @task(max_retries=1, retry_delay=datetime.timedelta(milliseconds=200))
        def flaky():
            events.append(("flaky", headwater.context.task_run_count))
            if headwater.context.task_run_count == 1:
                raise ValueError("first attempt fails")
            return "ok"

        @task
        def independent():
            events.append(("independent", 1))
            return "done"

        with Flow("f") as flow:
            f = flaky()
            i = independent()
        assert flow.sorted_tasks() == (f, i)  # flaky is planned first
        state = flow.run()
        assert state.is_successful()
        assert events == [("flaky", 1), ("independent", 1), ("flaky", 2)]

    def test_downstream_waits_for_the_retry(self):
        @task(max_retries=1, retry_delay=datetime.timedelta(milliseconds=50))
        def flaky():
            if headwater.context.task_run_count == 1:
                raise ValueError("first")
            return 5

        with Flow("f") as flow:
            d = inc(flaky())
        state = flow.run()
        assert state.result[d].result == 6

    def test_retry_state_when_run_by_the_flow_runner(self):
        @task(max_retries=1, retry_delay=datetime.timedelta(days=1))
        def later():
            raise ValueError("x")

        flow, (t,) = make_flow(later)
        state = FlowRunner(flow).run(return_tasks=[t])
        assert type(state) is st.Running
        retry = state.result[t]
        assert type(retry) is st.Retrying
        assert retry.start_time > pendulum.now("UTC")
        assert retry.message == "Retrying Task (after attempt 1 of 2)"


class TestTimeouts:
    def test_timeout(self):
        release = threading.Event()

        @task(timeout=datetime.timedelta(milliseconds=100))
        def slow():
            release.wait(30)

        flow, (s,) = make_flow(slow)
        try:
            state = flow.run()
        finally:
            release.set()
        assert type(state.result[s]) is st.TimedOut
        assert state.result[s].message == "Task timed out during execution."
        assert state.is_failed()

    def test_timeout_from_a_non_main_thread(self):
        release = threading.Event()

        @task(timeout=datetime.timedelta(milliseconds=100))
        def slow():
            release.wait(30)

        @task
        def after():
            return "after"

        with Flow("f") as flow:
            s = slow()
            a = after()
        box = {}

        def target():
            box["state"] = flow.run()

        worker = threading.Thread(target=target)
        worker.start()
        worker.join(20)
        release.set()
        assert not worker.is_alive()
        state = box["state"]
        assert type(state.result[s]) is st.TimedOut
        assert state.result[a].result == "after"

    def test_fast_task_with_timeout_succeeds(self):
        @task(timeout=10)
        def fast():
            return headwater.context.task_name

        flow, (f,) = make_flow(fast)
        assert flow.run().result[f].result == "fast"

    def test_timed_out_task_is_retried(self):
        counts = []

        @task(timeout=datetime.timedelta(milliseconds=100), max_retries=1, retry_delay=ZERO)
        def slow_then_fast():
            counts.append(1)
            if len(counts) == 1:
                threading.Event().wait(30)
            return "ok"

        flow, (t,) = make_flow(slow_then_fast)
        assert flow.run().result[t].result == "ok"


class TestLooping:
    def test_loop_in_a_flow(self):
        seen = []

        @task
        def fib(n):
            payload = headwater.context.get("task_loop_result") or {"a": 0, "b": 1}
            seen.append(headwater.context.task_loop_count)
            if headwater.context.task_loop_count >= n:
                return payload["a"]
            raise signals.LOOP(result={"a": payload["b"], "b": payload["a"] + payload["b"]})

        with Flow("f") as flow:
            out = fib(10)
        state = flow.run()
        assert state.result[out].result == 34
        assert seen == list(range(1, 11))

    def test_loop_message(self):
        @task
        def once():
            if headwater.context.task_loop_count == 1:
                raise signals.LOOP(result=1)
            return headwater.context.task_loop_result

        flow, (o,) = make_flow(once)
        assert flow.run().result[o].result == 1


class TestRaiseOnException:
    def test_errors_propagate(self):
        flow, _ = make_flow(boom)
        with raise_on_exception():
            with pytest.raises(ValueError, match="boom"):
                flow.run()

    def test_signals_still_become_states(self):
        @task
        def skip():
            raise signals.SKIP("x")

        flow, (s,) = make_flow(skip)
        with raise_on_exception():
            assert type(flow.run().result[s]) is st.Skipped


class TestMapping:
    def test_mapped_states_and_children(self):
        with Flow("f") as flow:
            m = inc.map([1, 2, 3])
        state = flow.run()
        ms = state.result[m]
        assert type(ms) is st.Mapped
        assert ms.message == "Mapped tasks submitted for execution."
        assert [type(c) for c in ms.map_states] == [st.Success] * 3
        assert ms.result == [2, 3, 4]

    def test_map_index_and_child_names(self):
        @task
        def who(x):
            c = headwater.context
            return c.map_index, c.task_full_name, c.task_name

        with Flow("f") as flow:
            m = who.map(["a", "b"])
        assert flow.run().result[m].result == [(0, "who[0]", "who"), (1, "who[1]", "who")]

    def test_reduce(self):
        with Flow("f") as flow:
            m = inc.map([1, 2, 3])
            total = task(lambda xs: sum(xs), name="total")(m)
        assert flow.run().result[total].result == 9

    def test_shortest_upstream_wins(self):
        with Flow("f") as flow:
            m = add.map([1, 2, 3], [10, 20])
        assert flow.run().result[m].result == [11, 22]

    def test_empty_map(self):
        with Flow("f") as flow:
            m = inc.map([])
            m2 = inc.map(m)
            total = task(lambda xs: len(xs), name="count")(m2)
        state = flow.run()
        assert type(state.result[m]) is st.Mapped
        assert state.result[m].map_states == []
        assert state.result[m2].map_states == []
        assert state.result[total].result == 0
        assert state.is_successful()

    def test_map_over_mapped(self):
        with Flow("f") as flow:
            m1 = inc.map([1, 2])
            m2 = inc.map(m1)
        assert flow.run().result[m2].result == [3, 4]

    def test_depth_first_order_of_chained_maps(self):
        events = []

        @task
        def first(x):
            events.append(("first", x))
            return x

        @task
        def second(x):
            events.append(("second", x))
            return x

        with Flow("f") as flow:
            second.map(first.map([0, 1, 2]))
        flow.run()
        assert events == [
            ("first", 0),
            ("second", 0),
            ("first", 1),
            ("second", 1),
            ("first", 2),
            ("second", 2),
        ]

    def test_flatten(self):
        @task
        def split(x):
            return [x, x * 10]

        with Flow("f") as flow:
            s = split.map([1, 2])
            m = inc.map(headwater.flatten(s))
        assert flow.run().result[m].result == [2, 11, 3, 21]

    def test_failed_child_fails_downstream_child_only(self):
        @task
        def maybe(x):
            if x == 1:
                raise ValueError("one")
            return x

        with Flow("f") as flow:
            m = inc.map(maybe.map([0, 1, 2]))
        state = flow.run()
        assert [type(c) for c in state.result[m].map_states] == [
            st.Success,
            st.TriggerFailed,
            st.Success,
        ]

    def test_skipped_child(self):
        @task
        def skip_odd(x):
            if x % 2:
                raise signals.SKIP("odd")
            return x

        with Flow("f") as flow:
            m = inc.map(skip_odd.map([0, 1]))
        assert [type(c) for c in flow.run().result[m].map_states] == [st.Success, st.Skipped]

    def test_map_over_unmappable(self):
        with Flow("f") as flow:
            m = inc.map(one())
        s = flow.run().result[m]
        assert type(s) is st.Failed
        assert "unmappable" in s.message

    def test_map_after_failed_upstream(self):
        with Flow("f") as flow:
            m = inc.map(boom())
        s = flow.run().result[m]
        assert type(s) is st.Failed
        assert s.message == "No upstream states can be mapped over."

    def test_child_timeout(self):
        release = threading.Event()

        @task(timeout=datetime.timedelta(milliseconds=100))
        def slow_one(x):
            if x == 1:
                release.wait(30)
            return x

        with Flow("f") as flow:
            m = slow_one.map([0, 1, 2])
        try:
            state = flow.run()
        finally:
            release.set()
        assert [type(c) for c in state.result[m].map_states] == [
            st.Success,
            st.TimedOut,
            st.Success,
        ]

    def test_reduce_over_all_skipped_children_is_skipped(self):
        @task
        def skip(x):
            raise signals.SKIP("skip")

        with Flow("f") as flow:
            r = task(lambda xs: xs, name="reduce")(skip.map([1, 2]))
        assert type(flow.run().result[r]) is st.Skipped

    def test_resume_a_mapped_task(self):
        with Flow("f") as flow:
            m = inc.map([1, 2])
        prior = st.Mapped(map_states=[st.Success(result=100), st.Pending()])
        assert flow.run(task_states={m: prior}).result[m].result == [100, 3]

    def test_child_retries(self):
        attempts = {}

        @task(max_retries=1, retry_delay=ZERO)
        def flaky(x):
            attempts[x] = attempts.get(x, 0) + 1
            if x == 1 and attempts[x] == 1:
                raise ValueError("first attempt")
            return x

        with Flow("f") as flow:
            m = flaky.map([0, 1, 2])
        assert flow.run().result[m].result == [0, 1, 2]
        assert attempts == {0: 1, 1: 2, 2: 1}

    def test_apply_map(self):
        @task
        def double(x):
            return 2 * x

        def pipeline(x, offset):
            return add(double(x), offset)

        with Flow("f") as flow:
            out = headwater.apply_map(pipeline, [1, 2, 3], offset=headwater.unmapped(100))
        assert flow.run().result[out].result == [102, 104, 106]

    def test_apply_map_needs_a_flow(self):
        with pytest.raises(ValueError, match="active flow"):
            headwater.apply_map(lambda x: x, [1])


class TestAsyncTasks:
    def test_async_task(self):
        @task
        async def fetch(x):
            await asyncio.sleep(0)
            return x * 2, headwater.context.task_name

        with Flow("f") as flow:
            r = fetch(21)
        assert flow.run().result[r].result == (42, "fetch")

    def test_async_task_inside_a_running_event_loop(self):
        @task
        async def fetch():
            await asyncio.sleep(0)
            return "fetched"

        with Flow("f") as flow:
            r = fetch()

        async def main():
            # as in Jupyter: flow.run() is called from a coroutine on a running loop
            return flow.run()

        state = asyncio.run(main())
        assert state.result[r].result == "fetched"

    def test_async_error(self):
        @task
        async def broken():
            raise KeyError("async")

        flow, (b,) = make_flow(broken)
        s = flow.run().result[b]
        assert type(s) is st.Failed
        assert "KeyError" in s.message

    def test_async_signal(self):
        @task
        async def skip():
            raise signals.SKIP("async skip")

        flow, (s,) = make_flow(skip)
        assert type(flow.run().result[s]) is st.Skipped

    def test_async_mapped(self):
        @task
        async def double(x):
            return 2 * x

        with Flow("f") as flow:
            m = double.map([1, 2, 3])
        assert flow.run().result[m].result == [2, 4, 6]


class TestPause:
    def test_pause_task_and_resume(self):
        from headwater.utilities.tasks import pause_task

        @task
        def gated():
            pause_task("approve me")
            return "approved"

        flow, (g,) = make_flow(gated)
        state = flow.run()
        assert state.is_running()
        assert type(state.result[g]) is st.Paused
        resumed = flow.run(task_states={g: st.Resume()})
        assert resumed.result[g].result == "approved"
        assert resumed.is_successful()

    def test_manual_only_resume(self):
        @task(trigger=triggers.manual_only)
        def gated():
            return "approved"

        flow, (g,) = make_flow(gated)
        assert type(flow.run().result[g]) is st.Paused
        assert flow.run(task_states={g: st.Resume()}).result[g].result == "approved"
