"""What recording a run into the run history costs per task: history off beside history on.

One command, a printed table::

    python benchmarks/history.py           # N = 10,000 and 100,000
    python benchmarks/history.py --quick   # N = 10,000 only, fewer repeats

Each shape and N runs in a fresh interpreter, on ``LocalExecutor`` with log level WARNING,
alternating ``flow.run(history=False)`` and ``flow.run()`` into a SQLite file in a temporary
directory (the reference, history off, is measured in the same process and the same minute).
Shapes of N trivial tasks (``x + 1``):

- ``fan``: N independent tasks feeding one reduce (``sum``);
- ``map``: one task mapped over N items.

Columns, per task, each the best over the repeats (a garbage collection before each run):
``off`` and ``on`` are the wall time of ``flow.run()``; ``cost/task`` is the median, over the
repeats, of ``on - off`` measured back to back (the goal: at most 2 µs); ``off CPU``, ``on
CPU`` and ``CPU cost`` the same in CPU time of the whole process (the writer thread's
included), steadier than wall time on a busy machine; ``on+write``
is the wall time until the writer has also written the run's rows (``store.flush()``), which
happens after the run. The first run of each process is a warm-up (it records the flow's
row, once per graph).

A second table times the engine's report of one task run alone (``RunObservers.task_ran``,
best of 7 x 100,000 calls) with no observer, a no-op observer and the recorder: the
recorder's own share of the cost, which wall times of whole runs on a busy machine blur.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))


def inc(x: int) -> int:
    return x + 1


def total(xs: list[int]) -> int:
    return sum(xs)


def _timed(run: Any) -> tuple[float, float]:
    """(wall, CPU) seconds of ``run()``; CPU time is the whole process's, the writer's too."""
    gc.collect()
    w0, c0 = time.perf_counter(), time.process_time()
    assert run().is_successful()
    return time.perf_counter() - w0, time.process_time() - c0


def _child(shape: str, n: int, repeats: int) -> None:
    import logging

    from headwater import Flow, task
    from headwater.history import open_store
    from headwater.utilities.configuration import set_temporary_config
    from headwater.utilities.logging import get_logger

    get_logger().setLevel(logging.WARNING)
    t_inc, t_sum = task(inc), task(total)
    with Flow(f"bench-{shape}") as flow:
        if shape == "fan":
            t_sum([t_inc(i) for i in range(n)])
        else:
            t_inc.map(list(range(n)))
    db = os.path.join(tempfile.mkdtemp(), "history.db")
    store = open_store(db)
    best = dict.fromkeys(("off", "on", "off_cpu", "on_cpu", "write"), float("inf"))
    diffs: dict[str, list[float]] = {"cost": [], "cost_cpu": []}
    with set_temporary_config({"history.path": db, "flows.progress": False}):
        flow.run()  # warm-up: plans, caches, the flow's row
        store.flush(None)
        for _ in range(repeats):
            off, off_cpu = _timed(lambda: flow.run(history=False))
            best["off"], best["off_cpu"] = min(best["off"], off), min(best["off_cpu"], off_cpu)
            t0 = time.perf_counter()
            wall, cpu = _timed(flow.run)
            best["on"], best["on_cpu"] = min(best["on"], wall), min(best["on_cpu"], cpu)
            diffs["cost"].append(wall - off)
            diffs["cost_cpu"].append(cpu - off_cpu)
            store.flush(None)
            best["write"] = min(best["write"], time.perf_counter() - t0)
    rows = store.count_flow_runs()
    store.close()
    assert rows == repeats + 1, rows
    best.update({k: statistics.median(v) for k, v in diffs.items()})
    print(json.dumps({k: v / n * 1e6 for k, v in best.items()}))


def _hook_child() -> None:
    """What the engine's report of one task run costs: no observer, a no-op one, the recorder."""
    import timeit

    from headwater import task
    from headwater.engine.observers import RunObserver, RunObservers
    from headwater.engine.state import Success
    from headwater.history import HistoryRecorder

    class Noop(RunObserver):
        def task_run_finished(self, **kwargs: Any) -> None:
            pass

    recorder = HistoryRecorder(os.path.join(tempfile.mkdtemp(), "history.db"))
    t, state, calls = task(inc), Success("done"), 100_000
    out = {}
    for name, observers in (("none", []), ("no-op observer", [Noop()]), ("recorder", [recorder])):
        told = RunObservers(observers)
        told.run_id = "run"
        report = told.task_ran
        best = min(
            timeit.repeat(lambda: report(t, state, 3, 1.0, None), number=calls, repeat=7)  # noqa: B023
        )
        recorder.writer.queue.clear()  # what the recorder queued: no run to write it for
        out[name] = best / calls * 1e6
    print(json.dumps(out))


def _measure(shape: str, n: int, repeats: int) -> dict[str, float]:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", shape, str(n), str(repeats)],
        capture_output=True,
        text=True,
        check=False,
    )
    if proc.returncode != 0:
        raise SystemExit(proc.stderr)
    result: dict[str, float] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="N = 10,000 only, fewer repeats")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        if args.child[0] == "hook":
            _hook_child()
        else:
            _child(args.child[0], int(args.child[1]), int(args.child[2]))
        return
    sizes = (10_000,) if args.quick else (10_000, 100_000)
    print(
        f"{'shape':<6} {'N':>8} {'off µs':>8} {'on µs':>8} {'cost/task':>10} "
        f"{'off CPU':>8} {'on CPU':>8} {'CPU cost':>9} {'on+write':>9}"
    )
    for n in sizes:
        repeats = (7 if args.quick else 11) if n <= 10_000 else 5
        for shape in ("fan", "map"):
            r = _measure(shape, n, repeats)
            print(
                f"{shape:<6} {n:>8,} {r['off']:>8.2f} {r['on']:>8.2f} {r['cost']:>+10.2f} "
                f"{r['off_cpu']:>8.2f} {r['on_cpu']:>8.2f} {r['cost_cpu']:>+9.2f} "
                f"{r['write']:>9.2f}"
            )
    hooks = _measure("hook", 0, 0)
    print()
    print("the report of one task run alone (RunObservers.task_ran), µs per call:")
    for name, micros in hooks.items():
        print(f"  {name:<16} {micros:>6.3f}   (+{micros - hooks['none']:.3f})")


if __name__ == "__main__":
    sys.path.insert(0, os.path.join(HERE, "..", "src"))
    main()
