"""Executors: where task runs happen.

- :class:`LocalExecutor` (default) runs each task at once in the calling thread;
- :class:`LocalDaskExecutor` runs the flow on dask's threaded, multiprocessing or synchronous
  scheduler;
- :class:`DaskExecutor` runs it on a ``dask.distributed`` cluster, temporary or existing.

dask and distributed are imported only when a dask executor is used.
"""

from __future__ import annotations

from typing import Any

from headwater.executors.base import Executor
from headwater.executors.local import LocalExecutor

__all__ = ["DaskExecutor", "Executor", "LocalDaskExecutor", "LocalExecutor"]


def __getattr__(name: str) -> Any:
    if name in ("LocalDaskExecutor", "DaskExecutor"):
        from headwater.executors import dask as _dask

        return getattr(_dask, name)
    raise AttributeError(f"module 'headwater.executors' has no attribute {name!r}")
