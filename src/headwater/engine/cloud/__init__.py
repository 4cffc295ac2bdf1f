"""Prefect's Cloud runners, which report every state to the server. headwater has no server:
creating one raises :class:`~headwater.exceptions.ServerNotAvailableError`; use
:class:`~headwater.engine.flow_runner.FlowRunner` and
:class:`~headwater.engine.task_runner.TaskRunner`."""

from __future__ import annotations

from headwater.engine.cloud.flow_runner import CloudFlowRunner
from headwater.engine.cloud.task_runner import CloudTaskRunner

__all__ = ["CloudFlowRunner", "CloudTaskRunner"]
