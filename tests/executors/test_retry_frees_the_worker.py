"""A task waiting to be retried does not hold a worker.

Each executor gets a single worker. ``flaky`` fails on its first attempt and is retried after
half a second; ``neighbour`` is an independent task. The retry reports whether ``neighbour`` had
already finished when it ran. Had the retry's wait kept the only worker busy, a ``neighbour``
scheduled after the first attempt could only run after the retry, which would then report
``False``. (Which of the two starts first is up to the executor; when ``neighbour`` does, the
check holds trivially, so neither order can make the test fail spuriously.)
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from headwater import Flow, task
from headwater.executors import DaskExecutor, LocalDaskExecutor, LocalExecutor


@task(name="retried", max_retries=1, retry_delay=timedelta(milliseconds=500))
def flaky(events: str) -> bool:
    failed = Path(events, "flaky-failed")
    if not failed.exists():
        failed.touch()
        raise ValueError("first attempt fails")
    return Path(events, "neighbour-done").exists()


@task(name="neighbour")
def neighbour(events: str) -> bool:
    Path(events, "neighbour-done").touch()
    return True


def _single_worker(kind: str) -> Any:
    if kind == "local":
        return LocalExecutor()
    if kind == "distributed":
        return DaskExecutor(
            cluster_kwargs={
                "n_workers": 1,
                "threads_per_worker": 1,
                "processes": False,
                "dashboard_address": ":0",
            }
        )
    return LocalDaskExecutor(kind, num_workers=1)


@pytest.mark.parametrize(
    "kind",
    [
        "local",
        "sync",
        "threads",
        pytest.param("processes", marks=pytest.mark.slow),
        pytest.param("distributed", marks=pytest.mark.slow),
    ],
)
def test_retry_delay_leaves_the_worker_free(kind: str, tmp_path: Path) -> None:
    with Flow("retry-frees-worker") as flow:
        retried = flaky(str(tmp_path))
        other = neighbour(str(tmp_path))
    state = flow.run(executor=_single_worker(kind))
    assert state.is_successful(), state.result
    assert state.result[other].result is True
    assert state.result[retried].result is True  # neighbour finished before the retry ran
