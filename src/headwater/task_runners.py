"""Where submitted tasks of a ``@flow`` run (Prefect 3's ``prefect.task_runners``).

>>> from headwater import flow, task
>>> from headwater.task_runners import ThreadPoolTaskRunner
>>> @task
... def inc(x):
...     return x + 1
>>> @flow(task_runner=ThreadPoolTaskRunner(max_workers=2))
... def incs():
...     return inc.map([1, 2, 3]).result()
>>> incs()
[2, 3, 4]

``DaskTaskRunner`` (``prefect_dask``'s) is here too; it needs ``headwater[dask]``.
"""

from __future__ import annotations

from headwater.modern.runners import (
    ConcurrentTaskRunner,
    DaskTaskRunner,
    ProcessPoolTaskRunner,
    TaskRunner,
    ThreadPoolTaskRunner,
)

__all__ = [
    "ConcurrentTaskRunner",
    "DaskTaskRunner",
    "ProcessPoolTaskRunner",
    "TaskRunner",
    "ThreadPoolTaskRunner",
]
