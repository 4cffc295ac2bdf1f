"""``Azure`` storage (metadata only in headwater): flows in an Azure Blob Storage container."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from headwater.storage._metadata import MetadataStorage
from headwater.storage.s3 import timestamped_key

if TYPE_CHECKING:
    from headwater.core.flow import Flow

__all__ = ["Azure"]


class Azure(MetadataStorage):
    """Flows kept in an Azure Blob Storage container.

    Args:
        container: the container name.
        connection_string_secret: name of the secret holding the connection string.
        blob_name: the blob name (default: ``<flow slug>/<timestamp>``).
        overwrite: replace an existing blob.
        stored_as_script: the flow is a Python script in ``blob_name``.
        **kwargs: :class:`~headwater.storage.Storage` options.

    Raises:
        TypeError: ``container`` is not a non-empty string.
    """

    _where = "Azure Blob Storage"

    def __init__(
        self,
        container: str,
        connection_string_secret: str | None = None,
        blob_name: str | None = None,
        overwrite: bool = False,
        stored_as_script: bool = False,
        **kwargs: Any,
    ) -> None:
        if not isinstance(container, str) or not container:
            raise TypeError(f"Azure storage needs a container name, got {container!r}.")
        self.container = container
        self.connection_string_secret = connection_string_secret
        self.blob_name = blob_name
        self.overwrite = overwrite
        super().__init__(stored_as_script=stored_as_script, **kwargs)

    def location(self, flow: Flow) -> str:
        return self.blob_name or timestamped_key(flow)
