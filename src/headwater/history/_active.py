"""The runs this process records now, and the starts of runs waiting for their context.

:data:`ACTIVE` maps the uuid of each run being recorded here to its writer; the recorder,
the log handler and :func:`~headwater.history.record_artifact` look a run up in it (a dict
read: no lock). A Prefect 1 run's start waits in :data:`PENDING` until its context is known
(its first pass or log line, :func:`release`), so that its ``context.secrets`` are masked in
every row of the run, its parameters too. A forked child records none of its parent's runs.

Each call of a task in an ``@flow`` run is a task run of its own, known to the history by the
task's name and its number among the calls of that task in the run (``double-1``,
``double-2``...), as Prefect 1 names the tasks of a flow: :func:`call_slug` gives it, the same
for the task run's row, its log lines and its artifacts.
"""

from __future__ import annotations

import itertools
import os
from typing import TYPE_CHECKING, Any

from headwater.history._masking import MASKER

if TYPE_CHECKING:
    from headwater.history._writer import Writer

__all__ = ["ACTIVE", "PENDING", "call_slug", "forget", "release"]

ACTIVE: dict[str, Writer] = {}
"""The runs being recorded in this process, by run uuid, with their writer."""

PENDING: dict[str, tuple[Any, ...]] = {}
"""The starts of Prefect 1 runs not queued yet, by run uuid."""


_CALLS: dict[str, tuple[dict[str, str], dict[str, Any]]] = {}
"""Per ``@flow`` run: the slugs of its task runs by task run id, and a counter per task name."""


def call_slug(run_id: str, task_run_id: str, task_name: str) -> str:
    """The slug of task run ``task_run_id`` (of a task named ``task_name``) of ``@flow`` run
    ``run_id``: numbered in the order the history first hears of the task's calls."""
    calls = _CALLS.get(run_id)
    if calls is None:
        calls = _CALLS.setdefault(run_id, ({}, {}))
    slugs, counters = calls
    slug = slugs.get(task_run_id)
    if slug is None:  # (dict.setdefault and next() on a count are atomic: threads agree)
        counter = counters.setdefault(task_name, itertools.count(1))
        slug = slugs.setdefault(task_run_id, f"{task_name}-{next(counter)}")
    return slug


def forget(run_id: str) -> None:
    """Run ``run_id`` is no longer recorded here."""
    ACTIVE.pop(run_id, None)
    _CALLS.pop(run_id, None)


def release(run_id: Any, ctx: Any) -> None:
    """Queue the pending start of run ``run_id``, the run's ``context.secrets`` added to the
    mask first (``ctx``: the run's context, or ``None``)."""
    event = PENDING.pop(run_id, None)
    writer = ACTIVE.get(run_id)
    if event is None or writer is None:
        return
    secrets = ctx.get("secrets") if ctx is not None else None
    if secrets:
        MASKER.add(secrets)
    writer.start_run(run_id, event)


os.register_at_fork(after_in_child=ACTIVE.clear)  # a forked child runs none of them
os.register_at_fork(after_in_child=PENDING.clear)
os.register_at_fork(after_in_child=_CALLS.clear)
