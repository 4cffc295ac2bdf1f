"""Rate limits: a bucket of slots per name, refilled over time, shared by the processes of a user.

Taking ``occupy`` slots removes them from the bucket; the bucket refills continuously at the
rate's ``per_second`` up to its ``limit``; a taker waits (on the clock) until enough slots have
come back. The bucket's level and the time it was last read are kept in
``{home_dir}/locks/rates/<name>.bucket``, read and changed under an exclusive ``lockf`` of that
file (a lock of this process, never inherited by a forked child), so every process of the user on the machine draws from the same bucket. The clock is
injectable: with a ``ManualClock`` a test measures the spacing of takes without waiting.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
from collections.abc import Iterator
from typing import Any

from headwater.concurrency._core import (
    AcquireConcurrencySlotTimeoutError,
    Rate,
    locks_dir,
    slug,
)

__all__ = ["take"]

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

# timestamps near 1.7e9 s keep about a microsecond: a level within that of a slot is a slot,
# and a wait is never shorter than a clock can move
_SLACK = 1e-5
_MIN_WAIT = 0.001
_local: dict[str, tuple[float, float]] = {}
_locks: dict[str, threading.Lock] = {}
_locks_lock = threading.Lock()


def _thread_lock(path: str) -> threading.Lock:
    with _locks_lock:
        return _locks.setdefault(path, threading.Lock())


@contextlib.contextmanager
def _bucket(path: str) -> Iterator[tuple[Any, tuple[float, float] | None]]:
    """The bucket file, locked, and its stored ``(level, updated)`` (``None``: no state yet)."""
    with _thread_lock(path):
        if fcntl is None:  # pragma: no cover - Windows: this process only
            yield None, _local.get(path)
            return
        from headwater.engine.results._files import make_dirs

        make_dirs(os.path.dirname(path))
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        with os.fdopen(fd, "r+b") as f:
            fcntl.lockf(f.fileno(), fcntl.LOCK_EX)
            try:
                state = json.loads(f.read() or b"null")
                stored = (float(state[0]), float(state[1])) if state else None
            except (ValueError, TypeError, IndexError):
                stored = (0.0, time.time())  # a damaged bucket counts as empty, now
            yield f, stored


def _store(handle: Any, path: str, level: float, now: float) -> None:
    if handle is None:  # pragma: no cover - Windows
        _local[path] = (level, now)
        return
    handle.seek(0)
    handle.truncate()
    handle.write(json.dumps([level, now]).encode())
    handle.flush()


def _try_take(path: str, rate: Rate, occupy: int, now: float) -> float:
    """Take ``occupy`` slots at ``now`` if the bucket has them: 0.0; else the seconds to wait."""
    with _bucket(path) as (handle, stored):
        level, updated = stored if stored is not None else (float(rate.limit), now)
        level = min(float(rate.limit), level + max(0.0, now - updated) * rate.per_second)
        if level + _SLACK >= occupy:
            _store(handle, path, level - occupy, now)
            return 0.0
        _store(handle, path, level, now)
        return max(_MIN_WAIT, (occupy - level) / rate.per_second)


def take(name: str, rate: Rate, occupy: int, timeout: float | None, clock: Any) -> float:
    """Take ``occupy`` slots of rate limit ``name``, waiting on ``clock`` as long as needed.

    Returns:
        The clock's time (seconds since the epoch) at which the slots were taken.

    Raises:
        AcquireConcurrencySlotTimeoutError: if that would take longer than ``timeout`` seconds.
    """
    path = os.path.join(locks_dir("rates"), f"{slug(name)}.bucket")
    start = float(clock.now().timestamp())
    while True:
        now = float(clock.now().timestamp())
        wait = _try_take(path, rate, occupy, now)
        if wait <= 0:
            return now
        if timeout is not None and now + wait - start > timeout:
            raise AcquireConcurrencySlotTimeoutError(
                f"Rate limit {name!r} ({rate}) cannot give {occupy} slot(s) within "
                f"{timeout} seconds."
            )
        clock.sleep(wait)
