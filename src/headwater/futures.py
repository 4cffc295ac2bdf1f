"""Futures of submitted task runs, ``wait`` and ``as_completed`` (Prefect 3's ``prefect.futures``).

>>> from headwater import flow, task
>>> from headwater.futures import wait
>>> @task
... def square(x):
...     return x * x
>>> @flow
... def squares():
...     futures = [square.submit(i) for i in range(3)]
...     wait(futures)
...     return [f.result() for f in futures]
>>> squares()
[0, 1, 4]
"""

from __future__ import annotations

from headwater.modern.futures import FutureList, TaskRunFuture, as_completed, resolve, wait

PrefectFuture = TaskRunFuture
PrefectFutureList = FutureList

__all__ = [
    "FutureList",
    "PrefectFuture",
    "PrefectFutureList",
    "TaskRunFuture",
    "as_completed",
    "resolve",
    "wait",
]
