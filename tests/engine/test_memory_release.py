"""Memory-bounded runs: results no downstream task needs, and not in return_tasks, are dropped."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from headwater import Flow, task
from headwater.executors import LocalDaskExecutor

SCRIPT = Path(__file__).parent.parent / "memory_bound_flow.py"


@pytest.mark.parametrize(
    "executor, max_pending",
    [
        ("local", None),
        ("sync", None),
        ("threads", None),
        # the queue runs early four times (about 200 items' calls each): those batches must
        # free their intermediate values as they go, like the final one
        ("threads", 1_000),
        ("sync", 1_000),
    ],
)
def test_peak_memory_stays_far_below_the_data_size(executor, max_pending):
    pytest.importorskip("psutil")  # the script also samples its process tree
    n = 400  # 3 chained mapped steps of 400 x 1 MB = 1.2 GB of intermediate data
    argv = [sys.executable, str(SCRIPT), str(n), executor]
    if max_pending:
        argv.append(str(max_pending))
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=240)
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["ok"] and out["total"] == n * 1_000_000
    assert out["returned"] == 1
    # everything kept would be > 1,200 MB; a handful of items in flight is a few MB
    assert out["self_growth_mb"] < 150, out


@task
def produce():
    return list(range(5))


@task
def double(x):
    return 2 * x


@task
def add(xs):
    return sum(xs)


def test_released_states_keep_their_class_but_not_their_result():
    with Flow("release") as flow:
        p = produce()
        d = double.map(p)
        a = add(d)
    runner_states = {}
    from headwater.engine.flow_runner import FlowRunner

    runner = FlowRunner(flow)
    state = runner.run(return_tasks=[a])
    runner_states = runner.task_states
    assert state.is_successful()
    assert set(state.result) == {a}
    assert state.result[a].result == 20
    assert runner_states[p].is_successful() and runner_states[p].result is None
    assert runner_states[p].released
    assert all(c.released and c.result is None for c in runner_states[d].map_states)


def test_default_run_keeps_every_result():
    with Flow("keep") as flow:
        p = produce()
        d = double.map(p)
    state = flow.run()
    assert state.result[p].result == [0, 1, 2, 3, 4]
    assert state.result[d].result == [0, 2, 4, 6, 8]


calls = {"flaky": 0}


@task(max_retries=1, retry_delay=timedelta(seconds=0.05))
def flaky():
    calls["flaky"] += 1
    if calls["flaky"] == 1:
        raise RuntimeError("first attempt fails")
    return 10


@task
def combine(a, b):
    return a + b


def test_bounded_run_with_a_retry_still_has_every_input():
    calls["flaky"] = 0
    with Flow("retry") as flow:
        p = produce()
        first = add(p)
        result = combine(first, flaky())
    state = flow.run(return_tasks=[result])
    assert state.is_successful()
    assert state.result[result].result == 20
    assert calls["flaky"] == 2


class _CountingExecutor(LocalDaskExecutor):
    """LocalDaskExecutor("sync") that counts the calls releasing a result."""

    def __init__(self) -> None:
        super().__init__("sync")
        self.strips = 0

    def submit(self, fn, /, *args, **kwargs):
        from headwater.engine.flow_runner import _strip

        if fn is _strip:
            self.strips += 1
        return super().submit(fn, *args, **kwargs)


def test_each_result_is_released_once():
    """Children released one by one are not released again with their task."""

    @task
    def inc(x):
        return x + 1

    with Flow("once") as flow:
        a = inc.map(list(range(20)))
        b = inc.map(a)
        c = inc.map(b)
        r = add(c)
    ex = _CountingExecutor()
    state = flow.run(return_tasks=[r], executor=ex)
    assert state.result[r].result == sum(range(3, 23))
    # a and b child by child as their chains finish; c all at once when add is submitted (the
    # list mapped over is a constant task: never submitted, its state is released here)
    assert ex.strips == 3 * 20
