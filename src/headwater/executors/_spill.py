"""Writing pickled data to temporary files, with errors that say the disk is the problem.

The ``processes`` scheduler of :class:`~headwater.executors.LocalDaskExecutor` moves large
pickles (shared arguments, big results) between processes through files in the temporary
directory. When that directory is full, the error must say so, not that the value "cannot be
pickled": the value pickled fine, the disk is full::

    >>> import errno
    >>> err = TempWriteError.from_os_error(
    ...     "LocalDaskExecutor", "/tmp/x/result-1", OSError(errno.ENOSPC, "No space left on device")
    ... )
    >>> "no space left in TMPDIR=" in str(err)
    True
"""

from __future__ import annotations

import errno
import os
import tempfile

from headwater.exceptions import HeadwaterError

__all__ = ["TempWriteError", "write_temp_file"]

_NO_SPACE = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}


class TempWriteError(HeadwaterError, OSError):
    """A pickle could not be written to the temporary directory (full disk, no permission...)."""

    @classmethod
    def from_os_error(cls, who: str, path: str, exc: OSError) -> TempWriteError:
        """The error for ``exc``, raised while ``who`` wrote ``path``."""
        tmpdir = tempfile.gettempdir()  # where Python puts temporary files ($TMPDIR)
        reason = exc.strerror or str(exc)
        if exc.errno in _NO_SPACE:
            message = (
                f"{who}: no space left in TMPDIR={tmpdir} while writing {path} ({reason}); the "
                "value was pickled, but the temporary directory is full. Free space there, or "
                "set TMPDIR to a directory on a larger disk before starting Python."
            )
        else:
            message = (
                f"{who}: could not write {path} in TMPDIR={tmpdir} ({reason}); set TMPDIR to a "
                "writable directory with free space before starting Python."
            )
        return cls(exc.errno or errno.EIO, message)


def write_temp_file(path: str, data: bytes, who: str) -> None:
    """Write ``data`` to ``path``; an ``OSError`` becomes a :class:`TempWriteError`.

    A partly written file is removed.
    """
    try:
        with open(path, "wb") as fh:
            fh.write(data)
    except OSError as exc:
        try:
            os.remove(path)
        except OSError:
            pass
        raise TempWriteError.from_os_error(who, path, exc) from exc
