"""Tasks in worker processes log at the level of the process that started the run.

The level travels with the run's context; each task reports the level its worker's
``"headwater"`` logger had while it ran, and whether its DEBUG line would be written.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from typing import Any

import pytest

from headwater import Flow, task
from headwater.executors import DaskExecutor, LocalDaskExecutor
from headwater.utilities.logging import get_logger


@task
def worker_level() -> tuple[int, int, bool]:
    logger = worker_level.logger
    return os.getpid(), logging.getLogger("headwater").getEffectiveLevel(), logger.isEnabledFor(10)


def build() -> Any:
    with Flow("worker-level") as flow:
        worker_level()
    return flow


@pytest.fixture
def headwater_level() -> Iterator[logging.Logger]:
    logger = get_logger()
    before = logger.level
    yield logger
    logger.setLevel(before)


def levels_seen(flow: Any, executor: Any) -> tuple[int, int, bool]:
    state = flow.run(executor=executor)
    assert state.is_successful(), state
    [result] = [s.result for s in state.result.values()]
    return result  # type: ignore[no-any-return]


@pytest.mark.slow
def test_local_dask_processes_use_the_parents_level(headwater_level: logging.Logger) -> None:
    flow = build()
    for level in (logging.DEBUG, logging.WARNING):
        headwater_level.setLevel(level)
        pid, seen, debug = levels_seen(flow, LocalDaskExecutor("processes", num_workers=1))
        assert pid != os.getpid()
        assert seen == level and debug is (level == logging.DEBUG)


@pytest.mark.slow
def test_dask_cluster_workers_use_the_parents_level(
    headwater_level: logging.Logger, dask_cluster: Any
) -> None:
    """The session cluster's workers outlive runs: each run brings its own level."""
    flow = build()
    address = dask_cluster.scheduler.address
    for level in (logging.DEBUG, logging.ERROR, logging.INFO):
        headwater_level.setLevel(level)
        pid, seen, debug = levels_seen(flow, DaskExecutor(address=address))
        assert pid != os.getpid()
        assert seen == level and debug is (level == logging.DEBUG)
