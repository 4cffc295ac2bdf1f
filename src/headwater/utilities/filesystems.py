"""Paths with optional schemes (``s3://bucket/key``, ``file:///tmp/x``) and reading them.

>>> parse_path("s3://bucket/templates/job.yaml")
ParsedPath(scheme='s3', netloc='bucket', path='/templates/job.yaml')
>>> parse_path("/tmp/job.yaml").scheme
'file'
"""

from __future__ import annotations

import os
from typing import NamedTuple
from urllib.parse import urlparse

__all__ = ["ParsedPath", "parse_path", "read_bytes_from_path"]


class ParsedPath(NamedTuple):
    """A path split into ``scheme``, ``netloc`` and ``path``."""

    scheme: str
    netloc: str
    path: str


def parse_path(path: str) -> ParsedPath:
    """Split ``[scheme://][netloc]path``; no scheme (or ``local://``) means ``file``.

    A Windows path with a drive letter is a local file.
    """
    drive, _ = os.path.splitdrive(path)
    if drive:
        return ParsedPath("file", "", path)
    parsed = urlparse(path)
    scheme = parsed.scheme or ""
    if scheme in ("", "local"):
        scheme = "file"
    return ParsedPath(scheme, parsed.netloc or "", parsed.path or "")


def read_bytes_from_path(path: str) -> bytes:
    """The bytes of the file at ``path``.

    Local paths (``file``, ``agent`` or no scheme) are read directly; ``http(s)`` needs
    ``requests``; any other scheme (``s3``, ``gcs``...) is read through ``fsspec`` when it is
    installed.

    Raises:
        ValueError: the scheme needs a package that is not installed.
    """
    parsed = parse_path(path)
    if parsed.scheme in ("file", "agent"):
        with open(parsed.path, "rb") as f:
            return f.read()
    if parsed.scheme in ("http", "https"):
        try:
            import requests
        except ImportError:
            raise ValueError(
                f"Reading {path!r} needs the requests package: pip install requests"
            ) from None
        response = requests.get(path, timeout=60)
        response.raise_for_status()
        return response.content
    try:
        import fsspec
    except ImportError:
        raise ValueError(
            f"Unsupported file scheme {parsed.scheme!r} in {path!r}: reading it needs fsspec "
            "and its driver for that scheme (e.g. pip install fsspec s3fs)."
        ) from None
    with fsspec.open(path, "rb") as f:
        return f.read()  # type: ignore[no-any-return]
