"""A scheduled flow: runs three times, one second apart, then stops.

``flow.run()`` follows the flow's schedule: it waits for each scheduled time, runs the flow with
the event's parameter defaults, logs the next run time, and returns the last run's state when
the schedule has no more events (here: its ``end_date`` has passed). Ctrl-C between runs stops
the loop cleanly. ``headwater run examples/scheduled.py`` runs the flow once, now, without
following the schedule.
"""

from __future__ import annotations

from datetime import timedelta

import pendulum

from headwater import Flow, Parameter, context, task
from headwater.schedules import Schedule
from headwater.schedules.clocks import IntervalClock


@task
def tick(label: str) -> str:
    line = f"{label}: run scheduled for {context.scheduled_start_time.format('HH:mm:ss')}"
    print(line)
    return line


def build_flow() -> Flow:
    start = pendulum.now("UTC").add(seconds=1).replace(microsecond=0)
    clock = IntervalClock(
        timedelta(seconds=1),
        start_date=start,
        end_date=start.add(seconds=2),  # three events: start, +1 s, +2 s
        parameter_defaults={"label": "tick"},
    )
    with Flow("ticker", schedule=Schedule(clocks=[clock])) as flow:
        tick(Parameter("label", default="manual"))
    return flow


if __name__ == "__main__":
    runs = []
    flow = build_flow()
    flow.state_handlers.append(lambda f, old, new: runs.append(new) if new.is_finished() else None)
    final = flow.run()
    print(f"{len(runs)} runs, last state: {final}")
    raise SystemExit(0 if len(runs) == 3 and final.is_successful() else 1)
