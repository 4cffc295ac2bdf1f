"""The dask executors at their old path; use :mod:`headwater.executors`."""

from __future__ import annotations

import warnings
from typing import Any

from headwater.executors.dask import DaskExecutor as _DaskExecutor
from headwater.executors.dask import LocalDaskExecutor as _LocalDaskExecutor

__all__ = ["DaskExecutor", "LocalDaskExecutor"]


def _moved(name: str) -> None:
    warnings.warn(
        f"headwater.engine.executors.{name} has moved to headwater.executors.{name}; "
        "please update your imports.",
        UserWarning,
        stacklevel=3,
    )


class DaskExecutor(_DaskExecutor):
    """:class:`headwater.executors.DaskExecutor`, created with a warning naming its new path."""

    def __new__(cls, *args: Any, **kwargs: Any) -> DaskExecutor:
        _moved("DaskExecutor")
        return super().__new__(cls)


class LocalDaskExecutor(_LocalDaskExecutor):
    """:class:`headwater.executors.LocalDaskExecutor`, created with a warning naming its new
    path."""

    def __new__(cls, *args: Any, **kwargs: Any) -> LocalDaskExecutor:
        _moved("LocalDaskExecutor")
        return super().__new__(cls)
