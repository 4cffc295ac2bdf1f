"""Holding slots of a concurrency limit, in this process and across processes on one machine.

A limit of ``N`` has ``N`` slots. In this process a condition variable hands them out (a waiting
thread sleeps until a slot is given back). Across processes, slot ``i`` of a limit is an
exclusive POSIX record lock (``lockf``) on the file ``{home_dir}/locks/<kind>/<name>.<i>.lock``:
a process holds the slot while it holds the lock, and the operating system releases it when
the process ends, even when it is killed, so a crashed holder never keeps a slot. Such locks
belong to the process and are not inherited by children it forks (a process pool started
while a slot is held does not keep it); this process's threads never share a slot file, as the
pool records which ones it holds. A process that finds every slot
taken by others retries with a growing pause (5 ms up to 100 ms). Where ``fcntl`` is missing
(Windows), limits hold within the process only.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from typing import Any

from headwater.concurrency._core import AcquireConcurrencySlotTimeoutError, locks_dir, slug

__all__ = ["Held", "SlotPool", "pool"]

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

_MIN_PAUSE = 0.005
_MAX_PAUSE = 0.1


class Held:
    """Slots taken from one pool, given back by :meth:`release` (at most once)."""

    __slots__ = ("count", "fds", "pool")

    def __init__(self, pool: SlotPool, count: int, fds: list[tuple[int, int]]) -> None:
        self.pool = pool
        self.count = count
        self.fds = fds

    def release(self) -> None:
        """Give the slots back."""
        fds, self.fds = self.fds, []
        for fd, _ in fds:
            with contextlib.suppress(OSError):
                os.close(fd)  # closing the file releases its lock
        count, self.count = self.count, 0
        if count:
            self.pool.give_back(count, [index for _, index in fds])


class SlotPool:
    """The ``limit`` slots of one named limit, as seen from this process."""

    def __init__(self, kind: str, name: str, limit: int) -> None:
        self.kind = kind
        self.name = name
        self.limit = limit
        self.free = limit
        self.held: set[int] = set()  # slot files this process holds
        self.cond = threading.Condition()
        self.directory = locks_dir(kind)
        self.prefix = os.path.join(self.directory, slug(name))

    def give_back(self, count: int, indices: list[int] | tuple[()] = ()) -> None:
        """Return ``count`` in-process slots (and slot files) and wake the waiting threads."""
        with self.cond:
            self.free += count
            self.held.difference_update(indices)
            self.cond.notify_all()

    def _take_local(self, occupy: int, deadline: float | None) -> bool:
        with self.cond:
            while self.free < occupy:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self.cond.wait(remaining)
            self.free -= occupy
            return True

    def _try_files(self, occupy: int) -> list[tuple[int, int]] | None:
        """Lock ``occupy`` free slot files, or none at all (``None``)."""
        from headwater.engine.results._files import make_dirs

        make_dirs(self.directory)
        taken: list[tuple[int, int]] = []
        with self.cond:
            free = [i for i in range(self.limit) if i not in self.held]
        for i in free:
            fd = os.open(f"{self.prefix}.{i}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                os.close(fd)
                continue
            taken.append((fd, i))
            if len(taken) == occupy:
                with self.cond:
                    self.held.update(index for _, index in taken)
                return taken
        for fd, _ in taken:
            os.close(fd)
        return None

    def _take_files(self, occupy: int, deadline: float | None) -> list[tuple[int, int]] | None:
        pause = _MIN_PAUSE
        while True:
            fds = self._try_files(occupy)
            if fds is not None:
                return fds
            if deadline is not None and time.monotonic() + pause > deadline:
                return None
            time.sleep(pause)
            pause = min(pause * 2, _MAX_PAUSE)

    def acquire(self, occupy: int, deadline: float | None) -> Held:
        """Take ``occupy`` slots, waiting until ``deadline`` (``time.monotonic()``) at most.

        Raises:
            AcquireConcurrencySlotTimeoutError: if the deadline passed first.
        """
        if not self._take_local(occupy, deadline):
            raise self._timeout(occupy)
        fds: list[tuple[int, int]] = []
        if fcntl is not None:
            try:
                taken = self._take_files(occupy, deadline)
            except BaseException:
                self.give_back(occupy)
                raise
            if taken is None:
                self.give_back(occupy)
                raise self._timeout(occupy)
            fds = taken
        return Held(self, occupy, fds)

    def _timeout(self, occupy: int) -> AcquireConcurrencySlotTimeoutError:
        return AcquireConcurrencySlotTimeoutError(
            f"Could not acquire {occupy} of the {self.limit} slots of {self.kind} limit "
            f"{self.name!r} in time."
        )


_pools: dict[tuple[str, str, int], SlotPool] = {}
_pools_lock = threading.Lock()


def pool(kind: str, name: str, limit: int) -> SlotPool:
    """This process's pool of limit ``name`` with ``limit`` slots (one per home and kind)."""
    key = (locks_dir(kind), name, limit)
    found = _pools.get(key)
    if found is None:
        with _pools_lock:
            found = _pools.setdefault(key, SlotPool(kind, name, limit))
    return found


def acquire_all(kind: str, limits: list[tuple[str, int]], occupy: int, timeout: Any) -> list[Held]:
    """Take ``occupy`` slots of each ``(name, limit)``, in name order (so holders of several
    limits never wait on each other in a cycle); all or none.

    Raises:
        AcquireConcurrencySlotTimeoutError: if ``timeout`` seconds passed first.
    """
    deadline = None if timeout is None else time.monotonic() + float(timeout)
    held: list[Held] = []
    try:
        for name, limit in sorted(limits):
            held.append(pool(kind, name, limit).acquire(occupy, deadline))
    except BaseException:
        for h in reversed(held):
            h.release()
        raise
    return held
