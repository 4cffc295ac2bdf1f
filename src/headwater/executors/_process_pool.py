"""A process pool in which a dying worker fails only its own call (private).

``concurrent.futures.ProcessPoolExecutor`` gives up as a whole when one of its processes dies:
every call running or queued fails with ``BrokenProcessPool``, and the other processes are
terminated in the middle of their calls. :class:`ProcessPool` keeps one pipe per worker process
and gives each process one call at a time, so when a process dies only the call it was running
fails (with :class:`WorkerDied`); the process is replaced and the other calls go on.

Worker processes also end when the process that started the pool dies (killed with ``SIGKILL``,
say), instead of running their calls to the end as orphans: a watchdog thread in each worker
waits on the parent's sentinel and checks ``os.getppid()`` (see
:mod:`headwater.executors._pool_worker`).

>>> from headwater.executors._process_pool import ProcessPool
>>> import multiprocessing
>>> pool = ProcessPool(2, multiprocessing.get_context("spawn"))
>>> pool.submit(pow, 2, 10).result()
1024
>>> pool.shutdown()
"""

from __future__ import annotations

import atexit
import collections
import os
import signal
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import Future
from multiprocessing.connection import Connection, wait
from typing import Any

from headwater.exceptions import WorkerLostError
from headwater.executors._payloads import Failure, dumps
from headwater.executors._pool_worker import serve

__all__ = ["LossReportingPool", "ProcessPool", "WorkerDied"]


class WorkerDied(Exception):
    """The worker process running a call died before the call returned.

    Attributes:
        exitcode: the process's exit code (``-9`` for ``SIGKILL``), when known.
    """

    def __init__(self, message: str, exitcode: int | None = None) -> None:
        super().__init__(message)
        self.exitcode = exitcode

    def __reduce__(self) -> tuple[Any, tuple[str, int | None]]:
        return (WorkerDied, (self.args[0], self.exitcode))


# -- in the parent process ----------------------------------------------------------------------
class _Worker:
    __slots__ = ("process", "conn", "future")

    def __init__(self, process: Any, conn: Connection) -> None:
        self.process = process
        self.conn = conn
        self.future: Future[Any] | None = None


class ProcessPool:
    """Up to ``num_workers`` worker processes, each running one submitted call at a time.

    Processes start when calls need them. The ``concurrent.futures.Executor`` methods used by
    dask's schedulers are provided: :meth:`submit` and :meth:`shutdown`.

    Args:
        num_workers: the number of processes.
        mp_context: the ``multiprocessing`` context processes are started with.
        name: a prefix for the processes' names.
    """

    def __init__(self, num_workers: int, mp_context: Any, name: str = "headwater-process") -> None:
        self.num_workers = max(1, int(num_workers))
        self._max_workers = self.num_workers  # what dask's schedulers read
        self._ctx = mp_context
        self._name = name
        self._lock = threading.Lock()
        self._queue: collections.deque[tuple[Future[Any], bytes]] = collections.deque()
        self._workers: list[_Worker] = []
        self._idle: list[_Worker] = []
        self._closed = False
        self._wake_r, self._wake_w = mp_context.Pipe(duplex=False)
        self._manager = threading.Thread(target=self._manage, name=f"{name}-manager", daemon=True)
        self._manager.start()
        _live_pools.add(self)

    # -- the executor API -----------------------------------------------------------------------
    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        """Run ``fn(*args, **kwargs)`` in a worker process; return its future."""
        data = dumps((fn, args, kwargs))
        fut: Future[Any] = Future()
        with self._lock:
            if self._closed:
                raise RuntimeError("cannot submit to a ProcessPool that was shut down")
            # with calls already queued, every process is busy: the next to finish takes it
            wake = not self._queue
            self._queue.append((fut, data))
        if wake:
            self._wake()
        return fut

    def shutdown(self, wait: bool = True, cancel_futures: bool = False, kill: bool = False) -> None:
        """Stop the pool: cancel queued calls, end the processes.

        Args:
            wait: wait for running calls to return (unless ``kill``) and the processes to end.
            cancel_futures: ignored: queued calls are always cancelled.
            kill: end the processes at once, even in the middle of a call.
        """
        with self._lock:
            self._closed = True
            queued = list(self._queue)
            self._queue.clear()
            workers = list(self._workers)
        for fut, _ in queued:
            fut.cancel()
        if kill:
            for w in workers:
                _end(w.process)
        self._wake()
        if wait:
            self._manager.join()
            for w in workers:
                w.process.join(5)
                if w.process.is_alive():
                    _end(w.process, force=True)
                    w.process.join()
        _live_pools.discard(self)

    # -- the manager thread ---------------------------------------------------------------------
    def _wake(self) -> None:
        try:
            self._wake_w.send_bytes(b"")
        except OSError:  # the manager has stopped
            pass

    def _manage(self) -> None:
        try:
            self._manage_until_closed()
        except BaseException as exc:  # an OS failure must not leave calls waiting
            self._fail_everything(exc)

    def _fail_everything(self, exc: BaseException) -> None:
        with self._lock:
            self._closed = True
            futures = [fut for fut, _ in self._queue]
            futures += [w.future for w in self._workers if w.future is not None]
            self._queue.clear()
            workers = list(self._workers)
        for w in workers:
            _end(w.process, force=True)
        for fut in futures:
            if not fut.done():
                fut.set_exception(RuntimeError(f"the process pool stopped working: {exc!r}"))

    def _manage_until_closed(self) -> None:
        while True:
            with self._lock:
                closed = self._closed
                self._dispatch_locked()
                busy = [w for w in self._workers if w.future is not None]
                if closed and not busy:
                    for w in self._workers:
                        _stop(w)
                    return
                waitables: list[Any] = [self._wake_r]
                for w in self._workers:
                    waitables.append(w.process.sentinel)
                    if w.future is not None:
                        waitables.append(w.conn)
            ready = set(wait(waitables))
            if self._wake_r in ready:
                while self._wake_r.poll():
                    self._wake_r.recv_bytes()
            for w in list(self._workers):
                if w.conn in ready:
                    self._receive(w)
                if w.process.sentinel in ready:
                    self._died(w)

    def _dispatch_locked(self) -> None:
        """Hand queued calls to idle processes, starting processes as needed (lock held)."""
        while self._queue and not self._closed:
            if not self._idle:
                if len(self._workers) >= self.num_workers:
                    return
                self._idle.append(self._start_worker())
            worker = self._idle.pop()
            fut, data = self._queue.popleft()
            if not fut.set_running_or_notify_cancel():
                self._idle.append(worker)
                continue
            worker.future = fut
            try:
                worker.conn.send_bytes(data)
            except OSError:  # it died while idle: _died fails the call and replaces it
                pass

    def _start_worker(self) -> _Worker:
        parent_conn, child_conn = self._ctx.Pipe(duplex=True)
        process = self._ctx.Process(
            target=serve,
            args=(child_conn, os.getpid()),
            name=f"{self._name}-{len(self._workers)}",
        )
        process.start()
        child_conn.close()
        worker = _Worker(process, parent_conn)
        self._workers.append(worker)
        return worker

    def _receive(self, worker: _Worker) -> None:
        import pickle

        try:
            ok, value = pickle.loads(worker.conn.recv_bytes())
        except (EOFError, OSError):
            return  # the process died while sending: _died reports it
        except BaseException as exc:  # an outcome that cannot be unpickled
            ok, value = False, exc
        with self._lock:
            fut, worker.future = worker.future, None
            self._idle.append(worker)
        if fut is not None:
            if ok:
                fut.set_result(value)
            else:
                fut.set_exception(value)

    def _died(self, worker: _Worker) -> None:
        if worker.conn.poll():  # it sent its outcome before it ended
            self._receive(worker)
        worker.process.join()
        with self._lock:
            fut, worker.future = worker.future, None
            self._workers.remove(worker)
            if worker in self._idle:
                self._idle.remove(worker)
        worker.conn.close()
        if fut is not None:
            code = worker.process.exitcode
            fut.set_exception(
                WorkerDied(
                    f"worker process {worker.process.pid} died with exit code {code} while "
                    "running the call",
                    exitcode=code,
                )
            )


class LossReportingPool:
    """``pool`` as dask's scheduler sees it: a dead process's call ends with a value, not an error.

    dask's scheduler gives up at the first call whose future raises. Through this wrapper, a
    graph node whose process died gets ``Failure(WorkerLostError)`` as its value instead, so that
    only its dependents fail with it, and every other node runs on.

    Args:
        pool: the :class:`ProcessPool` that runs dask's batches of graph nodes.
    """

    def __init__(self, pool: ProcessPool) -> None:
        self._pool = pool
        self._max_workers = pool.num_workers  # what dask's schedulers read

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> Future[Any]:
        """Submit ``fn(batch)`` (dask's ``batch_execute_tasks``) to the pool."""
        inner = self._pool.submit(fn, *args)
        outer: Future[Any] = Future()

        def done(f: Future[Any]) -> None:
            if f.cancelled():
                outer.set_exception(RuntimeError("the process pool was shut down"))
                return
            exc = f.exception()
            if exc is None:
                outer.set_result(f.result())
            elif isinstance(exc, WorkerDied) and len(args) == 1 and isinstance(args[0], list):
                outer.set_result([_lost(node, exc) for node in args[0]])
            else:
                outer.set_exception(exc)

        inner.add_done_callback(done)
        return outer


def _lost(node: tuple[Any, ...], exc: WorkerDied) -> tuple[Any, Any, bool]:
    """dask's ``(key, result, failed)`` for a graph node whose process died."""
    key, node_dumps = node[0], node[2]
    code = exc.exitcode
    how = f"exit code {code}"
    if code is not None and code < 0:
        try:
            how = f"signal {signal.Signals(-code).name}"
        except ValueError:
            pass
    err = WorkerLostError(
        f"The worker process running {key!r} died ({how}) before the call returned: it was "
        "killed, ran out of memory or crashed; the worker was lost.",
        key=key,
        task_name=str(key).rpartition("-")[0],
    )
    err.__cause__ = exc
    return (key, node_dumps((Failure(err), None)), False)


def _stop(worker: _Worker) -> None:
    try:
        worker.conn.send_bytes(b"")
    except OSError:
        pass


def _end(process: Any, force: bool = False) -> None:
    try:
        process.kill() if force else process.terminate()
    except (OSError, ValueError, AttributeError):
        pass


_live_pools: weakref.WeakSet[ProcessPool] = weakref.WeakSet()


@atexit.register
def _end_live_pools() -> None:
    """At exit, end the processes of pools still open (their calls are abandoned)."""
    for pool in list(_live_pools):
        pool.shutdown(wait=True, kill=True)
