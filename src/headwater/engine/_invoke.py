"""Calling a task's ``run``: plainly, as a coroutine, under a ``timeout``, capturing ``print``.

:func:`invoke` is the one place a task run calls the task's code. A plain synchronous task is
called as it is; an ``async def`` task runs on the engine's event loop (see
:mod:`headwater.engine.async_loop`); ``log_stdout=True`` sends what the call prints to the
task's logger; a ``timeout`` limits how long the call may take, as follows.

A synchronous task with a ``timeout`` runs in a daemon thread of its own while the task run
waits for it. When the time is up, the task run ends ``TimedOut`` and the engine asks the thread
to stop by raising :class:`~headwater.exceptions.TaskTimeoutSignal` in it. What happens next
depends on what the task's code is doing:

- **Python code** (loops, calls of Python functions) stops at its next bytecode, within a few
  milliseconds; the engine waits up to a fraction of a second for the thread to end, so after
  the run the thread is gone.
- **Code blocked in C** (``time.sleep``, a socket or file read, waiting on a lock, a long
  numpy or database call) cannot be stopped: Python has no way to kill a thread, and the
  signal is only seen when the call returns to Python. The thread keeps running until then and
  stops at its next bytecode after that. It is a daemon thread, so it never keeps the process
  from exiting, and the engine logs a warning naming the task. At most
  :data:`MAX_STUCK_THREADS` such threads are kept at once: while that many are still running, a
  task with a ``timeout`` fails at once instead of starting yet another thread, with a message
  naming the tasks whose threads are stuck. Give blocking calls their own timeouts (socket
  timeouts, ``subprocess.run(timeout=...)``...) so that they return.

An ``async def`` task with a ``timeout`` needs no thread: its coroutine is cancelled when the
time is up (see :func:`headwater.engine.async_loop.run_coroutine`).
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from headwater.exceptions import TaskTimeoutSignal

if TYPE_CHECKING:
    from headwater.core.task import Task

__all__ = ["MAX_STUCK_THREADS", "call_with_timeout", "invoke", "is_plain", "stuck_threads"]

MAX_STUCK_THREADS = 16
"""How many threads of timed-out task runs may still be running before new ones are refused."""

_GRACE = 0.1  # seconds given to a timed-out thread to stop, per attempt
_ATTEMPTS = 3  # the signal is raised again in code that caught it

_lock = threading.Lock()
_stuck: list[threading.Thread] = []


def is_plain(task: Task) -> bool:
    """Whether ``task.run(**inputs)`` is all a call of ``task`` needs (no timeout, capture, loop)."""
    return not (task.timeout or task.log_stdout or getattr(task, "is_async", False))


def invoke(task: Task, inputs: dict[str, Any], name: str, logger: Any) -> Any:
    """Call ``task.run(**inputs)`` as the task asks: async, under its timeout, capturing stdout.

    Args:
        task: the task to call.
        inputs: the keyword arguments of ``run()``.
        name: the task run's full name, for the timeout's thread and messages.
        logger: the task's logger (``print`` output and timeout warnings go there).

    Raises:
        TaskTimeoutSignal: the call did not return within ``task.timeout``.
        RuntimeError: a synchronous call with a timeout was refused because
            :data:`MAX_STUCK_THREADS` threads of earlier timed-out runs still run.
    """
    timeout: Any = task.timeout
    seconds = None
    if timeout:
        seconds = timeout.total_seconds() if hasattr(timeout, "total_seconds") else float(timeout)

    def call(kwargs: dict[str, Any]) -> Any:
        if task.log_stdout:
            from headwater.utilities.logging import capture_stdout

            with capture_stdout(logger):
                return _call(task, kwargs, seconds)
        return _call(task, kwargs, seconds)

    if seconds is None or getattr(task, "is_async", False):
        return call(inputs)  # a coroutine is cancelled at its timeout: no thread needed
    return call_with_timeout(call, inputs, seconds, name, logger)


def _call(task: Task, inputs: dict[str, Any], timeout: float | None) -> Any:
    """``task.run(**inputs)``; a coroutine function's coroutine is run on the engine's loop."""
    if getattr(task, "is_async", False):
        from headwater.engine.async_loop import run_coroutine

        return run_coroutine(task.run, inputs, timeout)
    return task.run(**inputs)


def stuck_threads() -> list[threading.Thread]:
    """The threads of timed-out task runs that are still running (the oldest first)."""
    with _lock:
        _stuck[:] = [t for t in _stuck if t.is_alive()]
        return list(_stuck)


def call_with_timeout(
    call: Callable[[dict[str, Any]], Any],
    inputs: dict[str, Any],
    seconds: float,
    name: str,
    logger: Any,
) -> Any:
    """Return ``call(inputs)``, run in a daemon thread, or raise after ``seconds``.

    Args:
        call: the task's call (given ``inputs``); it runs in a copy of the caller's context.
        inputs: the task's inputs.
        seconds: the timeout.
        name: the task run's full name, for the thread's name and for messages.
        logger: where the warning about a thread that could not be stopped goes.

    Raises:
        TaskTimeoutSignal: the call did not return in time.
        RuntimeError: :data:`MAX_STUCK_THREADS` threads of earlier timed-out runs still run.
    """
    stuck = stuck_threads()
    if len(stuck) >= MAX_STUCK_THREADS:
        names = ", ".join(sorted({repr(t.name.removeprefix("headwater-timeout-")) for t in stuck}))
        raise RuntimeError(
            f"Task {name!r} was not started: {len(stuck)} threads of earlier timed-out task runs "
            f"({names}) are still running, blocked in code that does not return to Python, and "
            f"at most {MAX_STUCK_THREADS} are kept. Give their blocking calls a timeout of their "
            "own (socket timeouts, subprocess timeout=...) so that they return."
        )
    box: dict[str, Any] = {}
    done = threading.Event()
    ctx = contextvars.copy_context()

    def target() -> None:
        try:
            try:
                box["value"] = ctx.run(call, inputs)
            except BaseException as exc:  # handed back to the waiting thread
                box["error"] = exc
            finally:
                done.set()
        except TaskTimeoutSignal:  # the stop request arrived as the call was returning
            done.set()

    worker = threading.Thread(target=target, name=f"headwater-timeout-{name}", daemon=True)
    worker.start()
    try:
        finished = done.wait(seconds)
    except BaseException:  # KeyboardInterrupt while waiting: the task's thread stops too
        _raise_in(worker)
        raise
    if not finished:
        if not _stop(worker, done):
            with _lock:
                _stuck.append(worker)
            logger.warning(
                "Task %r timed out after %g seconds, but its thread could not be stopped: it is "
                "blocked in code that does not return to Python (such as time.sleep, a socket "
                "read or a lock), or it catches TaskTimeoutSignal. The thread stops at its next "
                "Python instruction; it is a daemon thread, so it does not keep the process "
                "from exiting. Threads of timed-out runs still running: %d (at most %d).",
                name,
                seconds,
                len(stuck_threads()),
                MAX_STUCK_THREADS,
            )
        raise TaskTimeoutSignal(f"Task {name!r} timed out after {seconds:g} seconds.")
    if "error" in box:
        raise box.pop("error")
    return box.get("value")


def _stop(worker: threading.Thread, done: threading.Event) -> bool:
    """Raise ``TaskTimeoutSignal`` in ``worker`` until it ends; whether it did in time."""
    for _ in range(_ATTEMPTS):
        if done.is_set():
            break
        _raise_in(worker)
        if done.wait(_GRACE):
            break
    if not done.is_set():
        return False
    worker.join(_GRACE)
    return True


def _raise_in(thread: threading.Thread) -> None:
    """Raise ``TaskTimeoutSignal`` in ``thread`` at its next bytecode (not inside a C call)."""
    import ctypes

    ident = thread.ident
    if ident is None or not thread.is_alive():
        return
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(ident), ctypes.py_object(TaskTimeoutSignal)
    )
