"""A memory-bound run, executed in a fresh interpreter by the memory tests.

Usage: ``python memory_bound_flow.py N KIND [MAX_PENDING]`` with KIND one of ``local``,
``sync``, ``threads``, ``processes`` (LocalDaskExecutor schedulers, 2 workers) or
``distributed`` (a LocalCluster of 2 worker processes on 127.0.0.1).

A map of N items through three chained mapped steps of 1 MB values and a reduce, run with
``return_tasks=[reduce]``. Prints one JSON line: the result, how many states were returned, the
growth of this process's peak resident memory (``self_growth_mb``, from ``ru_maxrss``) and the
growth of the resident memory of this process *and its child processes* (``tree_growth_mb``,
sampled every 20 ms while the flow runs).
"""

import json
import logging
import resource
import sys
import threading

import psutil

from headwater import Flow, task
from headwater.executors import DaskExecutor, LocalDaskExecutor


@task
def make(i):
    return bytes([i % 251]) * 1_000_000  # 1 MB, really written


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


def main():
    n, kind = int(sys.argv[1]), sys.argv[2]
    max_pending = int(sys.argv[3]) if len(sys.argv) > 3 else None
    cluster = executor = None
    if kind == "distributed":
        from distributed import LocalCluster

        cluster = LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=":0",
            silence_logs=logging.CRITICAL,
        )
        executor = DaskExecutor(address=cluster.scheduler_address)
    elif kind != "local":
        executor = LocalDaskExecutor(kind, num_workers=2)
        if max_pending:
            executor.max_pending = max_pending
    with Flow("memory") as flow:
        sizes = size.map(step.map(make.map(list(range(n)))))
        result = total(sizes)
    if kind in ("processes", "distributed"):
        # warm up: start the pool processes / import everything the workers need
        with Flow("warm-up") as warm:
            size.map(step.map(make.map([0, 1])))
        warm.run(executor=executor)
    me = psutil.Process()
    before_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    before_tree = tree_mb(me)
    peak = [before_tree]
    done = threading.Event()

    def sample():
        while not done.wait(0.02):
            peak[0] = max(peak[0], tree_mb(me))

    sampler = threading.Thread(target=sample)
    sampler.start()
    state = flow.run(return_tasks=[result], executor=executor)
    done.set()
    sampler.join()
    peak_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    if cluster is not None:
        cluster.close()
    out = {
        "ok": state.is_successful(),
        "total": state.result[result].result,
        "returned": len(state.result),
        "self_growth_mb": (peak_self - before_self) / 1024,
        "tree_growth_mb": peak[0] - before_tree,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
