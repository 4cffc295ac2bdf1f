"""``CallBatches``: a ``DaskExecutor``'s calls on their way to the scheduler (private).

Sending each call in a message of its own costs the scheduler more than running many small
calls. So ``submit`` only queues its call here; the calls queued within ``delay`` seconds of
the first, or ``size`` of them, go in one message, in submission order. Whoever needs a value
first sends the queue with :meth:`CallBatches.flush`.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

__all__ = ["CallBatches", "Queued"]

#: a call submitted but not yet sent: (its future, its dask Task, dependencies, resources)
Queued = tuple[Any, Any, dict[Any, Any], Any]


class CallBatches:
    """Queued calls of one run, sent by ``send(calls, resources)`` a batch at a time.

    Args:
        send: sends calls that share the same resources as one message.
        size: the most calls a batch holds; the batch is sent when it is full.
        delay: seconds after the first call of a batch at which it is sent anyway.
    """

    def __init__(self, send: Callable[[list[Queued], Any], None], size: int, delay: float) -> None:
        self._send = send
        self.size = size
        self.delay = delay
        self.lock = threading.RLock()
        self._items: list[Queued] = []
        self._error: BaseException | None = None  # raised by the next flush
        self._closed = False

    def add(self, item: Queued) -> None:
        """Queue a call; send the batch if it is full, or arrange for it to go soon."""
        with self.lock:
            items = self._items
            items.append(item)
            if len(items) >= self.size:
                self._flush_locked()
            elif len(items) == 1:
                # the calls queued in the next ``delay`` seconds go with this one
                timer = threading.Timer(self.delay, self._flush_later)
                timer.daemon = True
                timer.start()

    def flush(self) -> None:
        """Send the queued calls now.

        Raises:
            BaseException: what sending a batch raised, here or in the background since.
        """
        with self.lock:
            self._flush_locked()
        if self._error is not None:
            exc, self._error = self._error, None
            raise exc

    def close(self) -> None:
        """Drop the queued calls; nothing is sent any more."""
        with self.lock:
            self._closed = True
            self._items = []

    def _flush_later(self) -> None:
        with self.lock:
            if self._closed:
                return
            try:
                self._flush_locked()
            except BaseException as exc:  # raised by the next flush
                self._error = exc

    def _flush_locked(self) -> None:
        """Send the queued calls, one message per run of calls with the same resources."""
        if self._closed:
            return
        batch, self._items = self._items, []
        i = 0
        while i < len(batch):
            resources = batch[i][3]
            j = i + 1
            while j < len(batch) and batch[j][3] == resources:
                j += 1
            self._send(batch[i:j], resources)
            i = j
