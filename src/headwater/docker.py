"""Prefect 3's ``prefect.docker``: ``DockerImage``, the image of a deployment to a work pool.

Deployments to work pools need Prefect's server, so describing their image raises too,
naming the local way (``flow.serve(...)``: the flow runs on its schedule in this process)::

    from headwater.docker import DockerImage
    from headwater.exceptions import ServerNotAvailableError

    try:
        DockerImage(name="etl", tag="latest")
    except ServerNotAvailableError as exc:
        assert "flow.serve" in str(exc)
"""

from __future__ import annotations

from headwater._server_only import ServerOnly
from headwater.modern.server_only import SERVE_LOCALLY

__all__ = ["DockerImage"]


class DockerImage(ServerOnly):
    """A container image built for a deployment to a work pool."""

    _alternative = SERVE_LOCALLY
