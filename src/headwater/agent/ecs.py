"""``ECSAgent``: needs a Prefect server; creating one raises."""

from __future__ import annotations

from headwater.agent.agent import Agent

__all__ = ["ECSAgent"]


class ECSAgent(Agent):
    """Started each flow run of Prefect's server as an ECS task.

    Raises:
        ServerNotAvailableError: when created; run flows with ``flow.run()``.
    """
