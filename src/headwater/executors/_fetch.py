"""Bringing each value a ``DaskExecutor`` call returns into this process as it finishes (private).

Why: ``distributed`` keeps a finished call's value on the worker that computed it for as long as
anyone holds its future, and if that worker dies, the scheduler computes the value again — so a
task body that had finished would run a second time. The run needs every value in this process
in the end anyway. So :class:`ValueFetcher` fetches each value as soon as its call finishes
(those finishing within :data:`BATCH_DELAY` of each other in one request), keeps it on the :class:`~headwater.executors._dask_future.DaskFuture`, and
then lets go of the cluster's copy, unless a call that needs it is still queued here (it
*pins* it). A call submitted after that gets the value itself in its arguments (large ones are
scattered to the cluster). The done callbacks of a call run once its value is here, and read it
here.

What it cannot avoid: a value that a call waiting on the cluster still needs is kept there for
that call, and if it is lost with its worker before that call ran, the scheduler computes it
again; so it is too for a value lost in the milliseconds between its call finishing and its
value arriving here. Checkpoint results where a second run of a body matters.

distributed is imported by the executor, never here.
"""

from __future__ import annotations

import queue
import threading
import time
import weakref
from typing import Any

from headwater.executors._dask_future import NO_VALUE, DaskFuture
from headwater.executors._payloads import Ref

__all__ = ["BATCH", "BATCH_DELAY", "CallDeps", "ValueFetcher", "unpin_all"]

#: at most this many values are fetched in one request
BATCH = 1000
#: seconds the values of calls finishing one after another are collected for one request,
#: unless the executor's ``wait`` is waiting for one of them
BATCH_DELAY = 0.05
_HURRY: Any = object()  # put in the queue by a waiter: fetch what is there now


class ValueFetcher:
    """Fetches the values of one run's calls as they finish; see the module docstring.

    Args:
        client: the run's ``distributed.Client``.
    """

    def __init__(self, client: Any) -> None:
        self.client = client
        self.lock = threading.Lock()
        self._settled = threading.Condition(self.lock)
        self._done: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None

    def watch(self, fut: DaskFuture, remote: Any) -> None:
        """Fetch the value of ``fut`` once ``remote``, its ``distributed.Future``, is done.

        The completion callback only queues the future: the fetching happens in a daemon
        thread, so that nothing waits on the client in ``distributed``'s callback thread.
        """
        if self._thread is None:
            with self.lock:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._run, name="headwater-fetch", daemon=True
                    )
                    self._thread.start()
        put = self._done.put
        remote.add_done_callback(lambda r: put((fut, r)))

    def pin(self, fut: DaskFuture) -> bool:
        """Keep the cluster's copy of ``fut``'s value for a call about to be queued.

        Returns:
            False if the cluster's copy was let go already: pass the value itself
            (``fut.value``) instead; nothing was pinned then.
        """
        with self.lock:
            if fut.released:
                return False
            fut.pins += 1
            return True

    def unpin(self, fut: DaskFuture) -> None:
        """The call ``fut`` was pinned for has been sent (or dropped)."""
        with self.lock:
            fut.pins -= 1
            remote = self._to_release(fut)
        if remote is not None:
            remote.release()

    def wait_settled(self, futures: list[DaskFuture]) -> None:
        """Return once each of ``futures`` has its value here, or is known to have none.

        A future has none when its call failed (or was cancelled), or when fetching its value
        failed: the executor's ``wait`` gathers those from the cluster.
        """
        with self._settled:
            hurried = False
            for fut in futures:
                while fut.fetched and fut.settled is not fut.future:
                    if not hurried:
                        self._done.put(_HURRY)
                        hurried = True
                    self._settled.wait(0.5)  # (woken at once by each batch settled)

    def close(self) -> None:
        """Stop fetching (the run is over)."""
        self._done.put(None)

    # -- in the fetching thread -----------------------------------------------------------------
    @staticmethod
    def _to_release(fut: DaskFuture) -> Any:
        """``fut``'s ``distributed.Future`` if its copy can go now (marked released); or None."""
        if fut.pins or fut.released or fut.value is NO_VALUE:
            return None
        fut.released = True
        return fut.future

    def _run(self) -> None:
        done = self._done
        while True:
            item = done.get()
            if item is None:
                return
            if item is _HURRY:
                continue  # nothing was waiting to be fetched any more
            batch, closing = self._collect(item)
            self._settle(batch)
            if closing:
                return

    def _collect(self, first: tuple[DaskFuture, Any]) -> tuple[list[Any], bool]:
        """``first`` and what finishes within :data:`BATCH_DELAY`; and whether to stop after."""
        done, batch = self._done, [first]
        deadline = time.monotonic() + BATCH_DELAY
        while len(batch) < BATCH:
            left = deadline - time.monotonic()
            try:
                more = done.get(timeout=left) if left > 0 else done.get_nowait()
            except queue.Empty:
                break
            if more is None:
                return batch, True
            if more is _HURRY:
                deadline = time.monotonic()  # someone waits: only what is queued already
                continue
            batch.append(more)
        return batch, False

    def _settle(self, batch: list[tuple[DaskFuture, Any]]) -> None:
        finished: list[tuple[DaskFuture, Any]] = []
        others: list[tuple[DaskFuture, Any]] = []
        for fut, remote in batch:
            if remote is not fut.future:
                continue  # sent again since: its new future is watched
            (finished if remote.status == "finished" else others).append((fut, remote))
        values: list[Any] | None = None
        if finished:
            try:
                # straight from the workers: the scheduler only says where the values are
                values = self.client.gather([remote for _, remote in finished], direct=True)
            except BaseException:  # a closing client, a value lost meanwhile...
                values = None  # their values are gathered by the executor's wait instead
        if values is None:
            others.extend(finished)
        else:
            for (fut, remote), value in zip(finished, values, strict=True):
                self._keep(fut, remote, value)
        with self._settled:
            for fut, remote in others:
                if remote is fut.future:
                    fut.settled = remote
            self._settled.notify_all()
        for fut, remote in others:
            fut.called_back(remote)

    def _keep(self, fut: DaskFuture, remote: Any, value: Any) -> None:
        with self.lock:
            if remote is not fut.future:
                return
            fut.value = value
            fut.settled = remote
            release = self._to_release(fut)
        if release is not None:
            release.release()
        fut.called_back(remote)


class CallDeps:
    """The dependencies of one call being submitted, and the placeholders that stand for them.

    Called on each future in the call's arguments, it returns what the pickled call holds in
    its place: a :class:`~headwater.executors._payloads.Ref` to a value on the cluster (recorded
    in :attr:`deps`, pinned there until the call is sent), or — for a future whose value is
    here and no longer on the cluster — the value itself, or a ``Ref`` to that value scattered
    to the cluster again when it is large (see :meth:`scatter_embedded`).

    Args:
        fetcher: the run's fetcher (``None``: values stay on the cluster).
        check: raises if a future does not belong to the run.
    """

    def __init__(self, fetcher: ValueFetcher | None, check: Any) -> None:
        self.fetcher = fetcher
        self.check = check
        self.deps: dict[Any, Any] = {}  # key -> what keeps it alive until the call is sent
        self.embedded: list[DaskFuture] = []
        self.origin: dict[Any, DaskFuture] = {}  # key scattered again -> its future

    def __call__(self, fut: Any) -> Any:
        deps = self.deps
        if type(fut) is DaskFuture:
            self.check(fut)
            if fut.key in deps:
                return Ref(fut.key)
            fetcher = self.fetcher
            if fetcher is not None and not fetcher.pin(fut):
                again = fut.rescattered
                if again is None:
                    self.embedded.append(fut)
                    return fut.value
                deps[again.key] = again
                self.origin[again.key] = fut
                return Ref(again.key)
        deps[fut.key] = fut
        return Ref(fut.key)

    def scatter_embedded(self, client: Any) -> bool:
        """Scatter the values embedded so far to the cluster (each once per run); start over.

        Returns:
            Whether there was any: if so, the call's arguments must be mapped again.
        """
        if not self.embedded:
            return False
        todo = [f for f in self.embedded if f.rescattered is None]
        if todo:
            remotes = client.scatter([f.value for f in todo], hash=False)
            for f, remote in zip(todo, remotes, strict=True):
                f.rescattered = remote
        self.unpin()
        self.deps, self.embedded, self.origin = {}, [], {}
        return True

    def unpin(self) -> None:
        """The call is sent, or failed: its dependencies may leave the cluster."""
        unpin_all(self.fetcher, self.deps)

    def refs(self) -> tuple[Any, ...]:
        """The dependencies by reference, never keeping them alive: to send the call again."""
        origin = self.origin
        return tuple(
            weakref.ref(origin.get(k, d)) if type(d) is DaskFuture or k in origin else d.key
            for k, d in self.deps.items()
        )


def unpin_all(fetcher: ValueFetcher | None, deps: dict[Any, Any]) -> None:
    """Unpin the futures among ``deps`` (a queued call's dependencies, now sent)."""
    if fetcher is None:
        return
    for dep in deps.values():
        if type(dep) is DaskFuture:
            fetcher.unpin(dep)
