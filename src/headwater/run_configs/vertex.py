"""``VertexRun``: a flow run as a Google Vertex AI custom job (metadata in headwater)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from headwater.run_configs.base import RunConfig

__all__ = ["VertexRun"]


class VertexRun(RunConfig):
    """Run the flow as a Vertex AI custom job.

    Args:
        env: extra environment variables.
        labels: labels of the run config.
        image: the image to use.
        machine_type: the machine type (default ``"e2-standard-4"``).
        scheduling: the job's scheduling (e.g. a timeout), as a dict.
        service_account: the service account the job runs as.
        network: the Compute Engine network to peer the job with.
        worker_pool_specs: full worker pool specs (replace the one built from
            ``machine_type``).

    Raises:
        TypeError: ``scheduling`` is not a dict, or ``worker_pool_specs`` not a list of dicts.
    """

    def __init__(
        self,
        *,
        env: Mapping[str, Any] | None = None,
        labels: Iterable[str] | None = None,
        image: str | None = None,
        machine_type: str = "e2-standard-4",
        scheduling: Mapping[str, Any] | None = None,
        service_account: str | None = None,
        network: str | None = None,
        worker_pool_specs: list[dict[str, Any]] | None = None,
    ) -> None:
        super().__init__(env=env, labels=labels)
        if scheduling is not None and not isinstance(scheduling, Mapping):
            raise TypeError(f"VertexRun: scheduling must be a dict, got {scheduling!r}.")
        if worker_pool_specs is not None and (
            not isinstance(worker_pool_specs, list)
            or not all(isinstance(s, Mapping) for s in worker_pool_specs)
        ):
            raise TypeError(
                f"VertexRun: worker_pool_specs must be a list of dicts, got {worker_pool_specs!r}."
            )
        self.image = image
        self.machine_type = machine_type
        self.scheduling = dict(scheduling) if scheduling is not None else None
        self.service_account = service_account
        self.network = network
        self.worker_pool_specs = worker_pool_specs
