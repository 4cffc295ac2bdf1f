"""submit / map / futures / wait / as_completed / annotations, and the task runners."""

from __future__ import annotations

import threading

import pytest

from headwater import allow_failure, flow, quote, task, unmapped
from headwater.futures import as_completed, wait
from headwater.modern.errors import UnfinishedRun
from headwater.states import StateType
from headwater.task_runners import (
    ConcurrentTaskRunner,
    DaskTaskRunner,
    ProcessPoolTaskRunner,
    ThreadPoolTaskRunner,
)


@task
def add(x, y=0):
    return x + y


@task
def fails(x=None):
    raise ValueError("failed on purpose")


@task
def describe(value):
    return repr(value)


def test_submit_returns_a_future():
    seen = []

    @flow
    def main():
        future = add.submit(1, 2)
        future.add_done_callback(lambda f: seen.append(f.state.type))
        value = future.result(timeout=10)
        assert future.state.is_completed()
        assert future.task_run_id is not None
        future.wait()
        return value

    assert main() == 3
    assert seen == [StateType.COMPLETED]


def test_a_failed_future_raises_or_returns_its_exception():
    @flow
    def main():
        future = fails.submit()
        error = future.result(raise_on_failure=False)
        with pytest.raises(ValueError):
            future.result()
        return type(error).__name__, future.state.type

    assert main() == ("ValueError", StateType.FAILED)


def test_submit_with_return_state_waits():
    @flow
    def main():
        return add.submit(1, return_state=True).is_completed()

    assert main()


def test_futures_nested_in_arguments_resolve():
    @flow
    def main():
        a = add.submit(1)
        b = add.submit(2)
        return describe({"list": [a, (b,)], "plain": 3})

    assert main() == "{'list': [1, (2,)], 'plain': 3}"


def test_a_failed_upstream_stops_the_downstream_unless_allowed():
    @flow
    def main():
        bad = fails.submit()
        blocked = describe.submit(bad)
        allowed = describe.submit(allow_failure(bad))
        allowed_value = allowed.result()
        blocked.wait()
        return blocked.state, allowed_value

    blocked, allowed = main()
    assert blocked.name == "NotReady"
    assert "did not reach a 'COMPLETED' state" in blocked.message
    assert allowed == "ValueError('failed on purpose')"


def test_wait_for_orders_runs():
    order = []

    @task
    def step(name):
        order.append(name)

    @flow
    def main():
        first = step.submit("first")
        step.submit("second", wait_for=[first]).wait()

    main()
    assert order == ["first", "second"]


def test_map_broadcasts_non_iterables():
    @flow
    def main():
        return (
            add.map([1, 2, 3], 10).result(),
            add.map([1, 2], y=5).result(),
            add.map(x=[1, 2], y=[10, 20]).result(),
            [s.type for s in add.map([1], return_state=True)],
        )

    plain, keyword, pairs, states = main()
    assert plain == [11, 12, 13]
    assert keyword == [6, 7]
    assert pairs == [11, 22]
    assert states == [StateType.COMPLETED]


def test_unmapped_and_quote_pass_a_collection_whole():
    @task
    def size(items, extra):
        return len(items) + len(extra)

    @flow
    def main():
        return (
            size.map([[1], [1, 2]], unmapped([9, 9, 9])).result(),
            size.map([[1], [1, 2]], quote([9])).result(),
        )

    assert main() == ([4, 5], [2, 3])


def test_map_over_a_mapped_result():
    @flow
    def main():
        firsts = add.map([1, 2, 3])
        return add.map(firsts, 100).result()

    assert main() == [101, 102, 103]


def test_map_errors_are_clear():
    @flow
    def no_iterable():
        add.map(1, 2)

    @flow
    def mismatched():
        add.map([1, 2], [1])

    with pytest.raises(TypeError, match="at least one iterable"):
        no_iterable()
    with pytest.raises(ValueError, match="different lengths"):
        mismatched()


def test_wait_and_as_completed():
    gate = threading.Event()

    @task
    def gated(x):
        gate.wait(10)
        return x

    @flow(task_runner=ThreadPoolTaskRunner(max_workers=4))
    def main():
        slow = gated.submit("slow")
        quick = [add.submit(i) for i in range(3)]
        done, not_done = wait(quick)
        assert len(done) == 3 and not not_done
        first = next(as_completed([slow, quick[0]]))
        assert first is quick[0]
        gate.set()
        return sorted(f.result() for f in as_completed([slow, *quick]) if f is not slow)

    assert main() == [0, 1, 2]


def test_result_timeout_on_an_unfinished_run():
    gate = threading.Event()

    @task
    def gated():
        gate.wait(10)

    @flow(task_runner=ThreadPoolTaskRunner(max_workers=2))
    def main():
        future = gated.submit()
        try:
            with pytest.raises(UnfinishedRun):
                future.result(timeout=0.01)
            assert wait([future], timeout=0.01).not_done == {future}
        finally:
            gate.set()

    main()


def test_nested_waits_on_a_pool_of_one_worker_never_deadlock():
    @task
    def leaf(x):
        return x

    @task
    def middle(x):
        return leaf.submit(x).result() + leaf.submit(x).result()

    @task
    def top(x):
        futures = [middle.submit(x) for _ in range(3)]
        return sum(f.result() for f in futures)

    @flow(task_runner=ThreadPoolTaskRunner(max_workers=1))
    def main():
        tops = [top.submit(i) for i in range(3)]
        return [t.result() for t in tops]

    assert main() == [0, 6, 12]


def test_the_concurrent_task_runner_is_the_thread_pool():
    assert ConcurrentTaskRunner is ThreadPoolTaskRunner
    with pytest.raises(ValueError, match="max_workers"):
        ThreadPoolTaskRunner(0)


def test_a_flow_needs_a_task_runner_instance():
    with pytest.raises(TypeError, match="task_runner must be"):

        @flow(task_runner="threads")
        def nope():
            pass


def square(x):
    return x * x


def test_the_process_pool_runs_tasks_in_other_processes():
    import os

    @task
    def pid_and_square(x):
        from headwater import runtime

        return os.getpid(), square(x), runtime.flow_run.name

    @flow(task_runner=ProcessPoolTaskRunner(max_workers=1), flow_run_name="procs")
    def main():
        return pid_and_square.map([2, 3]).result()

    results = main()
    assert [r[1] for r in results] == [4, 9]
    assert all(pid != os.getpid() for pid, _, _ in results)
    assert {name for _, _, name in results} == {"procs"}


def test_the_dask_task_runner_runs_on_a_cluster(dask_cluster):
    runner = DaskTaskRunner(address=dask_cluster.scheduler.address)

    @flow(task_runner=runner)
    def main():
        first = add.submit(1, 2)
        return add.submit(first, 10).result()

    assert main() == 13


def test_async_tasks_can_be_submitted_and_mapped():
    import asyncio

    @task
    async def later(x):
        await asyncio.sleep(0)
        return x * 3

    @flow
    def main():
        return later.submit(1).result(), later.map([1, 2]).result()

    assert main() == (3, [3, 6])


def test_tasks_with_prefect3_options_submit_outside_flows_to_a_default_pool():
    @task(retries=0, tags=["outside"])
    def alone(x):
        return x

    assert alone.submit(4).result() == 4
    assert [f.result() for f in alone.map([1, 2])] == [1, 2]


def test_the_dask_task_runner_starts_and_closes_a_temporary_cluster():
    runner = DaskTaskRunner(
        cluster_class="distributed.LocalCluster",
        cluster_kwargs={
            "n_workers": 1,
            "threads_per_worker": 2,
            "processes": False,
            "dashboard_address": ":0",
        },
    )

    @flow(task_runner=runner)
    def main():
        return add.map([1, 2], 1).result()

    assert main() == [2, 3]
    assert runner.executor.client is None  # the flow's own copy started it; this one never ran


def test_as_completed_inside_a_task_on_a_pool_of_one_worker_never_deadlocks():
    @task
    def leaf(x):
        return x

    @task
    def gather(n):
        return sorted(f.result() for f in as_completed([leaf.submit(i) for i in range(n)]))

    @flow(task_runner=ThreadPoolTaskRunner(max_workers=1))
    def main():
        return gather.submit(3).result(), wait([gather.submit(2)]).done.pop().result()

    assert main() == ([0, 1, 2], [0, 1])
