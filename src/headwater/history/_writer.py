"""The writer thread: one per process and database, writing what the recorder queued.

The recorder appends events to :attr:`Writer.queue`, a list: an ``append`` or an ``extend``
is atomic and takes no lock, and wakes no one. A task run's event goes in flat
(:meth:`Writer.extend` of its kind followed by its fields, see :func:`take`): a tuple kept in the
queue per task run would be one more object for the garbage collector to count, and on a run of
many tasks it triggers collections of the whole heap often enough to cost more than the
recording itself. Every other event is one tuple. The writer thread, started with the first run, looks at the
queue every :data:`LIVE_SECONDS` while runs are being recorded (and sleeps until woken
otherwise), takes what is queued and writes it as one batch
(:class:`~headwater.history._batch.Batch`). Every ``history.heartbeat_seconds`` it also marks
the runs it records as alive, which is how another process tells a live run from one whose
process was killed.

Writing a row costs several microseconds of the interpreter's time, which a run in this process
would otherwise have. While a run is being recorded, the writer therefore writes its start at
once, and then at most one batch per :data:`LIVE_SECONDS`, each small enough to keep to a
share of the time (:data:`WRITE_SHARE`; the cost of a row is measured as it goes): a task run
that ends while the run goes on shows within about :data:`LIVE_SECONDS`, a quick run costs its
tasks only the appends, and the rows of a run making them faster than that share allows follow
a little behind, until the writer catches up once no run is going on (or at once, when someone
waits in :meth:`Writer.flush`).

:func:`flush_all` waits until everything queued so far is written; it runs by itself when the
interpreter exits normally (``atexit``), so no recorded row is lost. A child process made by
``fork`` starts with no writers (its parent's thread did not come along).

The writer never raises into a flow run: if the database cannot be opened or written, one
warning on the ``headwater.history`` logger says why, and the rows of that batch are dropped.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import threading
import time
from collections.abc import Callable
from typing import Any

from headwater.history._batch import FLAT_FIELDS
from headwater.history._store import SQLStore

__all__ = [
    "FLAT_FIELDS",
    "FLUSH",
    "LIVE_SECONDS",
    "Writer",
    "close_all",
    "flush_all",
    "take",
    "writer_for",
]

LIVE_SECONDS = 0.25
"""How often the writer writes what was queued while runs are being recorded."""

FLUSH = -1
"""The kind of the event ``(FLUSH, threading.Event)``: set once everything before it is written."""

WRITE_SHARE = 0.03
"""The share of the time the writer writes while runs are being recorded in this process."""

REOPEN_SECONDS = 30.0
"""How long the writer waits before trying again to open a database it could not open."""

IDLE_SECONDS = 30.0
"""The writer thread ends after this long with nothing to do (the next run starts it again)."""

#: how long the first run waits for the writer to open (and create) the database
OPEN_WAIT_SECONDS = 5.0

_MAX_BATCH = 20_000
_MIN_LIVE_BATCH = 100  # the fewest events a batch written while runs go on takes

_writers: dict[str, Writer] = {}
_writers_lock = threading.Lock()


class Writer:
    """The queue and thread writing one database's rows for this process.

    Args:
        target: the database (a file path or URL), for messages.
        opener: opens the store; called in the writer thread.
    """

    def __init__(self, target: str, opener: Callable[[], SQLStore]) -> None:
        self.target = target
        self.opener = opener
        self.queue: list[Any] = []
        #: queue one event (a tuple whose first item is its kind)
        self.append = self.queue.append
        #: queue a flat event: its kind, then its fields, :data:`FLAT_FIELDS` items in all
        self.extend = self.queue.extend
        self.active: set[str] = set()
        self.wake = threading.Event()
        self.thread: threading.Thread | None = None
        self.stopping = False
        self.batch: Any = None
        self.reopen = False
        self.retry_at = 0.0
        self.waiting = 0  # flush() calls waiting: write at full speed
        self.resume_at = 0.0  # while runs go on, the next batch is written at this time
        self.event_cost = 20e-6  # seconds of writing per event, as last measured
        self.starting = False  # a run was started: write its row at once
        self._start_lock = threading.Lock()
        self._warned: set[str] = set()
        # set once the thread has opened the database: the files exist before the first run
        # returns (a run in a temporary home directory deleted right after it finds them there)
        self.opened = threading.Event()

    def start_run(self, uuid: str, event: tuple[Any, ...]) -> None:
        """Queue the start of run ``uuid`` and make sure the thread runs."""
        self.active.add(uuid)
        self.starting = True
        self.append(event)
        if self.thread is None:
            with self._start_lock:
                if self.thread is None:
                    self.thread = threading.Thread(
                        target=self._loop, name=f"headwater-history {self.target}", daemon=True
                    )
                    self.thread.start()
                    self.wake.set()
                    self.opened.wait(OPEN_WAIT_SECONDS)
        self.wake.set()

    def end_run(self, uuid: str, event: tuple[Any, ...]) -> None:
        """Queue the end of run ``uuid``; with no other run going on, the writer catches up."""
        self.append(event)
        self.active.discard(uuid)
        self.wake.set()

    def flush(self, timeout: float | None = 30.0) -> bool:
        """Wait until everything queued so far is written (or dropped); ``False`` on timeout."""
        if self.thread is None or not self.thread.is_alive():
            return not self.queue
        done = threading.Event()
        self.waiting += 1
        self.append((FLUSH, done))
        self.wake.set()
        return done.wait(timeout)

    def stop(self, timeout: float = 60.0) -> None:
        """Write what is queued, then end the thread."""
        self.flush(timeout)
        self.stopping = True
        self.wake.set()
        if self.thread is not None:
            self.thread.join(timeout)
        if self.batch is not None and (self.thread is None or not self.thread.is_alive()):
            self.batch.store.close()

    # -- the thread ---------------------------------------------------------------------------
    def _loop(self) -> None:
        from headwater.configuration import setting

        beat_every = max(1.0, float(setting("history.heartbeat_seconds")))
        last_beat = time.monotonic()
        try:
            self._batch()
        finally:
            self.opened.set()
        while not self.stopping:
            self.wake.clear()
            now = time.monotonic()
            if self.active and now - last_beat >= beat_every:
                last_beat = now
                self._guarded("heartbeat", lambda b: b.heartbeat())
            if self.starting:  # a run's row is written at once, its task runs a tick later
                self.starting = False
                self._batch_once()
                self.resume_at = time.monotonic() + LIVE_SECONDS
            elif self.queue and (self.waiting or not self.active):
                self._batch_once()  # no run goes on, or someone waits: catch up
            elif self.queue and now >= self.resume_at:
                spent = self._batch_once(self._live_limit())
                self.resume_at = now + max(LIVE_SECONDS, spent / WRITE_SHARE)
            elif self.queue or self.active:
                wait = self.resume_at - now if self.queue else LIVE_SECONDS
                self.wake.wait(max(0.001, min(wait, beat_every)))
            elif not self.wake.wait(IDLE_SECONDS) and self._retire():
                return
        while self.queue:
            self._batch_once()

    def _live_limit(self) -> int:
        """How many events a batch written while runs go on takes: what keeps to
        :data:`WRITE_SHARE` of :data:`LIVE_SECONDS` at the measured cost per event."""
        return max(_MIN_LIVE_BATCH, int(WRITE_SHARE * LIVE_SECONDS / self.event_cost))

    def _retire(self) -> bool:
        """End the thread if there is nothing to do (a later run starts another)."""
        with self._start_lock:
            if self.queue or self.active or self.stopping:
                return False
            self.thread = None
            return True

    def _batch_once(self, limit: int = _MAX_BATCH) -> float:
        """Write one batch: what is queued, up to the next flush request or ``limit`` events;
        returns the seconds it took."""
        events, flat, flushes = take(self.queue, limit)
        spent = 0.0
        count = len(events) + len(flat) // FLAT_FIELDS
        if count:
            began = time.monotonic()
            self._guarded("write", lambda b: self._write(b, events, flat))
            spent = time.monotonic() - began
            if count >= _MIN_LIVE_BATCH:
                self.event_cost = max(1e-6, spent / count)
        for done in flushes:
            self.waiting -= 1
            done.set()
        return spent

    def _write(self, batch: Any, events: list[Any], flat: list[Any]) -> None:
        from headwater.history._batch import START
        from headwater.history._masking import flow_secrets, secret_parameters

        for i, e in enumerate(events):  # the run's secrets are known before its rows are written
            if e[0] == START:
                flow_secrets(e[2])
                events[i] = (*e[:3], secret_parameters(e[3]), *e[4:])
        for uuid in batch.write(events, flat):
            self.active.discard(uuid)

    def _guarded(self, what: str, work: Callable[[Any], None]) -> None:
        """Run ``work(batch)``; an error is logged once per kind, the rows are dropped, and
        the database is opened again for the next batch."""
        batch = self._batch()
        if batch is None:
            return
        try:
            work(batch)
        except Exception as exc:  # the history never breaks a run
            self._warn(f"{what} {type(exc).__name__}", f"could not {what} to", exc)
            self.reopen = True

    def _batch(self) -> Any:
        """The batch writer, its store opened (again) if need be; ``None`` while the database
        cannot be opened (tried again every :data:`REOPEN_SECONDS`)."""
        if self.batch is not None and not self.reopen:
            return self.batch
        if time.monotonic() < self.retry_at:
            return None
        if self.batch is not None and self._file_removed():
            self._warn("removed", "the database file was removed:", FileNotFoundError(self.target))
            self.queue.clear()
            return None
        from headwater.history._masking import MaskedStore

        try:
            store: Any = MaskedStore(self.opener())  # no secret value reaches the database
        except Exception as exc:
            self.retry_at = time.monotonic() + REOPEN_SECONDS
            self._warn("open", "could not open", exc)
            return None
        if self.batch is None:
            from headwater.history._batch import Batch

            self.batch = Batch(store)
        else:
            with contextlib.suppress(Exception):
                self.batch.store.close()
            self.batch.store = store
        self.reopen = False
        return self.batch

    def _file_removed(self) -> bool:
        """Whether the SQLite file this writer opened has been deleted since (not re-created)."""
        return "://" not in self.target and not os.path.exists(self.target)

    def _warn(self, key: str, doing: str, exc: BaseException) -> None:
        if key in self._warned:
            return
        self._warned.add(key)
        from headwater.utilities.logging import get_logger

        get_logger("history").warning(
            "Run history: %s %s (%s: %s); runs are not recorded there until this is fixed "
            "(set history.enabled = false to stop recording).",
            doing,
            self.target,
            type(exc).__name__,
            " ".join(str(exc).split()),
        )


def take(queue: list[Any], limit: int) -> tuple[list[Any], list[Any], list[threading.Event]]:
    """Take up to ``limit`` events from the start of ``queue``, up to and with the first flush
    request: the events that are tuples, the flat ones (all their items in one list), and the
    flush requests.

    Another thread may add to the queue meanwhile: what it adds lands after what is taken (a
    list's slice, ``append``, ``extend`` and ``del`` are each atomic).
    """
    chunk = queue[: limit * FLAT_FIELDS]
    end = len(chunk)
    events: list[Any] = []
    flat: list[Any] = []
    flushes: list[threading.Event] = []
    count = i = 0
    while i < end and count < limit:
        item = chunk[i]
        if type(item) is tuple:
            i += 1
            if item[0] == FLUSH:
                flushes.append(item[1])
                break
            events.append(item)
            count += 1
        else:  # flat events, one after the other: each its kind, then its fields
            j = i
            while j < end and count < limit and type(chunk[j]) is not tuple:
                j += FLAT_FIELDS
                count += 1
            flat += chunk[i:j]
            i = j
    del queue[:i]
    return events, flat, flushes


def writer_for(target: str, opener: Callable[[], SQLStore]) -> Writer:
    """This process's writer of ``target`` (made, with ``opener``, on first use)."""
    writer = _writers.get(target)
    if writer is None:
        with _writers_lock:
            writer = _writers.get(target)
            if writer is None:
                writer = _writers[target] = Writer(target, opener)
    return writer


def flush_all(timeout: float | None = 30.0) -> bool:
    """Wait until every writer of this process has written what was queued so far."""
    deadline = None if timeout is None else time.monotonic() + timeout
    ok = True
    for writer in list(_writers.values()):
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        ok = writer.flush(left) and ok
    return ok


def close_all() -> None:
    """Write what every writer has queued and end their threads (run at exit)."""
    with _writers_lock:
        writers = list(_writers.values())
        _writers.clear()
    for writer in writers:
        writer.stop()


def _forget_in_child() -> None:
    global _writers_lock
    _writers.clear()
    _writers_lock = threading.Lock()


atexit.register(close_all)
os.register_at_fork(after_in_child=_forget_in_child)
