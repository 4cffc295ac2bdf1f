"""The base classes of Prefect's workers; creating one raises (see :mod:`headwater.workers`)."""

from __future__ import annotations

from headwater._server_only import ServerOnly
from headwater.modern.server_only import SERVE_LOCALLY

__all__ = ["BaseJobConfiguration", "BaseVariables", "BaseWorker", "BaseWorkerResult"]


class BaseWorker(ServerOnly):
    """The base of Prefect's workers, which take runs from a server's work pool."""

    _alternative = SERVE_LOCALLY
    type = "base"


class BaseJobConfiguration(ServerOnly):
    """The job configuration a worker reads from its work pool."""

    _alternative = SERVE_LOCALLY


class BaseVariables(ServerOnly):
    """The variables of a work pool's job template."""

    _alternative = SERVE_LOCALLY


class BaseWorkerResult(ServerOnly):
    """What a worker reports of a run it started."""

    _alternative = SERVE_LOCALLY
