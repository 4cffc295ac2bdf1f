"""Tasks that move, copy, remove and find files.

Each task takes its paths at construction or when called, checks them before touching the file
system, and fails with a message naming the argument at fault::

    import pathlib
    import tempfile

    from headwater import Flow
    from headwater.tasks.files import Copy, Glob, Move, Remove

    tmp = pathlib.Path(tempfile.mkdtemp())
    (tmp / "report.csv").write_text("a,b\\n1,2\\n")
    (tmp / "backup").mkdir()

    with Flow("files") as flow:
        copied = Copy()(source_path=tmp / "report.csv", target_path=tmp / "backup")
        moved = Move(target_path=tmp / "archive" / "2024.csv")(source_path=copied)
        found = Glob(pattern="**/*.csv")(path=tmp, upstream_tasks=[moved])

    state = flow.run()
    assert state.result[moved].result == tmp / "archive" / "2024.csv"
    assert [p.name for p in state.result[found].result] == ["2024.csv", "report.csv"]
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from headwater.core.task import Task
from headwater.tasks.files._paths import require_existing, require_path

__all__ = ["Copy", "Glob", "Move", "Remove"]

PathArg = str | os.PathLike[str] | None


def _destination(task: Task, source: Path, target: Path) -> Path:
    """Where ``source`` ends up: inside ``target`` if it is a directory, else at ``target``."""
    dest = target / source.name if target.is_dir() else target
    if dest.resolve() == source.resolve():
        raise ValueError(
            f"{type(task).__name__} {task.name!r}: `source_path` and `target_path` are the same "
            f"path ({str(source)!r})."
        )
    if dest.is_dir() and source.is_dir():
        raise FileExistsError(
            f"{type(task).__name__} {task.name!r}: `target_path` {str(dest)!r} already exists; "
            "remove it first or choose another target."
        )
    if dest.is_dir() and not source.is_dir():
        raise IsADirectoryError(
            f"{type(task).__name__} {task.name!r}: cannot replace the directory {str(dest)!r} "
            f"with the file {str(source)!r}."
        )
    if dest.exists() and source.is_dir():
        raise FileExistsError(
            f"{type(task).__name__} {task.name!r}: `target_path` {str(dest)!r} is a file; "
            f"cannot put the directory {str(source)!r} there."
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    return dest


class _SourceToTarget(Task):
    """Shared by :class:`Move` and :class:`Copy`: two paths, given at construction or call."""

    def __init__(self, source_path: PathArg = "", target_path: PathArg = "", **kwargs: Any):
        self.source_path = source_path
        self.target_path = target_path
        super().__init__(**kwargs)

    def _paths(self, source_path: PathArg, target_path: PathArg) -> tuple[Path, Path]:
        """The checked source and the destination it goes to."""
        source = require_existing(self, "source_path", source_path or self.source_path)
        target = require_path(self, "target_path", target_path or self.target_path)
        return source, _destination(self, source, target)


class Move(_SourceToTarget):
    """Move a file or directory.

    If ``target_path`` is an existing directory the source is moved into it; otherwise it is
    moved to (renamed as) ``target_path``, creating missing parent directories. An existing
    file at the destination is replaced.

    Args:
        source_path: the file or directory to move.
        target_path: where to move it.
        **kwargs: any :class:`~headwater.core.task.Task` option.
    """

    def run(self, source_path: PathArg = "", target_path: PathArg = "") -> Path:
        """Move ``source_path`` to ``target_path``; return the new path.

        Raises:
            ValueError: if a path is missing, or both name the same place.
            TypeError: if a path is not a str or path-like.
            FileNotFoundError: if ``source_path`` does not exist.
            FileExistsError: if a directory would overwrite an existing one.
        """
        source, dest = self._paths(source_path, target_path)
        return Path(shutil.move(os.fspath(source), os.fspath(dest)))


class Copy(_SourceToTarget):
    """Copy a file (with its metadata) or a whole directory tree.

    If ``target_path`` is an existing directory the source is copied into it; otherwise it is
    copied to ``target_path``, creating missing parent directories. An existing file at the
    destination is replaced; an existing directory is never merged into.

    Args:
        source_path: the file or directory to copy.
        target_path: where to copy it.
        **kwargs: any :class:`~headwater.core.task.Task` option.
    """

    def run(self, source_path: PathArg = "", target_path: PathArg = "") -> Path:
        """Copy ``source_path`` to ``target_path``; return the path of the copy.

        Raises:
            ValueError: if a path is missing, or both name the same place.
            TypeError: if a path is not a str or path-like.
            FileNotFoundError: if ``source_path`` does not exist.
            FileExistsError: if a directory would overwrite an existing one.
        """
        source, dest = self._paths(source_path, target_path)
        if source.is_dir():
            return Path(shutil.copytree(source, dest))
        return Path(shutil.copy2(source, dest))


class Remove(Task):
    """Remove a file, a symbolic link, or a directory with everything in it.

    Args:
        path: what to remove.
        **kwargs: any :class:`~headwater.core.task.Task` option.
    """

    def __init__(self, path: PathArg = "", **kwargs: Any):
        self.path = path
        super().__init__(**kwargs)

    def run(self, path: PathArg = "") -> None:
        """Remove ``path``.

        Raises:
            ValueError: if no path is given.
            TypeError: if the path is not a str or path-like.
            FileNotFoundError: if nothing exists at ``path``.
        """
        target = require_path(self, "path", path or self.path)
        if not os.path.lexists(target):
            raise FileNotFoundError(
                f"Remove {self.name!r}: `path` {str(target)!r} does not exist, so there is "
                "nothing to remove."
            )
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target)
        else:
            target.unlink()


class Glob(Task):
    """List the paths under a directory that match a glob pattern.

    Args:
        path: the directory to search (default: the current working directory).
        pattern: a relative glob pattern; ``**`` matches any number of subdirectories.
        **kwargs: any :class:`~headwater.core.task.Task` option.
    """

    def __init__(self, path: PathArg = None, pattern: str = "*", **kwargs: Any):
        self.path = path
        self.pattern = pattern
        super().__init__(**kwargs)

    def run(self, path: PathArg = None, pattern: str | None = None) -> list[Path]:
        """Return the matching paths, sorted.

        Raises:
            TypeError: if ``path`` is not path-like or ``pattern`` is not a string.
            ValueError: if ``pattern`` is empty or absolute.
            FileNotFoundError: if ``path`` does not exist.
            NotADirectoryError: if ``path`` is not a directory.
        """
        path = path if path not in (None, "") else self.path
        pattern = pattern if pattern is not None else self.pattern
        root = Path.cwd() if path in (None, "") else require_existing(self, "path", path)
        if not root.is_dir():
            raise NotADirectoryError(
                f"Glob {self.name!r}: `path` {str(root)!r} is not a directory."
            )
        if not isinstance(pattern, str):
            raise TypeError(
                f"Glob {self.name!r}: `pattern` must be a string such as '*.csv', got "
                f"{type(pattern).__name__}: {pattern!r}"
            )
        if not pattern:
            raise ValueError(
                f"Glob {self.name!r}: `pattern` is empty; use '*' to match everything."
            )
        if os.path.isabs(pattern):
            raise ValueError(
                f"Glob {self.name!r}: `pattern` {pattern!r} is absolute; give the directory as "
                "`path` and a relative pattern."
            )
        return sorted(root.glob(pattern))
