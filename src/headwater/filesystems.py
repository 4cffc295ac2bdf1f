"""File systems where results are stored: :class:`LocalFileSystem`, a local directory.

``LocalFileSystem(basepath=...)`` is what Prefect 3 code passes as ``result_storage``; it can be
saved by name and loaded again (see :mod:`headwater.blocks`), and used as
``result_storage="local-file-system/<name>"``::

    import tempfile
    from headwater.filesystems import LocalFileSystem

    fs = LocalFileSystem(basepath=tempfile.mkdtemp())
    fs.write_path("reports/today.txt", b"42")
    assert fs.read_path("reports/today.txt") == b"42"

Remote file systems (``RemoteFileSystem``, ``S3``, ``GCS``, ``Azure``, ``SMB``, ``GitHub``)
need Prefect's server or integrations; they raise an error naming the local alternative.
"""

from __future__ import annotations

import os
import shutil
from typing import Any

from headwater._server_only import ServerOnly
from headwater.blocks.core import Block

__all__ = [
    "GCS",
    "SMB",
    "S3",
    "Azure",
    "GitHub",
    "LocalFileSystem",
    "RemoteFileSystem",
]

_USE_LOCAL = (
    "store results in a local directory with result_storage=LocalFileSystem(basepath=...) "
    "or a path; for remote storage, use headwater.engine.results.FSSpecResult in a Prefect 1 "
    "style flow"
)


class LocalFileSystem(Block):
    """A local directory.

    Args:
        basepath: the directory relative paths are joined to (default: the current
            directory when used); ``~`` is expanded.
    """

    block_type_slug = "local-file-system"
    _fields = ("basepath",)

    def __init__(self, basepath: str | os.PathLike[str] | None = None) -> None:
        if basepath is not None and not isinstance(basepath, str | os.PathLike):
            raise TypeError(
                f"LocalFileSystem: basepath must be a path, not {type(basepath).__name__} "
                f"{basepath!r}."
            )
        self.basepath = None if basepath is None else os.fspath(basepath)

    def _resolve(self, path: str | os.PathLike[str]) -> str:
        base = os.path.abspath(os.path.expanduser(self.basepath or "."))
        full = os.path.abspath(os.path.join(base, os.path.expanduser(os.fspath(path))))
        if self.basepath is not None and os.path.commonpath([base, full]) != base:
            raise ValueError(
                f"LocalFileSystem: path {os.fspath(path)!r} is outside its basepath {base!r}."
            )
        return full

    def read_path(self, path: str | os.PathLike[str]) -> bytes:
        """The bytes of the file at ``path`` (relative to ``basepath``).

        Raises:
            ValueError: if ``path`` is outside ``basepath``, or is not a file.
        """
        full = self._resolve(path)
        if not os.path.isfile(full):
            raise ValueError(f"LocalFileSystem: no file at {full!r}.")
        with open(full, "rb") as f:
            return f.read()

    def write_path(self, path: str | os.PathLike[str], content: bytes) -> str:
        """Write ``content`` to ``path`` atomically (private file, missing folders created).

        Returns:
            The absolute path written.
        """
        from headwater.engine.results._files import atomic_write_bytes

        full = self._resolve(path)
        atomic_write_bytes(full, content)
        return full

    def get_directory(self, from_path: str | None = None, local_path: str | None = None) -> None:
        """Copy the directory ``from_path`` (default: ``basepath``) to ``local_path``."""
        source = self._resolve(from_path or ".")
        target = os.path.abspath(local_path or ".")
        if source != target:
            shutil.copytree(source, target, dirs_exist_ok=True)

    def put_directory(
        self, local_path: str | None = None, to_path: str | None = None, ignore_file: Any = None
    ) -> None:
        """Copy the local directory ``local_path`` into ``to_path`` (default: ``basepath``)."""
        source = os.path.abspath(local_path or ".")
        target = self._resolve(to_path or ".")
        if source != target:
            shutil.copytree(source, target, dirs_exist_ok=True)


class RemoteFileSystem(ServerOnly):
    """Needs Prefect's integrations; raises, naming the local alternative."""

    _alternative = _USE_LOCAL


class S3(RemoteFileSystem):
    """Needs Prefect's integrations; raises, naming the local alternative."""


class GCS(RemoteFileSystem):
    """Needs Prefect's integrations; raises, naming the local alternative."""


class Azure(RemoteFileSystem):
    """Needs Prefect's integrations; raises, naming the local alternative."""


class SMB(RemoteFileSystem):
    """Needs Prefect's integrations; raises, naming the local alternative."""


class GitHub(RemoteFileSystem):
    """Needs Prefect's integrations; raises, naming the local alternative."""
