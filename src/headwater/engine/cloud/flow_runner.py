"""``CloudFlowRunner``: needs a Prefect server; creating one raises."""

from __future__ import annotations

from typing import Any, NoReturn

from headwater._server_only import server_only
from headwater.engine.flow_runner import FlowRunner

__all__ = ["CloudFlowRunner"]


class CloudFlowRunner(FlowRunner):
    """A flow runner that reported to Prefect's server.

    Raises:
        ServerNotAvailableError: when created; use ``FlowRunner`` (or ``flow.run()``).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> NoReturn:
        server_only(
            "CloudFlowRunner()", "use headwater.engine.flow_runner.FlowRunner or flow.run()"
        )
