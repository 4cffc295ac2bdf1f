"""``S3`` storage (metadata only in headwater): flows in an AWS S3 bucket."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from headwater.storage._metadata import MetadataStorage

if TYPE_CHECKING:
    from headwater.core.flow import Flow

__all__ = ["S3"]


def timestamped_key(flow: Flow) -> str:
    """``<flow slug>/<UTC timestamp slug>``: the key Prefect 1 gave a flow without ``key``."""
    import pendulum

    from headwater.storage.serialize import slugify

    return f"{slugify(flow.name)}/{slugify(pendulum.now('utc').isoformat())}"


class S3(MetadataStorage):
    """Flows kept in an S3 bucket.

    Args:
        bucket: the bucket name.
        key: the object key (default: ``<flow slug>/<timestamp>``).
        stored_as_script: the flow is a Python script at ``key``.
        local_script_path: the local script uploaded when ``stored_as_script`` is set.
        client_options: options of the boto3 client.
        upload_options: extra arguments of the upload.
        **kwargs: :class:`~headwater.storage.Storage` options.

    Raises:
        TypeError: ``bucket`` is not a non-empty string.
    """

    _where = "AWS S3"

    def __init__(
        self,
        bucket: str,
        key: str | None = None,
        stored_as_script: bool = False,
        local_script_path: str | None = None,
        client_options: dict[str, Any] | None = None,
        upload_options: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> None:
        if not isinstance(bucket, str) or not bucket:
            raise TypeError(f"S3 storage needs a bucket name, got {bucket!r}.")
        from headwater.context import context

        self.bucket = bucket
        self.key = key
        self.local_script_path = local_script_path or context.get("local_script_path", None)
        self.client_options = client_options
        self.upload_options = upload_options
        super().__init__(stored_as_script=stored_as_script, **kwargs)

    def location(self, flow: Flow) -> str:
        return self.key or timestamped_key(flow)
