"""While a run goes on, the history shows the task runs that have ended, without a flush."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from headwater import Flow, task

WAIT = 30.0  # seconds a test waits for something that should happen almost at once


def _poll(check: Callable[[], Any], what: str, timeout: float = WAIT) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


class Blocked:
    """A flow ``upstream -> blocked`` whose second task waits for :meth:`release`."""

    def __init__(self, name: str) -> None:
        self.entered = threading.Event()
        self.go = threading.Event()

        @task
        def upstream():
            return 1

        @task
        def blocked(x):
            self.entered.set()
            assert self.go.wait(WAIT), "the test never released the task"
            return x + 1

        with Flow(name) as self.flow:
            blocked(upstream())
        self.states: list[Any] = []
        self.thread = threading.Thread(target=lambda: self.states.append(self.flow.run()))

    def __enter__(self) -> Blocked:
        self.thread.start()
        assert self.entered.wait(WAIT), "the blocking task never started"
        return self

    def __exit__(self, *exc: object) -> None:
        self.go.set()
        self.thread.join(WAIT)
        assert not self.thread.is_alive()


def _rows(store: Any, flow_name: str) -> tuple[dict[str, Any] | None, dict[str, Any]]:
    runs = store.list_flow_runs(flow_name=flow_name)
    if not runs:
        return None, {}
    return runs[0], {t["task_name"]: t for t in store.list_task_runs(runs[0]["id"])}


def test_a_finished_task_run_shows_while_its_run_goes_on(store):
    with Blocked("live-upstream") as run:
        live, tasks = _poll(
            lambda: (lambda r: r if "upstream" in r[1] else None)(_rows(store, "live-upstream")),
            "the finished task's row",
        )
        assert run.thread.is_alive() and not run.go.is_set()  # the run is still blocked
        assert (live["state"], live["is_live"], live["ended_at"]) == ("Running", True, None)
        up = tasks["upstream"]
        assert (up["state"], up["run_count"]) == ("Success", 1)
        assert up["started_at"] is not None and up["ended_at"] is not None
    assert run.states[0].is_successful()
    store.flush()
    final, tasks = _rows(store, "live-upstream")
    assert final["state"] == "Success"
    assert {n: t["state"] for n, t in tasks.items()} == {
        "upstream": "Success",
        "blocked": "Success",
    }


@task
def cluster_upstream() -> int:
    return 1


@task
def cluster_blocked(x: int, release: str) -> int:
    """Runs on a cluster worker until the file ``release`` exists."""
    from pathlib import Path

    deadline = time.monotonic() + WAIT
    while not Path(release).exists():
        assert time.monotonic() < deadline, "the test never released the task"
        time.sleep(0.02)
    return x + 1


def test_a_task_run_finished_on_a_cluster_shows_while_its_run_goes_on(
    store, dask_cluster, tmp_path
):
    from headwater.executors import DaskExecutor

    release = tmp_path / "release"
    with Flow("live-on-a-cluster") as flow:
        cluster_blocked(cluster_upstream(), str(release))
    states: list[Any] = []
    executor = DaskExecutor(address=dask_cluster.scheduler.address)
    thread = threading.Thread(target=lambda: states.append(flow.run(executor=executor)))
    thread.start()
    try:
        _, tasks = _poll(
            lambda: (lambda r: r if "cluster_upstream" in r[1] else None)(
                _rows(store, "live-on-a-cluster")
            ),
            "the row of the task run that finished on the cluster",
        )
        assert thread.is_alive() and not release.exists()  # the run is still blocked
        up = tasks["cluster_upstream"]
        assert (up["state"], up["run_count"]) == ("Success", 1)
        assert up["started_at"] is not None and up["ended_at"] is not None
    finally:
        release.touch()
        thread.join(WAIT)
    assert not thread.is_alive() and states[0].is_successful()
