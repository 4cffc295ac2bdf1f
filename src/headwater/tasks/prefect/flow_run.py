"""Tasks that drive other flow runs through Prefect's server: each fails when it runs."""

from __future__ import annotations

from typing import Any, NoReturn

from headwater._server_only import server_only
from headwater.core.task import Task
from headwater.utilities.tasks import task

__all__ = [
    "CancelFlowRun",
    "RenameFlowRun",
    "StartFlowRun",
    "create_flow_run",
    "get_task_run_result",
    "wait_for_flow_run",
]

_LOCALLY = (
    "call the other flow's run() inside a task of this flow (other_flow.run(parameters=...)) "
    "and use the State it returns"
)


class _ServerTask(Task):
    """A task that needs Prefect's server: it builds, and fails when it runs."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.init_args = args
        self.init_kwargs = {k: v for k, v in kwargs.items() if k not in _TASK_OPTIONS}
        super().__init__(**{k: v for k, v in kwargs.items() if k in _TASK_OPTIONS})

    def run(self, **kwargs: Any) -> NoReturn:
        server_only(f"{type(self).__name__}.run()", _LOCALLY)


_TASK_OPTIONS = frozenset(
    {
        "name",
        "slug",
        "tags",
        "max_retries",
        "retry_delay",
        "retry_on",
        "timeout",
        "trigger",
        "skip_on_upstream_skip",
        "cache_for",
        "cache_validator",
        "cache_key",
        "checkpoint",
        "state_handlers",
        "on_failure",
        "log_stdout",
        "result",
        "target",
        "task_run_name",
        "nout",
    }
)


class StartFlowRun(_ServerTask):
    """Started a registered flow's run on Prefect's server; fails when it runs."""


class RenameFlowRun(_ServerTask):
    """Renamed a flow run on Prefect's server; fails when it runs."""


class CancelFlowRun(_ServerTask):
    """Cancelled a flow run on Prefect's server; fails when it runs."""


@task
def create_flow_run(**kwargs: Any) -> NoReturn:
    """Created a flow run on Prefect's server; fails when it runs."""
    server_only("create_flow_run", _LOCALLY)


@task
def wait_for_flow_run(**kwargs: Any) -> NoReturn:
    """Waited for a flow run on Prefect's server; fails when it runs."""
    server_only("wait_for_flow_run", _LOCALLY)


@task
def get_task_run_result(**kwargs: Any) -> NoReturn:
    """Read a task run's result from Prefect's server; fails when it runs."""
    server_only("get_task_run_result", _LOCALLY)
