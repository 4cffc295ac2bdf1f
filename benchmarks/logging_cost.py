"""What headwater's default logging costs per task, beside the same runs at WARNING.

Run it on its own (one command, prints a table)::

    python benchmarks/logging_cost.py                # N = 10,000, chain and fan
    python benchmarks/logging_cost.py --quick        # N = 2,000, one interpreter per case
    python benchmarks/logging_cost.py --profile chain  # cProfile of one INFO run, top 25
    python benchmarks/logging_cost.py --clock wall   # wall-clock time instead of CPU time
    python benchmarks/logging_cost.py --history      # with the run history on, as by default

Each case runs in fresh interpreters (``--processes``, default 3; best of three runs in each),
on the graphs of ``run.py`` (``chain``: each task takes the previous one's result; ``fan``: N
independent tasks feeding one reduce), with ``LocalExecutor`` and the run history off
(``history.enabled``: it records every task run, a cost of its own; ``--history`` keeps it on).
Times are the CPU time of the process during ``flow.run()`` (user + system, so writing the
lines counts): ``LocalExecutor`` runs every task in the calling thread, and on a shared machine
CPU time leaves out the time the process waits for a core, which wall-clock time
(``--clock wall``) includes. Columns:

- ``bare``: plain Python calling the same function in the same shape (reference);
- ``WARNING``: ``flow.run()`` with the ``"headwater"`` logger at WARNING (nothing is printed);
- ``INFO``: the default configuration, untouched: level INFO, headwater's own handler and
  format, writing to the process's stderr, which is a real file here (the child's stderr is
  redirected to a temporary file, so every line is formatted and written as in a terminal);
- ``DEBUG``: the same at DEBUG, which adds two lines per task run (its start and its final
  state: Prefect 1's two INFO lines per task) — the price of a line per task;
- ``engine/task``: ``(WARNING - bare) / N``;
- ``INFO/task``: ``(INFO - bare) / N``, the total per task at the default level (goal: at
  most 15 us);
- ``logging/task``: ``(INFO - WARNING) / N``, the share of logging alone;
- ``DEBUG/task``: ``(DEBUG - bare) / N``;
- ``lines``: the lines written per run at INFO and at DEBUG.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
SHAPES = ("chain", "fan")
GOAL_US = 15.0


def _bare(shape: str, n: int, clock: Any) -> float:
    """Plain Python calling ``inc`` in the same shape (as ``run.py``), timed with ``clock``."""
    from run import inc

    t0 = clock()
    if shape == "chain":
        x = 0
        for _ in range(n):
            x = inc(x)
    else:
        sum([inc(i) for i in range(n)])
    return float(clock() - t0)


def _child(shape: str, n: int, mode: str, clock_name: str) -> dict[str, float]:
    """One case in this interpreter: the best of three runs."""
    sys.path.insert(0, HERE)
    from run import _build

    clock = time.process_time if clock_name == "cpu" else time.perf_counter
    if mode == "bare":
        return {"run": min(_bare(shape, n, clock) for _ in range(3))}
    from headwater.utilities.logging import get_logger

    if mode == "warning":
        get_logger().setLevel("WARNING")
    flow = _build(shape, n)
    best = float("inf")
    for _ in range(3):
        t0 = clock()
        state = flow.run()
        best = min(best, clock() - t0)
        assert state.is_successful(), state
    return {"run": best}


def _measure(
    shape: str, n: int, mode: str, processes: int, clock: str, history: bool = False
) -> dict[str, float]:
    """Best time over ``processes`` fresh interpreters, and the lines written per run."""
    best: dict[str, float] = {}
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER__LOGGING__")}
    if not history:  # the run history's cost per task is its own, not logging's
        env["HEADWATER__HISTORY__ENABLED"] = "false"
    if mode == "debug":
        env["HEADWATER__LOGGING__LEVEL"] = "DEBUG"
    for _ in range(processes):
        with tempfile.TemporaryFile("w+") as err:
            proc = subprocess.run(
                [sys.executable, __file__, "--clock", clock, "--case", shape, str(n), mode],
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
                env=env,
            )
            err.seek(0)
            lines = sum(1 for _ in err) / 3
            if proc.returncode != 0:
                err.seek(0)
                raise RuntimeError(f"{shape} N={n} {mode} failed:\n{err.read()[-3000:]}")
        one = json.loads(proc.stdout.strip().splitlines()[-1])
        best["run"] = min(best.get("run", one["run"]), one["run"])
        best["lines"] = lines
    return best


def _table(n: int, processes: int, clock: str, history: bool) -> None:
    us = 1e6
    what = "CPU time" if clock == "cpu" else "wall-clock time"
    print(
        f"Python {sys.version.split()[0]} on {os.cpu_count()} cores; N = {n:,}; {what}; "
        f"run history {'on' if history else 'off'}"
    )
    header = (
        f"{'shape':6} | {'bare':>7} {'WARNING':>8} {'INFO':>8} {'DEBUG':>8} | "
        f"{'engine/task':>11} {'INFO/task':>9} {'logging/task':>12} {'DEBUG/task':>10} | "
        f"{'lines INFO/DEBUG':>16}"
    )
    print(header)
    print("-" * len(header))
    for shape in SHAPES:
        bare = _measure(shape, n, "bare", processes, clock, history)["run"]
        # the levels take turns, so a change in the machine's load hits them alike
        best = {"warning": float("inf"), "info": float("inf"), "debug": float("inf")}
        lines = {}
        for _ in range(processes):
            for mode in best:
                one = _measure(shape, n, mode, 1, clock, history)
                best[mode], lines[mode] = min(best[mode], one["run"]), one["lines"]
        warn, info, debug = (best[m] for m in ("warning", "info", "debug"))
        per = {m: (v - bare) / n * us for m, v in best.items()}
        print(
            f"{shape:6} | {bare:6.3f}s {warn:7.3f}s {info:7.3f}s {debug:7.3f}s | "
            f"{per['warning']:8.1f} us {per['info']:6.1f} us "
            f"{per['info'] - per['warning']:9.1f} us {per['debug']:7.1f} us | "
            f"{lines['info']:>7,.0f}/{lines['debug']:,.0f}"
        )
    print(f"\ngoal: INFO/task <= {GOAL_US:.0f} us")


def _profile(shape: str, n: int) -> None:
    """cProfile of one INFO run (its lines go to a temporary file), the top 25 by own time."""
    import cProfile
    import pstats

    sys.path.insert(0, HERE)
    from run import _build

    with tempfile.TemporaryFile("w") as sink:
        sys.stderr = sink
        from headwater.utilities.logging import get_logger

        get_logger()
        flow = _build(shape, n)
        flow.run()
        profiler = cProfile.Profile()
        profiler.enable()
        flow.run()
        profiler.disable()
        sys.stderr = sys.__stderr__
    pstats.Stats(profiler).sort_stats("tottime").print_stats(25)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 2,000, one interpreter")
    parser.add_argument("--n", type=int, help="the number of tasks (default 10,000)")
    parser.add_argument("--processes", type=int, help="fresh interpreters per case (default 3)")
    parser.add_argument("--profile", choices=SHAPES, help="profile one INFO run of this shape")
    parser.add_argument(
        "--clock", choices=("cpu", "wall"), default="cpu", help="what is timed (default cpu)"
    )
    parser.add_argument(
        "--history", action="store_true", help="keep the run history on (history.enabled)"
    )
    parser.add_argument("--case", nargs=3, metavar=("SHAPE", "N", "MODE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        shape, n, mode = args.case
        print(json.dumps(_child(shape, int(n), mode, args.clock)))
        return
    n = args.n or (2_000 if args.quick else 10_000)
    if args.profile:
        _profile(args.profile, n)
        return
    _table(n, args.processes or (1 if args.quick else 3), args.clock, args.history)


if __name__ == "__main__":
    main()
