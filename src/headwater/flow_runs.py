"""Prefect 3's ``prefect.flow_runs``: waiting on, pausing and resuming runs kept by the server.

Each function needs Prefect's server, where flow runs are kept, and raises
:class:`~headwater.exceptions.ServerNotAvailableError` naming the local way. In headwater a
flow run is a call in this process: calling the flow waits for it, and a Prefect 1 flow pauses
a task with ``pause_task()`` or the ``manual_only`` trigger::

    from headwater.exceptions import ServerNotAvailableError
    from headwater.flow_runs import wait_for_flow_run

    try:
        wait_for_flow_run("0b5cd3d3-0000-4000-8000-000000000000")
    except ServerNotAvailableError as exc:
        assert "call the flow" in str(exc)
"""

from __future__ import annotations

from headwater._server_only import server_only_function
from headwater.modern.server_only import pause_flow_run, resume_flow_run, suspend_flow_run

__all__ = [
    "apause_flow_run",
    "aresume_flow_run",
    "asuspend_flow_run",
    "pause_flow_run",
    "resume_flow_run",
    "suspend_flow_run",
    "wait_for_flow_run",
]

_WAIT = (
    "call the flow: the call returns when the run has finished (return_state=True gives its state)"
)
wait_for_flow_run = server_only_function("wait_for_flow_run", _WAIT)
apause_flow_run = server_only_function(
    "apause_flow_run", "pause a task with headwater's pause_task() in a Prefect 1 flow"
)
aresume_flow_run = server_only_function("aresume_flow_run", "run the flow again")
asuspend_flow_run = server_only_function("asuspend_flow_run", "end the run and run it again later")
