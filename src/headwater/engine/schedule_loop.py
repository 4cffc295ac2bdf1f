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
    when: _dt.datetime, clock: Callable[[], _dt.datetime], sleep: Callable[[float], Any]
) -> bool:
    """Sleep in short steps until ``when``; ``False`` if Ctrl-C interrupted the wait."""
    try:
        while (remaining := (when - clock()).total_seconds()) > 0:
            sleep(min(remaining, SLEEP_STEP))
    except KeyboardInterrupt:
        return False
    return True


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


def run_on_schedule(
    schedule: Schedule,
    run_once: Callable[[dict[str, Any], _dt.datetime], Any],
    *,
    after: _dt.datetime | None = None,
    sleep: Callable[[float], Any] = time.sleep,
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
        sleep: the sleep function (injectable for tests).
        now: returns the current datetime (injectable for tests; default: UTC now); a naive
            result is read as UTC.
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
    from headwater.schedules.schedules import SearchLimitReached

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
        try:
            event = _next_event(schedule, lower)
        except SearchLimitReached as exc:
            resume = exc.searched_until
            logger.info(
                "The schedule's filters keep no run up to %s; searching on from then.",
                resume.isoformat(),
            )
            if not _wait_until(resume, clock, sleep):
                logger.info("Interrupted while waiting for the next scheduled run; stopping.")
                return last_state
            lower = resume
            continue
        if event is None:
            if runs == 0:
                raise ValueError(_ended_message(schedule, lower, flow_name))
            logger.info("The schedule has no more runs; stopping.")
            return last_state
        start = event.start_time
        logger.info("Waiting for next scheduled run at %s", start.isoformat())
        if not _wait_until(start, clock, sleep):
            logger.info("Interrupted while waiting for the next scheduled run; stopping.")
            return last_state
        last_state = run_once(dict(event.parameter_defaults), start)
        runs += 1
        lower = start
    return last_state
