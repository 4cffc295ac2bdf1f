"""``VertexAgent``: needs a Prefect server; creating one raises."""

from __future__ import annotations

from headwater.agent.agent import Agent

__all__ = ["VertexAgent"]


class VertexAgent(Agent):
    """Started each flow run of Prefect's server as a Vertex AI job.

    Raises:
        ServerNotAvailableError: when created; run flows with ``flow.run()``.
    """
