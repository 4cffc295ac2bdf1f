"""Independent ``async def`` tasks run at the same time on the engine's event loop.

Each task records when its coroutine started and ended; runs overlap when every start comes
before the earliest end (one after another, each run would start after the previous ended).
"""

from __future__ import annotations

import asyncio
import datetime
import json
import sys
import threading
import time

import pytest

from headwater import Flow, task
from headwater.engine.state import Failed, Success, TimedOut, TriggerFailed
from headwater.executors import LocalDaskExecutor, LocalExecutor
from headwater.triggers import any_failed

NAP = 0.3


def _overlap(spans: list[tuple[float, float]]) -> bool:
    return max(s for s, _ in spans) < min(e for _, e in spans)


@task
async def nap(i: int) -> tuple[float, float]:
    start = time.perf_counter()
    await asyncio.sleep(NAP)
    return start, time.perf_counter()


def _spans(state: object, tasks: list[object]) -> list[tuple[float, float]]:
    return [state.result[t].result for t in tasks]  # type: ignore[attr-defined]


def test_independent_async_tasks_overlap_on_local_executor() -> None:
    with Flow("naps") as flow:
        naps = [nap(i) for i in range(5)]
    state = flow.run(executor=LocalExecutor())
    assert state.is_successful()
    assert _overlap(_spans(state, naps))


def test_mapped_async_children_overlap() -> None:
    with Flow("mapped naps") as flow:
        naps = nap.map(list(range(5)))
    state = flow.run()
    children = state.result[naps].map_states
    assert [type(c) for c in children] == [Success] * 5
    assert _overlap([c.result for c in children])


def test_sync_task_downstream_of_async_tasks_runs_in_the_calling_thread() -> None:
    threads: list[int] = []

    @task
    async def double(x: int) -> int:
        await asyncio.sleep(0.01)
        return 2 * x

    @task
    def total(xs: list[int]) -> int:
        threads.append(threading.get_ident())
        return sum(xs)

    @task
    async def plus_one(x: int) -> int:
        return x + 1

    with Flow("chain") as flow:
        doubled = double.map([1, 2, 3])
        t = total(doubled)
        last = plus_one(t)
        other = nap(0)
    state = flow.run()
    assert state.result[last].result == 13
    assert state.result[other].is_successful()
    assert threads == [threading.get_ident()]


def test_async_retries_timeouts_and_triggers_keep_working() -> None:
    calls: list[int] = []

    @task(max_retries=1, retry_delay=datetime.timedelta(0))
    async def flaky() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise ValueError("first attempt fails")
        return "ok"

    @task(timeout=0.05)
    async def slow() -> None:
        await asyncio.sleep(5)

    @task
    async def broken() -> None:
        raise RuntimeError("boom")

    @task(trigger=any_failed)
    def after_failure() -> str:
        return "handled"

    @task
    async def after_success(x: str) -> str:
        return x + "!"

    with Flow("reliability") as flow:
        f = flaky()
        s = slow()
        b = broken()
        handled = after_failure(upstream_tasks=[b])
        skipped = after_success(b)
        done = after_success(f)
    state = flow.run()
    results = state.result
    assert results[f].result == "ok" and len(calls) == 2
    assert isinstance(results[s], TimedOut)
    assert isinstance(results[b], Failed) and "boom" in str(results[b].result)
    assert results[handled].result == "handled"
    assert isinstance(results[skipped], TriggerFailed)
    assert results[done].result == "ok!"


def test_async_tasks_overlap_when_a_loop_runs_in_the_calling_thread() -> None:
    """As in Jupyter, where the calling thread runs an event loop already."""
    with Flow("naps in a loop") as flow:
        naps = [nap(i) for i in range(5)]

    async def main() -> object:
        return flow.run()

    state = asyncio.run(main())
    assert _overlap(_spans(state, naps))


def test_async_tasks_on_local_dask_threads() -> None:
    pytest.importorskip("dask")
    executor = LocalDaskExecutor(scheduler="threads", num_workers=2)
    with Flow("naps on threads") as flow:
        naps = [nap(i) for i in range(2)]
    state = flow.run(executor=executor)
    assert _overlap(_spans(state, naps))
    with Flow("mapped naps on threads") as mapped_flow:
        more = nap.map(list(range(3)))
    state = mapped_flow.run(executor=executor)
    assert [type(c) for c in state.result[more].map_states] == [Success] * 3


def test_a_waiting_async_task_starts_while_a_sync_task_runs() -> None:
    """An async task whose upstream ends starts at once, not after the sync task running then."""
    b_started = threading.Event()

    @task
    async def slow_upstream() -> int:
        await asyncio.sleep(0.1)
        return 1

    @task
    async def downstream(x: int) -> int:
        b_started.set()
        return x

    @task
    async def quick() -> int:
        return 0

    @task
    def blocks_until_downstream_started(x: int) -> bool:
        return b_started.wait(timeout=20)

    with Flow("interleaved") as flow:
        b = downstream(slow_upstream())
        s = blocks_until_downstream_started(quick())
    state = flow.run()
    assert state.result[b].result == 1
    assert state.result[s].result is True


NOTEBOOK_CELL = """
import asyncio, time
from headwater import Flow, task

@task
async def nap(i):
    start = time.perf_counter()
    await asyncio.sleep(0.3)
    return start, time.perf_counter()

with Flow("naps") as flow:
    naps = [nap(i) for i in range(5)]
state = flow.run()
spans = [state.result[t].result for t in naps]
print("overlap" if max(s for s, _ in spans) < min(e for _, e in spans) else "one after another")
"""


def test_async_tasks_overlap_in_a_real_notebook_kernel(tmp_path, monkeypatch, headwater_home):
    """In a kernel the calling thread runs the notebook's event loop."""
    pytest.importorskip("ipykernel")
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    spec = tmp_path / "jupyter" / "kernels" / "headwater-async-test"
    spec.mkdir(parents=True)
    argv = [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    (spec / "kernel.json").write_text(json.dumps({"argv": argv, "language": "python"}))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(NOTEBOOK_CELL.strip())]
    client = nbclient.NotebookClient(
        nb,
        timeout=120,
        kernel_name="headwater-async-test",
        resources={"metadata": {"path": str(tmp_path)}},
    )
    client.execute()
    outputs = nb.cells[0].outputs
    out = "".join(o["text"] for o in outputs if o.get("name") == "stdout")
    assert out.splitlines() == ["overlap"], outputs
