"""Serving flows: running them on their schedules in this process until Ctrl-C.

``flow.serve(cron=..., interval=..., rrule=..., parameters=...)`` (:func:`serve_flow`) and
``serve(*deployments)`` (:func:`serve`) start a loop that sleeps until the next scheduled run
of any deployment, starts that flow run in a worker thread, and goes on; where Prefect needs
its server and a worker for this, headwater does it in the calling process. The loop waits on a
clock (the engine's :data:`~headwater.engine.schedule_loop.clock` unless ``clock=`` is given):
with the system clock it sleeps until the next run (waking at least once a minute to notice
clock changes), never polling; with a
:class:`~headwater.engine.schedule_loop.ManualClock` a test runs a day of schedules at once::

    import datetime as dt
    from headwater.engine.schedule_loop import ManualClock
    from headwater.modern.serving import serve, to_deployment

    def report(region="eu"):
        print("report for", region)
    report.name = "report"

    clock = ManualClock(dt.datetime(2024, 1, 1, tzinfo=dt.UTC))
    deployment = to_deployment(report, name="hourly", interval=3600,
                               parameters={"region": "us"}, clock=clock)
    serve(deployment, clock=clock, max_runs=3)   # runs at 00:00, 01:00 and 02:00

Ctrl-C (``KeyboardInterrupt``), or ``SIGTERM`` when serving from the main thread, stops the
loop: no new run starts, the runs in progress are waited for (a second Ctrl-C stops waiting),
and :func:`serve` returns. A run that fails is logged and the loop goes on.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import logging
from collections.abc import Iterable
from typing import Any

from headwater._server_only import server_only

__all__ = ["Deployment", "build_schedule", "serve", "serve_flow", "to_deployment"]

_logger = logging.getLogger("headwater.serve")
MAX_WAIT = 60.0
"""The longest single wait on the system clock, so that clock changes are noticed."""
_LOCALLY = "serve it in this process with flow.serve(...) or headwater.deployments.serve(...)"


def _listed(value: Any) -> list[Any]:
    if value is None:
        return []
    if isinstance(value, str | bytes) or not isinstance(value, Iterable):
        return [value]
    return list(value)


def _interval_clock(value: Any, start: _dt.datetime) -> Any:
    from headwater.schedules.clocks import IntervalClock

    if isinstance(value, _dt.timedelta):
        delta = value
    elif isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        delta = _dt.timedelta(seconds=value)
    else:
        raise ValueError(f"interval must be a number of seconds > 0 or a timedelta, not {value!r}.")
    return IntervalClock(delta, start_date=start)


def _rrule_clock(value: Any, start: _dt.datetime) -> Any:
    from dateutil import rrule as _rrule

    from headwater.schedules.clocks import RRuleClock

    if isinstance(value, str):
        try:
            parsed = _rrule.rrulestr(value, dtstart=start.replace(microsecond=0))
        except (ValueError, TypeError) as exc:
            raise ValueError(f"rrule {value!r} is not an RFC 5545 recurrence rule: {exc}") from None
        if not isinstance(parsed, _rrule.rrule):
            raise ValueError(f"rrule {value!r} must be one rule, not a set of rules.")
        value = parsed
    return RRuleClock(value)


def build_schedule(
    *,
    cron: Any = None,
    interval: Any = None,
    rrule: Any = None,
    schedule: Any = None,
    schedules: Any = None,
    start: _dt.datetime,
) -> Any:
    """One headwater :class:`~headwater.schedules.Schedule` from Prefect 3's schedule options.

    ``cron`` (a cron string or a list), ``interval`` (seconds, a timedelta or a list), ``rrule``
    (an RFC 5545 string, a ``dateutil`` rule or a list), ``schedule``/``schedules`` (headwater
    schedules or clocks); ``None`` when none is given. Interval schedules start at ``start``.
    """
    from headwater.schedules import Schedule
    from headwater.schedules.clocks import Clock, CronClock

    clocks: list[Any] = [CronClock(c, start_date=start) for c in _listed(cron)]
    clocks += [_interval_clock(i, start) for i in _listed(interval)]
    clocks += [_rrule_clock(r, start) for r in _listed(rrule)]
    for item in _listed(schedule) + _listed(schedules):
        if isinstance(item, Schedule):
            clocks += item.clocks
        elif isinstance(item, Clock):
            clocks.append(item)
        else:
            raise TypeError(
                f"schedules must hold headwater schedules or clocks (headwater.schedules), not "
                f"{item!r}; or pass cron=, interval= or rrule=."
            )
    return Schedule(clocks) if clocks else None


@dataclasses.dataclass
class Deployment:
    """A flow with a name, a schedule and parameters, served in this process.

    Made by ``flow.to_deployment(...)`` (:func:`to_deployment`); run by :func:`serve`.
    """

    flow: Any
    name: str
    schedule: Any = None
    parameters: dict[str, Any] = dataclasses.field(default_factory=dict)
    paused: bool = False
    concurrency_limit: int | None = None
    description: str | None = None
    tags: list[str] = dataclasses.field(default_factory=list)
    version: str | None = None
    created: _dt.datetime | None = None

    @property
    def flow_name(self) -> str:
        """The name of the deployment's flow."""
        return str(getattr(self.flow, "name", None) or getattr(self.flow, "__name__", "flow"))

    def apply(self, *args: Any, **kwargs: Any) -> Any:
        """Needs a Prefect server: raises, naming :func:`serve` as the local way."""
        server_only("Deployment.apply()", _LOCALLY)

    def deploy(self, *args: Any, **kwargs: Any) -> Any:
        """Needs a Prefect server and work pool: raises, naming :func:`serve`."""
        server_only("Deployment.deploy()", _LOCALLY)

    def run(self, **parameters: Any) -> Any:
        """Run the flow once now with the deployment's parameters (updated by ``parameters``)."""
        return self.flow(**{**self.parameters, **parameters})


_SERVER_OPTIONS = ("work_pool_name", "work_queue_name", "job_variables", "image", "triggers")


def to_deployment(
    flow: Any,
    name: str | None = None,
    *,
    interval: Any = None,
    cron: Any = None,
    rrule: Any = None,
    paused: bool | None = None,
    schedule: Any = None,
    schedules: Any = None,
    concurrency_limit: int | None = None,
    parameters: dict[str, Any] | None = None,
    description: str | None = None,
    tags: list[str] | None = None,
    version: str | None = None,
    clock: Any = None,
    **options: Any,
) -> Deployment:
    """A :class:`Deployment` of ``flow`` (Prefect 3's ``flow.to_deployment``).

    The options are Prefect 3's; ``clock`` (default: the engine's clock) gives the creation
    time, from which interval schedules start (their first run is then).

    Raises:
        ServerNotAvailableError: for work pools, queues, job variables, images and triggers,
            which need Prefect's server.
        TypeError: for unknown options or a bad schedule.
    """
    for key in _SERVER_OPTIONS:
        if options.get(key) is not None:
            server_only(f"to_deployment({key}=...)", _LOCALLY)
    unknown = sorted(
        set(options)
        - set(_SERVER_OPTIONS)
        - {"enforce_parameter_schema", "entrypoint_type", "version_type"}
    )
    if unknown:
        raise TypeError(f"to_deployment() got unexpected options {unknown}.")
    if parameters is not None and not isinstance(parameters, dict):
        raise TypeError(f"parameters must be a dict of parameter values, not {parameters!r}.")
    if concurrency_limit is not None and (
        isinstance(concurrency_limit, bool)
        or not isinstance(concurrency_limit, int)
        or concurrency_limit < 1
    ):
        raise ValueError(
            f"concurrency_limit must be a whole number >= 1, not {concurrency_limit!r}."
        )
    start = _now(clock)
    built = build_schedule(
        cron=cron,
        interval=interval,
        rrule=rrule,
        schedule=schedule,
        schedules=schedules,
        start=start,
    )
    flow_name = str(getattr(flow, "name", None) or getattr(flow, "__name__", "flow"))
    return Deployment(
        flow=flow,
        name=name or flow_name,
        schedule=built,
        parameters=dict(parameters or {}),
        paused=bool(paused),
        concurrency_limit=concurrency_limit,
        description=description,
        tags=list(tags or []),
        version=version,
        created=start,
    )


def _clock(clock: Any) -> Any:
    if clock is not None:
        return clock
    from headwater.engine import schedule_loop

    return schedule_loop.clock


def _now(clock: Any) -> _dt.datetime:
    current: _dt.datetime = _clock(clock).now()
    return current if current.tzinfo is not None else current.replace(tzinfo=_dt.UTC)


def serve_flow(
    flow: Any,
    *,
    name: str | None = None,
    cron: Any = None,
    interval: Any = None,
    rrule: Any = None,
    parameters: dict[str, Any] | None = None,
    limit: int | None = None,
    print_starting_message: bool = True,
    clock: Any = None,
    max_runs: int | None = None,
    **options: Any,
) -> Any:
    """Serve one flow on its schedule until Ctrl-C (Prefect 3's ``flow.serve``).

    ``options`` are those of :func:`to_deployment` (``paused``, ``schedules``, ``tags``...);
    ``pause_on_shutdown`` and ``webserver`` are accepted and ignored.

    Returns:
        The :class:`Runner` after it stopped (its ``runs`` list what ran).
    """
    options.pop("pause_on_shutdown", None)
    options.pop("webserver", None)
    options.pop("global_limit", None)
    deployment = to_deployment(
        flow,
        name,
        cron=cron,
        interval=interval,
        rrule=rrule,
        parameters=parameters,
        clock=clock,
        **options,
    )
    return serve(
        deployment,
        limit=limit,
        print_starting_message=print_starting_message,
        clock=clock,
        max_runs=max_runs,
    )


def serve(
    *deployments: Deployment,
    limit: int | None = None,
    pause_on_shutdown: bool = True,
    print_starting_message: bool = True,
    clock: Any = None,
    max_runs: int | None = None,
    **ignored: Any,
) -> Any:
    """Run the deployments on their schedules in this process until Ctrl-C or ``max_runs``.

    Args:
        *deployments: from ``flow.to_deployment(...)``.
        limit: the most flow runs going at once (default: no limit).
        pause_on_shutdown: accepted for compatibility (nothing outlives the process).
        print_starting_message: print which deployments are served, and how to stop.
        clock: what to read the time from and wait on (default: the engine's clock).
        max_runs: stop after starting this many runs (default: run until interrupted).

    Returns:
        The :class:`Runner` after it stopped.

    Raises:
        TypeError: if an argument is not a :class:`Deployment`.
    """
    from headwater.deployments import Runner

    for d in deployments:
        if not isinstance(d, Deployment):
            raise TypeError(
                f"serve() takes deployments made by flow.to_deployment(...), not {d!r}."
            )
    runner = Runner(
        list(deployments), limit=limit, clock=_clock(clock), announce=print_starting_message
    )
    if print_starting_message:
        names = ", ".join(f"'{d.flow_name}/{d.name}'" for d in deployments)
        print(f"Serving {names} in this process. Press Ctrl-C to stop.", flush=True)
    runner.run(max_runs=max_runs)
    return runner
