"""``DockerRun``: a flow run as a Docker container (metadata in headwater)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from headwater.run_configs.base import RunConfig

__all__ = ["DockerRun"]


class DockerRun(RunConfig):
    """Run the flow in a Docker container.

    Args:
        image: the image to use.
        env: extra environment variables in the container.
        labels: labels of the run config.
        ports: container ports to expose.
        host_config: runtime options for the container (docker-py's ``create_host_config``).

    Raises:
        TypeError: ``ports`` is not a list of ints, or ``host_config`` is not a dict.
    """

    def __init__(
        self,
        *,
        image: str | None = None,
        env: Mapping[str, Any] | None = None,
        labels: Iterable[str] | None = None,
        ports: Iterable[int] | None = None,
        host_config: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(env=env, labels=labels)
        if ports is not None:
            if isinstance(ports, (str, bytes)) or not isinstance(ports, Iterable):
                raise TypeError(f"DockerRun: ports must be a list of port numbers, got {ports!r}.")
            ports = list(ports)
            bad = [p for p in ports if not isinstance(p, int) or isinstance(p, bool)]
            if bad:
                raise TypeError(f"DockerRun: ports must be ints, got {bad!r}.")
        if host_config is not None and not isinstance(host_config, Mapping):
            raise TypeError(f"DockerRun: host_config must be a dict, got {host_config!r}.")
        self.image = image
        self.host_config = dict(host_config) if host_config is not None else None
        self.ports = ports
