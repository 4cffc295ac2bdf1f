"""Telling run observers about modern runs (the same observers as Prefect 1 runs).

A ``@flow`` run notifies the observers of ``@flow(observers=[...])`` and those of
:func:`headwater.engine.observers.default_observers` (the run-history recorder, unless
``@flow(history=False)``), with the events
of :class:`~headwater.engine.observers.RunObserver`: ``flow_run_started`` (with
``parent_run_id``), ``task_run_finished`` (``map_index=None``, ``pass_number=1``, plus
``task_run_id``, ``task_run_name``, ``run_count`` and ``started_at``, a ``time.time()``; an
observer with ``record_task_run`` gets that instead, positionally, as in Prefect 1 runs) and ``flow_run_finished``. The states are modern
states (:mod:`headwater.modern.states`). An observer that raises is warned about once per
event and run, and the run carries on.

A task run sent to another process (a process pool or dask task runner) is reported when its
future completes, with ``started_at=None``: its state's ``run_report`` brings its times, run
count, and the log lines and artifacts the observers asked for (:meth:`Notifier.reports_wanted`,
as in Prefect 1 runs: :mod:`headwater.engine._run_reports`).
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Sequence
from typing import Any

from headwater.engine import observers as _observers

__all__ = ["Notifier", "notifier_for"]


_EVENTS = ("flow_run_started", "task_run_finished", "flow_run_finished")


def _has_fast_path(observer: Any) -> bool:
    return callable(getattr(observer, "record_task_run", None))


def _defaults(history: bool | None) -> tuple[Any, ...]:
    make = getattr(_observers, "default_observers", None)
    return tuple(make(history)) if make is not None else ()


class Notifier:
    """The observers of one flow run, and the calls that tell them."""

    __slots__ = ("_hooks", "_lock", "_wanted", "_warned", "flow", "observers", "run_id")

    def __init__(self, observers: Sequence[Any], flow: Any, run_id: str) -> None:
        self.observers = tuple(observers)
        self.flow = flow
        self.run_id = run_id
        self._warned: set[tuple[int, str]] = set()
        self._lock = threading.Lock()
        self._hooks: dict[str, list[tuple[Any, Any]]] = {}
        self._wanted: Any = None
        # observers on the hot path take task runs positionally (``record_task_run``)
        fast = [(o, o.record_task_run) for o in self.observers if _has_fast_path(o)]
        self._hooks["fast"] = fast
        for event in _EVENTS:
            base = getattr(_observers.RunObserver, event)
            self._hooks[event] = [
                (o, getattr(o, event))
                for o in self.observers
                if getattr(type(o), event, None) is not base
                and not (event == "task_run_finished" and _has_fast_path(o))
            ]

    def reports_wanted(self) -> Any:
        """What task runs in other processes bring back for these observers (a
        :class:`~headwater.engine._run_reports.ReportsWanted`, worked out once per run)."""
        if self._wanted is None:
            from headwater.engine._run_reports import wanted_by

            self._wanted = wanted_by(self.observers)
        return self._wanted

    def _call(self, event: str, kwargs: dict[str, Any]) -> None:
        for observer, hook in self._hooks[event]:
            try:
                hook(**kwargs)
            except Exception as exc:  # an observer never breaks a run
                self._warn(observer, event, exc)

    def _warn(self, observer: Any, event: str, exc: Exception) -> None:
        with self._lock:
            key = (id(observer), event)
            if key in self._warned:
                return
            self._warned.add(key)
        warnings.warn(
            f"Run observer {observer!r} raised in {event}: {exc!r}; the run carries on.",
            RuntimeWarning,
            stacklevel=3,
        )

    def flow_started(self, run: Any) -> None:
        self._call(
            "flow_run_started",
            {
                "flow": self.flow,
                "run_id": self.run_id,
                "parameters": run.parameters,
                "parent_run_id": run.parent_flow_run_id,
                "flow_run_name": run.name,
                "scheduled_start_time": run.scheduled_start_time,
                "executor": getattr(self.flow, "task_runner", None),
            },
        )

    def task_finished(self, task: Any, state: Any, task_run: Any) -> None:
        run_count = getattr(task_run, "run_count", 1) or 1
        started = getattr(task_run, "started", None)
        for observer, hook in self._hooks["fast"]:
            try:
                hook(task, state, None, self.run_id, 1, started, run_count)
            except Exception as exc:  # an observer never breaks a run
                self._warn(observer, "record_task_run", exc)
        if not self._hooks["task_run_finished"]:
            return
        self._call(
            "task_run_finished",
            {
                "task": task,
                "state": state,
                "map_index": None,
                "run_id": self.run_id,
                "pass_number": 1,
                "task_run_id": task_run.id,
                "task_run_name": task_run.name,
                "run_count": run_count,
                "started_at": started,
            },
        )

    def flow_finished(self, state: Any, error: BaseException | None) -> None:
        self._call(
            "flow_run_finished",
            {"flow": self.flow, "state": state, "run_id": self.run_id, "error": error},
        )


def notifier_for(flow: Any, run_id: str, extra: Sequence[Any]) -> Notifier | None:
    """The notifier of a run of ``flow``, or ``None`` when no observer listens."""
    observers = (*extra, *_defaults(getattr(flow, "history", None)))
    return Notifier(observers, flow, run_id) if observers else None
