"""Task runs sent to another process (process pools, dask): what travels, and the run there.

The run's flow context travels as a snapshot (id, name, parameters, tags, log_prints) so that
``headwater.runtime`` and ``get_run_logger()`` work in the worker; observers stay in the
submitting process, which reports the run when its future completes. What they want to hear
of the task run (its log lines, its artifacts) travels with the snapshot, is collected in the
worker while the task runs, and comes back on its state (``state.run_report``, see
:mod:`headwater.engine._run_reports`).
"""

from __future__ import annotations

from typing import Any

from headwater.engine._run_reports import Collecting
from headwater.modern import states as st
from headwater.modern.context import ACTIVE, FLOW_RUN, FlowRun

__all__ = ["RemoteFlow", "run_remote", "snapshot"]


class RemoteFlow:
    """Stands for the flow in a worker process (its name and version only)."""

    def __init__(self, name: str, version: str | None) -> None:
        self.name = name
        self.version = version


def snapshot(run: FlowRun | None) -> dict[str, Any] | None:
    """What a worker process needs to know of flow run ``run``."""
    if run is None:
        return None
    return {
        "id": run.id,
        "name": run.name,
        "flow_name": run.flow_name,
        "flow_version": run.flow_version,
        "parameters": run.parameters,
        "tags": run.tags,
        "run_count": run.run_count,
        "log_prints": run.log_prints,
        "persist_result": run.persist_result,
        "result_settings": run.result_settings,
        "reports": run.observers.reports_wanted() if run.observers is not None else None,
    }


def _restore(data: dict[str, Any] | None) -> FlowRun | None:
    if data is None:
        return None
    run = FlowRun(
        RemoteFlow(data["flow_name"], data["flow_version"]), data["parameters"], data["tags"], None
    )
    for key in ("id", "name", "run_count", "log_prints", "persist_result", "result_settings"):
        setattr(run, key, data[key])
    run.root_flow_run_id = data["id"]
    return run


def run_remote(
    task: Any, args: tuple[Any, ...], kwargs: dict[str, Any], flow: dict[str, Any] | None
) -> st.State:
    """Run a task (arguments resolved already) in this worker process; its final state."""
    from headwater.modern.options import options_of
    from headwater.modern.task_engine import run_async, run_sync

    run = _restore(flow)
    tokens = (FLOW_RUN.set(run), ACTIVE.set(run))
    wanted = flow.get("reports") if flow is not None else None
    try:
        options = options_of(task)
        with Collecting(wanted, run.id if run is not None else None, _current_run):
            if options.is_async:
                import asyncio

                coro = run_async(task, options, args, kwargs, flow_run=run, report=False)
                return asyncio.run(coro)
            return run_sync(task, options, args, kwargs, flow_run=run, report=False)
    finally:
        ACTIVE.reset(tokens[1])
        FLOW_RUN.reset(tokens[0])


def _current_run() -> str | None:
    """The id of the ``@flow`` run running now in this context."""
    run = FLOW_RUN.get()
    return None if run is None else run.id
