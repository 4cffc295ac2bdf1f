"""Atomic file writes for results.

A result file is written under a temporary name in the same directory, flushed, ``fsync``-ed,
then renamed over the final name with :func:`os.replace` (atomic on POSIX and Windows), and the
directory is ``fsync``-ed where the platform allows it. A reader therefore sees either the
previous complete file or the new complete file, never a partial one; a writer killed mid-way
leaves at most a temporary file, whose name (``.<name>.<random>.headwater-tmp``) can never be
mistaken for a result.
"""

from __future__ import annotations

import contextlib
import os
import secrets

__all__ = ["TEMP_SUFFIX", "atomic_write_bytes", "fsync_directory", "is_temp_name", "temp_path_for"]

TEMP_SUFFIX = ".headwater-tmp"
_CHUNK = 4 * 1024 * 1024
_MAX_BASE = 120


def temp_path_for(path: str) -> str:
    """A fresh temporary file name next to ``path``."""
    directory, base = os.path.split(path)
    return os.path.join(directory, f".{base[:_MAX_BASE]}.{secrets.token_hex(6)}{TEMP_SUFFIX}")


def is_temp_name(name: str) -> bool:
    """Whether a file name is one of headwater's temporary names (not a result)."""
    base = os.path.basename(name)
    return base.startswith(".") and base.endswith(TEMP_SUFFIX)


def fsync_directory(directory: str) -> None:
    """``fsync`` a directory so a rename inside it survives a crash (no-op where unsupported)."""
    flags = os.O_RDONLY | getattr(os, "O_DIRECTORY", 0)
    try:
        fd = os.open(directory, flags)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def atomic_write_bytes(path: str, data: bytes | bytearray | memoryview) -> None:
    """Write ``data`` to ``path`` atomically (temp file, fsync, rename, directory fsync).

    Args:
        path: the final file path; missing parent directories are created.
        data: the bytes to write.

    Raises:
        OSError: if the file cannot be written; no temporary file is left behind.
    """
    if is_temp_name(path):
        raise ValueError(
            f"{path!r} ends in {TEMP_SUFFIX!r}, which headwater reserves for temporary files; "
            "choose another result location."
        )
    directory = os.path.dirname(path) or "."
    os.makedirs(directory, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = temp_path_for(path)
        try:
            fd = os.open(tmp, flags, 0o666)
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, "wb") as f:
            view = memoryview(data).cast("B")
            for start in range(0, len(view), _CHUNK):
                f.write(view[start : start + _CHUNK])
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_directory(directory)
