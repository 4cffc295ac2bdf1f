"""Executors backed by dask: its local schedulers, or a ``distributed`` cluster.

:class:`LocalDaskExecutor` runs a flow on dask's threaded, multiprocessing or synchronous
scheduler inside this process (and its pool). :class:`DaskExecutor` runs it on a
``dask.distributed`` cluster: one it starts for the run and closes afterwards, or an existing
one at a scheduler address. dask and distributed are imported only when one of these executors
is started, never by ``import headwater``.

>>> from headwater.executors.dask import LocalDaskExecutor
>>> ex = LocalDaskExecutor(scheduler="threads", num_workers=2)
>>> with ex.start():
...     a = ex.submit(pow, 2, 10)
...     b = ex.submit(sum, [a, a])
...     ex.wait({"a": a, "b": b})
{'a': 1024, 'b': 2048}

If a worker dies in the middle of a call, :meth:`~LocalDaskExecutor.wait` raises
:class:`~headwater.exceptions.WorkerLostError` for that call (and the calls that needed its
value) rather than hanging; the other calls are not disturbed. The flow runner turns it into a
``Failed`` state or a retry.
"""

from __future__ import annotations

from headwater.exceptions import WorkerLostError
from headwater.executors._distributed import DaskExecutor, DaskFuture
from headwater.executors._local_dask import LocalDaskExecutor, LocalDaskFuture

__all__ = ["DaskExecutor", "DaskFuture", "LocalDaskExecutor", "LocalDaskFuture", "WorkerLostError"]
