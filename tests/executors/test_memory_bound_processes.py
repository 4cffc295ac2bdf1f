"""Memory-bounded runs on the process-based executors.

A map of N items through three chained mapped steps of 1 MB values and a reduce, run with
``return_tasks=[reduce]``, in a fresh interpreter. The resident memory of that process *and all
its child processes* (pool processes, cluster workers) is sampled while the flow runs: kept, the
intermediate values would add N x 2 MB; released as soon as nothing needs them, the growth stays
at a few items in flight. (LocalExecutor and the thread-based executors: see
``tests/engine/test_memory_release.py``.)
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("psutil")

SCRIPT = textwrap.dedent(
    """
    import json, logging, sys, threading
    import psutil
    from headwater import Flow, task
    from headwater.executors import DaskExecutor, LocalDaskExecutor

    @task
    def make(i):
        return bytes([i % 251]) * 1_000_000      # 1 MB, really written

    @task
    def step(b):
        return bytes([b[0] + 1]) * len(b)

    @task
    def size(b):
        return len(b)

    @task
    def total(sizes):
        return sum(sizes)

    def tree_mb(proc):
        rss = proc.memory_info().rss
        for child in proc.children(recursive=True):
            try:
                rss += child.memory_info().rss
            except psutil.Error:
                pass
        return rss / 2**20

    if __name__ == "__main__":
        n, kind = int(sys.argv[1]), sys.argv[2]
        cluster = None
        if kind == "processes":
            executor = LocalDaskExecutor("processes", num_workers=2)
        else:
            from distributed import LocalCluster

            cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                   host="127.0.0.1", dashboard_address=":0",
                                   silence_logs=logging.CRITICAL)
            executor = DaskExecutor(address=cluster.scheduler_address)
        with Flow("memory") as flow:
            sizes = size.map(step.map(make.map(list(range(n)))))
            result = total(sizes)
        # warm up: start the pool processes / import everything the workers need
        with Flow("warm-up") as warm:
            size.map(step.map(make.map([0, 1])))
        warm.run(executor=executor)
        me = psutil.Process()
        before = tree_mb(me)
        peak = [before]
        done = threading.Event()

        def sample():
            while not done.wait(0.02):
                peak[0] = max(peak[0], tree_mb(me))

        sampler = threading.Thread(target=sample)
        sampler.start()
        state = flow.run(return_tasks=[result], executor=executor)
        done.set()
        sampler.join()
        if cluster is not None:
            cluster.close()
        print(json.dumps({"ok": state.is_successful(), "total": state.result[result].result,
                          "growth_mb": peak[0] - before, "returned": len(state.result)}))
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["processes", "distributed"])
def test_peak_memory_of_all_processes_stays_far_below_the_data_size(
    kind: str, tmp_path: Path
) -> None:
    n = 300  # kept, the intermediate values would add 600 MB
    script = tmp_path / "memory_bound.py"
    script.write_text(SCRIPT)
    proc = subprocess.run(
        [sys.executable, str(script), str(n), kind], capture_output=True, text=True, timeout=240
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out["ok"] and out["total"] == n * 1_000_000
    assert out["returned"] == 1
    assert out["growth_mb"] < 200, out
