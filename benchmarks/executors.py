"""headwater on dask executors, against raw dask on the same graphs, plus memory-bounded maps.

Run it on its own, or through ``run.py`` (``python benchmarks/run.py --executors``; the full
``python benchmarks/run.py`` runs it after the LocalExecutor table)::

    python benchmarks/executors.py                 # N = 1,000 / 10,000, a 100,000-item map on
                                                   # the cluster, memory benchmark
    python benchmarks/executors.py --quick         # N = 1,000 only, small memory benchmark
    python benchmarks/executors.py --only threads  # one table: threads, distributed or memory

Three tables, all on graphs of trivial ``x + 1`` tasks in three shapes (``chain``, ``fan``,
``map``, as in ``run.py``):

1. **threads** — headwater ``flow.run(executor=LocalDaskExecutor("threads"))`` against two
   references on the same graph: ``dask.delayed(inc)(...)`` objects built beforehand and computed
   with ``.compute(scheduler="threads")`` (``dask.compute(*items)`` for the map), and
   ``dask.threaded.get(graph_dict, keys)`` on the graph written as a plain dask graph dict —
   dask's scheduler alone, without the cost of collecting ``delayed`` graphs. All use dask's
   default thread count (the number of cores).
2. **distributed** — headwater ``flow.run(executor=DaskExecutor(address))`` against raw
   ``client.submit`` (chain, and the reduce of fan) / ``client.map`` (fan, map) followed by
   ``client.gather``/``result()``, on one ``LocalCluster`` of 2 single-threaded worker processes
   started once for the whole table in a separate process (which therefore is the scheduler's
   process). headwater's time includes connecting its own ``Client``; the raw side reuses a
   client connected before timing. Then a 100,000-item map on the same cluster, raw and
   headwater, with the scheduler process's peak RSS sampled with psutil.
3. **memory** — a map of N items through three chained mapped steps (build ``bytes(1_000_000)``,
   copy it, take its length) and a final reduce of the lengths, run with
   ``flow.run(return_tasks=[reduce])`` on every executor. The peak resident memory of the
   process running the flow *plus all its child processes* (pool processes, cluster workers) is
   sampled every 20 ms and printed next to ``N x 1 MB``. A watchdog ends a case whose memory
   passes ``--memory-limit-gb`` (default: half the machine's memory).

Timed cases run in a fresh interpreter per graph, where headwater and the references take turns
(reference, headwater, reference, headwater, ...), so a change in machine load affects both
alike; the best time of each is kept (3 turns; 1 on the cluster at N >= 10,000). Ratios are
``headwater / reference`` (target: at most 1.5).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
SHAPES = ("chain", "fan", "map")
MB = 1_000_000
MEMORY_EXECUTORS = {
    "local": "LocalExecutor",
    "threads": 'LocalDaskExecutor("threads")',
    "processes": 'LocalDaskExecutor("processes")',
    "distributed": "DaskExecutor (2 worker processes)",
}


# -- the memory benchmark's steps ----------------------------------------------------------------
def make_item(i: int) -> bytes:
    """Step 1: a fresh 1 MB value per map index."""
    return bytes(MB)


def copy_item(b: bytes) -> bytes:
    """Step 2: a new 1 MB value derived from the previous one."""
    return b[:-1] + b"\x01"


def size_of(b: bytes) -> int:
    """Step 3: something small."""
    return len(b)


def total_size(sizes: list[int]) -> int:
    """Reduce: the sum of the sizes."""
    return sum(sizes)


# -- helpers ---------------------------------------------------------------------------------------
def _peak_rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(fn: Any) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _quiet_headwater() -> None:
    import headwater  # noqa: F401
    from headwater.utilities.logging import get_logger

    get_logger().setLevel("WARNING")


def _graph_dict(shape: str, n: int) -> tuple[dict, list]:
    from run import _total, inc

    if shape == "chain":
        dsk: dict[Any, Any] = {("inc", 0): (inc, 0)}
        for i in range(1, n):
            dsk[("inc", i)] = (inc, ("inc", i - 1))
        return dsk, [("inc", n - 1)]
    dsk = {("inc", i): (inc, i) for i in range(n)}
    if shape == "fan":
        dsk["total"] = (_total, [("inc", i) for i in range(n)])
        return dsk, ["total"]
    return dsk, [[("inc", i) for i in range(n)]]


def _delayed(shape: str, n: int) -> Any:
    """The graph as ``dask.delayed`` objects; returns a function that computes it."""
    import dask
    from run import _total, inc

    d = dask.delayed(inc, pure=False)
    if shape == "chain":
        x = d(0)
        for _ in range(n - 1):
            x = d(x)
        return lambda: x.compute(scheduler="threads")
    items = [d(i) for i in range(n)]
    if shape == "fan":
        s = dask.delayed(_total, pure=False)(items)
        return lambda: s.compute(scheduler="threads")
    return lambda: dask.compute(*items, scheduler="threads")


# -- one case, in a child process ------------------------------------------------------------------
def _case_threads(shape: str, n: int) -> dict:
    import dask.threaded
    from run import _build

    from headwater.executors import LocalDaskExecutor

    _quiet_headwater()
    flow = _build(shape, n)
    dsk, keys = _graph_dict(shape, n)
    delayed = _delayed(shape, n)

    def hw() -> None:
        state = flow.run(executor=LocalDaskExecutor("threads"))
        assert state.is_successful(), state

    best = {"get": float("inf"), "delayed": float("inf"), "hw": float("inf")}
    for _ in range(1 if n >= 100_000 else 3):
        best["get"] = min(best["get"], _timed(lambda: dask.threaded.get(dsk, keys)))
        best["delayed"] = min(best["delayed"], _timed(delayed))
        best["hw"] = min(best["hw"], _timed(hw))
    return best


def _raw_distributed(client: Any, shape: str, n: int) -> None:
    from run import _total, inc

    if shape == "chain":
        f = client.submit(inc, 0, pure=False)
        for _ in range(n - 1):
            f = client.submit(inc, f, pure=False)
        f.result()
    elif shape == "fan":
        client.submit(_total, client.map(inc, range(n), pure=False), pure=False).result()
    else:
        client.gather(client.map(inc, range(n), pure=False))


def _case_distributed(shape: str, n: int, address: str, modes: str) -> dict:
    from distributed import Client
    from run import _build

    from headwater.executors import DaskExecutor

    _quiet_headwater()
    flow = _build(shape, n)
    client = Client(address, set_as_default=False)

    def hw() -> None:
        state = flow.run(executor=DaskExecutor(address=address))
        assert state.is_successful(), state

    best: dict[str, float] = {}
    try:
        for _ in range(1 if n >= 10_000 else 3):
            if "raw" in modes:
                t = _timed(lambda: _raw_distributed(client, shape, n))
                best["raw"] = min(best.get("raw", t), t)
            if "hw" in modes:
                t = _timed(hw)
                best["hw"] = min(best.get("hw", t), t)
        best["connect"] = min(
            _timed(lambda: Client(address, set_as_default=False).close()) for _ in range(3)
        )
    finally:
        client.close()
    best["peak_mb"] = _peak_rss_mb()
    return best


def _tree_rss_mb(proc: Any) -> float:
    import psutil

    total = proc.memory_info().rss
    for child in proc.children(recursive=True):
        try:
            total += child.memory_info().rss
        except psutil.Error:
            pass
    return total / 2**20


def _case_memory(executor: str, n: int, limit_mb: float) -> dict:
    import psutil

    from headwater import Flow, task
    from headwater.executors import DaskExecutor, LocalDaskExecutor, LocalExecutor

    _quiet_headwater()
    proc = psutil.Process()
    cluster = None
    if executor == "local":
        ex: Any = LocalExecutor()
    elif executor in ("threads", "processes"):
        ex = LocalDaskExecutor(executor, num_workers=2)
    else:
        cluster = _two_worker_cluster()
        ex = DaskExecutor(address=cluster.scheduler_address)
    with Flow("bench-memory") as flow:
        items = task(make_item).map(list(range(n)))
        copies = task(copy_item).map(items)
        sizes = task(size_of).map(copies)
        total = task(total_size)(sizes)
    before = _tree_rss_mb(proc)
    peak = [before]
    done = threading.Event()

    def watchdog() -> None:
        while not done.wait(0.02):
            rss = _tree_rss_mb(proc)
            peak[0] = max(peak[0], rss)
            if rss > limit_mb:
                print(json.dumps({"aborted_mb": rss}), flush=True)
                os._exit(3)

    threading.Thread(target=watchdog, daemon=True).start()
    t0 = time.perf_counter()
    state = flow.run(executor=ex, return_tasks=[total])
    elapsed = time.perf_counter() - t0
    done.set()
    assert state.is_successful(), state
    value = state.result[total].result
    assert value == n * MB, value
    if cluster is not None:
        cluster.close()
    return {"run": elapsed, "before_mb": before, "peak_mb": peak[0]}


def _case_bigmap(n: int, address: str, mode: str) -> dict:
    out = _case_distributed("map", n, address, mode)
    return {"run": out[mode], "peak_mb": out["peak_mb"]}


def _child(case: list[str]) -> None:
    kind, rest = case[0], case[1:]
    if kind == "threads":
        out = _case_threads(rest[0], int(rest[1]))
    elif kind == "distributed":
        out = _case_distributed(rest[0], int(rest[1]), rest[2], "raw,hw")
    elif kind == "bigmap":
        out = _case_bigmap(int(rest[0]), rest[1], rest[2])
    elif kind == "memory":
        out = _case_memory(rest[0], int(rest[1]), float(rest[2]))
    else:
        raise SystemExit(f"unknown case {case}")
    print(json.dumps(out), flush=True)


def _two_worker_cluster():
    """A LocalCluster of 2 single-threaded worker processes, quiet, without a dashboard."""
    import logging

    from distributed import LocalCluster

    return LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.ERROR,
    )


def _serve_cluster(address_file: str) -> None:
    """Start the LocalCluster, write its address, and keep it up until stdin closes."""
    cluster = _two_worker_cluster()
    tmp = address_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(cluster.scheduler_address)
    os.replace(tmp, address_file)
    sys.stdin.read()
    cluster.close()


# -- the parent ------------------------------------------------------------------------------------
def _env() -> dict[str, str]:
    env = dict(os.environ)
    # cluster workers import the benchmark's task functions from run.py, like user code
    env["PYTHONPATH"] = os.pathsep.join([HERE, *filter(None, [env.get("PYTHONPATH")])])
    # task logging at WARNING in workers too, as in the flow's process
    env["HEADWATER__LOGGING__LEVEL"] = "WARNING"
    return env


def _measure(case: list[str]) -> dict:
    cmd = [sys.executable, os.path.join(HERE, "executors.py"), "--case", *case]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=_env())
    lines = proc.stdout.strip().splitlines()
    if proc.returncode == 3 and lines:
        return json.loads(lines[-1])
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(case)} failed:\n{proc.stderr[-4000:]}")
    return json.loads(lines[-1])


class _Cluster:
    """The LocalCluster process shared by every distributed case."""

    def __init__(self) -> None:
        self._dir = tempfile.TemporaryDirectory()
        path = os.path.join(self._dir.name, "address")
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "executors.py"), "--serve-cluster", path],
            stdin=subprocess.PIPE,
            env=_env(),
        )
        deadline = time.monotonic() + 120
        while not os.path.exists(path):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the LocalCluster process did not start")
            time.sleep(0.1)
        with open(path) as f:
            self.address = f.read().strip()

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._dir.cleanup()


def _ratio(hw: float, ref: float) -> str:
    r = hw / ref
    return f"{r:5.2f}x {'ok' if r <= 1.5 else 'MISS'}"


def run_threads(sizes: list[int]) -> None:
    """Print the LocalDaskExecutor("threads") table."""
    print('\nheadwater on LocalDaskExecutor("threads") vs dask on the same graph (threads)')
    header = (
        f"{'shape':6} {'N':>7} | {'delayed':>8} {'dict get':>8} {'hw':>8} | "
        f"{'hw/delayed':>10} {'hw/get':>6} {'hw-get/task':>11}"
    )
    print(header)
    print("-" * len(header))
    for shape in SHAPES:
        for n in sizes:
            out = _measure(["threads", shape, str(n)])
            hw, get, delayed = out["hw"], out["get"], out["delayed"]
            print(
                f"{shape:6} {n:>7,} | {delayed:7.3f}s {get:7.3f}s {hw:7.3f}s | "
                f"{_ratio(hw, delayed):>10} {hw / get:5.2f}x {(hw - get) / n * 1e6:8.1f} us",
                flush=True,
            )


def run_distributed(sizes: list[int], big_map: int | None) -> None:
    """Print the DaskExecutor table (and the big map) on one LocalCluster."""
    import psutil

    cluster = _Cluster()
    try:
        addr = cluster.address
        print(
            "\nheadwater on DaskExecutor(address) vs raw client.submit/client.map, one LocalCluster "
            "(2 worker processes x 1 thread)"
        )
        header = (
            f"{'shape':6} {'N':>7} | {'raw dask':>8} {'hw':>8} | {'hw/raw':>10} "
            f"{'hw-raw/task':>11} {'connect':>8}"
        )
        print(header)
        print("-" * len(header))
        for shape in SHAPES:
            for n in sizes:
                out = _measure(["distributed", shape, str(n), addr])
                raw, hw = out["raw"], out["hw"]
                print(
                    f"{shape:6} {n:>7,} | {raw:7.3f}s {hw:7.3f}s | {_ratio(hw, raw):>10} "
                    f"{(hw - raw) / n * 1e6:8.1f} us {out['connect'] * 1000:5.0f} ms",
                    flush=True,
                )
        if big_map:
            sched = psutil.Process(cluster.proc.pid)
            for mode in ("raw", "hw"):
                before = sched.memory_info().rss / 2**20
                peak = [before]
                done = threading.Event()

                def sample(peak: list[float] = peak, done: threading.Event = done) -> None:
                    while not done.wait(0.05):
                        peak[0] = max(peak[0], sched.memory_info().rss / 2**20)

                sampler = threading.Thread(target=sample, daemon=True)
                sampler.start()
                try:
                    out = _measure(["bigmap", str(big_map), addr, mode])
                finally:
                    done.set()
                    sampler.join()
                label = "headwater" if mode == "hw" else "raw client.map"
                print(
                    f"{big_map:,}-item map, {label:>14}: {out['run']:7.2f}s; scheduler process RSS "
                    f"{before:5.0f} MB before, peak {peak[0]:5.0f} MB; client process peak "
                    f"{out['peak_mb']:5.0f} MB",
                    flush=True,
                )
    finally:
        cluster.close()


def run_memory(sizes: dict[str, int], limit_gb: float | None) -> None:
    """Print the memory-bounded map table (``sizes``: N per executor)."""
    import psutil

    limit_mb = (limit_gb * 1024) if limit_gb else psutil.virtual_memory().total / 2**20 / 2
    print(
        "\nmemory: N items x 3 chained mapped steps of 1 MB values + reduce, "
        "flow.run(return_tasks=[reduce]); RSS of the process and its children"
    )
    header = (
        f"{'executor':34} {'N':>8} | {'time':>8} {'RSS before':>10} {'peak RSS':>9} {'N x 1 MB':>9}"
    )
    print(header)
    print("-" * len(header))
    for executor, label in MEMORY_EXECUTORS.items():
        n = sizes.get(executor)
        if not n:
            continue
        out = _measure(["memory", executor, str(n), str(limit_mb)])
        if "aborted_mb" in out:
            print(
                f"{label:34} {n:>8,} | aborted: RSS passed {out['aborted_mb']:,.0f} MB "
                f"(limit {limit_mb:,.0f} MB); N x 1 MB = {n * MB / 2**20:,.0f} MB",
                flush=True,
            )
            continue
        print(
            f"{label:34} {n:>8,} | {out['run']:7.1f}s {out['before_mb']:7.0f} MB "
            f"{out['peak_mb']:6.0f} MB {n * MB / 2**20:6,.0f} MB",
            flush=True,
        )


def memory_sizes(quick: bool, memory_n: int | None) -> dict[str, int]:
    """N per executor for the memory table."""
    if memory_n:
        return dict.fromkeys(MEMORY_EXECUTORS, memory_n)
    if quick:
        return dict.fromkeys(MEMORY_EXECUTORS, 2_000)
    return {"local": 100_000, "threads": 100_000, "processes": 10_000, "distributed": 10_000}


def run_all(
    quick: bool,
    sizes: list[int] | None,
    memory_n: int | None,
    limit_gb: float | None,
    big_map: int | None = None,
) -> None:
    """Run the three executor tables (what ``run.py`` calls)."""
    sizes = sizes or ([1_000] if quick else [1_000, 10_000])
    run_threads(sizes)
    run_distributed(sizes, _big_map(quick, big_map))
    run_memory(memory_sizes(quick, memory_n), limit_gb)


def _big_map(quick: bool, big_map: int | None) -> int | None:
    if big_map is None:
        return None if quick else 100_000
    return big_map or None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options this suite shares with ``run.py``."""
    parser.add_argument(
        "--memory-n",
        type=int,
        help="items in the memory benchmark, on every executor (default 100,000; 10,000 on "
        "process pools and the cluster; --quick 2,000)",
    )
    parser.add_argument(
        "--big-map",
        type=int,
        help="items in the big DaskExecutor map (default 100,000; skipped with --quick; 0: skip)",
    )
    parser.add_argument(
        "--memory-limit-gb",
        type=float,
        help="end a memory case past this RSS (default: half the RAM)",
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="headwater executor benchmarks")
    parser.add_argument("--quick", action="store_true", help="N = 1,000 only, memory N = 2,000")
    parser.add_argument("--sizes", type=int, nargs="*", help="override the N values")
    parser.add_argument(
        "--only", choices=("threads", "distributed", "memory"), help="run one table only"
    )
    add_arguments(parser)
    parser.add_argument("--case", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--serve-cluster", help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("HEADWATER__HISTORY__ENABLED", "false")  # history.py measures it
    if args.case:
        _child(args.case)
        return
    if args.serve_cluster:
        _serve_cluster(args.serve_cluster)
        return
    print(f"Python {sys.version.split()[0]} on {os.cpu_count()} cores")
    if args.only is None:
        run_all(args.quick, args.sizes, args.memory_n, args.memory_limit_gb, args.big_map)
        return
    sizes = args.sizes or ([1_000] if args.quick else [1_000, 10_000])
    if args.only == "threads":
        run_threads(sizes)
    elif args.only == "distributed":
        run_distributed(sizes, _big_map(args.quick, args.big_map))
    else:
        run_memory(memory_sizes(args.quick, args.memory_n), args.memory_limit_gb)


if __name__ == "__main__":
    main()
