"""Executor-test fixtures: polling and a Ctrl-C harness (the cluster lives in tests/conftest.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

psutil = pytest.importorskip("psutil")


def _wait_for(predicate: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.05)


def _alive(process: Any) -> bool:
    """Whether a psutil process still runs (a zombie, or one gone meanwhile, does not)."""
    try:
        return bool(process.is_running() and process.status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return False


@pytest.fixture
def wait_for() -> Callable[..., Any]:
    """``wait_for(predicate, timeout, what)``: poll until ``predicate()`` is truthy."""
    return _wait_for


INTERRUPT_SCRIPT = """
import sys, time
from pathlib import Path

MARKER = Path({marker!r})
LONG_CALL_SECONDS = {long_call_seconds!r}


def long_call():
    MARKER.write_text("started")
    time.sleep(LONG_CALL_SECONDS)
    return "finished"


def main():
    from headwater.executors import LocalExecutor, LocalDaskExecutor, DaskExecutor

    executor = {executor}
    try:
        with executor.start():
            fut = executor.submit(long_call)
            print(executor.wait(fut))
    except KeyboardInterrupt:
        print("KeyboardInterrupt reached the caller", flush=True)
        raise


if __name__ == "__main__":
    main()
"""


#: How long the interrupted call would last if nothing stopped it.
LONG_CALL_SECONDS = 600
#: The deadline for the interrupted process to exit: far below ``LONG_CALL_SECONDS`` (so an
#: exit before it proves the call was interrupted, not waited for), and long enough for a
#: cluster to shut down on a machine busy with other work.
EXIT_DEADLINE = 120


@pytest.fixture
def interrupt_during_wait(tmp_path: Path) -> Callable[[str], None]:
    """Run ``executor.wait`` on a long call in a subprocess, send it SIGINT, and check it stops.

    The argument is the Python expression that builds the executor. Asserts that the process
    exits with ``KeyboardInterrupt`` before ``exit_timeout`` — long before the call could end by
    itself — and that none of its child processes survive. Every wait polls up to a deadline.
    """

    def run(
        executor_expr: str,
        *,
        exit_timeout: float = EXIT_DEADLINE,
        spawns_processes: bool = False,
    ) -> None:
        assert exit_timeout < LONG_CALL_SECONDS / 2
        marker = tmp_path / "started"
        script = tmp_path / "interrupted.py"
        script.write_text(
            textwrap.dedent(INTERRUPT_SCRIPT).format(
                marker=str(marker), executor=executor_expr, long_call_seconds=LONG_CALL_SECONDS
            )
        )
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        proc = subprocess.Popen(
            [sys.executable, str(script)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        try:
            _wait_for(lambda: marker.exists() or proc.poll() is not None, 90, "the long call")
            assert proc.poll() is None, proc.communicate()
            parent = psutil.Process(proc.pid)
            children = parent.children(recursive=True)
            if spawns_processes:
                assert children, "expected worker processes to be running"
            t0 = time.monotonic()
            proc.send_signal(signal.SIGINT)
            try:
                out, err = proc.communicate(timeout=exit_timeout)
            except subprocess.TimeoutExpired:
                pytest.fail(f"the process was still running {exit_timeout}s after SIGINT")
            elapsed = time.monotonic() - t0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        assert "KeyboardInterrupt reached the caller" in out, (out, err)
        assert "finished" not in out  # the call was interrupted, not waited for
        assert "KeyboardInterrupt" in err, err
        assert proc.returncode != 0
        print(f"exited {elapsed:.2f}s after SIGINT; children: {[c.pid for c in children]}")

        def all_gone() -> bool:
            return not [c for c in children if _alive(c)]

        _wait_for(all_gone, 60, f"child processes {children} to exit")

    return run
