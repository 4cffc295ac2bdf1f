"""Workers (Prefect 3's ``prefect.workers``): they take runs from a server's work pool, so they raise.

A Prefect worker polls a work pool of Prefect's server for scheduled runs of deployments and
starts each in a process, container or cluster job. headwater has no server and no work pools:
it runs a flow where it is called, or on its schedule in the process that serves it
(``flow.serve(...)``, ``headwater.serve(...)``). The worker classes exist, so a script or a
custom worker class importing them still imports, and creating a worker raises
:class:`~headwater.exceptions.ServerNotAvailableError` naming that local way::

    from headwater.exceptions import ServerNotAvailableError
    from headwater.workers import ProcessWorker

    try:
        ProcessWorker(work_pool_name="default")
    except ServerNotAvailableError as exc:
        assert "flow.serve" in str(exc)
"""

from __future__ import annotations

from headwater.workers.process import ProcessWorker

__all__ = ["ProcessWorker"]
