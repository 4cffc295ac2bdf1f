"""``DaskFuture``: the handle ``DaskExecutor.submit`` returns (private; see :mod:`headwater.executors.dask`).

A call reaches the cluster with the calls submitted just before or after it, so for a few
milliseconds its handle has no ``distributed.Future`` yet; and a call sent again after a worker
was lost gets a new one. A :class:`DaskFuture` stays the same throughout: resolve it with the
executor's ``wait``, or have :meth:`DaskFuture.add_done_callback` tell you when it is done.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from headwater.executors._dask_support import CarriedBaseException

__all__ = ["NO_VALUE", "DaskFuture"]

#: the :attr:`DaskFuture.value` of a call whose value has not been brought here (yet)
NO_VALUE: Any = object()

# guards the callbacks of every DaskFuture (taken only by futures that have callbacks)
_CALLBACKS_LOCK = threading.Lock()

_logger = logging.getLogger("headwater.executors")


class DaskFuture:
    """Handle on a call submitted to a :class:`DaskExecutor`; resolve it with ``wait``.

    ``key`` is the call's key on the cluster (as the dashboard shows it); ``future`` the
    ``distributed.Future`` once the call has been sent to the scheduler.

    Like a ``concurrent.futures.Future``, it has :meth:`add_done_callback`, and :meth:`done`,
    :meth:`cancelled`, :meth:`result` and :meth:`exception` for the callbacks to read.

    A call whose value is fetched into this process as it finishes (``fetched``; see
    :mod:`headwater.executors._fetch`) keeps it as ``value``; its callbacks run once it is here.
    ``pins`` counts the queued calls that still need the cluster's copy, and ``released`` says
    that it was let go.
    """

    __slots__ = (
        "key",
        "future",
        "run",
        "spec",
        "revived",
        "value",
        "fetched",
        "pins",
        "released",
        "settled",
        "rescattered",
        "_callbacks",
        "_hooked",
        "_called_back",
        "__weakref__",
    )

    def __init__(self, key: str, run: object) -> None:
        self.key = key
        self.future: Any = None
        self.run = run
        # (function, pickled call, dependencies, resources): to send it again (see revive)
        self.spec: tuple[Any, Any, tuple[Any, ...], Any] | None = None
        self.revived = 0  # how often it was sent again
        self.value: Any = NO_VALUE
        self.fetched = False
        self.pins = 0
        self.released = False
        self.settled: Any = None  # the distributed future the fetcher is done with
        self.rescattered: Any = None  # the value, let go by the cluster, scattered again
        self._callbacks: list[Callable[[DaskFuture], Any]] | None = None
        self._hooked: Any = None  # the distributed future that runs the callbacks
        self._called_back = False

    def __repr__(self) -> str:
        return f"<DaskFuture {self.key}>"

    # -- completion callbacks -----------------------------------------------------------------
    def add_done_callback(self, fn: Callable[[DaskFuture], Any]) -> None:
        """Call ``fn(self)`` in this process once the call has finished (failed calls too).

        ``fn`` runs in a thread of the client, not in the thread that added it; if the call
        has finished already, it runs at once, in this thread. Each callback runs once, even if
        the call is sent again after a worker was lost. An exception ``fn`` raises is logged.
        """
        with _CALLBACKS_LOCK:
            now = self._called_back
            if not now:
                if self._callbacks is None:
                    self._callbacks = []
                self._callbacks.append(fn)
        if now:
            _run_callback(fn, self)
        else:
            self.hook()

    def hook(self) -> None:
        """Have the ``distributed.Future`` (once the call is sent) run the callbacks when done.

        The executor calls it each time it sends the call.
        """
        if not self._callbacks or self.fetched:  # (fetched: the fetcher calls back)
            return
        with _CALLBACKS_LOCK:
            remote = self.future
            if remote is None or remote is self._hooked or not self._callbacks:
                return
            self._hooked = remote
        remote.add_done_callback(self.called_back)

    def called_back(self, remote: Any) -> None:
        """``remote``, the call's ``distributed.Future`` (or its value), is done: run the callbacks."""
        with _CALLBACKS_LOCK:
            if remote is not self.future or self._called_back:
                return  # sent again since: the new future calls back
            self._called_back = True
            callbacks, self._callbacks = self._callbacks or [], None
        for fn in callbacks:
            _run_callback(fn, self)

    # -- reading the outcome --------------------------------------------------------------------
    def _remote(self) -> Any:
        remote = self.future
        if remote is None:
            raise RuntimeError(
                f"{self!r} has not reached the cluster yet: resolve it with the executor's wait()."
            )
        return remote

    def done(self) -> bool:
        """Whether the call has finished (or failed, or was cancelled)."""
        if self.value is not NO_VALUE:
            return True
        remote = self.future
        return remote is not None and bool(remote.done())

    def cancelled(self) -> bool:
        """Whether the cluster cancelled the call."""
        if self.value is not NO_VALUE:
            return False
        remote = self.future
        return remote is not None and bool(remote.cancelled())

    def result(self, timeout: float | None = None) -> Any:
        """The call's value (its exception raised); waits up to ``timeout`` seconds.

        Raises:
            RuntimeError: the call has not been sent to the cluster yet.
        """
        if self.value is not NO_VALUE:
            return self.value
        error = self.exception(timeout)
        if error is not None:
            raise error
        return self._remote().result(timeout)

    def exception(self, timeout: float | None = None) -> BaseException | None:
        """The exception the call raised, or ``None``; waits up to ``timeout`` seconds.

        Raises:
            RuntimeError: the call has not been sent to the cluster yet.
        """
        if self.value is not NO_VALUE:
            return None
        error = self._remote().exception(timeout)
        if isinstance(error, CarriedBaseException):  # SystemExit, say, carried back
            return error.exc
        return error if isinstance(error, BaseException) else None


def _run_callback(fn: Callable[[DaskFuture], Any], future: DaskFuture) -> None:
    try:
        fn(future)
    except Exception:  # a callback's error must not stop the others
        _logger.exception("Error in the done callback %r of %r", fn, future)


DaskFuture.__module__ = "headwater.executors.dask"
