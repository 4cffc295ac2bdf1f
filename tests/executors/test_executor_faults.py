"""Faults during a flow run: lost workers, values that cannot be pickled, and Ctrl-C.

- A task whose worker process dies is retried per its own retry settings, or fails with a
  message saying the worker was lost; downstream tasks get their normal trigger outcome and the
  flow finishes.
- On a process-based executor, a task, input or result that cannot be pickled fails that task
  (a ``Failed`` state, not an exception from ``flow.run``) with a message naming the task, the
  value and the fix.
- SIGINT to a process running a flow ends it promptly with ``KeyboardInterrupt`` and leaves no
  child processes behind, on every executor.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from headwater import Flow, Parameter, task
from headwater.engine.state import Failed, Retrying, Success, TriggerFailed
from headwater.exceptions import SerializationError
from headwater.executors import DaskExecutor, LocalDaskExecutor
from headwater.triggers import always_run

psutil = pytest.importorskip("psutil")


# -- tasks ----------------------------------------------------------------------------------------
def _kill_own_worker(marker: str, parent_pid: int) -> None:
    if os.getpid() == parent_pid:
        raise RuntimeError("this task must run in a worker process, not in the test process")
    Path(marker).write_text(str(os.getpid()))
    os.kill(os.getpid(), signal.SIGKILL)


@task(max_retries=1, retry_delay=timedelta(milliseconds=10))
def dies_once(marker: str, parent_pid: int) -> int:
    """Kills its worker process on the first attempt; the retry returns its process id."""
    if not os.path.exists(marker):
        _kill_own_worker(marker, parent_pid)
    return os.getpid()


@task
def always_dies(marker: str, parent_pid: int) -> int:
    _kill_own_worker(marker, parent_pid)
    return 0  # pragma: no cover - the process is gone


@task
def one() -> int:
    return 1


@task
def report(x: Any = None) -> str:
    return "ran"


@task
def make_lock() -> Any:
    return threading.Lock()


@task
def describe(x: Any) -> str:
    return repr(x)


def _process_executor(kind: str, request: pytest.FixtureRequest) -> Any:
    if kind == "distributed":
        client = request.getfixturevalue("dask_cluster")
        return DaskExecutor(address=client.scheduler.address)
    return LocalDaskExecutor(scheduler="processes", num_workers=2)


PROCESS_BASED = [
    pytest.param("dask-processes", marks=pytest.mark.slow),
    pytest.param("distributed", marks=pytest.mark.slow),
]


@pytest.fixture(params=PROCESS_BASED)
def process_executor(request: pytest.FixtureRequest) -> Any:
    """An executor that runs tasks in other processes; its workers are whole again afterwards."""
    executor = _process_executor(request.param, request)
    workers_back = (
        request.getfixturevalue("workers_back") if request.param == "distributed" else None
    )
    yield executor
    if workers_back is not None:
        workers_back()


# -- lost workers ----------------------------------------------------------------------------------
def test_lost_worker_is_retried_per_the_tasks_retry_settings(
    process_executor: Any, tmp_path: Path
) -> None:
    marker = tmp_path / "killed-pid"
    with Flow("lost-then-retried") as flow:
        first = one()
        survivor = dies_once(str(marker), os.getpid(), upstream_tasks=[first])
        after = report(survivor)
    state = flow.run(executor=process_executor)
    assert state.is_successful(), state.result
    assert marker.exists()  # the first attempt's process really was killed
    assert type(state.result[survivor]) is Success
    assert state.result[survivor].result != int(marker.read_text())
    assert state.result[after].result == "ran"


def test_lost_worker_fails_the_task_and_the_flow_finishes(
    process_executor: Any, tmp_path: Path
) -> None:
    from headwater.engine.flow_runner import FlowRunner

    marker = tmp_path / "killed-pid"
    with Flow("lost") as flow:
        first = one()
        lost = always_dies(str(marker), os.getpid(), upstream_tasks=[first])
        after = report(lost)
        cleanup = report(lost, task_args={"trigger": always_run})
    state = flow.run(executor=process_executor)
    assert state.is_failed()
    assert marker.exists()
    failed = state.result[lost]
    assert type(failed) is Failed
    assert "always_dies" in failed.message
    assert "was lost" in failed.message
    assert isinstance(state.result[after], TriggerFailed)
    assert state.result[cleanup].result == "ran"
    assert state.result[first].result == 1

    # with retries left, one pass leaves the task Retrying
    marker.unlink()
    retried = always_dies.copy(max_retries=2, retry_delay=timedelta(minutes=5))
    with Flow("lost-retrying") as flow2:
        r = retried(str(marker), os.getpid())
    one_pass = FlowRunner(flow2).run(executor=process_executor, return_tasks=[r])
    assert isinstance(one_pass.result[r], Retrying)
    assert one_pass.result[r].run_count == 1
    assert "worker was lost" in one_pass.result[r].message


# -- values that cannot be pickled ---------------------------------------------------------------
def test_unpicklable_result_fails_the_task_that_returned_it(process_executor: Any) -> None:
    with Flow("result") as flow:
        lock = make_lock()
        used = describe(lock)
    state = flow.run(executor=process_executor)
    failed = state.result[lock]
    assert type(failed) is Failed
    assert isinstance(failed.result, SerializationError)
    assert "Task 'make_lock' returned <unlocked _thread.lock" in failed.message
    assert "cannot be pickled" in failed.message
    assert "thread-based executor" in failed.message
    assert isinstance(state.result[used], TriggerFailed)
    assert state.is_failed()


def test_unpicklable_input_fails_the_task_and_names_the_input(process_executor: Any) -> None:
    with Flow("input") as flow:
        used = describe(threading.Lock())
    state = flow.run(executor=process_executor)
    failed = state.result[used]
    assert type(failed) is Failed
    assert "Task 'describe' cannot run on" in failed.message
    assert "its input 'x' (<unlocked _thread.lock" in failed.message
    assert "To fix:" in failed.message


def test_unpicklable_parameter_is_named(process_executor: Any) -> None:
    with Flow("parameter") as flow:
        p = Parameter("p")
        used = describe(p)
        other = one()
    state = flow.run(executor=process_executor, p=threading.Lock())
    failed = state.result[p]
    assert type(failed) is Failed
    assert "Task 'p' cannot run on" in failed.message
    assert "parameter 'p' (<unlocked _thread.lock" in failed.message
    assert isinstance(state.result[used], TriggerFailed)
    # every task run carries the parameters, so the other tasks cannot run either
    assert "parameter 'p'" in state.result[other].message


def test_unpicklable_lambda_task_suggests_module_level(process_executor: Any) -> None:
    lock = threading.Lock()
    closure = task(lambda: repr(lock), name="closure")
    with Flow("lambda") as flow:
        t = closure()
        after = report(t)
    state = flow.run(executor=process_executor)
    failed = state.result[t]
    assert type(failed) is Failed
    assert "Task 'closure' cannot run on" in failed.message
    assert "its function '" in failed.message and "<lambda>" in failed.message
    assert "module level" in failed.message
    assert isinstance(state.result[after], TriggerFailed)
    assert state.is_failed()


# -- Ctrl-C --------------------------------------------------------------------------------------
FLOW_SCRIPT = """
import time
from pathlib import Path

from headwater import Flow, task
from headwater.executors import DaskExecutor, LocalDaskExecutor, LocalExecutor

MARKER = Path({marker!r})


@task
def long_task(i):
    MARKER.write_text("started")
    time.sleep(600)  # far longer than the test's deadline: only an interrupt ends it in time
    return i


if __name__ == "__main__":
    with Flow("interrupted") as flow:
        long_task.map([1, 2])
    try:
        flow.run(executor={executor})
    except KeyboardInterrupt:
        print("KeyboardInterrupt reached the caller", flush=True)
        raise
    print("flow.run returned", flush=True)
"""

INTERRUPT_CASES = [
    pytest.param("LocalExecutor()", False, id="local"),
    pytest.param("LocalDaskExecutor(scheduler='sync')", False, id="sync"),
    pytest.param("LocalDaskExecutor(scheduler='threads', num_workers=2)", False, id="threads"),
    pytest.param(
        "LocalDaskExecutor(scheduler='processes', num_workers=2)",
        True,
        id="processes",
        marks=pytest.mark.slow,
    ),
    pytest.param(
        "DaskExecutor(cluster_kwargs=dict(n_workers=2, threads_per_worker=1, processes=True, "
        "dashboard_address=':0', host='127.0.0.1'))",
        True,
        id="temporary-cluster",
        marks=pytest.mark.slow,
    ),
]


@pytest.mark.parametrize(("executor_expr", "spawns_processes"), INTERRUPT_CASES)
def test_ctrl_c_stops_a_flow_run_promptly(
    executor_expr: str, spawns_processes: bool, tmp_path: Path, wait_for: Any
) -> None:
    marker = tmp_path / "started"
    script = tmp_path / "interrupted_flow.py"
    script.write_text(
        textwrap.dedent(FLOW_SCRIPT).format(marker=str(marker), executor=executor_expr)
    )
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    try:
        wait_for(lambda: marker.exists() or proc.poll() is not None, 90, "the long task to start")
        assert proc.poll() is None, proc.communicate()
        children = psutil.Process(proc.pid).children(recursive=True)
        if spawns_processes:
            assert children, "expected worker processes"
        proc.send_signal(signal.SIGINT)
        # "promptly": long before the task's 600 s sleep could end by itself, with room for a
        # cluster to shut down on a machine busy with other work
        try:
            out, err = proc.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            pytest.fail("the flow run was still going 120 s after SIGINT")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert "KeyboardInterrupt reached the caller" in out, (out, err)
    assert "flow.run returned" not in out
    assert err.rstrip().endswith("KeyboardInterrupt"), err
    assert proc.returncode != 0

    def all_gone() -> bool:
        return not [c for c in children if c.is_running() and c.status() != psutil.STATUS_ZOMBIE]

    wait_for(all_gone, 60, f"child processes {children} to exit")
