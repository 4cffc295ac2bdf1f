"""Timeouts: the threads of timed-out task runs never pile up or keep the process alive.

Python code that times out is stopped and its thread joined before the run goes on. Code
blocked in C cannot be stopped: its thread is a daemon, is named in a warning, and at most
``MAX_STUCK_THREADS`` such threads are kept. Coroutines are cancelled, without a thread.
"""

from __future__ import annotations

import asyncio
import logging
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from headwater import Flow, task
from headwater.engine import _invoke
from headwater.engine import state as st
from headwater.exceptions import TaskTimeoutSignal


def _timeout_threads(before: Iterable[threading.Thread] = ()) -> list[threading.Thread]:
    """The timeout threads running now, other than ``before`` (left by earlier tests)."""
    old = set(before)
    return [
        t for t in threading.enumerate() if t.name.startswith("headwater-timeout-") and t not in old
    ]


def _wait_until(predicate: Callable[[], Any], seconds: float, what: str) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {seconds}s waiting for {what}")
        time.sleep(0.01)


@pytest.fixture
def before() -> list[threading.Thread]:
    """The timeout threads that earlier tests left running."""
    return _timeout_threads()


@pytest.fixture
def release(before: list[threading.Thread]) -> Iterator[threading.Event]:
    """An event that tasks block on (in C); set at the end, and their threads waited for."""
    event = threading.Event()
    yield event
    event.set()
    _wait_until(lambda: not _timeout_threads(before), 10, "the stuck threads to end")


def blocked_flow(release: threading.Event, name: str = "stuck") -> tuple[Flow, Any]:
    @task(name=name, timeout=0.05)
    def stuck() -> None:
        release.wait(60)  # a lock wait: blocked in C, the stop request is not seen

    with Flow("blocked") as flow:
        t = stuck()
    return flow, t


def test_a_thread_blocked_in_c_is_a_daemon_named_in_a_warning(
    release: threading.Event, before: list[threading.Thread], caplog: pytest.LogCaptureFixture
) -> None:
    flow, t = blocked_flow(release)
    with caplog.at_level(logging.WARNING, logger="headwater"):
        state = flow.run()
    assert type(state.result[t]) is st.TimedOut
    stuck = [th for th in _invoke.stuck_threads() if th not in before]
    assert [th.name for th in stuck] == ["headwater-timeout-stuck"]
    assert all(th.daemon for th in stuck)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(
        "Task 'stuck' timed out after 0.05 seconds, but its thread could not be stopped" in m
        and "daemon thread" in m
        for m in warnings
    ), warnings


def test_stuck_threads_are_bounded_across_runs(
    release: threading.Event, before: list[threading.Thread], monkeypatch: pytest.MonkeyPatch
) -> None:
    limit = len(_invoke.stuck_threads()) + 2
    monkeypatch.setattr(_invoke, "MAX_STUCK_THREADS", limit)
    flow, t = blocked_flow(release)
    states = [flow.run().result[t] for _ in range(4)]

    assert [type(s) for s in states] == [st.TimedOut, st.TimedOut, st.Failed, st.Failed]
    assert states[2].message.startswith(
        f"Error during execution of task: RuntimeError(\"Task 'stuck' was not started: {limit} "
        "threads of earlier timed-out task runs ("
    )
    assert "'stuck'" in states[2].message and f"at most {limit} are kept" in states[2].message
    assert isinstance(states[2].result, RuntimeError)
    assert len(_timeout_threads(before)) == 2

    release.set()  # the blocking calls return: the threads see the stop request and end
    _wait_until(lambda: not _timeout_threads(before), 10, "the timeout threads to end")
    release.clear()
    assert type(flow.run().result[t]) is st.TimedOut  # a slot is free again


def test_python_code_is_stopped_and_its_thread_joined(
    before: list[threading.Thread], caplog: pytest.LogCaptureFixture
) -> None:
    @task(timeout=0.05)
    def spin() -> None:
        while True:
            pass

    with Flow("spin") as flow:
        t = spin()
    with caplog.at_level(logging.WARNING, logger="headwater"):
        state = flow.run()
    assert type(state.result[t]) is st.TimedOut
    assert _timeout_threads(before) == []
    assert not [r for r in caplog.records if "could not be stopped" in r.getMessage()]


def test_code_that_catches_the_stop_request_is_asked_again(before: list[threading.Thread]) -> None:
    @task(timeout=0.05)
    def stubborn() -> None:
        try:
            while True:
                pass
        except TaskTimeoutSignal:
            pass
        while True:
            pass

    with Flow("stubborn") as flow:
        t = stubborn()
    assert type(flow.run().result[t]) is st.TimedOut
    assert _timeout_threads(before) == []


def test_a_timed_out_coroutine_is_cancelled_without_a_thread(
    before: list[threading.Thread],
) -> None:
    seen: list[str] = []
    threads: list[list[str]] = []

    @task(timeout=0.1)
    async def sleepy() -> None:
        threads.append([t.name for t in _timeout_threads(before)])
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            seen.append("cancelled")
            raise

    with Flow("async") as flow:
        t = sleepy()
    state = flow.run()
    assert type(state.result[t]) is st.TimedOut
    assert threads == [[]]
    _wait_until(lambda: seen == ["cancelled"], 10, "the coroutine to be cancelled")


SCRIPT = """
import threading, time
from headwater import Flow, task
from headwater.executors import LocalDaskExecutor, LocalExecutor


@task(timeout=1)
def sleeper():
    time.sleep(30)


if __name__ == "__main__":
    with Flow("sleeper") as flow:
        t = sleeper()
    state = flow.run(executor={executor})
    left = [th for th in threading.enumerate() if th.name.startswith("headwater-timeout-")]
    print(type(state.result[t]).__name__, [th.daemon for th in left], flush=True)
"""


@pytest.mark.parametrize(
    "executor",
    [
        "LocalExecutor()",
        "LocalDaskExecutor('threads', num_workers=2)",
        pytest.param("LocalDaskExecutor('processes', num_workers=2)", marks=pytest.mark.slow),
    ],
)
def test_the_process_exits_promptly_after_a_task_blocked_in_c_timed_out(
    executor: str, tmp_path: Path
) -> None:
    script = tmp_path / "sleeper.py"
    script.write_text(textwrap.dedent(SCRIPT).format(executor=executor))
    # time.sleep(30) is still blocked when the deadline passes: exiting before it proves
    # that the timed-out thread does not keep the interpreter alive
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=25)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.strip().splitlines()[-1]
    assert out.startswith("TimedOut"), proc.stdout
    if "processes" not in executor:
        assert out == "TimedOut [True]"  # the blocked thread is still there, as a daemon


class TestInvoke:
    """``invoke``: the one call of a task's code, as the task asks for it."""

    def test_a_plain_task_is_called_as_it_is(self) -> None:
        @task
        def add(x: int, y: int) -> int:
            return x + y

        assert _invoke.is_plain(add)
        assert _invoke.invoke(add, {"x": 1, "y": 2}, "add", logging.getLogger("t")) == 3

    def test_print_output_goes_to_the_logger(self, caplog: pytest.LogCaptureFixture) -> None:
        @task(log_stdout=True)
        def talk() -> int:
            print("hello from the task")
            return 1

        assert not _invoke.is_plain(talk)
        logger = logging.getLogger("headwater.test-invoke")
        with caplog.at_level(logging.INFO, logger="headwater.test-invoke"):
            assert _invoke.invoke(talk, {}, "talk", logger) == 1
        assert "hello from the task" in caplog.text

    def test_a_coroutine_function_runs_on_the_engine_loop(self) -> None:
        @task
        async def later(x: int) -> int:
            await asyncio.sleep(0)
            return x * 2

        assert not _invoke.is_plain(later)
        assert _invoke.invoke(later, {"x": 4}, "later", logging.getLogger("t")) == 8

    def test_a_timeout_raises_the_timeout_signal(self, before: list[threading.Thread]) -> None:
        @task(timeout=0.05)
        def spin() -> None:
            deadline = time.monotonic() + 5
            while time.monotonic() < deadline:
                pass

        with pytest.raises(TaskTimeoutSignal, match="'spin' timed out after 0.05 seconds"):
            _invoke.invoke(spin, {}, "spin", logging.getLogger("t"))
        _wait_until(lambda: not _timeout_threads(before), 5, "the timed-out thread to end")
