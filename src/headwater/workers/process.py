"""Prefect's process worker; creating one raises (see :mod:`headwater.workers`)."""

from __future__ import annotations

from headwater.workers.base import (
    BaseJobConfiguration,
    BaseVariables,
    BaseWorker,
    BaseWorkerResult,
)

__all__ = ["ProcessJobConfiguration", "ProcessVariables", "ProcessWorker", "ProcessWorkerResult"]


class ProcessWorker(BaseWorker):
    """Prefect's worker running each flow run of a work pool in a subprocess."""

    type = "process"


class ProcessJobConfiguration(BaseJobConfiguration):
    """The job configuration of a process worker."""


class ProcessVariables(BaseVariables):
    """The job variables of a process work pool."""


class ProcessWorkerResult(BaseWorkerResult):
    """What a process worker reports of a run it started."""
