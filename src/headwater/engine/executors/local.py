"""``LocalExecutor`` at its old path; use :mod:`headwater.executors`."""

from __future__ import annotations

import warnings
from typing import Any

from headwater.executors.local import LocalExecutor as _LocalExecutor

__all__ = ["LocalExecutor"]


class LocalExecutor(_LocalExecutor):
    """:class:`headwater.executors.LocalExecutor`, created with a warning naming its new path."""

    def __new__(cls, *args: Any, **kwargs: Any) -> LocalExecutor:
        warnings.warn(
            "headwater.engine.executors.LocalExecutor has moved to "
            "headwater.executors.LocalExecutor; please update your imports.",
            UserWarning,
            stacklevel=2,
        )
        return super().__new__(cls)
