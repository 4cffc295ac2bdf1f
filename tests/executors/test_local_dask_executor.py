"""LocalDaskExecutor: the executor contract on each dask scheduler, plus its own behaviour."""

from __future__ import annotations

import gc
import os
import signal
import subprocess
import sys
import threading
import weakref
from pathlib import Path
from typing import Any

import pytest

from headwater.exceptions import SerializationError
from headwater.executors import LocalDaskExecutor
from headwater.executors.dask import WorkerLostError
from headwater.testing import ExecutorContract


class TestThreads(ExecutorContract):
    expected_capabilities: dict[str, bool] = {}

    def make_executor(self) -> LocalDaskExecutor:
        return LocalDaskExecutor(scheduler="threads", num_workers=2)


class TestSync(ExecutorContract):
    expected_capabilities: dict[str, bool] = {}

    def make_executor(self) -> LocalDaskExecutor:
        return LocalDaskExecutor(scheduler="sync")


class TestProcesses(ExecutorContract):
    expected_capabilities = {"pickles_calls": True}

    def make_executor(self) -> LocalDaskExecutor:
        return LocalDaskExecutor(scheduler="processes", num_workers=2)


# -- helpers submitted below (module level so they pickle) -------------------------------------
class Payload:
    """A value whose lifetime the tests watch with a weak reference."""


def make_payload() -> Payload:
    return Payload()


def touch(path: str) -> str:
    Path(path).write_text("ran")
    return path


def meet(barrier: threading.Barrier) -> str:
    barrier.wait(timeout=10)
    return threading.current_thread().name


def thread_name() -> str:
    return threading.current_thread().name


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def return_lock() -> Any:
    return threading.Lock()


def identity(x: Any) -> Any:
    return x


# -- construction ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("alias", "scheduler"),
    [
        ("threads", "threads"),
        ("threading", "threads"),
        ("processes", "processes"),
        ("multiprocessing", "processes"),
        ("sync", "synchronous"),
        ("synchronous", "synchronous"),
        ("single-threaded", "synchronous"),
    ],
)
def test_scheduler_aliases(alias: str, scheduler: str) -> None:
    ex = LocalDaskExecutor(alias)
    assert ex.scheduler == scheduler
    assert ex.pickles_calls is (scheduler == "processes")
    assert not ex.runs_inline and not ex.reports_completion


def test_unknown_scheduler_names_the_choices() -> None:
    with pytest.raises(ValueError, match=r"'thread'.*'threads'.*'processes'.*'sync'"):
        LocalDaskExecutor("thread")


def test_import_does_not_import_dask() -> None:
    code = (
        "import sys, headwater.executors, headwater.executors.dask as d; "
        "assert d.LocalDaskExecutor and d.WorkerLostError; "
        "bad = [m for m in sys.modules if m.split('.')[0] in ('dask', 'distributed')]; "
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# -- threads -----------------------------------------------------------------------------------
def test_num_workers_is_honoured() -> None:
    ex = LocalDaskExecutor("threads", num_workers=3)
    barrier = threading.Barrier(3)
    with ex.start():
        names = ex.wait([ex.submit(meet, barrier) for _ in range(3)])
    assert len(set(names)) == 3

    ex = LocalDaskExecutor("threads", num_workers=1)
    with ex.start():
        names = ex.wait([ex.submit(thread_name) for _ in range(8)])
    assert len(set(names)) == 1


def test_results_are_released_when_no_longer_referenced() -> None:
    ex = LocalDaskExecutor("threads", num_workers=2)
    with ex.start():
        fut = ex.submit(make_payload)
        ref = weakref.ref(ex.wait(fut))
        downstream = ex.submit(identity, fut)
        del fut
        gc.collect()
        assert ref() is not None  # a pending call still needs it
        assert ex.wait(downstream) is ref()
        del downstream
        ex.wait(ex.submit(identity, 1))
        gc.collect()
        assert ref() is None


def test_intermediate_results_are_not_kept() -> None:
    ex = LocalDaskExecutor("threads", num_workers=2)
    refs: list[weakref.ref] = []

    def keep(x: Payload) -> int:
        refs.append(weakref.ref(x))
        return 1

    with ex.start():
        last = ex.submit(keep, ex.submit(make_payload))  # the inner future is dropped at once
        assert ex.wait(last) == 1
        gc.collect()
        assert refs and refs[0]() is None


def test_calls_whose_future_was_dropped_still_run(tmp_path: Path) -> None:
    ex = LocalDaskExecutor("threads", num_workers=2)
    first, second = tmp_path / "first", tmp_path / "second"
    with ex.start():
        ex.submit(touch, str(first))  # future dropped, never waited on
        ex.wait(ex.submit(identity, 1))
        assert first.exists()
        kept = ex.submit(touch, str(second))  # never waited on
        assert not second.exists()
    assert second.exists()
    del kept


def test_submit_outside_start_still_works() -> None:
    ex = LocalDaskExecutor("threads", num_workers=2)
    fut = ex.submit(identity, 5)
    assert ex.wait([fut, ex.submit(identity, fut)]) == [5, 5]


def test_future_from_another_run_is_rejected() -> None:
    ex = LocalDaskExecutor("sync")
    with ex.start():
        old = ex.submit(identity, 1)
    with ex.start():
        with pytest.raises(ValueError, match="earlier start"):
            ex.submit(identity, old)


# -- processes ---------------------------------------------------------------------------------
def test_unpicklable_lambda_is_explained() -> None:
    lock = threading.Lock()
    ex = LocalDaskExecutor("processes", num_workers=1)
    with ex.start():
        with pytest.raises(SerializationError) as info:
            ex.submit(lambda: lock)
    message = str(info.value)
    assert "<lambda>" in message
    assert "cannot be pickled" in message
    assert "module level" in message


def test_unpicklable_result_is_explained() -> None:
    ex = LocalDaskExecutor("processes", num_workers=1)
    with ex.start():
        with pytest.raises(SerializationError, match=r"return_lock.*cannot be pickled"):
            ex.wait(ex.submit(return_lock))
        assert ex.wait(ex.submit(identity, 3)) == 3


def test_killed_worker_process_raises_worker_lost() -> None:
    ex = LocalDaskExecutor("processes", num_workers=2)
    with ex.start():
        fut = ex.submit(die)
        with pytest.raises(WorkerLostError, match="worker was lost"):
            ex.wait(fut)
        # the pool is replaced, so the run can go on (e.g. to retry the task)
        assert ex.wait(ex.submit(identity, 7)) == 7


# -- Ctrl-C ------------------------------------------------------------------------------------
@pytest.mark.parametrize("scheduler", ["threads", "processes", "sync"])
def test_ctrl_c_during_wait_stops_promptly(scheduler: str, interrupt_during_wait: Any) -> None:
    interrupt_during_wait(
        f"LocalDaskExecutor({scheduler!r}, num_workers=2)",
        spawns_processes=scheduler == "processes",
    )


def test_ctrl_c_with_local_executor(interrupt_during_wait: Any) -> None:
    interrupt_during_wait("LocalExecutor()")


def test_queued_calls_run_once_max_pending_are_waiting(tmp_path: Path) -> None:
    """A long run never hands dask more than ``max_pending`` calls at once."""
    from headwater.testing.executor_contract import record_call

    log = tmp_path / "calls.log"
    ex = LocalDaskExecutor("threads", num_workers=2)
    ex.max_pending = 5
    with ex.start():
        futs = [ex.submit(record_call, str(log), i) for i in range(4)]
        assert not log.exists()  # four calls queued: nothing ran yet
        futs.append(ex.submit(record_call, str(log), 4))
        assert len(log.read_text().splitlines()) == 5  # the fifth ran the queue
        futs += [ex.submit(record_call, str(log), i) for i in range(5, 7)]
        assert ex.wait(futs) == list(range(7))
    assert len(log.read_text().splitlines()) == 7
