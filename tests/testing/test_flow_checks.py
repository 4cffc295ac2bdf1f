"""``run_flow``, ``task_state`` and ``assert_task_states``: running a flow in a test, and what a
failed check says."""

from __future__ import annotations

import datetime

import pytest

from headwater import Flow, Parameter, task
from headwater.engine.state import Cached, Failed, Mapped, Success, TriggerFailed
from headwater.executors import LocalExecutor
from headwater.schedules import IntervalSchedule
from headwater.testing import assert_task_states, run_flow, task_state


@task
def numbers(n):
    return list(range(n))


@task
def square(x):
    if x in (2, 4):
        raise ValueError(f"{x} is not allowed")
    return x * x


@task
def total(xs):
    return sum(xs)


def build(schedule=None):
    with Flow("squares", schedule=schedule) as flow:
        n = Parameter("n", default=2)
        squares = square.map(numbers(n))
        result = total(squares)
    return flow, squares, result


class TestRunFlow:
    def test_parameters_by_keyword_or_mapping(self):
        flow, _, result = build()
        assert task_state(run_flow(flow, n=2), result).result == 1
        assert task_state(run_flow(flow, {"n": 2}), result).result == 1
        assert task_state(run_flow(flow), result).result == 1  # the default

    def test_an_unknown_parameter_is_named(self):
        flow, *_ = build()
        with pytest.raises(
            TypeError, match="flow 'squares' has no parameter 'm'; its parameters are: n"
        ):
            run_flow(flow, m=3)

    def test_the_schedule_is_not_followed(self):
        start = datetime.datetime.now(datetime.UTC) + datetime.timedelta(days=1)
        flow, *_ = build(IntervalSchedule(start_date=start, interval=datetime.timedelta(days=1)))
        assert run_flow(flow, n=2).is_successful()

    def test_the_executor_is_used(self):
        submitted = []

        class Counting(LocalExecutor):
            def submit(self, fn, *args, **kwargs):
                submitted.append(fn)
                return super().submit(fn, *args, **kwargs)

        flow, *_ = build()
        assert run_flow(flow, executor=Counting(), n=2).is_successful()
        assert submitted


class TestTaskState:
    def test_by_task_or_by_name(self):
        flow, squares, _ = build()
        state = run_flow(flow)
        assert task_state(state, squares) is task_state(state, "square")
        assert isinstance(task_state(state, "n"), Success)

    def test_unknown_names_and_tasks_list_the_tasks(self):
        flow, *_ = build()
        state = run_flow(flow)
        with pytest.raises(
            LookupError,
            match="no task named 'sqare' in this flow run; tasks with states: 'n', 'numbers', 'square', 'total'",
        ):
            task_state(state, "sqare")
        with pytest.raises(LookupError, match="has no state in this flow run"):
            task_state(state, square.copy())

    def test_a_name_shared_by_tasks_asks_for_the_task(self):
        @task
        def one():
            return 1

        with Flow("twice") as flow:
            one()
            one()
        with pytest.raises(
            LookupError,
            match=r"2 tasks are named 'one' \(slugs 'one-1', 'one-2'\): pass the Task itself",
        ):
            task_state(run_flow(flow), "one")


class TestAssertTaskStates:
    def test_matching_states_pass(self):
        flow, squares, result = build()
        state = run_flow(flow, n=2)
        assert_task_states(state, {"numbers": "Success", squares: Mapped, result: "Success"})

    def test_a_name_matches_the_classes_a_state_derives_from(self):
        flow, squares, result = build()
        state = run_flow(flow, n=3)  # square(2) fails
        assert_task_states(state, {"numbers": "Success", result: "Failed", "total": TriggerFailed})

    def test_a_mapped_task_is_a_success_when_every_child_is(self):
        flow, squares, _ = build()
        assert_task_states(run_flow(flow, n=2), {squares: "Success", "square": Success})
        failed_child = run_flow(flow, n=3)  # square(2) fails
        assert_task_states(failed_child, {squares: "Mapped"})
        with pytest.raises(AssertionError) as info:
            assert_task_states(failed_child, {squares: "Success"})
        assert "- task 'square': expected Success, got Mapped" in str(info.value)
        assert "    child 2: Failed: " in str(info.value)

    def test_a_trigger_failure_shows_no_traceback(self):
        flow, *_ = build()
        with pytest.raises(AssertionError) as info:
            assert_task_states(run_flow(flow, n=3), {"total": "Success"})
        assert "got TriggerFailed: Trigger was" in str(info.value)
        assert "Traceback" not in str(info.value)

    def test_cached_is_a_success(self):
        @task(cache_for=datetime.timedelta(minutes=1))
        def slow():
            return 1

        with Flow("cached") as flow:
            slow()
        state = run_flow(flow)
        assert_task_states(state, {"slow": "Success"})
        assert_task_states(state, {"slow": Cached})

    def test_a_name_applies_to_every_task_of_that_name(self):
        @task
        def one():
            return 1

        with Flow("twice") as flow:
            one()
            one()
        assert_task_states(run_flow(flow), {"one": "Success"})
        with pytest.raises(AssertionError) as info:
            assert_task_states(run_flow(flow), {"one": "Failed"})
        text = str(info.value)
        assert text.startswith("2 of 1 expected task states differ")
        assert "- task 'one' (slug 'one-1'): expected Failed, got Success" in text
        assert "- task 'one' (slug 'one-2'): expected Failed, got Success" in text

    def test_the_failure_lists_each_difference_with_state_message_and_exception(self):
        flow, squares, result = build()
        state = run_flow(flow, n=5)  # square(2) and square(4) fail
        with pytest.raises(AssertionError) as info:
            assert_task_states(
                state, {"numbers": "Success", "square": "Mapped", result: "Success", "n": Failed}
            )
        text = str(info.value)
        head, *rest = text.splitlines()
        assert (
            head
            == '2 of 4 expected task states differ (flow run: <Failed: "Some reference tasks failed.">):'
        )
        assert (
            "- task 'total': expected Success, got TriggerFailed: Trigger was \"all_successful\" "
            "but some of the upstream tasks failed." in rest
        )
        assert "- task 'n': expected Failed, got Success: Task run succeeded." in rest
        assert "square" not in head and not any(line.startswith("- task 'square'") for line in rest)

    def test_a_failed_task_shows_its_exception_and_traceback(self):
        @task
        def broken():
            raise KeyError("missing-key")

        with Flow("broken") as flow:
            broken()
        with pytest.raises(AssertionError) as info:
            assert_task_states(run_flow(flow), {"broken": "Success"})
        text = str(info.value)
        assert "- task 'broken': expected Success, got Failed: " in text
        assert "    Traceback (most recent call last):" in text
        assert "in broken\n" in text and "    KeyError: 'missing-key'" in text

    def test_a_mapped_task_shows_its_failed_children(self):
        flow, squares, _ = build()
        state = run_flow(flow, n=5)
        with pytest.raises(AssertionError) as info:
            assert_task_states(state, {squares: Cached})
        text = str(info.value)
        assert "- task 'square': expected Cached, got Mapped" in text
        assert "    child 2: Failed: " in text and "        ValueError: 2 is not allowed" in text
        assert "    child 4: Failed: " in text and "        ValueError: 4 is not allowed" in text
        assert "child 0" not in text

    def test_missing_tasks_are_differences(self):
        flow, *_ = build()
        state = run_flow(flow)
        with pytest.raises(AssertionError, match="no task named 'load' in this flow run"):
            assert_task_states(state, {"load": "Success"})

    def test_an_unknown_state_name_is_a_usage_error(self):
        flow, *_ = build()
        with pytest.raises(
            ValueError, match="expected a state class or one of its names .*Success.*, got 'Sucess'"
        ):
            assert_task_states(run_flow(flow), {"total": "Sucess"})

    def test_the_state_must_be_a_flow_run_state(self):
        with pytest.raises(AssertionError, match="expected the state of a flow run"):
            assert_task_states(Success(result=3), {"total": "Success"})
