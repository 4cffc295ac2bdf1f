"""Deployments served in this process: ``serve(*deployments)`` and ``flow.to_deployment(...)``.

A :class:`Deployment` (``RunnerDeployment`` in Prefect 3) is a flow with a name, a schedule and
parameters; :func:`serve` runs the flows of several deployments on their schedules in this
process until Ctrl-C (see :mod:`headwater.modern.serving`)::

    import datetime as dt
    from headwater.deployments import serve, to_deployment
    from headwater.engine.schedule_loop import ManualClock

    def ping():
        return "pong"
    ping.name = "ping"

    clock = ManualClock(dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
    runner = serve(to_deployment(ping, cron="*/5 * * * *", clock=clock),
                   clock=clock, max_runs=2, print_starting_message=False)
    assert [r.scheduled.minute for r in runner.runs] == [0, 5]

Deploying to work pools, ``run_deployment`` and the other server features raise an error naming
the local way.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as _dt
import logging
import signal
import threading
from collections.abc import Iterator
from typing import Any

from headwater._server_only import server_only_function
from headwater.modern.serving import Deployment, build_schedule, serve, to_deployment

__all__ = [
    "Deployment",
    "Runner",
    "RunnerDeployment",
    "ServedRun",
    "arun_deployment",
    "build_schedule",
    "deploy",
    "run_deployment",
    "serve",
    "to_deployment",
]

RunnerDeployment = Deployment
_LOCALLY = "serve the flows in this process with headwater.deployments.serve(...), or call the flow"
run_deployment = server_only_function("run_deployment", _LOCALLY)
arun_deployment = server_only_function("arun_deployment", _LOCALLY)
deploy = server_only_function("deploy", _LOCALLY)
_logger = logging.getLogger("headwater.serve")
_MAX_WAIT = 60.0
CATCH_UP = _dt.timedelta(seconds=60)
"""A run due at most this long before serving started (since its deployment was made) runs."""


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """In the main thread, ``SIGTERM`` (``docker stop``, ``kill``) stops serving as Ctrl-C does."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@dataclasses.dataclass
class ServedRun:
    """One flow run a :class:`Runner` started: when it was due, and how it ended."""

    deployment: str
    scheduled: _dt.datetime
    parameters: dict[str, Any]
    ok: bool | None = None
    result: Any = None
    error: BaseException | None = None


class Runner:
    """The loop behind :func:`serve`: waits for each deployment's next run and starts it.

    Args:
        deployments: the deployments to serve.
        limit: the most flow runs going at once (``None``: no limit).
        clock: what the loop reads the time from and waits on.
    """

    def __init__(
        self, deployments: list[Deployment], limit: int | None, clock: Any, announce: bool = True
    ) -> None:
        from headwater.engine.schedule_loop import SystemClock

        if limit is not None and (
            isinstance(limit, bool) or not isinstance(limit, int) or limit < 1
        ):
            raise ValueError(f"serve(): limit must be a whole number >= 1, not {limit!r}.")
        self.deployments = deployments
        self.clock = clock
        self.announce = announce
        self.runs: list[ServedRun] = []
        self._real_time = isinstance(clock, SystemClock)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._limit = threading.BoundedSemaphore(limit) if limit else None
        self._per_deployment = {
            id(d): threading.BoundedSemaphore(d.concurrency_limit)
            for d in deployments
            if d.concurrency_limit
        }

    def stop(self) -> None:
        """Stop the loop (from another thread or a flow run): no further run starts."""
        self._stop.set()

    def _now(self) -> _dt.datetime:
        current: _dt.datetime = self.clock.now()
        return current if current.tzinfo is not None else current.replace(tzinfo=_dt.UTC)

    def run(self, max_runs: int | None = None) -> None:
        """Serve until :meth:`stop`, Ctrl-C, ``max_runs`` runs or the end of every schedule.

        The loop runs in a thread of its own; the calling thread only waits for it, so Ctrl-C
        never lands inside the loop's waits and stops it cleanly.
        """
        loop = threading.Thread(
            target=self._loop_safely, args=(max_runs,), name="headwater-serve", daemon=True
        )
        try:
            with _sigterm_as_interrupt():
                loop.start()
                while loop.is_alive():
                    loop.join(_MAX_WAIT)
        except KeyboardInterrupt:
            self._stop.set()
            self._say("Stopping: waiting for the flow runs in progress (Ctrl-C again to stop now).")
        self._stop.set()
        try:
            if loop.ident is not None:  # started
                loop.join()
            for thread in list(self._threads):
                thread.join()
        except KeyboardInterrupt:
            self._say("Stopped without waiting for the flow runs in progress.")
            return
        self._say("Stopped serving.")

    def _loop_safely(self, max_runs: int | None) -> None:
        try:
            self._loop(max_runs)
        except Exception:  # a broken schedule ends serving, logged
            _logger.exception("Serving stopped: the schedule loop failed.")
        finally:
            self._stop.set()

    def _say(self, message: str) -> None:
        _logger.info(message)
        if self.announce:
            print(message, flush=True)

    def _next(self, deployment: Deployment, after: _dt.datetime) -> tuple[_dt.datetime | None, Any]:
        """The next due time of ``deployment`` after ``after`` and its event (``None``: a time
        to search on from, when the schedule's filters stopped a search)."""
        from headwater.schedules.schedules import SearchLimitReached

        if deployment.paused or deployment.schedule is None:
            return None, None
        try:
            event = deployment.schedule.next_event(after=after)
        except SearchLimitReached as exc:
            return exc.searched_until, None
        return (None, None) if event is None else (event.start_time, event)

    def _loop(self, max_runs: int | None) -> None:
        started = 0
        now = self._now()
        upcoming = {
            i: self._next(d, self._first_after(d, now)) for i, d in enumerate(self.deployments)
        }
        while not self._stop.is_set() and (max_runs is None or started < max_runs):
            due = [(when, i, event) for i, (when, event) in upcoming.items() if when is not None]
            if not due:
                _logger.info("No deployment has a scheduled run left; stopping.")
                return
            when, i, event = min(due, key=lambda d: (d[0], d[1]))
            if not self._wait_until(when):
                return
            if event is not None:
                self._start(self.deployments[i], event)
                started += 1
            # runs missed while waiting (a clock jump, a suspended machine) are skipped
            upcoming[i] = self._next(self.deployments[i], max(when, self._now()))

    @staticmethod
    def _first_after(deployment: Deployment, now: _dt.datetime) -> _dt.datetime:
        """Where the search for a deployment's first run starts: just before now, or before its
        creation up to :data:`CATCH_UP` earlier, so that an interval schedule's first run (at
        the deployment's creation) happens at once."""
        earliest = now - CATCH_UP
        created = deployment.created or now
        return max(earliest, min(created, now)) - _dt.timedelta(microseconds=1)

    def _wait_until(self, when: _dt.datetime) -> bool:
        """Wait until ``when``; ``False`` if the runner was stopped first."""
        while not self._stop.is_set():
            remaining = (when - self._now()).total_seconds()
            if remaining <= 0:
                return True
            if self._real_time:
                self._stop.wait(min(remaining, _MAX_WAIT))
            else:
                self.clock.sleep(remaining)
        return False

    def _start(self, deployment: Deployment, event: Any) -> None:
        parameters = {**deployment.parameters, **dict(event.parameter_defaults or {})}
        record = ServedRun(deployment.name, event.start_time, parameters)
        self.runs.append(record)
        self._threads = [t for t in self._threads if t.is_alive()]
        thread = threading.Thread(
            target=self._execute,
            args=(deployment, record),
            name=f"headwater-serve-{deployment.name}",
            daemon=True,
        )
        self._threads.append(thread)
        _logger.info(
            "Starting a run of %s/%s due at %s",
            deployment.flow_name,
            deployment.name,
            event.start_time,
        )
        thread.start()

    def _execute(self, deployment: Deployment, record: ServedRun) -> None:
        gates = [
            g for g in (self._limit, self._per_deployment.get(id(deployment))) if g is not None
        ]
        for gate in gates:
            gate.acquire()
        try:
            record.result = deployment.flow(**record.parameters)
            record.ok = True
        except Exception as exc:  # a failed run is logged; serving goes on
            record.ok, record.error = False, exc
            _logger.error("Run of %s/%s failed: %r", deployment.flow_name, deployment.name, exc)
        finally:
            for gate in reversed(gates):
                gate.release()
