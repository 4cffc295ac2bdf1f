"""Tasks that create and extract zip archives.

::

    import pathlib
    import tempfile

    from headwater import Flow
    from headwater.tasks.files import Unzip, Zip

    tmp = pathlib.Path(tempfile.mkdtemp())
    (tmp / "data").mkdir()
    (tmp / "data" / "a.txt").write_text("hello")

    with Flow("zip") as flow:
        archive = Zip(zip_path=tmp / "data.zip")(source_path=tmp / "data")
        out = Unzip(extract_dir=tmp / "restored")(zip_path=archive)

    state = flow.run()
    assert (state.result[out].result / "data" / "a.txt").read_text() == "hello"

A directory is stored under its own name, so extracting ``data.zip`` recreates ``data/``.
Archive members that would land outside ``extract_dir`` (``../`` or absolute names) are refused.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from headwater.core.task import Task
from headwater.tasks.files._paths import require_existing, require_path

__all__ = ["Unzip", "Zip"]

PathArg = str | os.PathLike[str] | None

_METHODS = {
    "store": zipfile.ZIP_STORED,
    "deflate": zipfile.ZIP_DEFLATED,
    "bzip2": zipfile.ZIP_BZIP2,
    "lzma": zipfile.ZIP_LZMA,
}


class Unzip(Task):
    """Extract a zip archive into a directory.

    Args:
        zip_path: the archive to extract.
        extract_dir: the directory to extract into (created if missing).
        password: the password of an encrypted archive (``str`` or ``bytes``).
        **kwargs: any :class:`~headwater.core.task.Task` option.
    """

    def __init__(
        self,
        zip_path: PathArg = "",
        extract_dir: PathArg = "",
        password: str | bytes | None = None,
        **kwargs: Any,
    ):
        self.zip_path = zip_path
        self.extract_dir = extract_dir
        self.password = password
        super().__init__(**kwargs)

    def run(
        self,
        zip_path: PathArg = "",
        extract_dir: PathArg = "",
        password: str | bytes | None = None,
    ) -> Path:
        """Extract ``zip_path`` into ``extract_dir``; return ``extract_dir``.

        Raises:
            ValueError: if a path is missing, the file is not a zip archive, or a member
                would be extracted outside ``extract_dir``.
            TypeError: if a path is not a str or path-like.
            FileNotFoundError: if ``zip_path`` does not exist.
        """
        archive = require_existing(self, "zip_path", zip_path or self.zip_path)
        target = require_path(self, "extract_dir", extract_dir or self.extract_dir)
        password = password if password is not None else self.password
        if isinstance(password, str):
            password = password.encode()
        if not zipfile.is_zipfile(archive):
            raise ValueError(
                f"Unzip {self.name!r}: `zip_path` {str(archive)!r} is not a zip archive."
            )
        if target.exists() and not target.is_dir():
            raise NotADirectoryError(
                f"Unzip {self.name!r}: `extract_dir` {str(target)!r} exists and is not a directory."
            )
        root = target.resolve()
        with zipfile.ZipFile(archive) as zf:
            for member in zf.namelist():
                dest = (root / member).resolve()
                if os.path.isabs(member) or not dest.is_relative_to(root):
                    raise ValueError(
                        f"Unzip {self.name!r}: `zip_path` {str(archive)!r} holds {member!r}, which "
                        "would be extracted outside `extract_dir`; refusing to extract it."
                    )
            target.mkdir(parents=True, exist_ok=True)
            zf.extractall(target, pwd=password)
        return target


class Zip(Task):
    """Create a zip archive from files and directories.

    Args:
        source_path: a file or directory, or a list of them, to put in the archive.
            Directories are stored with their contents under their own name.
        zip_path: the archive to create (replaced if it exists; parent directories created).
        compression_method: ``"deflate"`` (default), ``"store"``, ``"bzip2"`` or ``"lzma"``.
        compression_level: passed to :class:`zipfile.ZipFile` (e.g. 0-9 for deflate).
        **kwargs: any :class:`~headwater.core.task.Task` option.
    """

    def __init__(
        self,
        source_path: PathArg | Iterable[PathArg] = "",
        zip_path: PathArg = "",
        compression_method: str = "deflate",
        compression_level: int | None = None,
        **kwargs: Any,
    ):
        if compression_method not in _METHODS:
            raise ValueError(
                f"Zip: unknown compression_method {compression_method!r}; choose one of "
                f"{', '.join(_METHODS)}."
            )
        self.source_path = source_path
        self.zip_path = zip_path
        self.compression_method = compression_method
        self.compression_level = compression_level
        super().__init__(**kwargs)

    def run(
        self,
        source_path: PathArg | Iterable[PathArg] = "",
        zip_path: PathArg = "",
    ) -> Path:
        """Write the archive; return ``zip_path``.

        Raises:
            ValueError: if a path is missing, or the archive would contain itself.
            TypeError: if a path is not a str or path-like.
            FileNotFoundError: if a source does not exist.
        """
        raw = source_path or self.source_path
        items = list(raw) if isinstance(raw, (list, tuple, set)) else [raw]
        if not items:
            require_path(self, "source_path", None)
        sources = [require_existing(self, "source_path", s) for s in items]
        archive = require_path(self, "zip_path", zip_path or self.zip_path)
        resolved = archive.resolve()
        for src in sources:
            if src.is_dir() and resolved.is_relative_to(src.resolve()):
                raise ValueError(
                    f"Zip {self.name!r}: `zip_path` {str(archive)!r} lies inside `source_path` "
                    f"{str(src)!r}; the archive would contain itself. Write it elsewhere."
                )
        archive.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(
            archive,
            "w",
            compression=_METHODS[self.compression_method],
            compresslevel=self.compression_level,
        ) as zf:
            for src in sources:
                if src.is_dir():
                    base = src.parent
                    zf.write(src, src.relative_to(base).as_posix())
                    for path in sorted(src.rglob("*")):
                        zf.write(path, path.relative_to(base).as_posix())
                else:
                    zf.write(src, src.name)
        return archive
