"""headwater on dask executors, against raw dask on the same graphs, plus memory-bounded maps.

Run it on its own, or through ``run.py`` (``python benchmarks/run.py --executors``; the full
``python benchmarks/run.py`` runs it after the LocalExecutor table)::

    python benchmarks/executors.py                 # N = 1,000 / 10,000, 100,000-item map,
                                                   # memory benchmark at N = 100,000
    python benchmarks/executors.py --quick         # N = 1,000 only, memory benchmark at 2,000
    python benchmarks/executors.py --memory-n 5000 # choose the memory benchmark's N

Three tables:

1. **threads** — headwater ``flow.run(executor=LocalDaskExecutor("threads"))`` against
   ``dask.threaded.get(graph_dict, keys)`` on the same graph written as a plain dask graph dict
   (the dict ``dask.delayed`` builds underneath). Both use dask's default thread count (the number
   of cores). Shapes ``chain``, ``fan``, ``map`` of N trivial ``x + 1`` tasks, as in ``run.py``.
2. **distributed** — headwater ``flow.run(executor=DaskExecutor(address))`` against raw
   ``client.submit`` (chain, and the reduce of fan) / ``client.map`` (fan, map) followed by
   ``client.gather``/``result()``, on one ``LocalCluster`` of 2 single-threaded worker processes
   started once for the whole table in a separate process (which therefore is the scheduler's
   process). headwater's time includes connecting its own ``Client`` (``connect`` column); the raw
   side reuses a client connected before timing. Then one 100,000-item map on the same cluster,
   with the scheduler process's peak RSS sampled with psutil.
3. **memory** — a map of N items through three chained mapped steps (build ``bytes(1_000_000)``,
   copy it, take its length) and a final reduce of the lengths, run with
   ``flow.run(return_tasks=[reduce])`` on ``LocalExecutor`` and ``LocalDaskExecutor("threads")``;
   peak RSS of that process next to ``N x 1 MB``. A watchdog ends a case whose RSS passes
   ``--memory-limit-gb`` (default: half the machine's memory) instead of exhausting the machine.

Every case runs in a fresh interpreter (``--case``), so its peak memory is its own. Times are the
best of 3 repeats (1 at N >= 100,000; on the cluster, 1 at N >= 10,000). Ratios are
``headwater / raw`` (target: at most 1.5).
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


def _best(fn: Any, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


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


# -- one case, in a child process ------------------------------------------------------------------
def _case_threads(shape: str, n: int, mode: str) -> dict:
    repeats = 1 if n >= 100_000 else 3
    if mode == "raw":
        import dask.threaded

        dsk, keys = _graph_dict(shape, n)
        return {"run": _best(lambda: dask.threaded.get(dsk, keys), repeats)}
    from run import _build

    from headwater.executors import LocalDaskExecutor

    _quiet_headwater()
    flow = _build(shape, n)

    def go() -> None:
        state = flow.run(executor=LocalDaskExecutor("threads"))
        assert state.is_successful(), state

    return {"run": _best(go, repeats), "peak_mb": _peak_rss_mb()}


def _case_distributed(shape: str, n: int, mode: str, address: str) -> dict:
    from distributed import Client

    repeats = 1 if n >= 10_000 else 3
    if mode == "connect":

        def connect() -> None:
            Client(address, set_as_default=False).close()

        return {"run": _best(connect, 3)}
    if mode == "raw":
        from run import _total, inc

        client = Client(address, set_as_default=False)

        def go() -> None:
            if shape == "chain":
                f = client.submit(inc, 0, pure=False)
                for _ in range(n - 1):
                    f = client.submit(inc, f, pure=False)
                f.result()
            elif shape == "fan":
                client.submit(_total, client.map(inc, range(n), pure=False), pure=False).result()
            else:
                client.gather(client.map(inc, range(n), pure=False))

        try:
            return {"run": _best(go, repeats), "peak_mb": _peak_rss_mb()}
        finally:
            client.close()
    from run import _build

    from headwater.executors import DaskExecutor

    _quiet_headwater()
    flow = _build(shape, n)

    def run_flow() -> None:
        state = flow.run(executor=DaskExecutor(address=address))
        assert state.is_successful(), state

    return {"run": _best(run_flow, repeats), "peak_mb": _peak_rss_mb()}


def _case_memory(executor: str, n: int, limit_mb: float) -> dict:
    import psutil

    proc = psutil.Process()

    def watchdog() -> None:
        while True:
            rss = proc.memory_info().rss / 2**20
            if rss > limit_mb:
                print(json.dumps({"aborted_mb": rss}), flush=True)
                os._exit(3)
            time.sleep(0.05)

    threading.Thread(target=watchdog, daemon=True).start()
    from headwater import Flow, task

    _quiet_headwater()
    with Flow("bench-memory") as flow:
        items = task(make_item).map(list(range(n)))
        copies = task(copy_item).map(items)
        sizes = task(size_of).map(copies)
        total = task(total_size)(sizes)
    kwargs: dict[str, Any] = {"return_tasks": [total]}
    if executor == "threads":
        from headwater.executors import LocalDaskExecutor

        kwargs["executor"] = LocalDaskExecutor("threads")
    t0 = time.perf_counter()
    state = flow.run(**kwargs)
    elapsed = time.perf_counter() - t0
    assert state.is_successful(), state
    value = state.result[total].result
    assert value == n * MB, value
    return {"run": elapsed, "peak_mb": _peak_rss_mb()}


def _child(case: list[str]) -> None:
    kind, rest = case[0], case[1:]
    if kind == "threads":
        out = _case_threads(rest[0], int(rest[1]), rest[2])
    elif kind == "distributed":
        out = _case_distributed(rest[0], int(rest[1]), rest[2], rest[3])
    elif kind == "memory":
        out = _case_memory(rest[0], int(rest[1]), float(rest[2]))
    else:
        raise SystemExit(f"unknown case {case}")
    print(json.dumps(out), flush=True)


def _serve_cluster(address_file: str) -> None:
    """Start the LocalCluster, write its address, and keep it up until stdin closes."""
    import logging

    from distributed import LocalCluster

    cluster = LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.ERROR,
    )
    tmp = address_file + ".tmp"
    with open(tmp, "w") as f:
        f.write(cluster.scheduler_address)
    os.replace(tmp, address_file)
    sys.stdin.read()
    cluster.close()


# -- the parent ------------------------------------------------------------------------------------
def _measure(case: list[str], env: dict[str, str] | None = None) -> dict:
    cmd = [sys.executable, os.path.join(HERE, "executors.py"), "--case", *case]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
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
        env = dict(os.environ)
        # the workers import the benchmark's task functions from run.py, like user code
        env["PYTHONPATH"] = os.pathsep.join([HERE, *filter(None, [env.get("PYTHONPATH")])])
        # task logging at WARNING in the workers, as in the client (and run.py's ``hw`` column)
        env["HEADWATER__LOGGING__LEVEL"] = "WARNING"
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "executors.py"), "--serve-cluster", path],
            stdin=subprocess.PIPE,
            env=env,
        )
        deadline = time.monotonic() + 120
        while not os.path.exists(path):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the LocalCluster process did not start")
            time.sleep(0.1)
        with open(path) as f:
            self.address = f.read().strip()

    def rss_mb(self) -> float:
        import psutil

        return psutil.Process(self.proc.pid).memory_info().rss / 2**20

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._dir.cleanup()


def _ratio(hw: float, raw: float) -> str:
    r = hw / raw
    return f"{r:5.2f}x {'ok' if r <= 1.5 else 'MISS'}"


def run_threads(sizes: list[int]) -> None:
    """Print the LocalDaskExecutor("threads") table."""
    print('\nheadwater on LocalDaskExecutor("threads") vs dask.threaded.get on the graph dict')
    header = (
        f"{'shape':6} {'N':>8} | {'raw dask':>9} {'hw':>9} | {'hw/raw':>9} {'us/task hw-raw':>15}"
    )
    print(header)
    print("-" * len(header))
    for shape in SHAPES:
        for n in sizes:
            raw = _measure(["threads", shape, str(n), "raw"])["run"]
            hw = _measure(["threads", shape, str(n), "hw"])["run"]
            print(
                f"{shape:6} {n:>8,} | {raw:8.3f}s {hw:8.3f}s | {_ratio(hw, raw):>9} "
                f"{(hw - raw) / n * 1e6:12.1f} us",
                flush=True,
            )


def run_distributed(sizes: list[int], big_map: int | None) -> None:
    """Print the DaskExecutor table (and the big map) on one LocalCluster."""
    import psutil

    cluster = _Cluster()
    try:
        addr = cluster.address
        connect = _measure(["distributed", "map", "0", "connect", addr])["run"]
        print(
            "\nheadwater on DaskExecutor(address) vs raw client.submit/client.map, one LocalCluster "
            "(2 worker processes x 1 thread)"
        )
        print(f"Client connect + close (part of every headwater run): {connect * 1000:.0f} ms")
        header = f"{'shape':6} {'N':>8} | {'raw dask':>9} {'hw':>9} | {'hw/raw':>9} {'us/task hw-raw':>15}"
        print(header)
        print("-" * len(header))
        cases = [(s, n) for s in SHAPES for n in sizes]
        for shape, n in cases:
            raw = _measure(["distributed", shape, str(n), "raw", addr])["run"]
            hw = _measure(["distributed", shape, str(n), "hw", addr])["run"]
            print(
                f"{shape:6} {n:>8,} | {raw:8.3f}s {hw:8.3f}s | {_ratio(hw, raw):>9} "
                f"{(hw - raw) / n * 1e6:12.1f} us",
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
                    out = _measure(["distributed", "map", str(big_map), mode, addr])
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


def run_memory(n: int, limit_gb: float | None) -> None:
    """Print the memory-bounded map table."""
    import psutil

    limit_mb = (limit_gb * 1024) if limit_gb else psutil.virtual_memory().total / 2**20 / 2
    print(
        f"\nmemory: {n:,} items x 3 chained mapped steps of 1 MB values + reduce, "
        "flow.run(return_tasks=[reduce])"
    )
    header = f"{'executor':28} {'N':>8} | {'time':>8} {'peak RSS':>11} {'N x 1 MB':>11}"
    print(header)
    print("-" * len(header))
    for executor, label in (
        ("local", "LocalExecutor"),
        ("threads", 'LocalDaskExecutor("threads")'),
    ):
        out = _measure(["memory", executor, str(n), str(limit_mb)])
        if "aborted_mb" in out:
            print(
                f"{label:28} {n:>8,} | aborted: RSS passed {out['aborted_mb']:,.0f} MB "
                f"(limit {limit_mb:,.0f} MB); N x 1 MB = {n * MB / 2**20:,.0f} MB",
                flush=True,
            )
            continue
        print(
            f"{label:28} {n:>8,} | {out['run']:7.1f}s {out['peak_mb']:7.0f} MiB "
            f"{n * MB / 2**20:7,.0f} MiB",
            flush=True,
        )


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
    run_memory(memory_n or (2_000 if quick else 100_000), limit_gb)


def _big_map(quick: bool, big_map: int | None) -> int | None:
    if big_map is None:
        return None if quick else 100_000
    return big_map or None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The options this suite shares with ``run.py``."""
    parser.add_argument(
        "--memory-n",
        type=int,
        help="items in the memory benchmark (default 100,000; --quick 2,000)",
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
        run_memory(args.memory_n or (2_000 if args.quick else 100_000), args.memory_limit_gb)


if __name__ == "__main__":
    main()
