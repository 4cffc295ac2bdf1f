"""Prefect 3's ``prefect.task_worker``: workers that run tasks submitted through the server.

A task worker takes the task runs that other processes queue on Prefect's server. headwater has
no server to queue them on: a task runs where it is called or submitted (``task(...)``,
``task.submit(...)`` on a task runner), and flows are served with ``flow.serve(...)`` or
``headwater serve``. Creating a :class:`TaskWorker` and :func:`serve` raise
:class:`~headwater.exceptions.ServerNotAvailableError` saying so::

    from headwater import task
    from headwater.exceptions import ServerNotAvailableError
    from headwater.task_worker import serve

    @task
    def add(x, y):
        return x + y

    try:
        serve(add)
    except ServerNotAvailableError as exc:
        assert "task.submit" in str(exc)
    assert add(1, 2) == 3  # what to do instead: call it (or submit it in a flow)
"""

from __future__ import annotations

from headwater._server_only import ServerOnly, server_only_function

__all__ = ["StopTaskWorker", "TaskWorker", "aserve", "serve"]

_LOCALLY = (
    "call the task, or task.submit(...) it on a task runner inside a @flow; serve flows with "
    "flow.serve(...) or `headwater serve`"
)


class StopTaskWorker(Exception):
    """Raised by Prefect to stop a task worker (kept so that handlers of it still import)."""


class TaskWorker(ServerOnly):
    """Prefect's worker for tasks queued on its server; creating one raises."""

    _alternative = _LOCALLY


serve = server_only_function("serve", _LOCALLY)
aserve = server_only_function("aserve", _LOCALLY)
