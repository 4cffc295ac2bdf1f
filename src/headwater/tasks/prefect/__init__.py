"""Prefect 1's tasks for the Prefect API (start, wait for, rename or cancel other flow runs).

They need Prefect's server, which headwater does not have: the flow builds, and running one
of these tasks fails with :class:`~headwater.exceptions.ServerNotAvailableError` naming the
local way (run the other flow with ``other_flow.run()`` from a task).
"""

from __future__ import annotations

from headwater.tasks.prefect.flow_run import (
    CancelFlowRun,
    RenameFlowRun,
    StartFlowRun,
    create_flow_run,
    get_task_run_result,
    wait_for_flow_run,
)

__all__ = [
    "CancelFlowRun",
    "RenameFlowRun",
    "StartFlowRun",
    "create_flow_run",
    "get_task_run_result",
    "wait_for_flow_run",
]
