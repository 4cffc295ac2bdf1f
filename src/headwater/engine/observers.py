"""Run observers: objects that are told what a flow run does, while it does it.

Pass them with ``flow.run(observers=[...])`` (or ``FlowRunner(flow).run(observers=[...])``). A
:class:`RunObserver` has one method per event, each a no-op until a subclass overrides it. Every
method takes keyword arguments only, plus ``**kwargs``: later versions may pass more keywords,
and an observer written today keeps working.

The events of one flow run (``flow.run()`` on a schedule makes one run per scheduled time):

- ``flow_run_started(flow=, run_id=, parameters=)``: once, before any task runs; ``flow.run()``
  also passes ``scheduled_start_time=``, ``flow_run_name=`` (or ``None``), ``executor=`` (the
  one given, or ``None``) and ``parent_run_id=`` (the run whose task started this one, or
  ``None``);
- ``tasks_planned(count=, run_id=, pass_number=)``: ``count`` more task runs are part of the
  pass; called as a pass starts, then again whenever a mapped task's number of children
  becomes known;
- ``task_run_finished(task=, state=, map_index=, run_id=, pass_number=)``: once per task run of
  the pass, with the state it ended in: an unmapped task (``map_index=None``), a child of a
  mapped task (its ``map_index``), a mapped task that ended without children, as a whole
  (``map_index=None``), and tasks that keep a state they were given. A task run reported from
  where it ran also gets ``started_at=`` (``time.time()`` as it started; ``None`` for a task
  that kept the state it had, in a later pass) and ``run_count=`` (1, or more on a retry);
- ``flow_run_finished(flow=, state=, run_id=, error=)``: once, with the flow's final state; if
  the run raised instead (Ctrl-C, or an error under ``raise_on_exception``), ``state`` is
  ``None`` and ``error`` is the exception; ``executor=`` is the executor of the last pass.

An observer on the hot path may also define ``record_task_run(task, state, map_index, run_id,
pass_number, started_at, run_count)``: it is then called with these, positionally, instead of
``task_run_finished`` (a call with keywords costs a few hundred nanoseconds more per task run;
the run-history recorder uses it).

A task run in another process (``LocalDaskExecutor("processes")``, ``DaskExecutor``) is
reported without ``started_at``: its state's ``run_report`` says when it started and ended,
its run count and, when an observer sets ``worker_log_level``, its log lines at that level or
above, and when one sets ``worker_max_artifacts``, the artifacts it created
(:mod:`headwater.engine._run_reports`).

A run has more than one pass when tasks wait to retry: each pass (``pass_number`` 1, 2, ...)
settles every task again, so the tasks that keep their state are reported again.

``task_run_finished`` is called from where the states are known first. Executors that run calls
in this process (``LocalExecutor``, ``LocalDaskExecutor`` with threads or sync) call it in the
thread that ran the task, as soon as it finishes, possibly from several threads at once: keep
observers thread-safe. ``DaskExecutor`` futures report from the client's thread as each call
completes; other process-based executors report when the flow runner collects the states.

An observer that raises does not stop the run: a warning names the observer and the event
(once per observer and event in a run), and the run carries on.

>>> from headwater import Flow, task
>>> from headwater.engine.observers import RunObserver
>>> class Tally(RunObserver):
...     def __init__(self):
...         self.finished = []
...     def task_run_finished(self, *, task, state, map_index, run_id, **kwargs):
...         self.finished.append((task.name, map_index, type(state).__name__))
>>> @task
... def double(x):
...     return 2 * x
>>> with Flow("doubles") as flow:
...     doubled = double.map([1, 2])
>>> tally = Tally()
>>> flow.run(observers=[tally]).is_successful()
True
>>> len(tally.finished)  # the two children, and the constant task holding the list
3
>>> sorted(f for f in tally.finished if f[0] == "double")
[('double', 0, 'Success'), ('double', 1, 'Success')]
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from headwater.engine.state import Mapped, Retrying, State

if TYPE_CHECKING:
    from headwater.core.flow import Flow
    from headwater.core.task import Task

__all__ = ["OBSERVERS_KEY", "RunObserver", "RunObservers", "check_observers", "default_observers"]

#: The context key under which task runs in this process find their run's :class:`RunObservers`.
OBSERVERS_KEY = "_run_observers"

Hook = Callable[..., Any]


class RunObserver:
    """Base class of run observers: override the events you need (see the module docstring).

    Every method receives keyword arguments only; accept ``**kwargs`` for those added later.

    Attributes:
        live_on_clusters: on ``DaskExecutor``, hear of each task run as it finishes (the
            default), which brings each task's state, its result included, back to this
            process as it finishes; ``False``: hear of them when the pass collects its states,
            leaving results on the workers until downstream tasks are done with them. Task
            runs are reported live when any of the run's observers asks for it.
    """

    live_on_clusters: bool = True
    #: bring back the log lines of task runs in other processes at this level or above, on
    #: their states' ``run_report`` (``None``: do not)
    worker_log_level: int | None = None
    #: at most this many lines per task run
    worker_max_logs: int = 1000
    #: bring back at most this many artifacts created by each task run in another process, on
    #: their states' ``run_report`` (0: none)
    worker_max_artifacts: int = 0

    def flow_run_started(
        self, *, flow: Flow, run_id: str, parameters: dict[str, Any], **kwargs: Any
    ) -> None:
        """A flow run starts.

        Args:
            flow: the flow.
            run_id: the run's ``flow_run_id``.
            parameters: the parameter values of the run, by name.
            **kwargs: keywords added in later versions.
        """

    def tasks_planned(self, *, count: int, **kwargs: Any) -> None:
        """``count`` more task runs are part of the pass (more may follow as maps expand).

        Args:
            count: how many task runs were added.
            **kwargs: ``run_id`` and ``pass_number``, and keywords added in later versions.
        """

    def task_run_finished(
        self, *, task: Task, state: State, map_index: int | None, run_id: str, **kwargs: Any
    ) -> None:
        """One task run of the pass ended with ``state``.

        Args:
            task: the task.
            state: its state (a child's state for a mapped child).
            map_index: the child's index, or ``None`` for a task reported whole.
            run_id: the run's ``flow_run_id``.
            **kwargs: ``pass_number``, and keywords added in later versions.
        """

    def flow_run_finished(
        self, *, flow: Flow, state: State | None, run_id: str, **kwargs: Any
    ) -> None:
        """The flow run is over.

        Args:
            flow: the flow.
            state: the final state, or ``None`` if the run raised.
            run_id: the run's ``flow_run_id``.
            **kwargs: ``error`` (the exception the run raised, else ``None``), and keywords
                added in later versions.
        """


def _describe(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text if len(text) <= 80 else text[:77] + '...'}"


def check_observers(value: Any, owner: str) -> tuple[RunObserver, ...]:
    """``value`` (a list of :class:`RunObserver` objects, or ``None``) as a tuple.

    Args:
        value: the ``observers`` argument.
        owner: who was given it, for the message (``"Flow 'etl'.run()"``).

    Raises:
        TypeError: ``value`` is not a list or tuple of ``RunObserver`` instances.
    """
    if value is None:
        return ()
    if isinstance(value, (RunObserver, type)) or not isinstance(value, (list, tuple)):
        raise TypeError(
            f"{owner}: observers must be a list of RunObserver objects, got {_describe(value)}; "
            "wrap a single observer in a list: observers=[...]."
        )
    for i, item in enumerate(value):
        if isinstance(item, RunObserver):
            continue
        if isinstance(item, type) and issubclass(item, RunObserver):
            hint = f"; pass an instance: {item.__name__}()"
        else:
            hint = "; subclass headwater.engine.observers.RunObserver and override its events"
        raise TypeError(
            f"{owner}: observers[{i}] must be a RunObserver, got {_describe(item)}{hint}."
        )
    return tuple(value)


def default_observers(history: bool | None = None) -> list[RunObserver]:
    """The observers every ``flow.run()`` gets: the run-history recorder if the run is recorded.

    Args:
        history: record the run (``True``), do not (``False``), or as ``history.enabled``
            says (``None``).

    ``headwater.history`` is imported only when the run is recorded.
    """
    if history is None:
        from headwater.configuration import setting

        history = bool(setting("history.enabled"))
    if not history:
        return []
    from headwater.history import default_recorder

    return [default_recorder()]


def _overridden(observers: Sequence[RunObserver], name: str) -> tuple[Hook, ...]:
    """The bound ``name`` methods of the observers that override it (the others do nothing)."""
    base = getattr(RunObserver, name)
    return tuple(getattr(o, name) for o in observers if getattr(type(o), name, None) is not base)


def _state_of(future: Any) -> State | None:
    """The state a finished future holds, or ``None`` (failed or cancelled: settled later)."""
    try:
        if future.cancelled() or future.exception() is not None:
            return None
        value = future.result()
    except Exception:  # a future that cannot say is settled at collection
        return None
    return value if isinstance(value, State) else None


def _empty() -> RunObservers:
    return RunObservers()


class RunObservers:
    """The observers of one flow run, and the calls the engine makes to tell them.

    Each call reaches every observer that overrides the event; one that raises is logged and
    skipped. The driver-side reports (:meth:`task_finished`, :meth:`watch`, :meth:`collected`)
    report each task run once per pass, whichever of them hears of it first; task runs in this
    process report through :meth:`task_ran`, which the context of the run carries
    (:data:`OBSERVERS_KEY`) when :attr:`in_tasks`. Pickled to another process, a
    ``RunObservers`` arrives empty.

    Args:
        observers: the observers.
        flow: the flow being run.

    Attributes:
        run_id: the run's ``flow_run_id`` (set by :meth:`run_started`).
        pass_number: the current pass (1 for the first; 0 before it).
        in_tasks: the executor runs calls in this process: task runs report themselves.
        by_callback: the executor pickles calls and its futures report completion: the
            scheduler should :meth:`watch` each future it gets.
    """

    def __init__(self, observers: Sequence[RunObserver] = (), flow: Flow | None = None) -> None:
        self.observers = tuple(observers)
        self.flow = flow
        self.run_id = ""
        self.pass_number = 0
        self.in_tasks = True
        self.by_callback = False
        self.executor: Any = None
        self._lock = threading.Lock()
        self._seen: set[tuple[Task, int | None]] = set()
        # finished futures whose states are fetched by a daemon thread of the run (see watch)
        self._fetches: queue.SimpleQueue[Any] | None = None
        self._over = False
        self._warned: set[tuple[int, str]] = set()
        fast = [o for o in self.observers if callable(getattr(o, "record_task_run", None))]
        self._fast: tuple[Hook, ...] = tuple(o.record_task_run for o in fast)  # type: ignore[attr-defined]
        self._on_task = self._fast + _overridden(
            [o for o in self.observers if o not in fast], "task_run_finished"
        )
        self._keywords = self._on_task[len(self._fast) :]
        self._live = any(
            getattr(getattr(hook, "__self__", None), "live_on_clusters", True)
            for hook in self._on_task
        )
        self._on_planned = _overridden(self.observers, "tasks_planned")

    def __bool__(self) -> bool:
        return bool(self.observers)

    def __repr__(self) -> str:
        return f"<RunObservers: {', '.join(map(repr, self.observers)) or 'none'}>"

    def __reduce__(self) -> tuple[Callable[[], RunObservers], tuple[()]]:
        return _empty, ()

    # -- the run --------------------------------------------------------------------------------
    def run_started(self, run_id: str, parameters: dict[str, Any], **extra: Any) -> None:
        """The run ``run_id`` starts with ``parameters`` (``extra``: more keywords to pass)."""
        self.run_id = run_id
        kwargs = {"flow": self.flow, "run_id": run_id, "parameters": parameters, **extra}
        self._notify(_overridden(self.observers, "flow_run_started"), kwargs)

    def run_finished(self, state: State | None, error: BaseException | None = None) -> None:
        """The run ended in ``state`` (``None``: it raised ``error``)."""
        self._over = True
        if self._fetches is not None:
            self._fetches.put(None)
        kwargs = {
            "flow": self.flow,
            "state": state,
            "run_id": self.run_id,
            "error": error,
            "executor": self.executor,
        }
        self._notify(_overridden(self.observers, "flow_run_finished"), kwargs)

    def start_pass(self, executor: Any) -> None:
        """A pass of the run starts on ``executor`` (read for how task runs will report)."""
        self.pass_number += 1
        self.executor = executor
        pickles = bool(getattr(executor, "pickles_calls", False))
        self.in_tasks = not pickles
        reports = bool(getattr(executor, "reports_completion", False))
        self.by_callback = pickles and reports and self._live
        with self._lock:
            self._seen = set()

    def reports_wanted(self) -> Any:
        """What task runs in other processes should bring back for these observers: a
        :class:`~headwater.engine._run_reports.ReportsWanted`, or ``None`` (no observers)."""
        if not self.observers:
            return None
        from headwater.engine._run_reports import wanted_by

        return wanted_by(self.observers)

    # -- the tasks of a pass ------------------------------------------------------------------
    def tasks_planned(self, count: int) -> None:
        """``count`` more task runs are part of this pass."""
        if self._on_planned:
            kwargs = {"count": count, "run_id": self.run_id, "pass_number": self.pass_number}
            self._notify(self._on_planned, kwargs)

    def task_ran(
        self,
        task: Task | None,
        state: State,
        map_index: int | None,
        started_at: float | None = None,
        prior: State | None = None,
    ) -> None:
        """A task run in this process ended with ``state`` (called where it ran).

        Args:
            task: the task.
            state: its state.
            map_index: the child's index, or ``None``.
            started_at: when the run of the task started (``time.time()``), if known.
            prior: the state the task run started from (a ``Retrying`` state on a retry).
        """
        run_count = prior.run_count + 1 if type(prior) is Retrying else 1
        for hook in self._fast:
            try:
                hook(task, state, map_index, self.run_id, self.pass_number, started_at, run_count)
            except Exception as exc:  # an observer never breaks a run
                self._failed(hook, exc)
        for hook in self._keywords:
            try:
                hook(
                    task=task,
                    state=state,
                    map_index=map_index,
                    run_id=self.run_id,
                    pass_number=self.pass_number,
                    started_at=started_at,
                    run_count=run_count,
                )
            except Exception as exc:  # an observer never breaks a run
                self._failed(hook, exc)

    def task_finished(self, task: Task, state: State, map_index: int | None = None) -> None:
        """Task run ``(task, map_index)`` ended with ``state``, unless reported already."""
        if not self._on_task:
            return
        key = (task, map_index)
        with self._lock:
            if key in self._seen:
                return
            self._seen.add(key)
        self.task_ran(task, state, map_index)

    def watch(self, future: Any, task: Task, map_index: int | None = None) -> None:
        """Report the task run behind ``future`` when it completes (``by_callback`` executors).

        The completion callback only queues the future: a daemon thread of the run fetches its
        state. Fetching it waits on the cluster client, and a callback left waiting on a client
        that closed in the meantime must neither hold up other callbacks nor keep the process
        from exiting.
        """
        add = getattr(future, "add_done_callback", None)
        if add is None or not self._on_task:
            return
        number = self.pass_number
        fetches = self._fetches
        if fetches is None:
            with self._lock:
                if self._fetches is None:
                    self._fetches = queue.SimpleQueue()
                    threading.Thread(
                        target=self._fetch,
                        args=(self._fetches,),
                        name="headwater-observers",
                        daemon=True,
                    ).start()
                fetches = self._fetches
        put = fetches.put
        add(lambda fut: put((fut, task, map_index, number)))

    def _fetch(self, fetches: queue.SimpleQueue[Any]) -> None:
        while True:
            item = fetches.get()
            if item is None or self._over:  # the run's states were all collected already
                return
            fut, task, map_index, number = item
            state = _state_of(fut)
            if state is not None and self.pass_number == number and not self._over:
                self.task_finished(task, state, map_index)

    def collected(self, states: Mapping[Task, State], mapped: Collection[Task]) -> None:
        """The pass's states are in: report each task run that no one has reported yet.

        Args:
            states: every task's state at the end of the pass.
            mapped: the tasks with a mapped input.
        """
        if not self._on_task:
            return
        in_tasks = self.in_tasks
        for t, s in states.items():
            expanded = t in mapped and type(s) is Mapped
            if in_tasks:  # the task runs told already; a map settled whole did not run
                if t in mapped and not expanded:
                    self.task_finished(t, s, None)
            elif expanded and isinstance(s, Mapped):
                for i, child in enumerate(s.map_states):
                    if child is not None:
                        self.task_finished(t, child, i)
            else:
                self.task_finished(t, s, None)

    # -- internals ----------------------------------------------------------------------------
    def _notify(self, hooks: Sequence[Hook], kwargs: dict[str, Any]) -> None:
        for hook in hooks:
            try:
                hook(**kwargs)
            except Exception as exc:  # an observer never breaks a run
                self._failed(hook, exc)

    def _failed(self, hook: Hook, exc: Exception) -> None:
        observer = getattr(hook, "__self__", hook)
        event = getattr(hook, "__name__", "?")
        key = (id(observer), event)
        with self._lock:
            if key in self._warned:
                return
            self._warned.add(key)
        from headwater.utilities.logging import get_logger

        get_logger("observers").warning(
            "Run observer %r raised in %s (the run carries on; later errors of this observer "
            "in %s are not logged): %s: %s",
            observer,
            event,
            event,
            type(exc).__name__,
            exc,
            exc_info=exc,
        )
