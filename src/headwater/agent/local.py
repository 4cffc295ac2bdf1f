"""``LocalAgent``: needs a Prefect server; creating one raises."""

from __future__ import annotations

from headwater.agent.agent import Agent

__all__ = ["LocalAgent"]


class LocalAgent(Agent):
    """Started each flow run of Prefect's server as a local process.

    Raises:
        ServerNotAvailableError: when created; run flows with ``flow.run()``.
    """
