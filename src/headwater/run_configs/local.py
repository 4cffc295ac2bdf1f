"""``LocalRun``: a flow run as a local process."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from typing import Any

from headwater.run_configs.base import RunConfig

__all__ = ["LocalRun"]


class LocalRun(RunConfig):
    """Run the flow as a process on this machine.

    Args:
        env: extra environment variables for the flow run process.
        working_dir: the directory to start the process in (made absolute).
        labels: labels of the run config.

    Raises:
        TypeError: ``working_dir`` is not a path.
    """

    def __init__(
        self,
        *,
        env: Mapping[str, Any] | None = None,
        working_dir: str | os.PathLike[str] | None = None,
        labels: Iterable[str] | None = None,
    ) -> None:
        super().__init__(env=env, labels=labels)
        if working_dir is not None:
            if not isinstance(working_dir, (str, os.PathLike)):
                raise TypeError(
                    f"LocalRun: working_dir must be a directory path, got "
                    f"{type(working_dir).__name__} {working_dir!r}."
                )
            working_dir = os.path.abspath(working_dir)
        self.working_dir = working_dir
