"""Running a flow repeatedly on its schedule.

:func:`run_on_schedule` is the loop behind ``flow.run()`` for a flow with a schedule: it waits
until the next scheduled time, runs the flow once with that event's parameter defaults, and
repeats until the schedule has no more events. Ctrl-C while it waits ends the loop cleanly and
returns the state of the last run.

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

The clock and the sleep function are injectable, so the loop can be driven without waiting.
"""

from __future__ import annotations

import datetime as _dt
import logging
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from headwater.schedules import Schedule

__all__ = ["run_on_schedule"]

#: The longest single sleep while waiting, so the loop notices interrupts and clock changes.
SLEEP_STEP = 0.5


def _utc_now() -> _dt.datetime:
    return _dt.datetime.now(_dt.UTC)


def run_on_schedule(
    schedule: Schedule,
    run_once: Callable[[dict[str, Any], _dt.datetime], Any],
    *,
    after: _dt.datetime | None = None,
    sleep: Callable[[float], Any] = time.sleep,
    now: Callable[[], _dt.datetime] | None = None,
    logger: logging.Logger | None = None,
    max_runs: int | None = None,
) -> Any:
    """Run ``run_once`` at each of the schedule's times, sleeping in between.

    Each turn takes the schedule's first event strictly after the current time (and after the
    previous run's scheduled time, so no event runs twice), logs the time at INFO, sleeps until
    then in steps of at most ``SLEEP_STEP`` seconds, and calls
    ``run_once(event.parameter_defaults, event.start_time)``. Events missed while a run was
    still going are skipped, not run late. The loop ends when the schedule has no further events
    (its clocks' ``end_date`` has passed), after ``max_runs`` runs, or on ``KeyboardInterrupt``
    while waiting; an interrupt during a run propagates from ``run_once``.

    Args:
        schedule: the :class:`~headwater.schedules.Schedule` to follow.
        run_once: runs the flow once; called with a fresh dict of the event's parameter defaults
            and the scheduled start time, returns the run's final state.
        after: consider only events strictly after this instant (default: the current time).
        sleep: the sleep function (injectable for tests).
        now: returns the current datetime (injectable for tests; default: UTC now); a naive
            result is read as UTC.
        logger: where to log (default: the ``"headwater.schedule"`` logger).
        max_runs: stop after this many runs (default: no limit).

    Returns:
        The value ``run_once`` returned for the last run, or ``None`` if nothing ran.

    Raises:
        ValueError: ``max_runs`` is negative.
    """
    if max_runs is not None and max_runs < 0:
        raise ValueError(f"run_on_schedule: max_runs must not be negative, got {max_runs}.")
    read_clock = now or _utc_now

    def clock() -> _dt.datetime:
        current = read_clock()
        if current.tzinfo is None or current.utcoffset() is None:
            current = current.replace(tzinfo=_dt.UTC)  # naive means UTC, as for schedules
        return current

    if logger is None:
        from headwater.utilities.logging import get_logger

        logger = get_logger("schedule")

    last_state: Any = None
    runs = 0
    lower = after
    while max_runs is None or runs < max_runs:
        current = clock()
        if lower is None or lower < current:
            lower = current
        events = schedule.next(1, after=lower, return_events=True)
        if not events:
            logger.info("The schedule has no more runs; stopping.")
            return last_state
        event = events[0]
        start = event.start_time
        logger.info("Waiting for next scheduled run at %s", start.isoformat())
        try:
            while (remaining := (start - clock()).total_seconds()) > 0:
                sleep(min(remaining, SLEEP_STEP))
        except KeyboardInterrupt:
            logger.info("Interrupted while waiting for the next scheduled run; stopping.")
            return last_state
        last_state = run_once(dict(event.parameter_defaults), start)
        runs += 1
        lower = start
    return last_state
