"""Collecting a run's states call by call, after a worker was lost.

Normally the scheduler waits for every handle at once. When that wait raises because a worker
died (``WorkerLostError``) or a value could not travel between processes
(``SerializationError``), :func:`settle_one_by_one` settles the tasks in topological order
instead, so that only the calls concerned fail and every other task keeps its state.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from headwater.engine.signals import ENDRUN
from headwater.engine.state import Failed, Mapped, Retrying, Running, State
from headwater.engine.submission import run_task_call

if TYPE_CHECKING:
    from headwater.core.edge import Edge
    from headwater.core.task import Task

__all__ = ["lost_call_state", "recoverable_errors", "settle_one_by_one"]


def recoverable_errors() -> tuple[type[BaseException], ...]:
    """The errors of a wait that :func:`settle_one_by_one` can recover from."""
    from headwater.exceptions import SerializationError
    from headwater.executors._dask_support import WorkerLostError

    return (WorkerLostError, SerializationError)


def settle_one_by_one(
    tasks: Iterable[Task],
    handles: dict[Task, Any],
    up: dict[Task, list[Edge]],
    resolved: dict[Task, dict[Edge, list[Any]]],
    runners: dict[Task, Any],
    make_runner: Callable[[Task], Any],
    task_states: dict[Task, State],
    ctx_for: Callable[[Task], dict[str, Any]],
    extra_for: Callable[[Task, int | None], dict[str, Any] | None],
    submit: Callable[..., Any],
    wait: Callable[[Any], Any],
    light: bool,
) -> dict[Task, Any]:
    """Collect each task's (and mapped child's) state separately, after a lost worker.

    A call whose own worker was lost (or whose value could not be pickled) gets a ``Failed``
    state saying so — or ``Retrying``, when the task's retry settings allow. A call that only
    failed because an upstream call did is submitted again with the upstream states settled so
    far, so that it gets its normal trigger outcome.
    """
    from headwater.executors._dask_support import WorkerLostError

    recoverable = recoverable_errors()
    raw: dict[Task, Any] = {}
    replaced: set[tuple[Task, int | None]] = set()  # calls whose state we made here

    def prior_state(t: Task, i: int | None) -> State | None:
        prior = task_states.get(t)
        if i is None:
            return prior
        if type(prior) is Mapped and i < len(prior.map_states):
            return prior.map_states[i]  # type: ignore[no-any-return]
        return None

    def upstream_states(t: Task, i: int | None) -> tuple[dict[Edge, Any], bool]:
        ups: dict[Edge, Any] = {}
        touched = False
        res = resolved.get(t, {})
        for e in up[t]:
            u = e.upstream_task
            if i is not None and e in res:
                ups[e] = res[e][i]
                touched = touched or any(k[0] is u for k in replaced)
                continue
            v = raw[u]
            if i is not None and type(v) is list and e.mapped and not e.flattened:
                ups[e] = v[i]
                touched = touched or (u, i) in replaced
            else:
                ups[e] = v
                touched = touched or any(k[0] is u for k in replaced)
        return ups, touched

    def settle(t: Task, i: int | None, h: Any) -> Any:
        resubmitted = False
        while True:
            try:
                return wait(h)
            except recoverable as err:
                own = (
                    isinstance(err, WorkerLostError)
                    and err.key is not None
                    and err.key == getattr(h, "key", None)
                )
                ups, touched = upstream_states(t, i)
                runner = runners.get(t) or make_runner(t)
                if own or resubmitted or not touched:
                    replaced.add((t, i))
                    return lost_call_state(t, i, err, prior_state(t, i), runner)
                if light:
                    h = submit(run_task_call, runner, prior_state(t, i), ups, ctx_for(t), i)
                else:
                    h = submit(
                        run_task_call,
                        runner,
                        prior_state(t, i),
                        ups,
                        ctx_for(t),
                        i,
                        extra_context=extra_for(t, i),
                    )
                resubmitted = True

    for t in tasks:
        h = handles[t]
        if type(h) is list:
            raw[t] = [settle(t, i, h_i) for i, h_i in enumerate(h)]
        else:
            raw[t] = settle(t, None, h)
    return raw


def lost_call_state(
    t: Task, i: int | None, err: BaseException, prior: State | None, runner: Any
) -> State:
    """``Failed`` (or ``Retrying``, for a lost worker with retries left) for one call."""
    from headwater.executors._dask_support import WorkerLostError

    name = t.name if i is None else f"{t.name}[{i}]"
    lost = isinstance(err, WorkerLostError)
    if lost:
        msg = f"The worker running task {name!r} was lost before the task finished: {err}"
    else:
        msg = f"Task {name!r} could not be run: {err}"
    running = Running(message="Starting task run.")
    try:
        new: State = runner._change(running, Failed(msg, result=err))
    except ENDRUN as exc:  # a state handler of the task failed
        return exc.state
    attempt = prior.run_count + 1 if isinstance(prior, Retrying) else 1
    if lost and isinstance(new, Failed) and attempt <= t.max_retries:
        if t.retry_on is None or isinstance(err, tuple(t.retry_on)):
            import pendulum

            delay = t.retry_delay
            now = pendulum.now("UTC")
            retry = Retrying(
                message=(
                    f"Retrying Task (after attempt {attempt} of {t.max_retries + 1}): "
                    "the worker was lost."
                ),
                start_time=now + delay if delay is not None else now,
                run_count=attempt,
                context={"failure": msg},
            )
            try:
                new = runner._change(new, retry)
            except ENDRUN as exc:
                new = exc.state
    return new
