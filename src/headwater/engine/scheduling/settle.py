"""Collecting a run's states call by call, after a worker was lost.

Normally the scheduler waits for every handle at once. When that wait raises because a worker
died (``WorkerLostError``) or a value could not travel between processes
(``SerializationError``), :func:`settle_one_by_one` settles the tasks in topological order
instead, so that only the calls concerned fail and every other task keeps its state.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from headwater.engine.scheduling.slots import child_inputs, task_inputs
from headwater.engine.signals import ENDRUN
from headwater.engine.state import Failed, Mapped, Retrying, Running, State
from headwater.exceptions import WorkerLostError

if TYPE_CHECKING:
    from headwater.core.edge import Edge
    from headwater.core.task import Task
    from headwater.engine.scheduling.scheduler import Scheduler

__all__ = ["OneByOne", "lost_call_state", "recoverable_errors", "settle_one_by_one"]


def recoverable_errors() -> tuple[type[BaseException], ...]:
    """The errors of a wait that :func:`settle_one_by_one` can recover from."""
    from headwater.exceptions import SerializationError

    return (WorkerLostError, SerializationError)


def settle_one_by_one(scheduler: Scheduler) -> dict[Task, Any]:
    """Collect each task's (and mapped child's) state separately, after a lost worker.

    A call whose own worker was lost (or whose value could not be pickled) gets a ``Failed``
    state saying so — or ``Retrying``, when the task's retry settings allow. A call that only
    failed because an upstream call did is submitted again with the upstream states settled so
    far, so that it gets its normal trigger outcome.
    """
    return OneByOne(scheduler).settle_all()


class OneByOne:
    """Settles a scheduler's calls in topological order (see :func:`settle_one_by_one`).

    Attributes:
        raw: the states settled so far, per task (a list of states for a mapped task).
        replaced: the calls ``(task, map index or None)`` whose state was made here.
        replaced_tasks: the tasks with at least one call in ``replaced``.
    """

    def __init__(self, scheduler: Scheduler) -> None:
        self.scheduler = scheduler
        self.recoverable = recoverable_errors()
        self.raw: dict[Task, Any] = {}
        self.replaced: set[tuple[Task, int | None]] = set()
        self.replaced_tasks: set[Task] = set()

    def settle_all(self) -> dict[Task, Any]:
        """Every task's settled state, in topological order."""
        handles = self.scheduler.rs.handles
        raw = self.raw
        for t in self.scheduler.tasks:
            h = handles[t]
            if type(h) is list:
                raw[t] = [self.settle(t, i, h_i) for i, h_i in enumerate(h)]
            else:
                raw[t] = self.settle(t, None, h)
        return raw

    def prior_state(self, t: Task, i: int | None) -> State | None:
        """The state ``t`` (or its child ``i``) was given at the start of the run."""
        prior = self.scheduler.task_states.get(t)
        if i is None:
            return prior
        if type(prior) is Mapped and i < len(prior.map_states):
            child: State = prior.map_states[i]
            return child
        return None

    def upstream_states(self, t: Task, i: int | None) -> dict[Edge, Any]:
        """The settled upstream values of ``t`` (or of its child ``i``)."""
        sch = self.scheduler
        edges = sch.up[t]
        if i is None:
            return task_inputs(edges, self.raw, sch.plan.flat_edges)
        return child_inputs(edges, self.raw, sch.rs.resolved.get(t, {}), i, sch.plan.flat_edges)

    def touched(self, t: Task, i: int | None) -> bool:
        """Whether an upstream call of ``t`` (or of its child ``i``) got its state here."""
        res = self.scheduler.rs.resolved.get(t, {}) if i is not None else {}
        for e in self.scheduler.up[t]:
            u = e.upstream_task
            childwise = (
                i is not None
                and e not in res
                and type(self.raw[u]) is list
                and e.mapped
                and not e.flattened
            )
            if (u, i) in self.replaced if childwise else u in self.replaced_tasks:
                return True
        return False

    def settle(self, t: Task, i: int | None, h: Any) -> Any:
        """The state of one call, waiting for it; submitted again once if an upstream was lost."""
        sch = self.scheduler
        resubmitted = False
        while True:
            try:
                return sch.wait(h)
            except self.recoverable as err:
                own = (
                    isinstance(err, WorkerLostError)
                    and err.key is not None
                    and err.key == getattr(h, "key", None)
                )
                runner = sch.rs.runners.get(t) or sch.make_runner(t)
                if own or resubmitted or not self.touched(t, i):
                    self.replaced.add((t, i))
                    self.replaced_tasks.add(t)
                    return lost_call_state(t, i, err, self.prior_state(t, i), runner)
                ups = self.upstream_states(t, i)
                h = sch.call(t, runner, self.prior_state(t, i), ups, i)
                resubmitted = True


def lost_call_state(
    t: Task, i: int | None, err: BaseException, prior: State | None, runner: Any
) -> State:
    """``Failed`` (or ``Retrying``, for a lost worker with retries left) for one call."""

    name = t.name if i is None else f"{t.name}[{i}]"
    lost = isinstance(err, WorkerLostError)
    if lost:
        msg = f"The worker running task {name!r} was lost before the task finished: {err}"
    else:
        msg = f"Task {name!r} could not be run: {err}"
    running = Running(message="Starting task run.")
    try:
        new: State = runner.change_state(running, Failed(msg, result=err))
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
                new = runner.change_state(new, retry)
            except ENDRUN as exc:
                new = exc.state
    return new
