"""The shared behaviour of storages that headwater keeps as metadata only.

Prefect 1 uploaded flows to S3, GCS, Azure, a Docker image or a webhook, or read them from a
git host. headwater runs flows where they are built, so these storages record their settings
and each added flow's location, keep the flow object for this process, and say clearly that
they move nothing when asked to build, upload or download.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from headwater.exceptions import FlowStorageError
from headwater.storage.base import Storage

if TYPE_CHECKING:
    from headwater.core.flow import Flow

__all__ = ["MetadataStorage"]

_LOCAL_WAY = (
    "use headwater.storage.Local, or flow.save() / Flow.load(), to keep flows on this machine"
)


class MetadataStorage(Storage):
    """A storage whose remote side headwater does not implement.

    Subclasses give :meth:`location` (where Prefect 1 would have put the flow) and
    ``_where`` (a short description of the remote side, for messages).
    """

    _where = "a remote service"

    def location(self, flow: Flow) -> str:
        """Where the flow would be kept remotely."""
        raise NotImplementedError(f"{type(self).__name__} does not implement location")

    def add_flow(self, flow: Flow) -> str:
        """Record ``flow`` (its location, and the object for this process); returns the location.

        Raises:
            ValueError: a flow of the same name is already in this storage.
        """
        if flow.name in self.flows:
            raise ValueError(
                f'Name conflict: Flow with the name "{flow.name}" is already present in this '
                "storage."
            )
        location = self.location(flow)
        self.flows[flow.name] = location
        self._flows[flow.name] = flow
        return location

    def get_flow(self, flow_name: str) -> Flow:
        """The flow added under ``flow_name`` in this process.

        Raises:
            ValueError: no flow of that name was added.
            FlowStorageError: the flow was added elsewhere: headwater cannot download it.
        """
        if flow_name not in self.flows:
            known = ", ".join(repr(n) for n in sorted(self.flows)) or "none"
            raise ValueError(f"Flow {flow_name!r} is not in this storage (it holds: {known}).")
        if flow_name in self._flows:
            return self._flows[flow_name]
        raise FlowStorageError(
            f"{type(self).__name__} storage cannot load flow {flow_name!r} from "
            f"{self.flows[flow_name]!r}: headwater keeps {type(self).__name__} storage as "
            f"metadata and does not download flows from {self._where}; {_LOCAL_WAY}."
        )

    def build(self) -> Storage:
        """Refuse clearly: headwater does not upload flows anywhere.

        Raises:
            FlowStorageError: always.
        """
        raise FlowStorageError(
            f"{type(self).__name__} storage cannot be built: headwater keeps it as metadata "
            f"and does not upload flows to {self._where}; {_LOCAL_WAY}."
        )
