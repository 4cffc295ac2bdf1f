"""``FSSpecResult``: values stored at any fsspec URL (``s3://``, ``gcs://``, ``file://``, ``memory://``).

fsspec (and the package for the protocol, e.g. ``s3fs``) is imported when the Result first reads,
writes or checks a location, not when it is created.

>>> from headwater.engine.results import FSSpecResult
>>> r = FSSpecResult("memory://headwater-doc/{flow_name}/{task_name}.pkl")
>>> written = r.write({"a": 1}, flow_name="etl", task_name="extract")
>>> written.location
'memory://headwater-doc/etl/extract.pkl'
>>> r.read(written.location).value
{'a': 1}
"""

from __future__ import annotations

import errno
from typing import Any

from headwater.engine.result.base import Location, Result, render_location
from headwater.engine.results._files import atomic_write_bytes, is_temp_name, temp_path_for

__all__ = ["FSSpecResult"]

# Object stores make an object visible only once its upload completes, so a direct write is
# already atomic there (and a copy-based rename would double the traffic).
_OBJECT_STORES = frozenset(
    {"s3", "s3a", "gs", "gcs", "az", "abfs", "abfss", "adl", "oss", "r2", "b2", "cos", "tos"}
)


def _split_protocol(url: str) -> tuple[str | None, str]:
    if "://" in url:
        protocol, _, rest = url.partition("://")
        return protocol, rest
    return None, url


class FSSpecResult(Result):
    """Stores values as files on any filesystem fsspec supports.

    Args:
        url_template: the location, a URL template such as
            ``"s3://bucket/{flow_name}/{task_name}-{map_index}.pkl"`` (or a callable returning a
            URL). A location without a protocol (e.g. a task ``target``) is taken relative to the
            template's directory; an absolute path stays on the template's filesystem.
        serializer: how values become bytes (default
            :class:`~headwater.engine.serializers.PickleSerializer`).
        **storage_options: passed to the fsspec filesystem (credentials, endpoints...).

    Writes to local paths use a temporary file, ``fsync`` and an atomic rename; on object stores
    an upload is already all-or-nothing; on other filesystems the value is written to a
    temporary name beside the target and then moved into place.
    """

    def __init__(
        self,
        url_template: Location | None = None,
        serializer: Any = None,
        **storage_options: Any,
    ) -> None:
        value = storage_options.pop("value", None)
        location = storage_options.pop("location", None)
        if url_template is None:
            url_template = location
        self.url_template = url_template
        self.storage_options = storage_options
        super().__init__(value=value, location=url_template, serializer=serializer)

    # -- locations ---------------------------------------------------------------------------
    def _base(self) -> tuple[str, str | None]:
        """The protocol and directory (a template) of ``url_template``."""
        template = self.url_template
        if not isinstance(template, str):
            return "file", None
        protocol, rest = _split_protocol(template)
        if protocol is None:
            protocol = "file"
        directory = rest.rsplit("/", 1)[0] if "/" in rest else ""
        base = f"{protocol}://{directory}" if "://" in template else directory
        return protocol, base

    def _resolve(self, location: str, fmt: dict[str, Any] | None = None) -> str:
        """The full URL of a formatted location."""
        if "://" in location:
            return location
        protocol, base = self._base()
        if location.startswith("/"):
            return f"{protocol}://{location}" if base is None or "://" in base else location
        if base is None:
            return location
        if "{" in base:
            base = render_location(base, fmt or {})
        return f"{base.rstrip('/')}/{location}" if base else location

    def format(self, **fmt: Any) -> Result:
        """Return a copy whose location is the full URL formatted with ``fmt``."""
        new = self.copy()
        template = self.location_template
        if template is not None:
            new.location = self._resolve(render_location(template, fmt), fmt)
        return new

    def _fs(self, url: str) -> tuple[Any, str]:
        try:
            import fsspec
        except ImportError:  # pragma: no cover - fsspec is an optional dependency
            raise ImportError(
                "FSSpecResult needs fsspec: pip install 'headwater[fsspec]'."
            ) from None
        fs_and_path: tuple[Any, str] = fsspec.core.url_to_fs(url, **self.storage_options)
        return fs_and_path

    # -- storage -----------------------------------------------------------------------------
    def read(self, location: str) -> Result:
        """Read the value stored at the URL ``location``.

        Raises:
            FileNotFoundError: if nothing is stored there.
            ResultReadError: if the data cannot be deserialized.
        """
        url = self._resolve(location)
        if is_temp_name(url):
            raise FileNotFoundError(
                errno.ENOENT,
                f"FSSpecResult: {url!r} is an unfinished temporary file, not a result",
                url,
            )
        fs, path = self._fs(url)
        try:
            data = fs.cat_file(path)
        except FileNotFoundError:
            raise FileNotFoundError(
                errno.ENOENT, f"FSSpecResult: no result is stored at {url!r}", url
            ) from None
        new = self.copy()
        new.value = self._deserialize(data, url)
        new.location = location
        return new

    def write(self, value_: Any, /, **fmt: Any) -> Result:
        """Serialize ``value_`` and store it at the formatted URL.

        Returns:
            A new FSSpecResult holding the value and the full URL as its location.
        """
        new = self.format(**fmt)
        if new.location is None:
            new.location = self._resolve(self.default_location(**fmt), fmt)
        data = bytes(self._serialize(value_))
        url = new.location
        if is_temp_name(url):
            raise ValueError(
                f"{url!r} looks like one of headwater's temporary files; choose another location."
            )
        fs, path = self._fs(url)
        protocols = {fs.protocol} if isinstance(fs.protocol, str) else set(fs.protocol)
        if protocols & {"file", "local"}:
            atomic_write_bytes(path, data)
        elif protocols & _OBJECT_STORES:
            fs.pipe_file(path, data)
        else:
            self._write_via_temp(fs, path, data)
        new.value = value_
        return new

    @staticmethod
    def _write_via_temp(fs: Any, path: str, data: bytes) -> None:
        parent = path.rsplit("/", 1)[0] if "/" in path else ""
        if parent:
            try:
                fs.makedirs(parent, exist_ok=True)
            except (OSError, NotImplementedError):
                pass
        tmp = temp_path_for(path)
        try:
            fs.pipe_file(tmp, data)
            fs.mv(tmp, path)
        except BaseException:
            try:
                if fs.exists(tmp):
                    fs.rm_file(tmp)
            except Exception:
                pass
            raise

    def exists(self, location: Location, /, **fmt: Any) -> bool:
        """Whether a result file is stored at ``location`` formatted with ``fmt``."""
        url = self._resolve(render_location(location, fmt), fmt)
        if is_temp_name(url):
            return False
        fs, path = self._fs(url)
        return bool(fs.isfile(path))
