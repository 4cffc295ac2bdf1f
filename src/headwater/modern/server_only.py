"""Prefect 3 names that only work with Prefect's server: each raises, naming the local way."""

from __future__ import annotations

from headwater._server_only import server_only_function

__all__ = ["deploy", "get_client", "pause_flow_run", "resume_flow_run", "suspend_flow_run"]

deploy = server_only_function(
    "deploy", "run flows on their schedules in this process with flow.serve(...) or serve(...)"
)
get_client = server_only_function(
    "get_client", "read runs from headwater's run history (headwater.history) instead"
)
pause_flow_run = server_only_function(
    "pause_flow_run", "pause a task with headwater's pause_task() in a Prefect 1 flow"
)
resume_flow_run = server_only_function("resume_flow_run", "run the flow again")
suspend_flow_run = server_only_function("suspend_flow_run", "end the run and run it again later")
