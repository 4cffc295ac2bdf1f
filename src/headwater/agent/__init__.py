"""Prefect's agents, which polled the server for flow runs. headwater has no server: creating
an agent raises :class:`~headwater.exceptions.ServerNotAvailableError`.

Run flows with ``flow.run()`` (a flow with a schedule follows it in-process).
"""

from __future__ import annotations

from headwater.agent.agent import Agent
from headwater.agent.docker import DockerAgent
from headwater.agent.ecs import ECSAgent
from headwater.agent.kubernetes import KubernetesAgent
from headwater.agent.local import LocalAgent
from headwater.agent.vertex import VertexAgent

__all__ = ["Agent", "DockerAgent", "ECSAgent", "KubernetesAgent", "LocalAgent", "VertexAgent"]
