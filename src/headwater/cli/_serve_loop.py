"""The loop behind ``headwater serve``: each scheduled flow on its schedule in a thread of its own,
the UI in another, until Ctrl-C or SIGTERM.

A :class:`ScheduleThread` follows one flow's schedule with the engine's schedule loop
(:func:`~headwater.engine.schedule_loop.run_on_schedule`): it waits for each event on a stop
event, so that stopping ends every wait at once, and runs the flow at the event's time with
the event's parameter defaults, recorded in the run history. :class:`Serving` starts the
threads and the UI, waits for Ctrl-C or SIGTERM in the main thread, then stops them: no new run
starts, the runs in progress (scheduled or started from the UI) are waited for, and a second
Ctrl-C stops waiting.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from headwater.core.flow import Flow

__all__ = ["Reload", "ScheduleThread", "ServedFlow", "Serving"]

logger = logging.getLogger("headwater.serve")


class _Stopped(KeyboardInterrupt):
    """Raised inside a schedule loop's wait once serving stops: the loop ends at that wait,
    as it does when Ctrl-C interrupts it."""


class ScheduleThread(threading.Thread):
    """Runs one flow on its schedule until ``stop`` is set or the schedule ends.

    Args:
        flow: the flow, which has a schedule.
        settings: the configuration its runs are made under (where they are recorded).
        stop: set when serving stops; the loop then ends at its next wait.
    """

    def __init__(self, flow: Flow, settings: dict[str, Any], stop: threading.Event) -> None:
        super().__init__(name=f"headwater-serve-{flow.name}", daemon=True)
        self.flow = flow
        self.settings = settings
        self.stop = stop

    def _sleep(self, seconds: float) -> None:
        if self.stop.wait(seconds):
            raise _Stopped

    def _run_once(self, parameter_defaults: dict[str, Any], when: _dt.datetime) -> Any:
        from headwater.engine import get_default_flow_runner_class
        from headwater.engine.flow_run import FlowRun
        from headwater.utilities.configuration import set_temporary_config

        runner_cls = get_default_flow_runner_class()
        try:
            with set_temporary_config(self.settings):
                return FlowRun(self.flow, runner_cls, dict(parameter_defaults), {}, when).run()
        except Exception:  # a run's error is the run's: logged, and serving goes on
            logger.exception("The scheduled run of flow %r raised", self.flow.name)
            return None

    def run(self) -> None:
        """Follow the schedule until it ends or serving stops."""
        from headwater.engine.schedule_loop import run_on_schedule

        assert self.flow.schedule is not None
        try:
            run_on_schedule(
                self.flow.schedule,
                self._run_once,
                sleep=self._sleep,
                logger=logger,
                flow_name=self.flow.name,
            )
        except ValueError as exc:  # the schedule is over already
            logger.warning("%s", exc)


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """In the main thread, SIGTERM (``kill``, ``docker stop``) stops serving as Ctrl-C does."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@dataclass
class ServedFlow:
    """A flow being served: where it came from, and whether its schedule runs.

    Attributes:
        key: the id of the registered version served (``None`` for a flow of a file, which
            a registration never replaces).
    """

    flow: Flow
    source: str
    schedule_active: bool = True
    key: int | None = None
    project: str | None = None

    @property
    def scheduled(self) -> bool:
        """Whether the flow runs on a schedule here."""
        return self.schedule_active and self.flow.schedule is not None

    def describe(self) -> str:
        """``'name' (source): its schedule``."""
        from headwater.history._registry import describe_schedule

        if self.scheduled:
            when = describe_schedule(self.flow.schedule)
        elif self.flow.schedule is not None:
            when = "schedule turned off at registration; start it from the UI"
        else:
            when = "no schedule; start it from the UI"
        return f"{self.flow.name!r} ({self.source}): {when}"


Reload = Callable[[Mapping[str, ServedFlow]], list[ServedFlow]]
"""Given the flows served by name, the registered flows that are new or have a new version."""


class Serving:
    """Flows served in this process: the scheduled ones on their schedules, all from the UI.

    Args:
        served: the flows to serve.
        db: the history the runs record into (``None``: the configured one), even where
            recording is turned off.
        ui: the ``UIServer`` options (``host``, ``port``, ``allow_remote``), or ``None`` for
            no UI.
        say: where the lines for the user go.
        reload: called every ``reload_seconds``: the flows it gives are served from then on
            (a new version replaces the one served; its runs in progress go on).
        reload_seconds: how often ``reload`` is called.
    """

    def __init__(
        self,
        served: list[ServedFlow],
        *,
        db: str | None,
        ui: dict[str, Any] | None,
        say: Callable[[str], None],
        reload: Reload | None = None,
        reload_seconds: float = 10.0,
    ) -> None:
        from headwater.ui._launch import history_settings

        self.served = {s.flow.name: s for s in served}
        self.db = db
        self.ui = ui
        self.say = say
        self.reload = reload
        self.reload_seconds = reload_seconds
        self.stop = threading.Event()
        self.settings = history_settings(db)
        self.threads: dict[str, ScheduleThread] = {}
        self.retired: list[ScheduleThread] = []
        self.server: Any = None

    def _schedule(self, served: ServedFlow) -> None:
        if served.scheduled:
            thread = ScheduleThread(served.flow, self.settings, threading.Event())
            self.threads[served.flow.name] = thread
            thread.start()

    def _start(self) -> None:
        if self.ui is not None:
            from headwater.ui import UIServer

            flows = [(name, s.flow) for name, s in self.served.items()]
            self.server = UIServer(self.db, flows=flows, **self.ui).start()
            self.say(f"headwater UI: {self.server.token_url}")
            self.say(f"token for actions (Authorization: Bearer ...): {self.server.token}")
        for served in self.served.values():
            self._schedule(served)
        self.say("Press Ctrl-C to stop.")

    def _replace(self, served: ServedFlow) -> None:
        """Serve ``served`` instead of the flow of its name (if any) from now on."""
        from headwater.ui._launch import RegisteredFlow

        name = served.flow.name
        old = self.threads.pop(name, None)
        if old is not None:
            old.stop.set()  # its wait ends; a run in progress finishes first
            self.retired.append(old)
        self.served[name] = served
        self._schedule(served)
        if self.server is not None:
            self.server.app.state.ui.launcher.flows[name] = RegisteredFlow(name, served.flow)
        self.say(f"Now serving {served.describe()}")

    def _reload(self) -> None:
        assert self.reload is not None
        try:
            fresh = self.reload(dict(self.served))
        except Exception:  # a history that cannot be read now: serving goes on as it was
            logger.exception("Reading the registered flows again failed")
            return
        for served in fresh:
            self._replace(served)

    def _wait(self) -> None:
        """Until Ctrl-C or SIGTERM (or, with neither a UI nor ``reload``, the end of every
        schedule)."""
        next_reload = time.monotonic() + self.reload_seconds
        while not self.stop.wait(min(1.0, self.reload_seconds)):  # a signal is handled at once
            if self.reload is not None and time.monotonic() >= next_reload:
                self._reload()
                next_reload = time.monotonic() + self.reload_seconds
            idle = self.server is None and self.reload is None
            if idle and not any(t.is_alive() for t in self.threads.values()):
                self.say("No served flow has a scheduled run left.")
                return

    def _shut_down(self) -> None:
        self.stop.set()
        threads = [*self.threads.values(), *self.retired]
        for schedule in threads:
            schedule.stop.set()
        running: list[threading.Thread] = [t for t in threads if t.ident is not None]
        if self.server is not None:
            running += list(self.server.app.state.ui.launcher.threads)
        try:
            for thread in running:
                thread.join()
        except KeyboardInterrupt:
            self.say("Stopped without waiting for the flow runs in progress.")
        if self.server is not None:
            self.server.stop()
        from headwater.history import flush

        flush()

    def run(self) -> None:
        """Serve until Ctrl-C or SIGTERM."""
        with sigterm_as_interrupt():
            try:
                self._start()
                self._wait()
            except KeyboardInterrupt:
                pass
            finally:
                self._shut_down()
