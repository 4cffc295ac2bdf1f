"""``CloudTaskRunner``: needs a Prefect server; creating one raises."""

from __future__ import annotations

from typing import Any, NoReturn

from headwater._server_only import server_only
from headwater.engine.task_runner import TaskRunner

__all__ = ["CloudTaskRunner"]


class CloudTaskRunner(TaskRunner):
    """A task runner that reported to Prefect's server.

    Raises:
        ServerNotAvailableError: when created; use ``TaskRunner`` (the default).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> NoReturn:
        server_only("CloudTaskRunner()", "use headwater.engine.task_runner.TaskRunner")
