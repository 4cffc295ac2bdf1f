"""Running a flow repeatedly on its schedule.

:func:`run_on_schedule` is the loop behind ``flow.run()`` for a flow with a schedule: it waits
until the next scheduled time, runs the flow once with that event's parameter defaults, and
repeats until the schedule has no more events. Ctrl-C while it waits ends the loop cleanly and
returns the state of the last run. A schedule that has no event left when the loop starts is a
``ValueError`` saying when it ended, rather than a silent return of nothing.

Example::

    from datetime import timedelta
    import pendulum
    from headwater.engine.schedule_loop import run_on_schedule
    from headwater.schedules import Schedule, clocks

    start = pendulum.now("UTC").add(seconds=1)
    schedule = Schedule([clocks.IntervalClock(timedelta(seconds=1), start_date=start,
                                              end_date=start.add(seconds=2))])

    def run_once(parameter_defaults, scheduled_start_time):
        print("run at", scheduled_start_time, "with", parameter_defaults)
        return "done"

    run_on_schedule(schedule, run_once)   # three runs, one second apart; returns "done"

The loop reads the time from, and waits on, a clock: :data:`clock` (the system clock) unless
``now``/``sleep`` are given. ``flow.run()`` waits on the same clock (for scheduled start times and
retries), so replacing it — ``monkeypatch.setattr(schedule_loop, "clock", fake)`` in a test —
drives whole scheduled flow runs without waiting.
"""

from __future__ import annotations

import datetime as _dt
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from headwater.schedules import Schedule

__all__ = ["Clock", "ManualClock", "SystemClock", "clock", "pendulum_now", "run_on_schedule"]

#: The longest single sleep while waiting, so the loop notices interrupts and clock changes.
SLEEP_STEP = 0.5


class Clock(Protocol):
    """What flow runs read the time from and wait on."""

    def now(self) -> _dt.datetime:
        """The current time, timezone-aware (a naive value is read as UTC)."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` seconds."""
        ...


class SystemClock:
    """The real time: UTC ``datetime.now`` and ``time.sleep``."""

    def now(self) -> _dt.datetime:
        """The current UTC time."""
        return _dt.datetime.now(_dt.UTC)

    def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` seconds."""
        time.sleep(seconds)

    def __repr__(self) -> str:
        return "SystemClock()"


class ManualClock:
    """A clock that moves only when slept on (or moved): scheduled runs without waiting.

    >>> import datetime as dt
    >>> manual = ManualClock(dt.datetime(2024, 1, 1, 12, tzinfo=dt.UTC))
    >>> manual.sleep(1.5); manual.now().isoformat(), manual.slept
    ('2024-01-01T12:00:01.500000+00:00', [1.5])

    Args:
        start: the time it starts at (default: now).

    Attributes:
        slept: the length of every sleep, in order.
    """

    def __init__(self, start: _dt.datetime | None = None) -> None:
        self.current = start if start is not None else SystemClock().now()
        self.slept: list[float] = []

    def now(self) -> _dt.datetime:
        """The clock's time."""
        return self.current

    def sleep(self, seconds: float) -> None:
        """Move the clock ``seconds`` ahead, at once."""
        self.slept.append(seconds)
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        """Move the clock ``seconds`` ahead without counting a sleep."""
        self.current = self.current + _dt.timedelta(seconds=seconds)

    def __repr__(self) -> str:
        return f"ManualClock({self.current.isoformat()})"


#: The clock the schedule loop and ``flow.run()`` use (read at each use: tests may replace it).
clock: Clock = SystemClock()


def _aware(read: Callable[[], _dt.datetime]) -> Callable[[], _dt.datetime]:
    """``read``, with a naive result read as UTC (as schedules read naive datetimes)."""

    def now() -> _dt.datetime:
        current = read()
        if current.tzinfo is None or current.utcoffset() is None:
            current = current.replace(tzinfo=_dt.UTC)
        return current

    return now


def _next_event(schedule: Any, after: _dt.datetime) -> Any:
    """The schedule's first event after ``after`` (or ``None``); any object with ``next`` works.

    A ``Schedule`` subclass that overrides only ``next`` (as Prefect 1 code does) is asked
    through its ``next``.
    """
    from headwater.schedules.schedules import Schedule

    next_event = getattr(schedule, "next_event", None)
    cls = type(schedule)
    own_next = (
        isinstance(schedule, Schedule)
        and cls.next is not Schedule.next
        and cls.next_event is Schedule.next_event
    )
    if next_event is not None and not own_next:
        return next_event(after=after)
    events = schedule.next(1, after=after, return_events=True)
    return events[0] if events else None


def _wait_until(
    when: _dt.datetime, now: Callable[[], _dt.datetime], sleep: Callable[[float], Any]
) -> bool:
    """Sleep in short steps until ``when``; ``False`` if Ctrl-C interrupted the wait."""
    try:
        while (remaining := (when - now()).total_seconds()) > 0:
            sleep(min(remaining, SLEEP_STEP))
    except KeyboardInterrupt:
        return False
    return True


def pendulum_now() -> Any:
    """Now on :data:`clock`, as the ``pendulum`` datetime that states and contexts hold.

    The system clock is read with ``pendulum.now("UTC")`` itself (no conversion); another
    clock's time is converted (a naive time is read as UTC).
    """
    import pendulum

    current = clock
    if type(current) is SystemClock:
        return pendulum.now("UTC")
    return pendulum.instance(current.now())


def _ended_message(schedule: Any, after: _dt.datetime, flow_name: str | None) -> str:
    end = getattr(schedule, "end_date", None)
    if end is not None and end <= after:
        why = f"it ended at {end.isoformat()} (the latest end_date of its clocks)"
        fix = "give it a later end_date"
    elif end is not None:
        why = f"its filters keep no event before it ends at {end.isoformat()}"
        fix = "check its filters and end_date"
    else:
        why = "its filters can keep no later event"
        fix = "check its filters"
    who = f"Flow {flow_name!r}: the" if flow_name is not None else "The"
    hint = (
        ", or run the flow once now with flow.run(run_on_schedule=False)"
        if flow_name is not None
        else ""
    )
    return (
        f"{who} schedule has no runs after {after.isoformat()} (no more scheduled runs): {why}; "
        f"{fix}{hint}."
    )


_INTERRUPTED = object()


class _Loop:
    """The state of one :func:`run_on_schedule` call: where to look for the next event."""

    def __init__(
        self,
        schedule: Any,
        now: Callable[[], _dt.datetime],
        sleep: Callable[[float], Any],
        logger: logging.Logger,
        flow_name: str | None,
    ) -> None:
        self.schedule = schedule
        self.now = now
        self.sleep = sleep
        self.logger = logger
        self.flow_name = flow_name

    def run(
        self,
        run_once: Callable[[dict[str, Any], _dt.datetime], Any],
        lower: _dt.datetime | None,
        max_runs: int | None,
    ) -> Any:
        """Wait for each event and run it, until the schedule, ``max_runs`` or Ctrl-C stops."""
        last_state: Any = None
        runs = 0
        while max_runs is None or runs < max_runs:
            event = self.next_event(lower, first=runs == 0)
            if event is None or event is _INTERRUPTED:
                return last_state
            start = event.start_time
            self.logger.info("Waiting for next scheduled run at %s", start.isoformat())
            if not self.wait(start):
                return last_state
            last_state = run_once(dict(event.parameter_defaults), start)
            runs += 1
            lower = start
        return last_state

    def next_event(self, lower: _dt.datetime | None, first: bool) -> Any:
        """The first event after ``lower`` and now; ``None`` when there is none any more.

        When the schedule's filters stop the search, the loop waits until the point the search
        reached and searches on from there; Ctrl-C during that wait gives ``_INTERRUPTED``.

        Raises:
            ValueError: there is no event at all (``first``: nothing has run yet).
        """
        from headwater.schedules.schedules import SearchLimitReached

        while True:
            current = self.now()
            if lower is None or lower < current:
                lower = current
            try:
                event = _next_event(self.schedule, lower)
            except SearchLimitReached as exc:
                lower = exc.searched_until
                self.logger.info(
                    "The schedule's filters keep no run up to %s; searching on from then.",
                    lower.isoformat(),
                )
                if not self.wait(lower):
                    return _INTERRUPTED
                continue
            if event is None:
                if first:
                    raise ValueError(_ended_message(self.schedule, lower, self.flow_name))
                self.logger.info("The schedule has no more runs; stopping.")
            return event

    def wait(self, when: _dt.datetime) -> bool:
        """Wait until ``when``; ``False`` (logged) if Ctrl-C interrupted the wait."""
        if _wait_until(when, self.now, self.sleep):
            return True
        self.logger.info("Interrupted while waiting for the next scheduled run; stopping.")
        return False


def run_on_schedule(
    schedule: Schedule,
    run_once: Callable[[dict[str, Any], _dt.datetime], Any],
    *,
    after: _dt.datetime | None = None,
    sleep: Callable[[float], Any] | None = None,
    now: Callable[[], _dt.datetime] | None = None,
    logger: logging.Logger | None = None,
    max_runs: int | None = None,
    flow_name: str | None = None,
) -> Any:
    """Run ``run_once`` at each of the schedule's times, sleeping in between.

    Each turn takes the schedule's first event strictly after the current time (and after the
    previous run's scheduled time, so no event runs twice), logs the time at INFO, sleeps until
    then in steps of at most ``SLEEP_STEP`` seconds, and calls
    ``run_once(event.parameter_defaults, event.start_time)``. Events missed while a run was
    still going are skipped, not run late. The loop ends when the schedule has no further events
    (its clocks' ``end_date`` has passed), after ``max_runs`` runs, or on ``KeyboardInterrupt``
    while waiting; an interrupt during a run propagates from ``run_once``. When the schedule's
    filters reject so many events in a row that its search stops
    (:class:`~headwater.schedules.schedules.SearchLimitReached`), no run is due before the
    point the search reached: the loop waits until then and searches on from there.

    Args:
        schedule: the :class:`~headwater.schedules.Schedule` to follow.
        run_once: runs the flow once; called with a fresh dict of the event's parameter defaults
            and the scheduled start time, returns the run's final state.
        after: consider only events strictly after this instant (default: the current time).
        sleep: the sleep function (default: :data:`clock`'s).
        now: returns the current datetime (default: :data:`clock`'s); a naive result is read
            as UTC.
        logger: where to log (default: the ``"headwater.schedule"`` logger).
        max_runs: stop after this many runs (default: no limit).
        flow_name: the flow being run, named in the error for a schedule already over.

    Returns:
        The value ``run_once`` returned for the last run, or ``None`` if nothing ran
        (``max_runs=0``, or Ctrl-C before the first run).

    Raises:
        ValueError: ``max_runs`` is negative, or the schedule has no event after the start
            (its end date has passed, or its filters keep no later event).
    """
    if max_runs is not None and max_runs < 0:
        raise ValueError(f"run_on_schedule: max_runs must not be negative, got {max_runs}.")
    if logger is None:
        from headwater.utilities.logging import get_logger

        logger = get_logger("schedule")
    current = clock
    loop = _Loop(schedule, _aware(now or current.now), sleep or current.sleep, logger, flow_name)
    return loop.run(run_once, after, max_runs)
