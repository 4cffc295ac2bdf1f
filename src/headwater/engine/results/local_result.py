"""``LocalResult``: values stored as files in a local directory, written atomically.

>>> import tempfile
>>> from headwater.engine.results import LocalResult
>>> with tempfile.TemporaryDirectory() as d:
...     r = LocalResult(dir=d, location="{task_name}.pkl")
...     written = r.write([1, 2, 3], task_name="numbers")
...     r.exists("{task_name}.pkl", task_name="numbers"), r.read(written.location).value
(True, [1, 2, 3])
"""

from __future__ import annotations

import errno
import os
from typing import Any

from headwater.engine.result.base import Location, Result, render_location
from headwater.engine.results._files import (
    DEFAULT_FILE_MODE,
    atomic_write_bytes,
    dir_mode_for,
    is_temp_name,
    make_dirs,
)

__all__ = ["LocalResult"]


def _home_dir() -> str:
    from headwater.configuration import config

    home = getattr(config, "home_dir", None) or "~/.headwater"
    return os.path.abspath(os.path.expanduser(str(home)))


def _default_dir() -> str:
    return os.path.join(_home_dir(), "results")


class LocalResult(Result):
    """Stores values as files under a directory.

    Relative locations are joined to ``dir``; absolute locations are used as they are. Every
    write goes to a temporary file in the target directory which is then renamed into place,
    so a crash never leaves a partial result behind.

    Files are written with ``mode`` (default ``0o600``: readable and writable by their owner
    only). Directories the result creates get the matching directory mode (``0o700`` by
    default); directories that already exist keep theirs.

    Args:
        dir: the directory for relative locations; defaults to ``{config.home_dir}/results``
            (read when the Result is created), which is also used when ``dir`` is
            ``config.home_dir`` itself. Relative directories are made absolute against
            the current working directory at creation.
        validate_dir: create ``dir`` if needed and check that it is a directory.
        mode: the permission bits of the files written (e.g. ``0o640`` to let the group read
            them), applied whatever the process umask.
        **kwargs: ``value``, ``location`` and ``serializer`` (see
            :class:`~headwater.engine.result.Result`).

    Raises:
        ValueError: if ``validate_dir`` is true and ``dir`` exists but is not a directory, or
            cannot be created; or if ``mode`` is not a permission mode such as ``0o600``.
    """

    def __init__(
        self,
        dir: str | os.PathLike[str] | None = None,
        validate_dir: bool = True,
        mode: int = DEFAULT_FILE_MODE,
        **kwargs: Any,
    ) -> None:
        if isinstance(mode, bool) or not isinstance(mode, int) or not 0 <= mode <= 0o777:
            raise ValueError(
                f"LocalResult: mode must be a file permission mode such as 0o600 or 0o640, "
                f"got {mode!r}."
            )
        full = _default_dir() if dir is None else os.path.expanduser(os.fspath(dir))
        full = os.path.abspath(full)
        if full == _home_dir():  # results never go loose into the home directory itself
            full = _default_dir()
        if validate_dir:
            try:
                make_dirs(full, dir_mode_for(mode))
                if not os.path.isdir(full):
                    raise NotADirectoryError(f"{full!r} is not a directory")
            except OSError as exc:
                raise ValueError(
                    f"LocalResult: cannot use {full!r} as the results directory ({exc.strerror or exc}); "
                    "pass dir= a writable directory."
                ) from None
        self.dir = full
        self.validate_dir = validate_dir
        self.mode = mode
        super().__init__(**kwargs)

    def path_for(self, location: str) -> str:
        """The absolute file path of a (formatted) location."""
        return os.path.join(self.dir, os.fspath(location))

    def read(self, location: str) -> Result:
        """Read the value stored at ``location`` (relative to ``dir``, or absolute).

        Returns:
            A new LocalResult holding the value and ``location``.

        Raises:
            FileNotFoundError: if nothing is stored there.
            ResultReadError: if the file cannot be deserialized.
        """
        path = self.path_for(location)
        if is_temp_name(path):
            raise FileNotFoundError(
                errno.ENOENT,
                f"LocalResult: {path!r} is an unfinished temporary file, not a result",
                path,
            )
        try:
            with open(path, "rb") as f:
                data = f.read()
        except FileNotFoundError:
            raise FileNotFoundError(
                errno.ENOENT, f"LocalResult: no result is stored at {path!r}", path
            ) from None
        new = self.copy()
        new.value = self._deserialize(data, path)
        new.location = location
        return new

    def write(self, value_: Any, /, **fmt: Any) -> Result:
        """Serialize ``value_`` and store it atomically at the formatted location.

        Args:
            value_: the value to store.
            **fmt: the format keys for the location template.

        Returns:
            A new LocalResult holding the value and the absolute file path as its location.
        """
        new = self.format(**fmt)
        if new.location is None:
            new.location = self.default_location(**fmt)
        data = self._serialize(value_)
        path = self.path_for(new.location)
        atomic_write_bytes(path, data, mode=getattr(self, "mode", DEFAULT_FILE_MODE))
        new.location = path
        new.value = value_
        return new

    def exists(self, location: Location, /, **fmt: Any) -> bool:
        """Whether a result file is stored at ``location`` formatted with ``fmt``."""
        path = self.path_for(render_location(location, fmt))
        return not is_temp_name(path) and os.path.isfile(path)
