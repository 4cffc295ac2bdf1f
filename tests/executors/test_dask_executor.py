"""DaskExecutor: the executor contract on a real distributed cluster, plus its own behaviour."""

from __future__ import annotations

import io
import logging
import os
import re
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from headwater import Flow, task
from headwater.exceptions import SerializationError
from headwater.executors import DaskExecutor
from headwater.executors.dask import WorkerLostError
from headwater.testing import ExecutorContract

distributed = pytest.importorskip("distributed")

TEMPORARY_CLUSTER = {
    "n_workers": 1,
    "threads_per_worker": 2,
    "processes": False,
    # a free port: the session cluster already holds the default one
    "dashboard_address": ":0",
}


class TestExistingCluster(ExecutorContract):
    """Connected to the session's two-process cluster by address."""

    expected_capabilities = {"pickles_calls": True, "reports_completion": True}

    @pytest.fixture(autouse=True)
    def _cluster(self, dask_cluster: Any) -> None:
        self.address = dask_cluster.scheduler.address

    def make_executor(self) -> DaskExecutor:
        return DaskExecutor(address=self.address)


class TestTemporaryCluster(ExecutorContract):
    """Each start() creates (and closes) its own LocalCluster."""

    expected_capabilities = {"pickles_calls": True, "reports_completion": True}

    def make_executor(self) -> DaskExecutor:
        return DaskExecutor(
            cluster_class="distributed.LocalCluster", cluster_kwargs=dict(TEMPORARY_CLUSTER)
        )


# -- helpers submitted below (module level so they pickle) -------------------------------------
def identity(x: Any) -> Any:
    return x


def block(path: str) -> None:
    Path(path).write_text(str(os.getpid()))
    time.sleep(120)


def length(data: bytes) -> int:
    return len(data)


# -- starting and closing ------------------------------------------------------------------------
class RecordingCluster(distributed.LocalCluster):
    instances: list[RecordingCluster] = []

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        RecordingCluster.instances.append(self)


def test_cluster_class_object_is_started_and_closed() -> None:
    RecordingCluster.instances.clear()
    ex = DaskExecutor(cluster_class=RecordingCluster, cluster_kwargs=dict(TEMPORARY_CLUSTER))
    with ex.start():
        assert ex.wait(ex.submit(identity, 1)) == 1
    [cluster] = RecordingCluster.instances
    assert cluster.status.name == "closed"


def test_temporary_cluster_is_closed_on_error() -> None:
    RecordingCluster.instances.clear()
    ex = DaskExecutor(cluster_class=RecordingCluster, cluster_kwargs=dict(TEMPORARY_CLUSTER))
    with pytest.raises(KeyboardInterrupt):
        with ex.start():
            ex.submit(identity, 1)
            raise KeyboardInterrupt
    [cluster] = RecordingCluster.instances
    assert cluster.status.name == "closed"
    assert ex.client is None


def test_bad_cluster_class_is_explained() -> None:
    ex = DaskExecutor(cluster_class="distributed.NoSuchCluster")
    with pytest.raises(ValueError, match="distributed.NoSuchCluster"):
        with ex.start():
            pass


def test_adaptive_scaling() -> None:
    kwargs = dict(TEMPORARY_CLUSTER, n_workers=0)
    ex = DaskExecutor(cluster_kwargs=kwargs, adapt_kwargs={"minimum": 1, "maximum": 1})
    with ex.start():
        assert ex.wait(ex.submit(identity, 5)) == 5


def test_address_from_configuration(dask_cluster: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from headwater.configuration import config

    address = dask_cluster.scheduler.address
    monkeypatch.setitem(config.engine.executor.dask, "address", address)
    ex = DaskExecutor()
    assert ex.address == address
    with ex.start():
        assert ex.cluster is None
        assert ex.client.scheduler.address == address
        assert ex.wait(ex.submit(identity, 2)) == 2


@pytest.mark.parametrize("debug", [False, True])
def test_logs_are_quiet_unless_debug(debug: bool) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("distributed")
    logger.addHandler(handler)
    try:
        ex = DaskExecutor(cluster_kwargs=dict(TEMPORARY_CLUSTER), debug=debug)
        with ex.start():
            logging.getLogger("distributed.scheduler").error("probe message from the cluster")
            assert ex.wait(ex.submit(identity, 1)) == 1
    finally:
        logger.removeHandler(handler)
    assert ("probe message from the cluster" in stream.getvalue()) is debug
    assert handler.level == logging.NOTSET


# -- submission options --------------------------------------------------------------------------
def test_readable_keys(dask_cluster: Any) -> None:
    ex = DaskExecutor(address=dask_cluster.scheduler.address)
    with ex.start():
        child = ex.submit(
            identity,
            1,
            extra_context={"task_name": "inc", "task_full_name": "inc[3]", "map_index": 3},
        )
        named = ex.submit(identity, 2, extra_context={"task_name": "load", "map_index": None})
        full_only = ex.submit(
            identity, 3, extra_context={"task_full_name": "inc[4]", "map_index": 4}
        )
        plain = ex.submit(identity, 4)
        assert ex.wait([child, named, full_only, plain]) == [1, 2, 3, 4]
    assert re.fullmatch(r"inc-3-[0-9a-f]{32}", child.key)
    assert re.fullmatch(r"load-[0-9a-f]{32}", named.key)
    assert re.fullmatch(r"inc-4-[0-9a-f]{32}", full_only.key)
    assert plain.key != child.key


@task
def double(x: int) -> int:
    return 2 * x


def test_dashboard_groups_a_flows_keys_by_task_name(dask_cluster: Any) -> None:
    """The scheduler sees ``name[-map_index]-<id>`` keys; its task groups are the task names."""
    from dask.utils import key_split

    client = dask_cluster
    with Flow("dashboard") as flow:
        doubled = double.map([1, 2, 3])
        total = double(7)
    state = flow.run(executor=DaskExecutor(address=client.scheduler.address))
    assert state.is_successful()
    assert [c.result for c in state.result[doubled].map_states] == [2, 4, 6]
    assert state.result[total].result == 14

    def recent_keys(dask_scheduler: Any) -> list[str]:
        return [str(k) for k, *_ in list(dask_scheduler.transition_log)[-400:]]

    keys = set(client.run_on_scheduler(recent_keys))
    mapped = sorted(k for k in keys if re.fullmatch(r"double-\d-[0-9a-f]{32}", k))
    assert [k.split("-")[1] for k in mapped] == ["0", "1", "2"]
    assert any(re.fullmatch(r"double-[0-9a-f]{32}", k) for k in keys)
    assert {key_split(k) for k in mapped} == {"double"}


def own_resource_restrictions() -> Any:
    """The resource restrictions the worker running this call was given for it."""
    from distributed import get_worker
    from distributed.worker import thread_state

    return get_worker().state.tasks[thread_state.key].resource_restrictions


def test_resource_tags_become_dask_resources(dask_cluster: Any) -> None:
    ex = DaskExecutor(address=dask_cluster.scheduler.address)
    with ex.start():
        tags = {"dask-resource:GPU=1", "other-tag"}
        fut = ex.submit(own_resource_restrictions, extra_context={"task_tags": tags})
        assert ex.wait(fut) == {"GPU": 1.0}


@task(tags=["dask-resource:GPU=1"])
def gpu_held() -> float:
    """How many of its worker's GPU resources are free while this task runs."""
    from distributed import get_worker

    return get_worker().state.available_resources["GPU"]


@task
def gpu_free() -> float:
    from distributed import get_worker

    return get_worker().state.available_resources["GPU"]


def test_task_resource_tags_reserve_worker_resources(dask_cluster: Any) -> None:
    """The session cluster's workers offer GPU=2; a task tagged GPU=1 holds one while it runs."""
    with Flow("resources") as flow:
        held = gpu_held()
        free = gpu_free()
    state = flow.run(executor=DaskExecutor(address=dask_cluster.scheduler.address))
    assert state.is_successful(), state.result
    assert state.result[held].result == 1
    assert state.result[free].result == 2


def test_bad_resource_tag_is_explained(dask_cluster: Any) -> None:
    ex = DaskExecutor(address=dask_cluster.scheduler.address)
    with ex.start():
        with pytest.raises(ValueError, match="dask-resource:GPU"):
            ex.submit(identity, 1, extra_context={"task_tags": ["dask-resource:GPU"]})


def test_large_arguments_are_scattered_once(dask_cluster: Any) -> None:
    ex = DaskExecutor(address=dask_cluster.scheduler.address)
    big = b"x" * (2 * DaskExecutor.scatter_threshold)
    with ex.start():
        futs = [ex.submit(length, big) for _ in range(3)]
        assert ex.wait(futs) == [len(big)] * 3
        scattered = [k for k in ex.client.who_has() if str(k).startswith("bytes-")]
        assert len(scattered) == 1


def test_unpicklable_lambda_is_explained(dask_cluster: Any) -> None:
    lock = threading.Lock()
    ex = DaskExecutor(address=dask_cluster.scheduler.address)
    with ex.start():
        with pytest.raises(SerializationError) as info:
            ex.submit(lambda: lock)
        assert ex.wait(ex.submit(identity, 1)) == 1
    message = str(info.value)
    assert "<lambda>" in message
    assert "module level" in message


def test_submit_outside_start_is_an_error() -> None:
    with pytest.raises(RuntimeError, match="not started"):
        DaskExecutor(address="tcp://127.0.0.1:1").submit(identity, 1)


# -- failures ------------------------------------------------------------------------------------
def test_killed_worker_raises_worker_lost(
    dask_cluster: Any, tmp_path: Path, wait_for: Any, workers_back: Any
) -> None:
    client = dask_cluster
    pids = set(client.run(os.getpid).values())
    marker = tmp_path / "pid"
    ex = DaskExecutor(address=client.scheduler.address)
    try:
        with ex.start():
            fut = ex.submit(block, str(marker), extra_context={"task_full_name": "block"})
            downstream = ex.submit(identity, fut)
            pid = int(wait_for(lambda: marker.exists() and marker.read_text(), 60, "the call"))
            assert pid in pids
            os.kill(pid, signal.SIGKILL)
            # the wait ends with the loss before a deadline (a wait that hangs fails at it)
            raised: list[BaseException] = []

            def wait_downstream() -> None:
                try:
                    ex.wait(downstream)
                except BaseException as exc:
                    raised.append(exc)

            waiter = threading.Thread(target=wait_downstream, daemon=True)
            waiter.start()
            waiter.join(timeout=30)
            assert not waiter.is_alive(), "the lost worker was not reported within 30 s"
            (error,) = raised
            assert isinstance(error, WorkerLostError), error
            assert re.search("block.*was lost", str(error)), error
            assert error.key == fut.key
            assert error.task_name == "block"
    finally:
        workers_back()


def test_ctrl_c_with_temporary_process_cluster(interrupt_during_wait: Any) -> None:
    interrupt_during_wait(
        "DaskExecutor(cluster_kwargs=dict(n_workers=2, threads_per_worker=1, processes=True, "
        "dashboard_address=':0', host='127.0.0.1'))",
        spawns_processes=True,
    )


def test_ctrl_c_with_existing_cluster(dask_cluster: Any, interrupt_during_wait: Any) -> None:
    address = dask_cluster.scheduler.address
    try:
        interrupt_during_wait(f"DaskExecutor(address={address!r})")
    finally:
        # the interrupted call keeps its worker thread busy: give later users fresh workers
        dask_cluster.restart(wait_for_workers=True)


BAD_ADDRESS_SCRIPT = """
from headwater import Flow, task
from headwater.executors import DaskExecutor


@task
def one():
    return 1


if __name__ == "__main__":
    with Flow("bad-address") as flow:
        one()
    state = flow.run(executor=DaskExecutor(address="not-an-address"))
    print(type(state).__name__, "|", state.message, flush=True)
"""


def test_bad_address_fails_at_once_and_the_process_exits_promptly(tmp_path: Path) -> None:
    # the half-built client used to stay alive in the state's traceback, and the interpreter
    # then waited a minute for it to close at exit
    import subprocess
    import sys

    script = tmp_path / "bad_address.py"
    script.write_text(BAD_ADDRESS_SCRIPT)
    # the deadline: the process must have exited by then (it used to take over 60 s)
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=20)
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout.strip().splitlines()[-1]
    assert out.startswith("Failed |"), out
    assert "DaskExecutor could not connect to the dask scheduler at address 'not-an-address'" in out
    assert "tcp://" in out  # says what an address looks like


def test_bad_address_error_from_start_names_the_address() -> None:
    executor = DaskExecutor(address="not-an-address")
    with pytest.raises(ValueError, match="'not-an-address'") as info:
        with executor.start():
            pass  # pragma: no cover - start() fails
    assert executor.client is None
    assert isinstance(info.value.__cause__, ValueError)
