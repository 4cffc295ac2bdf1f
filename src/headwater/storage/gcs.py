"""``GCS`` storage (metadata only in headwater): flows in a Google Cloud Storage bucket."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from headwater.storage._metadata import MetadataStorage
from headwater.storage.s3 import timestamped_key

if TYPE_CHECKING:
    from headwater.core.flow import Flow

__all__ = ["GCS"]


class GCS(MetadataStorage):
    """Flows kept in a GCS bucket.

    Args:
        bucket: the bucket name.
        key: the blob name (default: ``<flow slug>/<timestamp>``).
        project: the Google Cloud project.
        stored_as_script: the flow is a Python script at ``key``.
        local_script_path: the local script uploaded when ``stored_as_script`` is set.
        **kwargs: :class:`~headwater.storage.Storage` options.

    Raises:
        TypeError: ``bucket`` is not a non-empty string.
    """

    _where = "Google Cloud Storage"

    def __init__(
        self,
        bucket: str,
        key: str | None = None,
        project: str | None = None,
        stored_as_script: bool = False,
        local_script_path: str | None = None,
        **kwargs: Any,
    ) -> None:
        if not isinstance(bucket, str) or not bucket:
            raise TypeError(f"GCS storage needs a bucket name, got {bucket!r}.")
        from headwater.context import context

        self.bucket = bucket
        self.key = key
        self.project = project
        self.local_script_path = local_script_path or context.get("local_script_path", None)
        super().__init__(stored_as_script=stored_as_script, **kwargs)

    def location(self, flow: Flow) -> str:
        return self.key or timestamped_key(flow)
