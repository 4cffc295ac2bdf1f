"""The executors' old home (Prefect 1's ``prefect.engine.executors``); use
:mod:`headwater.executors`. Creating an executor from here warns with the new path."""

from __future__ import annotations

from headwater.engine.executors.dask import DaskExecutor, LocalDaskExecutor
from headwater.engine.executors.local import LocalExecutor
from headwater.executors.base import Executor

__all__ = ["DaskExecutor", "Executor", "LocalDaskExecutor", "LocalExecutor"]
