"""A dying worker process fails only the call it was running; worker processes die with the run.

- ``LocalDaskExecutor("processes")``: the calls running in the other processes when one process
  dies go on and succeed, each body running once.
- ``DaskExecutor``: the calls only queued on the lost worker, and the run's shared inputs it
  held, are sent again; only the call that was running there fails, each body running once
  (on a temporary cluster per test, whose scheduler fails a lost worker's tasks at once).
- ``DaskExecutor`` on workers with several threads: calls that had *finished* on the lost
  worker are not computed again (their values had been brought to the flow's process, and the
  cluster had let go of its copies).
- ``LocalDaskExecutor("processes")``: when the process running the flow is killed (``SIGKILL``,
  no chance to clean up), its worker processes end too instead of running on as orphans.

Each task body writes a file under ``tmp_path`` when it starts, so the test can count how often
it ran. Task functions live at module level so that worker processes can unpickle them.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from headwater import Flow, task
from headwater.engine.state import Failed, Success
from headwater.executors import DaskExecutor, LocalDaskExecutor

psutil = pytest.importorskip("psutil")

DEADLINE = 60  # seconds any task waits for another one at most


def _wait_until(predicate: Any) -> None:
    deadline = time.monotonic() + DEADLINE
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("gave up waiting for the other tasks of the test")
        time.sleep(0.02)


def _record(directory: str, what: str) -> None:
    Path(directory, f"{what}.{uuid.uuid4().hex}").write_text(str(os.getpid()))


def _runs(directory: Path, what: str) -> int:
    return len(list(directory.glob(f"{what}.*")))


def _gone(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@task
def kill_own_worker(directory: str, parent_pid: int, others_running: int) -> None:
    """Once ``others_running`` innocent bodies have started, kill this worker process."""
    if os.getpid() == parent_pid:
        raise RuntimeError("this task must run in a worker process, not in the test process")
    _record(directory, "killer")
    _wait_until(lambda: _runs(Path(directory), "innocent-*") >= others_running)
    Path(directory, "killed-pid").write_text(str(os.getpid()))
    os.kill(os.getpid(), signal.SIGKILL)


@task
def innocent_waits_for_the_kill(i: int, directory: str) -> int:
    """Runs until the killer's process is gone: it is running when that process dies."""
    _record(directory, f"innocent-{i}")
    pid_file = Path(directory, "killed-pid")
    _wait_until(
        lambda: pid_file.exists() and pid_file.read_text() and _gone(int(pid_file.read_text()))
    )
    return i


@task
def innocent_waits_for_the_killer(i: int, directory: str) -> int:
    """Finishes only once the killer has started (so never before it on the killer's worker)."""
    _record(directory, f"innocent-{i}")
    _wait_until(lambda: _runs(Path(directory), "killer") >= 1)
    return i


@task
def kill_own_worker_once_seen_started(directory: str) -> None:
    """Kill this cluster worker once the scheduler knows this call started on it."""
    from distributed import get_client
    from distributed.worker import thread_state

    from headwater.executors._cluster_calls import started_keys

    _record(directory, "killer")
    client, key = get_client(), thread_state.key
    _wait_until(lambda: key in started_keys(client))
    os.kill(os.getpid(), signal.SIGKILL)


@task
def innocent(i: int, directory: str) -> int:
    _record(directory, f"innocent-{i}")
    return i


def _assert_only_the_killer_failed(
    state: Any, killer: Any, innocents: list[Any], directory: Path
) -> None:
    lost = state.result[killer]
    assert type(lost) is Failed, lost
    assert "kill_own_worker" in lost.message and "was lost" in lost.message
    for i, t in enumerate(innocents):
        assert type(state.result[t]) is Success, (i, state.result[t])
        assert state.result[t].result == i
    runs = Counter(p.name.partition(".")[0] for p in directory.iterdir() if "." in p.name)
    assert runs == {"killer": 1, **{f"innocent-{i}": 1 for i in range(len(innocents))}}, runs


@pytest.mark.slow
@pytest.mark.timeout(180)
def test_process_pool_death_fails_only_the_call_it_was_running(tmp_path: Path) -> None:
    d = str(tmp_path)
    with Flow("one-process-dies") as flow:
        killer = kill_own_worker(d, os.getpid(), 3)
        innocents = [innocent_waits_for_the_kill(i, d) for i in range(3)]
    state = flow.run(executor=LocalDaskExecutor(scheduler="processes", num_workers=4))
    _assert_only_the_killer_failed(state, killer, innocents, tmp_path)


def _run_on_a_cluster_of_its_own(flow: Any, n_workers: int, threads: int = 1) -> Any:
    """Run ``flow`` on a temporary cluster (single-threaded workers) that fails a task at once.

    With ``allowed-failures`` 0, the scheduler fails everything it had given a worker as soon as
    that worker dies; the cluster is the test's own, so no call of another test occupies it.
    """
    import dask
    import distributed  # noqa: F401 - its defaults must be loaded before dask.config.set below

    executor = DaskExecutor(
        cluster_kwargs=dict(
            n_workers=n_workers,
            threads_per_worker=threads,
            processes=True,
            dashboard_address=":0",
            host="127.0.0.1",
        )
    )
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        return flow.run(executor=executor)


@pytest.mark.slow
@pytest.mark.timeout(240)
@pytest.mark.parametrize("at_once", [False, True], ids=["while-another-runs", "at-once"])
def test_cluster_worker_death_fails_only_the_call_it_was_running(
    tmp_path: Path, at_once: bool
) -> None:
    # Two workers: the killer starts first on one of them, innocents queue behind it there
    # and run on the other; the run's context and task runners live on both. Killed at once,
    # the killer may not have logged its start yet: it must still not run again (and kill the
    # other worker).
    d = str(tmp_path)
    with Flow("one-worker-dies") as flow:
        killer = kill_own_worker(d, os.getpid(), 0 if at_once else 1)
        innocents = [innocent_waits_for_the_killer(i, d) for i in range(8)]
    state = _run_on_a_cluster_of_its_own(flow, n_workers=2)
    _assert_only_the_killer_failed(state, killer, innocents, tmp_path)


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_shared_inputs_lost_with_the_worker_are_sent_again(tmp_path: Path) -> None:
    # One worker: the killer runs first, and everything else — the run's context, sent once
    # as a task of its own from its second use on, and the calls that need it — is queued
    # behind it, so it is all lost with the worker. The nanny starts a new one.
    d = str(tmp_path)
    with Flow("shared-input-lost") as flow:
        killer = kill_own_worker_once_seen_started(d)
        innocents = [innocent(i, d) for i in range(4)]
    state = _run_on_a_cluster_of_its_own(flow, n_workers=1)
    lost = state.result[killer]
    assert type(lost) is Failed and "was lost" in lost.message, lost
    for i, t in enumerate(innocents):
        assert type(state.result[t]) is Success, (i, state.result[t])
        assert state.result[t].result == i
    runs = Counter(p.name.partition(".")[0] for p in tmp_path.iterdir() if "." in p.name)
    assert runs == {"killer": 1, **{f"innocent-{i}": 1 for i in range(4)}}, runs


@task
def finished_before_the_kill(i: int, directory: str) -> int:
    _record(directory, f"innocent-{i}")
    return i


@task
def consumes(value: int, directory: str) -> int:
    _record(directory, f"consumer-{value}")
    return value * 10


@task
def kill_own_worker_once_the_others_left(directory: str, names: tuple[str, ...]) -> None:
    """Kill this worker once the scheduler holds nothing of the tasks ``names`` any more.

    They all ran on this worker (the only one) and finished; the scheduler forgets a finished
    call once no one needs its value on the cluster.
    """
    from distributed import get_client

    def held(dask_scheduler: Any) -> list[str]:
        return [k for k in dask_scheduler.tasks if isinstance(k, str) and k.startswith(names)]

    _record(directory, "killer")
    client = get_client()
    _wait_until(lambda: _runs(Path(directory), "consumer-*") >= 3)
    _wait_until(lambda: not client.run_on_scheduler(held))
    os.kill(os.getpid(), signal.SIGKILL)


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_calls_finished_on_a_lost_worker_are_not_computed_again(tmp_path: Path) -> None:
    # one worker with four threads: the killer waits there while three calls and their
    # consumers run and finish beside it, then kills the worker
    d = str(tmp_path)
    names = ("finished_before_the_kill", "consumes")
    with Flow("finished-then-lost") as flow:
        killer = kill_own_worker_once_the_others_left(d, names)
        firsts = [finished_before_the_kill(i, d) for i in range(3)]
        seconds = [consumes(f, d) for f in firsts]
    state = _run_on_a_cluster_of_its_own(flow, n_workers=1, threads=4)
    lost = state.result[killer]
    assert type(lost) is Failed and "was lost" in lost.message, lost
    for i, (a, b) in enumerate(zip(firsts, seconds, strict=True)):
        assert type(state.result[a]) is Success and state.result[a].result == i
        assert type(state.result[b]) is Success and state.result[b].result == i * 10
    runs = Counter(p.name.partition(".")[0] for p in tmp_path.iterdir() if "." in p.name)
    expected = {f"{what}-{i}": 1 for what in ("innocent", "consumer") for i in range(3)}
    assert runs == {"killer": 1, **expected}, runs


# -- orphans -------------------------------------------------------------------------------------
ORPHAN_SCRIPT = """
import os, time
from pathlib import Path

from headwater import Flow, task, unmapped
from headwater.executors import LocalDaskExecutor


@task
def long_task(i, directory):
    Path(directory, f"worker-{{os.getpid()}}").write_text("")
    time.sleep(120)
    return i


if __name__ == "__main__":
    with Flow("orphans") as flow:
        long_task.map([0, 1], unmapped({directory!r}))
    flow.run(executor=LocalDaskExecutor(scheduler="processes", num_workers=2))
"""


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_pool_processes_end_when_the_flow_process_is_killed(tmp_path: Path, wait_for: Any) -> None:
    workers = tmp_path / "workers"
    workers.mkdir()
    script = tmp_path / "orphans.py"
    script.write_text(textwrap.dedent(ORPHAN_SCRIPT).format(directory=str(workers)))
    log = tmp_path / "stderr.txt"
    with open(log, "wb") as err:
        proc = subprocess.Popen([sys.executable, str(script)], stdout=err, stderr=err)
    pids: list[int] = []
    try:
        wait_for(
            lambda: len(list(workers.iterdir())) >= 2 or proc.poll() is not None,
            90,
            "both worker processes to start their task",
        )
        assert proc.poll() is None, log.read_text()
        pids = [int(p.name.removeprefix("worker-")) for p in workers.iterdir()]
        assert all(not _gone(pid) for pid in pids)
        proc.kill()  # SIGKILL: the flow's process cannot end its pool itself
        proc.wait()
        wait_for(lambda: all(_gone(pid) for pid in pids), 20, f"worker processes {pids} to end")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        for pid in pids:  # never leave orphans behind, even when the test fails
            if not _gone(pid):
                os.kill(pid, signal.SIGKILL)
