"""The main loop of a :class:`~headwater.executors._process_pool.ProcessPool` worker process (private).

:func:`serve` receives pickled calls on its pipe, one at a time, and sends back each outcome
(``(True, value)`` or ``(False, exception)``). A watchdog thread (:func:`watch_parent`) ends the
process as soon as the process that started the pool is gone, so that worker processes never
outlive it as orphans.
"""

from __future__ import annotations

import os
import signal
import threading
from multiprocessing.connection import Connection, wait
from typing import Any

from headwater.executors._payloads import dumps

__all__ = ["WATCHDOG_INTERVAL", "pid_gone", "serve", "watch_parent"]

#: how often (seconds) a worker's watchdog checks that its parent process still runs
WATCHDOG_INTERVAL = 0.25


def watch_parent(parent_pid: int) -> None:
    """End this process as soon as the process that started it is gone.

    ``parent_pid`` is this process's parent when it started (the pool's process, or the
    forkserver that forked it); a new parent means the old one died.
    """
    import multiprocessing

    parent = multiprocessing.parent_process()
    sentinel = getattr(parent, "sentinel", None)
    while True:
        if sentinel is not None:
            try:
                if wait([sentinel], WATCHDOG_INTERVAL):
                    break
            except OSError:
                sentinel = None
        else:
            threading.Event().wait(WATCHDOG_INTERVAL)
        if os.getppid() != parent_pid:
            break
    os._exit(1)


def serve(conn: Connection, parent_pid: int) -> None:
    """A worker process's main loop: run each call that arrives, send back its outcome."""
    import pickle

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    if os.getppid() != parent_pid and pid_gone(parent_pid):
        os._exit(1)
    threading.Thread(
        target=watch_parent, args=(os.getppid(),), name="headwater-watchdog", daemon=True
    ).start()
    while True:
        try:
            message = conn.recv_bytes()
        except (EOFError, OSError):
            return
        if not message:
            return
        try:
            fn, args, kwargs = pickle.loads(message)
            del message
            outcome: tuple[bool, Any] = (True, fn(*args, **kwargs))
        except BaseException as exc:  # every outcome goes back to the caller
            outcome = (False, exc)
        try:
            data = dumps(outcome)
        except BaseException as exc:  # described instead
            data = dumps(
                (False, RuntimeError(f"the outcome of the call cannot be pickled: {exc!r}"))
            )
        del outcome
        try:
            conn.send_bytes(data)
        except (EOFError, OSError):
            return


def pid_gone(pid: int) -> bool:
    """Whether no process ``pid`` runs any more (the pool's process, seen from a worker)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # it exists (owned by someone else, or no permission to signal)
        return False
    return False
