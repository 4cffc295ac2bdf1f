"""@task in both worlds: Prefect 3's options in @flow runs, Prefect 1's graphs unchanged."""

from __future__ import annotations

import asyncio
import datetime
import logging
import threading

import pytest

from headwater import Flow, flow, runtime, tags, task
from headwater.modern.options import TaskOptions, options_of, retry_delay
from headwater.states import StateType
from headwater.tasks import exponential_backoff  # where Prefect 3 users import it from


def _options(**kw):
    return TaskOptions(name="t", fn=len, **kw)


def test_a_delay_list_shorter_than_retries_repeats_its_last_value():
    options = _options(retries=5, retry_delay_seconds=(1.0, 5.0, 30.0))
    assert [retry_delay(options, n) for n in range(1, 6)] == [1.0, 5.0, 30.0, 30.0, 30.0]


def test_delays_from_a_number_and_from_exponential_backoff():
    assert retry_delay(_options(retries=2, retry_delay_seconds=4.0), 2) == 4.0
    backoff = _options(retries=3, retry_delay_seconds=exponential_backoff(10))
    assert [retry_delay(backoff, n) for n in (1, 2, 3)] == [10, 20, 40]


def test_jitter_stays_within_its_factor():
    options = _options(retries=1, retry_delay_seconds=10.0, retry_jitter_factor=0.5)
    delays = {retry_delay(options, 1) for _ in range(50)}
    assert all(5.0 <= d <= 15.0 for d in delays)
    assert len(delays) > 1


def _fn(x):
    return x


def test_bad_options_are_clear_errors():
    with pytest.raises(ValueError, match="retries must be an int"):
        task(retries=-1)(_fn)
    with pytest.raises(TypeError, match="retry_delay_seconds takes"):
        task(retry_delay_seconds="soon")(_fn)
    with pytest.raises(TypeError, match="unknown option 'retrys'"):
        task(retrys=2)(_fn)
    with pytest.raises(TypeError, match="transactions"):
        task(on_commit=[print])(_fn)


def test_retries_run_the_task_again_in_a_flow():
    attempts = []

    @task(retries=3, retry_delay_seconds=[0, 0])
    def flaky():
        attempts.append(runtime.task_run.run_count)
        if len(attempts) < 3:
            raise ConnectionError("again")
        return "done"

    @flow
    def main():
        return flaky()

    assert main() == "done"
    assert attempts == [1, 2, 3]


def test_retry_condition_fn_can_stop_retries():
    attempts = []

    def only_connection_errors(tsk, task_run, state):
        return isinstance(state.result(raise_on_failure=False), ConnectionError)

    @task(retries=3, retry_condition_fn=only_connection_errors)
    def picky():
        attempts.append(1)
        raise KeyError("no retry for this")

    @flow
    def main():
        return picky(return_state=True).is_failed()

    assert main()
    assert len(attempts) == 1


def test_prefect1_retry_options_work_in_flows_too():
    attempts = []

    @task(max_retries=1, retry_delay=datetime.timedelta(0))
    def flaky():
        attempts.append(1)
        if len(attempts) == 1:
            raise RuntimeError("once")
        return 1

    @flow
    def main():
        return flaky()

    assert main() == 1
    assert len(attempts) == 2


def test_prefect3_options_fill_in_prefect1_ones_for_graphs():
    @task(retries=2, retry_delay_seconds=3, timeout_seconds=9, log_prints=True)
    def tsk():
        return 1

    assert tsk.max_retries == 2
    assert tsk.retry_delay == datetime.timedelta(seconds=3)
    assert tsk.timeout == 9
    assert tsk.log_stdout is True


def test_a_task_past_its_timeout_is_timed_out():
    release = threading.Event()

    @task(timeout_seconds=0.05)
    def slow():
        release.wait(5)

    states = []

    @flow
    def main():
        states.append(slow(return_state=True))

    main()
    release.set()
    state = states[0]
    assert state.type is StateType.FAILED
    assert state.name == "TimedOut"


def test_an_async_task_past_its_timeout_is_timed_out():
    @task(timeout_seconds=0.05)
    async def slow():
        await asyncio.sleep(5)

    @flow
    async def main():
        return (await slow(return_state=True)).name

    assert asyncio.run(main()) == "TimedOut"


def test_task_run_names_and_tags():
    seen = []

    @task(task_run_name="fetch-{url}", tags=["io"])
    def fetch(url):
        seen.append((runtime.task_run.name, runtime.task_run.tags, runtime.task_run.task_name))

    @flow
    def main():
        with tags("nightly"):
            fetch("a")
        fetch("b")

    main()
    assert seen == [("fetch-a", ["io", "nightly"], "fetch"), ("fetch-b", ["io"], "fetch")]


def test_log_prints_sends_print_to_the_run_logger(caplog):
    @task
    def chatty():
        print("from the task")

    @flow(log_prints=True)
    def main():
        print("from the flow")
        chatty()

    with caplog.at_level(logging.INFO, logger="headwater"):
        main()
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.endswith("from the flow") for m in messages)
    assert any(m.endswith("from the task") for m in messages)


def test_prefect3_hooks_and_prefect1_on_failure_are_told_apart():
    calls = []

    def p3_hook(tsk, task_run, state):
        calls.append(("p3", tsk.name, task_run.name, state.type.value))

    def p1_handler(tsk, state):
        calls.append(("p1", tsk.name, state.type.value))

    @task(on_failure=[p3_hook], on_completion=[p3_hook])
    def fails_p3():
        raise ValueError

    @task(on_failure=p1_handler)
    def fails_p1():
        raise ValueError

    @task(on_completion=[p3_hook])
    def works():
        return 1

    @flow
    def main():
        fails_p3(return_state=True)
        fails_p1(return_state=True)
        works()

    main()
    assert calls == [
        ("p3", "fails_p3", "fails_p3", "FAILED"),
        ("p1", "fails_p1", "FAILED"),
        ("p3", "works", "works", "COMPLETED"),
    ]
    assert fails_p1.on_failure is p1_handler  # Prefect 1's attribute is kept


def test_a_task_failure_raises_where_it_is_called():
    @task
    def fails():
        raise ZeroDivisionError("no")

    @flow
    def main():
        fails()

    with pytest.raises(ZeroDivisionError):
        main()


def test_a_task_returning_a_state_ends_in_it():
    from headwater.states import Failed

    @task
    def gives_up():
        return Failed(message="nope")

    @flow
    def main():
        return gives_up(return_state=True).message

    assert main() == "nope"


# -- both worlds ----------------------------------------------------------------------------
@task
def inc(x):
    return x + 1


def test_the_same_task_builds_a_graph_in_a_prefect1_flow():
    with Flow("graph") as graph:
        result = inc(1)

    @flow
    def modern():
        return inc(1)

    assert graph.run().result[result].result == 2
    assert modern() == 2


def test_a_bare_task_outside_any_flow_runs():
    assert inc(1) == 2
    assert inc.submit(2).result() == 3


def test_a_task_with_prefect3_options_runs_outside_a_flow():
    @task(retries=1)
    def add(a, b):
        return a + b

    assert add(1, 2) == 3
    assert add.submit(2, 3).result() == 5
    assert add.fn(1, 1) == 2


def test_with_options_copies_the_task():
    @task(retries=1)
    def add(a, b):
        return a + b

    other = add.with_options(name="plus", retries=4, tags=["x"])
    assert options_of(other).retries == 4
    assert options_of(other).tags == frozenset({"x"})
    assert other.name == "plus"
    assert options_of(add).retries == 1


def test_prefect1_task_classes_run_in_flows():
    from headwater import Task

    class Add(Task):
        def run(self, x, y=1):
            return x + y

    adder = Add()

    @flow
    def main():
        return adder(1, y=5)

    assert main() == 6


def test_nested_task_calls_inside_a_task_run():
    @task
    def outer(x):
        return inc(x) * 10

    @flow
    def main():
        return outer(1)

    assert main() == 20


def test_callable_task_run_names_of_both_apis():
    @task(task_run_name=lambda: f"p3-{runtime.task_run.parameters['n']}")
    def modern_named(n):
        return runtime.task_run.name

    @task(task_run_name=lambda n, **kw: f"p1-{n}")
    def legacy_named(n):
        return runtime.task_run.name

    @flow
    def main():
        return modern_named(1), legacy_named(2)

    assert main() == ("p3-1", "p1-2")


def test_tasks_persist_to_the_flows_result_storage(tmp_path):
    storage = tmp_path / "results"
    storage.mkdir()

    @task
    def value():
        return 41

    @flow(result_storage=str(storage), persist_result=True)
    def main():
        return value()

    assert main() == 41
    assert len(list(storage.iterdir())) == 2  # the task's result and the flow's


def test_task_hooks_on_running_and_a_crash():
    calls = []

    def record(tsk, task_run, state):
        calls.append((task_run.run_count, state.name))

    @task(on_running=[record], retries=1, retry_delay_seconds=0)
    def once_flaky():
        if runtime.task_run.run_count == 1:
            raise RuntimeError("first try")

    @task
    def interrupted():
        raise KeyboardInterrupt

    @flow
    def main():
        once_flaky()

    @flow
    def crashing():
        return interrupted(return_state=True)

    main()
    assert calls == [(1, "Running"), (2, "Retrying")]
    with pytest.raises(KeyboardInterrupt):
        crashing()
