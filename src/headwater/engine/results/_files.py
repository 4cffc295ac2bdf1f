"""Atomic, private file writes for results, the persistent cache and saved flows.

A file is written under a temporary name in the same directory, flushed, ``fsync``-ed, then
renamed over the final name with :func:`os.replace` (atomic on POSIX and Windows), and the
directory is ``fsync``-ed where the platform allows it. A reader therefore sees either the
previous complete file or the new complete file, never a partial one; a writer killed mid-way
leaves at most a temporary file, whose name (``.<name>.<random>.headwater-tmp``) can never be
mistaken for a result.

Files are created with mode ``0o600`` (owner only) unless the caller asks for another mode, and
the directories headwater creates get ``0o700`` (plus the read and search bits the file mode
grants to group or others). Directories that already exist keep their mode.

Temporary files left by killed writers are removed when their directory is next written: a
temporary file owned by the current user whose last change is older than
:data:`STALE_TEMP_SECONDS` cannot belong to a live write (a writer changes its file with every
chunk, then renames it at once). Each directory is scanned at most once per
:data:`STALE_TEMP_SECONDS` / 2 per process, so writing many files costs no repeated scans.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import stat
import threading
import time

__all__ = [
    "DEFAULT_DIR_MODE",
    "DEFAULT_FILE_MODE",
    "STALE_TEMP_SECONDS",
    "TEMP_SUFFIX",
    "atomic_write_bytes",
    "dir_mode_for",
    "fsync_directory",
    "is_temp_name",
    "make_dirs",
    "remove_stale_temp_files",
    "temp_path_for",
]

TEMP_SUFFIX = ".headwater-tmp"
DEFAULT_FILE_MODE = 0o600
DEFAULT_DIR_MODE = 0o700
STALE_TEMP_SECONDS = 15 * 60
_CHUNK = 4 * 1024 * 1024
_MAX_BASE = 120
_MAX_REMEMBERED_DIRS = 4096
_scanned: dict[str, float] = {}
_scanned_lock = threading.Lock()


def temp_path_for(path: str) -> str:
    """A fresh temporary file name next to ``path``."""
    directory, base = os.path.split(path)
    return os.path.join(directory, f".{base[:_MAX_BASE]}.{secrets.token_hex(6)}{TEMP_SUFFIX}")


def is_temp_name(name: str) -> bool:
    """Whether a file name is one of headwater's temporary names (not a result)."""
    base = os.path.basename(name)
    return base.startswith(".") and base.endswith(TEMP_SUFFIX)


def dir_mode_for(file_mode: int) -> int:
    """The mode of directories created for files of ``file_mode``.

    The owner always gets ``rwx``; group and others get read and search access where the file
    mode lets them read, and write access where it lets them write.

    >>> oct(dir_mode_for(0o600)), oct(dir_mode_for(0o644)), oct(dir_mode_for(0o660))
    ('0o700', '0o755', '0o770')
    """
    shared = file_mode & 0o066
    return 0o700 | shared | ((file_mode & 0o044) >> 2)


def make_dirs(directory: str, mode: int = DEFAULT_DIR_MODE) -> None:
    """Create ``directory`` and its missing parents, each with ``mode`` (existing ones untouched).

    Unlike :func:`os.makedirs`, which gives missing parents the default mode, every directory
    created here gets ``mode`` (less the process umask).
    """
    directory = os.path.abspath(directory)
    missing: list[str] = []
    current = directory
    while not os.path.isdir(current):
        missing.append(current)
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    for path in reversed(missing):
        try:
            os.mkdir(path, mode)
        except FileExistsError:
            if not os.path.isdir(path):
                raise


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


def remove_stale_temp_files(directory: str, *, force: bool = False) -> list[str]:
    """Delete temporary files of killed writers from ``directory``; returns the removed paths.

    Only headwater's temporary names are touched, only regular files owned by the current user
    (where the platform has owners), and only those unchanged for :data:`STALE_TEMP_SECONDS`.

    Args:
        directory: the directory to clean.
        force: scan even if this process scanned the directory recently.
    """
    now = time.time()
    key = os.path.abspath(directory)
    with _scanned_lock:
        last = _scanned.get(key)
        if not force and last is not None and now - last < STALE_TEMP_SECONDS / 2:
            return []
        if len(_scanned) >= _MAX_REMEMBERED_DIRS:
            _scanned.clear()
        _scanned[key] = now
    uid = os.geteuid() if hasattr(os, "geteuid") else None
    removed: list[str] = []
    try:
        entries = list(os.scandir(key))
    except OSError:
        return removed
    for entry in entries:
        if not is_temp_name(entry.name):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode) or (uid is not None and st.st_uid != uid):
            continue
        if now - st.st_mtime < STALE_TEMP_SECONDS:
            continue
        with contextlib.suppress(OSError):
            os.unlink(entry.path)
            removed.append(entry.path)
    return removed


def atomic_write_bytes(
    path: str, data: bytes | bytearray | memoryview, mode: int = DEFAULT_FILE_MODE
) -> None:
    """Write ``data`` to ``path`` atomically (temp file, fsync, rename, directory fsync).

    Args:
        path: the final file path; missing parent directories are created with
            :func:`dir_mode_for` ``(mode)``.
        data: the bytes to write.
        mode: the permission bits of the written file (default ``0o600``, owner only); applied
            exactly, whatever the process umask.

    Raises:
        OSError: if the file cannot be written; no temporary file is left behind.
    """
    if is_temp_name(path):
        raise ValueError(
            f"{path!r} ends in {TEMP_SUFFIX!r}, which headwater reserves for temporary files; "
            "choose another result location."
        )
    directory = os.path.dirname(path) or "."
    make_dirs(directory, dir_mode_for(mode))
    remove_stale_temp_files(directory)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    while True:
        tmp = temp_path_for(path)
        try:
            fd = os.open(tmp, flags, mode & 0o666)
            break
        except FileExistsError:
            continue
    try:
        with os.fdopen(fd, "wb") as f:
            if hasattr(os, "fchmod"):
                os.fchmod(f.fileno(), mode)
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
