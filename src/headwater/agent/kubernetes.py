"""``KubernetesAgent``: needs a Prefect server; creating one raises."""

from __future__ import annotations

from headwater.agent.agent import Agent

__all__ = ["KubernetesAgent"]


class KubernetesAgent(Agent):
    """Started each flow run of Prefect's server as a Kubernetes job.

    Raises:
        ServerNotAvailableError: when created; run flows with ``flow.run()``.
    """
