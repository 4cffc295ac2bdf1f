"""``DockerAgent``: needs a Prefect server; creating one raises."""

from __future__ import annotations

from headwater.agent.agent import Agent

__all__ = ["DockerAgent"]


class DockerAgent(Agent):
    """Started each flow run of Prefect's server as a Docker container.

    Raises:
        ServerNotAvailableError: when created; run flows with ``flow.run()``.
    """
