"""Shared fixtures: one loopback ``distributed`` cluster per session and the ``executor`` fixture.

Run-level tests take ``executor`` and pass it to ``flow.run(executor=executor)``; they then run
once per executor headwater ships:

- ``local`` — :class:`~headwater.executors.LocalExecutor`;
- ``dask-sync``, ``dask-threads``, ``dask-processes`` — :class:`~headwater.executors.LocalDaskExecutor`;
- ``distributed`` — :class:`~headwater.executors.DaskExecutor` connected to the session cluster.

The process-based ones are marked ``slow`` (``-m "not slow"`` skips them for a quick pass).
"""

from __future__ import annotations

import logging
import signal
from collections.abc import Iterator
from typing import Any

import pytest

EXECUTOR_PARAMS = [
    "local",
    "dask-sync",
    "dask-threads",
    pytest.param("dask-processes", marks=pytest.mark.slow),
    pytest.param("distributed", marks=pytest.mark.slow),
]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "slow: runs on process-based executors (deselect with -m 'not slow')"
    )
    # A suite started in the background by a non-interactive shell inherits SIGINT ignored, and
    # so would every process it starts: the tests that press Ctrl-C on a subprocess need the
    # default behaviour back (a Python handler is reset to the default in a new program).
    if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    _history_in_a_temporary_file()


def _history_in_a_temporary_file() -> None:
    """The suite's runs are recorded in a temporary file, never in ``~/.headwater/history.db``:
    in this process (whose configuration is loaded already) and in its subprocesses."""
    import os
    import tempfile

    from headwater.configuration import global_config

    path = os.path.join(tempfile.mkdtemp(prefix="headwater-tests-"), "history.db")
    os.environ["HEADWATER__HISTORY__PATH"] = path
    os.environ["HEADWATER__HISTORY__URL"] = ""
    global_config().set_nested("history.path", path)
    global_config().set_nested("history.url", "")


@pytest.fixture(scope="session")
def dask_cluster() -> Iterator[Any]:
    """A ``Client`` of a ``distributed`` cluster of two single-threaded worker processes.

    The cluster listens on 127.0.0.1 only. Workers offer ``GPU=2`` resources; the scheduler
    gives up on a task the first time its worker dies (``allowed-failures: 0``), so lost-worker
    tests need a single kill. Tests that kill or block workers call the ``workers_back`` fixture's
    function before they return: it waits for both workers to run again (restarting the cluster
    if they do not come back in time).

    A killed worker is started again by its nanny. On a busy machine that can take longer than
    ``distributed.deploy.lost-worker-timeout`` (15 s by default), after which the cluster closes
    the nanny for good and the cluster is left with one worker; the timeout is raised for the
    session so that a slow restart is waited for instead.
    """
    import dask
    from distributed import Client, LocalCluster

    patience = dask.config.set({"distributed.deploy.lost-worker-timeout": "10 minutes"})
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        cluster = LocalCluster(
            host="127.0.0.1",
            processes=True,
            n_workers=2,
            threads_per_worker=1,
            dashboard_address=":0",
            resources={"GPU": 2},
            silence_logs=logging.CRITICAL,
        )
    client = Client(cluster, set_as_default=False)
    try:
        yield client
    finally:
        client.close()
        cluster.close()
        patience.__exit__(None, None, None)


_BROKEN_CLUSTER: list[str] = []  # set once the session cluster could not be made whole again


def _two_workers_running(client: Any) -> None:
    """Return once the session cluster has two running workers, starting new ones if need be.

    Should that fail, every later test that needs the cluster fails at once with the reason,
    instead of waiting for its own timeout.
    """
    if _BROKEN_CLUSTER:
        pytest.fail(f"the session cluster is broken since an earlier test: {_BROKEN_CLUSTER[0]}")
    try:
        client.wait_for_workers(2, timeout=60)
        return
    except TimeoutError:
        pass
    # reported in the log, not as a warning: the suite turns warnings into errors, and a slow
    # nanny on a busy machine is not a failure of the test that killed a worker
    workers = client.scheduler_info().get("workers", {})
    statuses = sorted(str(w.get("status")) for w in workers.values())
    logging.getLogger(__name__).warning(
        "session cluster: 2 running workers expected, found %s; starting them again", statuses
    )
    try:
        client.cluster.scale(2)
        client.wait_for_workers(2, timeout=120)
    except Exception as exc:
        _BROKEN_CLUSTER.append(f"{type(exc).__name__}: {exc} (workers: {statuses})")
        raise


@pytest.fixture
def workers_back(dask_cluster: Any) -> Any:
    """A function that waits until both session-cluster workers run again (after a kill).

    A killed worker is restarted by its nanny; should that not happen in time (a busy machine),
    new workers are started, so that later tests get two workers either way.
    """

    def wait() -> None:
        _two_workers_running(dask_cluster)

    return wait


@pytest.fixture(params=EXECUTOR_PARAMS)
def executor(request: pytest.FixtureRequest) -> Any:
    """A fresh, unstarted executor of each kind headwater ships (see the module docstring)."""
    from headwater.executors import DaskExecutor, LocalDaskExecutor, LocalExecutor

    kind = request.param
    if kind == "local":
        return LocalExecutor()
    if kind == "distributed":
        client = request.getfixturevalue("dask_cluster")
        _two_workers_running(client)
        return DaskExecutor(address=client.scheduler.address)
    scheduler = kind.removeprefix("dask-")
    return LocalDaskExecutor(scheduler=scheduler, num_workers=2)
