"""The ``Agent`` base class: needs a Prefect server; creating one raises."""

from __future__ import annotations

from headwater._server_only import ServerOnly, server_only

__all__ = ["Agent"]


class Agent(ServerOnly):
    """Polled Prefect's server for flow runs and started them.

    Raises:
        ServerNotAvailableError: when created; run flows with ``flow.run()``, which follows the
            flow's schedule in-process.
    """

    _alternative = (
        "run the flow with flow.run() in the process that should run it; a flow with a "
        "schedule follows it in-process"
    )

    def start(self) -> None:
        """Poll the server for flow runs (never reached: creating an agent raises)."""
        server_only(f"{type(self).__name__}.start()", self._alternative)
