"""The ``Storage`` interface every flow storage implements."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from headwater.core.flow import Flow

__all__ = ["Storage"]


class Storage:
    """Base class of flow storages: a named collection of flows.

    Args:
        result: the default ``Result`` of flows kept here (informational).
        secrets: names of secrets the stored flows need.
        labels: labels describing where the flows can run.
        add_default_labels: kept for Prefect 1.x compatibility; headwater adds no labels.
        stored_as_script: the flows are kept as Python scripts instead of pickles.
    """

    def __init__(
        self,
        result: Any = None,
        secrets: list[str] | None = None,
        labels: list[str] | None = None,
        add_default_labels: bool | None = None,
        stored_as_script: bool = False,
    ) -> None:
        self.result = result
        self.secrets = list(secrets or [])
        self.labels = list(labels or [])
        self.add_default_labels = add_default_labels
        self.stored_as_script = stored_as_script
        self.flows: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {sorted(self.flows)}>"

    def add_flow(self, flow: Flow) -> str:
        """Store ``flow``; returns its location in this storage."""
        raise NotImplementedError(f"{type(self).__name__} does not implement add_flow")

    def get_flow(self, flow_name: str) -> Flow:
        """The stored flow called ``flow_name``."""
        raise NotImplementedError(f"{type(self).__name__} does not implement get_flow")

    def build(self) -> Storage:
        """Make the storage ready to be used elsewhere; returns it."""
        return self

    def __contains__(self, obj: object) -> bool:
        """Whether a flow (or a flow name) is kept here."""
        name = getattr(obj, "name", obj)
        return isinstance(name, str) and name in self.flows
