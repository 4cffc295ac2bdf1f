"""``TaskRunner``: each pipeline step on its own, then whole task runs."""

from __future__ import annotations

import datetime

import pendulum
import pytest

import headwater
from headwater import Task, task, triggers
from headwater.core.edge import Edge
from headwater.engine import signals
from headwater.engine import state as st
from headwater.engine.flow_runner import _strip
from headwater.engine.result import Result
from headwater.engine.signals import ENDRUN
from headwater.engine.task_runner import TaskRunner
from headwater.utilities.debug import raise_on_exception

ZERO = datetime.timedelta(0)


class AddTask(Task):
    def run(self, x, y=1):
        return x + y


class ErrorTask(Task):
    def run(self):
        raise ValueError("custom-error-message")


@task
def ok():
    return 1


def edge(key=None, mapped=False, up=None, down=None):
    return Edge(up or Task(name="up"), down or Task(name="down"), key=key, mapped=mapped)


def ctx(**extra):
    base = {"task_full_name": "t", "task_run_count": 1}
    base.update(extra)
    return base


def values(inputs):
    return {k: r.value for k, r in inputs.items()}


def future(**kw):
    return pendulum.now("UTC").add(**(kw or {"days": 1}))


def past():
    return pendulum.now("UTC").subtract(days=1)


class TestInitializeRun:
    def test_sets_run_count(self):
        c: dict = {}
        out = TaskRunner(Task()).initialize_run(st.Pending(), c)
        assert out.state == st.Pending()
        assert out.context is c
        assert c["task_run_count"] == 1

    def test_retrying_increments_run_count(self):
        c: dict = {}
        s = st.Retrying(run_count=2)
        assert TaskRunner(Task()).initialize_run(s, c).state is s
        assert c["task_run_count"] == 3

    def test_resume_sets_the_resume_flag(self):
        c: dict = {}
        TaskRunner(Task()).initialize_run(st.Resume(), c)
        assert c["resume"] is True

    def test_a_retried_loop_continues_from_its_loop(self):
        c: dict = {}
        s = st.Retrying(run_count=1, context={"_loop_count": 3}, result=5)
        TaskRunner(Task()).initialize_run(s, c)
        assert c["task_loop_count"] == 3
        assert c["task_loop_result"] == 5

    def test_meta_states_are_unwrapped(self):
        inner = st.Retrying(run_count=1)
        assert TaskRunner(Task()).initialize_run(st.Submitted(state=inner), {}).state is inner


class TestCheckTaskIsReady:
    @pytest.mark.parametrize(
        "state", [st.Pending(), st.Scheduled(), st.Retrying(run_count=1), st.Resume()]
    )
    def test_pending_states_continue(self, state):
        assert TaskRunner(Task()).check_task_is_ready(state) is state

    @pytest.mark.parametrize("state", [st.Success(), st.Failed(), st.Skipped(), st.Running()])
    def test_other_states_end_the_run_unchanged(self, state):
        with pytest.raises(ENDRUN) as info:
            TaskRunner(Task()).check_task_is_ready(state)
        assert info.value.state is state


class TestCheckTaskReachedStartTime:
    def test_no_start_time(self):
        s = st.Pending()
        assert TaskRunner(Task()).check_task_reached_start_time(s) is s

    def test_past_start_time(self):
        s = st.Scheduled(start_time=past())
        assert TaskRunner(Task()).check_task_reached_start_time(s) is s

    def test_future_start_time(self):
        s = st.Retrying(start_time=future(), run_count=1)
        with pytest.raises(ENDRUN) as info:
            TaskRunner(Task()).check_task_reached_start_time(s)
        assert info.value.state is s

    def test_paused_without_start_time_waits(self):
        with pytest.raises(ENDRUN):
            TaskRunner(Task()).check_task_reached_start_time(st.Paused())

    def test_paused_whose_time_is_up_continues(self):
        s = st.Paused(start_time=past())
        assert TaskRunner(Task()).check_task_reached_start_time(s) is s


class TestCheckUpstreamFinished:
    def test_all_finished(self):
        s = st.Pending()
        ups = {edge(): st.Success(), edge(): st.Failed()}
        assert TaskRunner(Task()).check_upstream_finished(s, ups) is s

    def test_unfinished_upstream_ends_the_run(self):
        s = st.Pending()
        with pytest.raises(ENDRUN) as info:
            TaskRunner(Task()).check_upstream_finished(
                s, {edge(): st.Success(), edge(): st.Running()}
            )
        assert info.value.state is s

    def test_unfinished_mapped_child(self):
        ups = {edge(): st.Mapped(map_states=[st.Success(), st.Pending()])}
        with pytest.raises(ENDRUN):
            TaskRunner(Task()).check_upstream_finished(st.Pending(), ups)


class TestCheckUpstreamSkipped:
    def test_no_skips(self):
        s = st.Pending()
        assert TaskRunner(Task()).check_upstream_skipped(s, {edge(): st.Success()}) is s

    def test_skipped_upstream_skips(self):
        with pytest.raises(ENDRUN) as info:
            TaskRunner(Task()).check_upstream_skipped(st.Pending(), {edge(): st.Skipped()})
        assert type(info.value.state) is st.Skipped
        assert "skip_on_upstream_skip" in info.value.state.message

    def test_disabled(self):
        s = st.Pending()
        runner = TaskRunner(Task(skip_on_upstream_skip=False))
        assert runner.check_upstream_skipped(s, {edge(): st.Skipped()}) is s

    def test_reduce_over_a_skipped_child(self):
        ups = {edge(key="x"): st.Mapped(map_states=[st.Success(), st.Skipped()])}
        with pytest.raises(ENDRUN) as info:
            TaskRunner(AddTask()).check_upstream_skipped(st.Pending(), ups)
        assert type(info.value.state) is st.Skipped


class TestGetTaskInputs:
    def test_keyed_upstream_results(self):
        runner = TaskRunner(AddTask())
        inputs = runner.get_task_inputs(
            st.Pending(), {edge(key="x"): st.Success(result=1), edge(): st.Success(result=9)}
        )
        assert values(inputs) == {"x": 1}

    def test_constants(self):
        runner = TaskRunner(AddTask())
        runner.constants = {"y": 5}
        assert values(
            runner.get_task_inputs(st.Pending(), {edge(key="x"): st.Success(result=1)})
        ) == {
            "x": 1,
            "y": 5,
        }

    def test_cached_inputs_fill_missing_keys(self):
        runner = TaskRunner(AddTask())
        s = st.Retrying(run_count=1, cached_inputs={"x": 1, "y": 2})
        assert values(runner.get_task_inputs(s, {edge(key="x"): st.Success(result=10)})) == {
            "x": 10,
            "y": 2,
        }

    @pytest.mark.parametrize(
        "released",
        [
            _strip(st.Success(result=3)),
            _strip(st.Mapped(map_states=[st.Success(result=1), st.Success(result=2)])),
        ],
        ids=["task", "mapped"],
    )
    def test_a_released_upstream_result_fails_the_task(self, released):
        with pytest.raises(ENDRUN) as info:
            TaskRunner(AddTask()).get_task_inputs(st.Pending(), {edge(key="x"): released})
        assert type(info.value.state) is st.Failed
        assert "was released by a memory-bounded run" in info.value.state.message
        assert "include it in return_tasks" in info.value.state.message

    def test_a_released_upstream_result_kept_in_cached_inputs_is_used(self):
        s = st.Retrying(run_count=1, cached_inputs={"x": 7})
        released = _strip(st.Success(result=3))
        assert values(TaskRunner(AddTask()).get_task_inputs(s, {edge(key="x"): released})) == {
            "x": 7
        }


class TestSetTaskRunName:
    def test_template(self):
        with headwater.context(ctx(parameters={"p": "P"})):
            runner = TaskRunner(Task(task_run_name="{x}-{p}-{task_full_name}"))
            runner.set_task_run_name({"x": Result(1)})
            assert headwater.context.task_run_name == "1-P-t"

    def test_callable(self):
        with headwater.context(ctx()):
            runner = TaskRunner(Task(task_run_name=lambda **kw: f"run-{kw['x']}"))
            runner.set_task_run_name({"x": Result(3)})
            assert headwater.context.task_run_name == "run-3"

    def test_none_leaves_the_name(self):
        with headwater.context(ctx(task_run_name="orig")):
            TaskRunner(Task()).set_task_run_name({})
            assert headwater.context.task_run_name == "orig"


class MemoryResult(Result):
    """A tiny in-memory result."""

    store: dict = {}

    def __init__(self, value=None, location=None):
        self.value = value
        self.location = location

    def copy(self):
        return MemoryResult(self.value, self.location)

    def format(self, **kwargs):
        return MemoryResult(self.value, self.location.format(**kwargs))

    def exists(self, location, **kwargs):
        return location.format(**kwargs) in self.store

    def read(self, location):
        return MemoryResult(self.store[location], location)

    def write(self, value, **kwargs):
        loc = self.format(**kwargs).location
        self.store[loc] = value
        return MemoryResult(value, loc)


class TestCheckTarget:
    def test_no_target(self):
        s = st.Pending()
        assert TaskRunner(Task()).check_target(s, {}, ctx()) is s

    def test_missing_target_continues(self):
        MemoryResult.store.clear()
        s = st.Pending()
        runner = TaskRunner(Task(result=MemoryResult(), target="missing-{x}"))
        assert runner.check_target(s, {"x": 1}, ctx()) is s

    def test_existing_target_is_cached(self):
        MemoryResult.store.clear()
        MemoryResult.store["found-1"] = "stored value"
        runner = TaskRunner(Task(result=MemoryResult(), target="found-{x}"))
        out = runner.check_target(st.Pending(), {"x": Result(1)}, ctx())
        assert type(out) is st.Cached
        assert out.result == "stored value"


class TestCheckTaskIsCached:
    def test_not_cached_task(self):
        s = st.Pending()
        assert TaskRunner(Task()).check_task_is_cached(s, {}, ctx(caches={})) is s

    def test_valid_cached_state_is_reused(self):
        t = Task(name="cache-me", cache_for=datetime.timedelta(hours=1))
        cached = st.Cached(result=5, cached_result_expiration=future())
        out = TaskRunner(t).check_task_is_cached(
            st.Pending(), {}, ctx(caches={"cache-me": [cached]})
        )
        assert out is cached

    def test_expired_cached_state_is_ignored(self):
        t = Task(name="cache-me", cache_for=datetime.timedelta(hours=1))
        cached = st.Cached(result=5, cached_result_expiration=past())
        s = st.Pending()
        assert TaskRunner(t).check_task_is_cached(s, {}, ctx(caches={"cache-me": [cached]})) is s

    def test_cache_key_is_shared(self):
        t = Task(name="other", cache_for=datetime.timedelta(hours=1), cache_key="shared")
        cached = st.Cached(result=5, cached_result_expiration=future())
        out = TaskRunner(t).check_task_is_cached(st.Pending(), {}, ctx(caches={"shared": [cached]}))
        assert out is cached

    def test_given_cached_state_that_is_invalid_becomes_pending(self):
        t = Task(cache_for=datetime.timedelta(hours=1))
        out = TaskRunner(t).check_task_is_cached(
            st.Cached(cached_result_expiration=past()), {}, ctx(caches={})
        )
        assert type(out) is st.Pending


class TestCheckTaskTrigger:
    def test_passing_trigger(self):
        s = st.Pending()
        assert TaskRunner(Task()).check_task_trigger(s, {edge(): st.Success()}) is s

    def test_failing_trigger(self):
        with pytest.raises(ENDRUN) as info:
            TaskRunner(Task()).check_task_trigger(st.Pending(), {edge(): st.Failed()})
        assert type(info.value.state) is st.TriggerFailed

    def test_false_trigger_names_the_trigger(self):
        def picky(upstream_states):
            return False

        with pytest.raises(ENDRUN) as info:
            TaskRunner(Task(trigger=picky)).check_task_trigger(st.Pending(), {})
        assert info.value.state.message == 'Trigger was "picky" and it returned False.'

    def test_trigger_raising_an_error(self):
        def broken(upstream_states):
            raise KeyError("oops")

        with pytest.raises(ENDRUN) as info:
            TaskRunner(Task(trigger=broken)).check_task_trigger(st.Pending(), {})
        assert type(info.value.state) is st.TriggerFailed
        assert "KeyError" in info.value.state.message

    def test_manual_only_pauses(self):
        with pytest.raises(ENDRUN) as info:
            TaskRunner(Task(trigger=triggers.manual_only)).check_task_trigger(st.Pending(), {})
        assert type(info.value.state) is st.Paused


class TestSetTaskToRunning:
    def test_pending_becomes_running(self):
        out = TaskRunner(Task()).set_task_to_running(st.Pending(), {})
        assert type(out) is st.Running

    def test_handlers_see_the_change(self):
        seen = []
        t = Task(state_handlers=[lambda t, old, new: seen.append((type(old), type(new)))])
        TaskRunner(t).set_task_to_running(st.Pending(), {})
        assert seen == [(st.Pending, st.Running)]

    def test_non_pending_ends(self):
        s = st.Success()
        with pytest.raises(ENDRUN) as info:
            TaskRunner(Task()).set_task_to_running(s, {})
        assert info.value.state is s


class TestGetTaskRunState:
    def test_success(self):
        out = TaskRunner(AddTask()).get_task_run_state(st.Running(), {"x": 1, "y": 2}, ctx())
        assert type(out) is st.Success
        assert out.result == 3
        assert out.message == "Task run succeeded."

    def test_error(self):
        out = TaskRunner(ErrorTask()).get_task_run_state(st.Running(), {}, ctx())
        assert type(out) is st.Failed
        assert out.message == "Error during execution of task: ValueError('custom-error-message')"
        assert isinstance(out.result, ValueError)

    def test_raise_on_exception(self):
        with pytest.raises(ValueError, match="custom-error-message"):
            TaskRunner(ErrorTask()).get_task_run_state(
                st.Running(), {}, ctx(raise_on_exception=True)
            )

    @pytest.mark.parametrize(
        "sig, cls",
        [
            (signals.FAIL, st.Failed),
            (signals.SKIP, st.Skipped),
            (signals.SUCCESS, st.Success),
            (signals.RETRY, st.Retrying),
        ],
    )
    def test_signals(self, sig, cls):
        @task
        def raiser():
            raise sig("signalled")

        out = TaskRunner(raiser).get_task_run_state(st.Running(), {}, ctx())
        assert type(out) is cls
        assert out.message == "signalled"

    def test_loop(self):
        @task
        def looper():
            raise signals.LOOP(result=4)

        out = TaskRunner(looper).get_task_run_state(st.Running(), {}, ctx(task_loop_count=2))
        assert type(out) is st.Looped
        assert out.loop_count == 2 and out.result == 4

    def test_timeout(self):
        release = __import__("threading").Event()

        @task(timeout=0.05)
        def slow():
            release.wait(10)

        try:
            out = TaskRunner(slow).get_task_run_state(st.Running(), {}, ctx())
        finally:
            release.set()
        assert type(out) is st.TimedOut
        assert out.message == "Task timed out during execution."

    def test_checkpointing(self):
        MemoryResult.store.clear()
        t = AddTask(result=MemoryResult(location="out-{x}"))
        out = TaskRunner(t).get_task_run_state(st.Running(), {"x": 1}, ctx(checkpointing=True))
        assert out.result == 2
        assert MemoryResult.store == {"out-1": 2}

    def test_no_checkpoint_when_disabled(self):
        MemoryResult.store.clear()
        t = AddTask(result=MemoryResult(location="out-{x}"), checkpoint=False)
        TaskRunner(t).get_task_run_state(st.Running(), {"x": 1}, ctx(checkpointing=True))
        TaskRunner(AddTask(result=MemoryResult(location="o"))).get_task_run_state(
            st.Running(), {"x": 1}, ctx()
        )
        assert MemoryResult.store == {}


class TestCacheResult:
    def test_success_is_cached(self):
        caches: dict = {}
        t = AddTask(name="cached-add", cache_for=datetime.timedelta(hours=1))
        s = st.Success(result=3)
        out = TaskRunner(t).cache_result(
            s, {"x": Result(2)}, ctx(caches=caches, parameters={"p": 1})
        )
        [cached] = caches["cached-add"]
        assert out is cached
        assert type(cached) is st.Cached
        assert cached.result == 3
        assert cached.cached_inputs == {"x": 2}
        assert cached.cached_parameters == {"p": 1}
        assert cached.cached_result_expiration > pendulum.now("UTC")

    def test_not_cached_without_cache_for(self):
        caches: dict = {}
        TaskRunner(AddTask()).cache_result(st.Success(result=3), {}, ctx(caches=caches))
        assert caches == {}

    def test_failures_are_not_cached(self):
        caches: dict = {}
        t = AddTask(cache_for=datetime.timedelta(hours=1))
        TaskRunner(t).cache_result(st.Failed(), {}, ctx(caches=caches))
        assert caches == {}


class TestCheckForRetry:
    def test_failure_with_retries_left(self):
        t = ErrorTask(max_retries=2, retry_delay=datetime.timedelta(minutes=1))
        before = pendulum.now("UTC")
        out = TaskRunner(t).check_for_retry(st.Failed("x"), {"a": 1}, ctx(task_run_count=1))
        assert type(out) is st.Retrying
        assert out.run_count == 1
        assert out.cached_inputs == {"a": 1}
        assert out.start_time >= before.add(seconds=59)

    def test_no_retries_left(self):
        t = ErrorTask(max_retries=2, retry_delay=ZERO)
        s = st.Failed("x")
        assert TaskRunner(t).check_for_retry(s, {}, ctx(task_run_count=3)) is s

    def test_success_is_not_retried(self):
        t = ErrorTask(max_retries=2, retry_delay=ZERO)
        s = st.Success()
        assert TaskRunner(t).check_for_retry(s, {}, ctx()) is s

    def test_trigger_failed_is_not_retried(self):
        t = ErrorTask(max_retries=2, retry_delay=ZERO)
        s = st.TriggerFailed()
        assert TaskRunner(t).check_for_retry(s, {}, ctx()) is s

    def test_retry_on_matching(self):
        t = ErrorTask(max_retries=1, retry_delay=ZERO, retry_on=ValueError)
        assert (
            type(TaskRunner(t).check_for_retry(st.Failed(result=ValueError()), {}, ctx()))
            is st.Retrying
        )

    def test_retry_on_not_matching(self):
        t = ErrorTask(max_retries=1, retry_delay=ZERO, retry_on=[KeyError])
        s = st.Failed(result=ValueError())
        assert TaskRunner(t).check_for_retry(s, {}, ctx()) is s


class TestCheckTaskIsLooping:
    def test_passes_states_through(self):
        for s in (st.Looped(loop_count=1), st.Success()):
            assert TaskRunner(Task()).check_task_is_looping(s, {}, ctx()) is s


class TestCheckReadyToMap:
    def test_ready(self):
        s = st.Pending()
        ups = {edge(key="x", mapped=True): st.Success(result=[1, 2])}
        assert TaskRunner(AddTask()).check_ready_to_map(s, ups) is s

    def test_no_mapped_upstream(self):
        out = TaskRunner(AddTask()).check_ready_to_map(
            st.Pending(), {edge(key="x"): st.Success(result=[1])}
        )
        assert type(out) is st.Failed
        assert out.message == "No upstream states can be mapped over."

    def test_unmappable_result(self):
        out = TaskRunner(AddTask()).check_ready_to_map(
            st.Pending(), {edge(key="x", mapped=True): st.Success(result=5)}
        )
        assert type(out) is st.Failed
        assert "unmappable" in out.message

    def test_no_successful_upstream_cannot_be_mapped_over(self):
        # as in Prefect Core 1.x: the parent fails, without asking its trigger
        out = TaskRunner(AddTask()).check_ready_to_map(
            st.Pending(), {edge(key="x", mapped=True): st.Failed()}
        )
        assert type(out) is st.Failed
        assert out.message == "No upstream states can be mapped over."

    def test_skipped_upstream(self):
        out = TaskRunner(AddTask()).check_ready_to_map(
            st.Pending(), {edge(key="x", mapped=True): st.Skipped()}
        )
        assert type(out) is st.Skipped


class TestRunMappedTask:
    def test_maps_over_a_list(self):
        runner = TaskRunner(AddTask())
        out = runner.run(upstream_states={edge(key="x", mapped=True): st.Success(result=[1, 2, 3])})
        assert type(out) is st.Mapped
        assert [c.result for c in out.map_states] == [2, 3, 4]

    def test_maps_over_a_mapped_state(self):
        up = st.Mapped(map_states=[st.Success(result=10), st.Success(result=20)])
        out = TaskRunner(AddTask()).run(upstream_states={edge(key="x", mapped=True): up})
        assert out.result == [11, 21]

    def test_children_get_their_map_index(self):
        @task
        def where(x):
            return headwater.context.map_index, headwater.context.task_full_name

        out = TaskRunner(where).run(
            upstream_states={edge(key="x", mapped=True, down=where): st.Success(result="ab")}
        )
        assert out.result == [(0, "where[0]"), (1, "where[1]")]


class TestRun:
    def test_default_state_is_pending_and_runs(self):
        assert TaskRunner(ok).run() == st.Success(result=1)

    def test_finished_state_is_returned_unchanged(self):
        s = st.Success(result=99)
        assert TaskRunner(ok).run(state=s) is s

    def test_upstream_inputs(self):
        out = TaskRunner(AddTask()).run(upstream_states={edge(key="x"): st.Success(result=1)})
        assert out.result == 2

    def test_missing_argument_fails(self):
        out = TaskRunner(AddTask()).run()
        assert type(out) is st.Failed
        assert "x" in out.message

    def test_context_argument(self):
        @task
        def read():
            return headwater.context.get("special")

        assert TaskRunner(read).run(context={"special": "yes"}).result == "yes"

    def test_task_keys_in_context(self):
        @task(tags=["t1"])
        def read():
            c = headwater.context
            return (c.task_name, c.task_full_name, c.task_tags, c.map_index, c.task_run_count)

        assert TaskRunner(read).run().result == ("read", "read", {"t1"}, None, 1)

    def test_unexpected_errors_become_failed(self):
        t = Task(state_handlers=[lambda *a: 1 / 0])
        out = TaskRunner(t).run()
        assert type(out) is st.Failed
        assert "ZeroDivisionError" in out.message

    def test_raise_on_exception(self):
        with raise_on_exception():
            with pytest.raises(ValueError, match="custom-error-message"):
                TaskRunner(ErrorTask()).run()

    def test_signals_still_become_states_with_raise_on_exception(self):
        @task
        def skipper():
            raise signals.SKIP("skip")

        with raise_on_exception():
            assert type(TaskRunner(skipper).run()) is st.Skipped

    def test_loop(self):
        @task
        def count_up():
            n = headwater.context.task_loop_count
            if n < 4:
                raise signals.LOOP(result=(headwater.context.get("task_loop_result") or 0) + n)
            return headwater.context.task_loop_result

        assert TaskRunner(count_up).run().result == 1 + 2 + 3


class TestStateHandlers:
    def test_task_handlers_see_every_change(self):
        seen = []

        def handler(t, old, new):
            seen.append((type(old).__name__, type(new).__name__))

        TaskRunner(Task(state_handlers=[handler])).run()
        assert seen == [("Pending", "Running"), ("Running", "Success")]

    def test_handler_can_replace_the_state(self):
        def handler(t, old, new):
            if new.is_successful():
                return st.Failed("rejected")
            return None

        out = TaskRunner(Task(state_handlers=[handler])).run()
        assert type(out) is st.Failed and out.message == "rejected"

    def test_runner_handlers_run_after_task_handlers(self):
        order = []
        t = Task(state_handlers=[lambda t, o, n: order.append("task")])
        runner = TaskRunner(
            t, state_handlers=[lambda r, o, n: order.append(("runner", type(r).__name__))]
        )
        runner.run()
        assert order == ["task", ("runner", "TaskRunner"), "task", ("runner", "TaskRunner")]

    def test_on_failure(self):
        calls = []
        t = ErrorTask(on_failure=lambda task, state: calls.append((task, type(state))))
        TaskRunner(t).run()
        assert calls == [(t, st.Failed)]

    def test_on_failure_not_called_on_success(self):
        calls = []
        TaskRunner(Task(on_failure=lambda *a: calls.append(a))).run()
        assert calls == []

    def test_state_handlers_must_be_a_list(self):
        with pytest.raises(TypeError, match="list"):
            TaskRunner(Task(), state_handlers=lambda *a: None)
