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


@pytest.fixture
def wait_for() -> Callable[..., Any]:
    """``wait_for(predicate, timeout, what)``: poll until ``predicate()`` is truthy."""
    return _wait_for


INTERRUPT_SCRIPT = """
import sys, time
from pathlib import Path

MARKER = Path({marker!r})


def long_call():
    MARKER.write_text("started")
    time.sleep(120)
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


@pytest.fixture
def interrupt_during_wait(tmp_path: Path) -> Callable[[str], None]:
    """Run ``executor.wait`` on a long call in a subprocess, send it SIGINT, and check it stops.

    The argument is the Python expression that builds the executor. Asserts that the process
    exits promptly with ``KeyboardInterrupt`` and that none of its child processes survive.
    """

    def run(
        executor_expr: str, *, exit_timeout: float = 30, spawns_processes: bool = False
    ) -> None:
        marker = tmp_path / "started"
        script = tmp_path / "interrupted.py"
        script.write_text(
            textwrap.dedent(INTERRUPT_SCRIPT).format(marker=str(marker), executor=executor_expr)
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
            out, err = proc.communicate(timeout=exit_timeout)
            elapsed = time.monotonic() - t0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
        assert "KeyboardInterrupt reached the caller" in out, (out, err)
        assert "KeyboardInterrupt" in err, err
        assert proc.returncode != 0
        assert elapsed < exit_timeout
        print(f"exited {elapsed:.2f}s after SIGINT; children: {[c.pid for c in children]}")

        def all_gone() -> bool:
            return not [c for c in children if c.is_running() and c.status() != "zombie"]

        _wait_for(all_gone, 15, f"child processes {children} to exit")

    return run
