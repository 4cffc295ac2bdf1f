"""@flow: options, calling, subflows, parameters, final states, retries, timeouts, hooks."""

from __future__ import annotations

import asyncio
import threading

import pydantic
import pytest

from headwater import flow, runtime, task
from headwater.modern.errors import ParameterTypeError
from headwater.states import Cancelled, Completed, Failed, StateType


@task
def double(x: int) -> int:
    return 2 * x


@task
def boom(x: int = 0) -> int:
    raise ValueError(f"boom {x}")


def test_bare_and_configured_flows_return_their_value():
    @flow
    def plain(x: int) -> int:
        return double(x) + 1

    @flow(name="configured", version="1.2")
    def configured() -> str:
        return f"{runtime.flow_run.flow_name} {runtime.flow_run.flow_version}"

    assert plain(4) == 9
    assert plain.name == "plain"
    assert configured() == "configured 1.2"


def test_default_name_uses_dashes_and_fn_is_the_function():
    @flow
    def my_etl_flow(x):
        return x

    assert my_etl_flow.name == "my-etl-flow"
    assert my_etl_flow.fn(5) == 5
    assert my_etl_flow.__name__ == "my_etl_flow"


def test_return_state_gives_the_final_state():
    @flow
    def three():
        return 3

    state = three(return_state=True)
    assert state.type is StateType.COMPLETED
    assert state.name == "Completed"
    assert state.is_completed()
    assert state.result() == 3


def test_flow_run_name_from_a_template_and_from_a_callable():
    @flow(flow_run_name="etl-{day}")
    def templated(day: str):
        return runtime.flow_run.name

    @flow(flow_run_name=lambda: f"called-{runtime.flow_run.parameters['n']}")
    def called(n: int):
        return runtime.flow_run.name

    assert templated("monday") == "etl-monday"
    assert called(2) == "called-2"


def test_a_bad_flow_run_name_template_says_what_is_missing():
    @flow(flow_run_name="{nope}")
    def named(x):
        return x

    with pytest.raises(ValueError, match="nope"):
        named(1)


def test_with_options_copies_and_changes():
    @flow(retries=0)
    def original():
        return runtime.flow_run.flow_name

    renamed = original.with_options(name="renamed", retries=2)
    assert renamed() == "renamed"
    assert renamed.retries == 2
    assert original() == "original"
    with pytest.raises(TypeError, match="unknown options"):
        original.with_options(nope=1)


class Point(pydantic.BaseModel):
    x: int
    y: int


def test_validate_parameters_coerces_like_prefect3():
    @flow
    def typed(n: int, p: Point, items: list[float]):
        return n, p, items

    n, p, items = typed("3", {"x": "1", "y": 2}, ["1.5", 2])
    assert n == 3
    assert p == Point(x=1, y=2)
    assert items == [1.5, 2.0]


def test_invalid_parameters_fail_the_run_with_a_clear_error():
    @flow
    def typed(n: int):
        return n

    with pytest.raises(ParameterTypeError, match="n='many'"):
        typed("many")
    state = typed("many", return_state=True)
    assert state.is_failed()
    assert "Validation of flow parameters failed" in state.message


def test_validation_can_be_turned_off():
    @flow(validate_parameters=False)
    def untyped(n: int):
        return n

    assert untyped("3") == "3"


def test_a_flow_inside_a_flow_is_a_subflow_run():
    seen = {}

    @flow
    def child():
        seen["child"] = (runtime.flow_run.id, runtime.flow_run.parent_flow_run_id)
        return "c"

    @flow
    def parent():
        seen["parent"] = runtime.flow_run.id
        return child()

    assert parent() == "c"
    child_id, parent_of_child = seen["child"]
    assert parent_of_child == seen["parent"]
    assert child_id != seen["parent"]


def test_a_failed_subflow_raises_in_the_parent():
    @flow
    def child():
        raise RuntimeError("child failed")

    @flow
    def parent():
        return child()

    state = parent(return_state=True)
    assert state.is_failed()
    with pytest.raises(RuntimeError, match="child failed"):
        state.result()


def test_a_failed_subflow_state_can_be_handled():
    @flow
    def child():
        raise RuntimeError("child failed")

    @flow
    def parent():
        sub = child(return_state=True)
        return "recovered" if sub.is_failed() else "?"

    assert parent() == "recovered"


# -- final state rules ----------------------------------------------------------------------
def test_a_raised_exception_fails_the_flow():
    @flow
    def raises():
        raise KeyError("k")

    state = raises(return_state=True)
    assert state.type is StateType.FAILED
    assert "KeyError" in state.message
    with pytest.raises(KeyError):
        raises()


def test_a_task_failure_the_flow_catches_does_not_fail_it():
    @flow
    def swallows():
        try:
            boom()
        except ValueError:
            pass
        future = boom.submit(1)  # failed, never returned: the flow still completes
        future.wait()
        return "fine"

    state = swallows(return_state=True)
    assert state.is_completed()
    assert state.result() == "fine"


def test_a_returned_failed_state_fails_the_flow():
    @flow
    def manual():
        return Failed(message="gave up")

    state = manual(return_state=True)
    assert state.is_failed()
    assert state.message == "gave up"


def test_returned_futures_are_aggregated():
    @flow
    def some_fail():
        return [double.submit(1), boom.submit(2)]

    @flow
    def all_pass():
        return double.submit(1), double.submit(2)

    failed = some_fail(return_state=True)
    assert failed.is_failed()
    assert failed.message == "1/2 states failed."
    with pytest.raises(ValueError, match="boom 2"):
        failed.result()
    passed = all_pass(return_state=True)
    assert passed.is_completed()
    assert [s.result() for s in passed.result()] == [2, 4]


def test_a_returned_failed_task_state_fails_the_flow():
    @flow
    def returns_state():
        return boom(return_state=True)

    assert returns_state(return_state=True).is_failed()


def test_a_returned_cancelled_state_cancels_the_flow():
    @flow
    def cancels():
        return Cancelled(message="stop")

    state = cancels(return_state=True)
    assert state.type is StateType.CANCELLED


def test_a_returned_completed_state_is_taken_as_it_is():
    @flow
    def manual():
        return Completed(message="all good", data=7)

    state = manual(return_state=True)
    assert state.message == "all good"
    assert state.result() == 7


# -- retries and timeouts -------------------------------------------------------------------
def test_flow_retries_run_the_function_again():
    counts = []

    @flow(retries=2, retry_delay_seconds=0)
    def flaky():
        counts.append(runtime.flow_run.run_count)
        if len(counts) < 3:
            raise RuntimeError("not yet")
        return "ok"

    assert flaky() == "ok"
    assert counts == [1, 2, 3]


def test_flow_retries_give_up_after_the_last():
    @flow(retries=1)
    def always():
        raise RuntimeError("never")

    state = always(return_state=True)
    assert state.is_failed()


def test_a_flow_past_its_timeout_is_timed_out():
    release = threading.Event()

    @flow(timeout_seconds=0.05)
    def slow():
        release.wait(5)

    state = slow(return_state=True)
    release.set()
    assert state.type is StateType.FAILED
    assert state.name == "TimedOut"
    assert "timeout" in state.message


# -- hooks ----------------------------------------------------------------------------------
def _recorder(calls, kind):
    def hook(fl, run, state):
        calls.append((kind, fl.name, run.name, state.type.value))

    return hook


def test_hooks_are_called_on_each_outcome():
    calls = []
    hooks = {
        k: [_recorder(calls, k)]
        for k in ("on_completion", "on_failure", "on_cancellation", "on_crashed", "on_running")
    }

    @flow(flow_run_name="ok-run", **hooks)
    def ok():
        return 1

    @flow(flow_run_name="bad-run", **hooks)
    def bad():
        raise ValueError("x")

    @flow(flow_run_name="cancel-run", **hooks)
    def cancel():
        return Cancelled()

    @flow(flow_run_name="crash-run", **hooks)
    def crash():
        raise KeyboardInterrupt

    ok()
    bad(return_state=True)
    cancel(return_state=True)
    with pytest.raises(KeyboardInterrupt):
        crash()
    assert calls == [
        ("on_running", "ok", "ok-run", "RUNNING"),
        ("on_completion", "ok", "ok-run", "COMPLETED"),
        ("on_running", "bad", "bad-run", "RUNNING"),
        ("on_failure", "bad", "bad-run", "FAILED"),
        ("on_running", "cancel", "cancel-run", "RUNNING"),
        ("on_cancellation", "cancel", "cancel-run", "CANCELLED"),
        ("on_running", "crash", "crash-run", "RUNNING"),
        ("on_crashed", "crash", "crash-run", "CRASHED"),
    ]


def test_a_failing_hook_does_not_change_the_state():
    def bad_hook(fl, run, state):
        raise RuntimeError("hook broke")

    @flow(on_completion=[bad_hook])
    def fine():
        return 1

    assert fine(return_state=True).is_completed()


def test_hooks_must_be_callables():
    with pytest.raises(TypeError, match="on_failure takes a list of hooks"):

        @flow(on_failure=[1])
        def nope():
            pass


# -- async ----------------------------------------------------------------------------------
def test_async_flows_and_tasks():
    @task
    async def slow_double(x: int) -> int:
        await asyncio.sleep(0)
        return 2 * x

    @flow
    async def main(n: int) -> list[int]:
        first = await slow_double(n)
        both = await asyncio.gather(slow_double(first), slow_double(1))
        return [first, *both]

    assert asyncio.run(main("2")) == [4, 8, 2]
    state = asyncio.run(main(1, return_state=True))
    assert state.is_completed()


def test_async_flow_failure_and_timeout():
    @flow
    async def fails():
        raise ValueError("async")

    @flow(timeout_seconds=0.05)
    async def slow():
        await asyncio.sleep(5)

    assert asyncio.run(fails(return_state=True)).is_failed()
    state = asyncio.run(slow(return_state=True))
    assert state.name == "TimedOut"


def test_a_flow_needs_a_function():
    with pytest.raises(TypeError, match="decorates a function"):
        flow(3)


def test_validate_parameters_method_gives_the_coerced_values():
    @flow
    def typed(n: int, label: str = "x"):
        return n

    assert typed.validate_parameters({"n": "4"}) == {"n": 4, "label": "x"}
    with pytest.raises(ParameterTypeError):
        typed.validate_parameters({"n": "four"})


def test_a_returned_failed_state_is_not_retried():
    counts = []

    @flow(retries=2)
    def gives_up():
        counts.append(1)
        return Failed(message="final")

    assert gives_up(return_state=True).is_failed()
    assert counts == [1]
