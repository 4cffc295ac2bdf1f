"""headwater reliability figures: faults survived, load held, bad inputs named, secrets searched.

One command, printed tables (the figures of docs/reliability.md)::

    python benchmarks/reliability.py            # everything (load at N = 100,000)
    python benchmarks/reliability.py --quick    # load at N = 10,000; one SIGKILL round

Every scenario runs in a fresh interpreter (``reliability_scenarios.py``) under a deadline, so a
hang is reported as ``hang`` instead of stopping the table. The ``cluster`` column runs on a
real two-worker ``distributed.LocalCluster`` on loopback started by this script.

- **faults**: each cell is ``ok`` when the run ended with the state it should (the faulty task
  ``Failed``/``TimedOut``, every other task's state present and finished, the handler or callback
  named in the message), ``FAIL`` with the reason otherwise, ``hang`` past the deadline.
- **interrupts**: SIGINT during a long task: seconds until the process exits and the children
  left alive; SIGKILL during large checkpoint writes: result files that do not load afterwards
  and temporary files left once the directory is written again.
- **load**: one run of a 100,000-task chain, fan-in and map on ``LocalExecutor``: time (build and
  run) and peak resident memory.
- **bad input**: the cases of ``tests/test_bad_input.py`` (each a call that must raise at once
  with a message naming the culprit), counted by running each one here.
- **secrets**: a marker secret through a cached, checkpointed task, DEBUG logs, the state's repr
  and HTML and a notifier error; every file written is searched for it.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
SCENARIOS = HERE / "reliability_scenarios.py"
EXECUTORS = ("local", "threads", "processes", "cluster")
DEADLINE = 120.0
EXIT_DEADLINE = 30.0  # seconds from start to exit of one fault scenario's interpreter

FAULTS: list[tuple[str, tuple[str, ...]]] = [
    ("base-exception:custom", EXECUTORS),
    ("base-exception:GeneratorExit", EXECUTORS),
    ("base-exception:SystemExit", EXECUTORS),
    ("base-exception:CancelledError", EXECUTORS),
    ("handler:signal", EXECUTORS),
    ("handler:junk", EXECUTORS),
    ("handler:raises", EXECUTORS),
    ("handler:on_failure", EXECUTORS),
    ("flow-handler:junk", ("local",)),
    ("flow-handler:raises", ("local",)),
    ("callback:validator", EXECUTORS),
    ("callback:target", EXECUTORS),
    ("callback:task_run_name", EXECUTORS),
    ("callback:trigger", EXECUTORS),
    ("timeout", EXECUTORS),
    ("worker-kill", ("processes", "cluster")),
    ("bad-address", ("local",)),
]


def run_scenario(name: str, kind: str, address: str, deadline: float = DEADLINE) -> dict[str, Any]:
    """One scenario in a fresh interpreter; ``hang`` when it outlives ``deadline``."""
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, str(SCENARIOS), name, kind, address],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=deadline)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return {"ok": False, "cell": "hang", "detail": f"no exit after {deadline:.0f} s"}
    took = time.monotonic() - t0
    lines = [line for line in out.splitlines() if line.startswith("{")]
    if not lines:
        tail = err.strip().splitlines()[-1:] or ["no output"]
        return {"ok": False, "cell": "FAIL", "detail": f"exit {proc.returncode}: {tail[0]}"}
    verdict: dict[str, Any] = json.loads(lines[-1])
    verdict["exit_s"] = took
    verdict["cell"] = "ok" if verdict["ok"] else "FAIL"
    return verdict


def start_cluster() -> Any:
    from distributed import LocalCluster

    return LocalCluster(
        n_workers=2,
        threads_per_worker=2,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    )


def faults(address: str) -> tuple[int, int, list[str]]:
    print("\n## faults (fresh interpreter per cell)\n")
    print(f"| scenario | {' | '.join(EXECUTORS)} |")
    print(f"|---|{'---|' * len(EXECUTORS)}")
    total = good = 0
    failures: list[str] = []
    for name, kinds in FAULTS:
        cells = []
        for kind in EXECUTORS:
            if kind not in kinds:
                cells.append("n/a")
                continue
            verdict = run_scenario(name, kind, address)
            if verdict["ok"] and verdict.get("exit_s", 0) > EXIT_DEADLINE:
                # the run ended as it should, but the process took too long to exit after it
                verdict.update(ok=False, cell="FAIL", detail=f"exit took {verdict['exit_s']:.0f} s")
            total += 1
            good += verdict["ok"]
            cells.append(verdict["cell"])
            if not verdict["ok"]:
                failures.append(f"{name} on {kind}: {verdict['detail'][:200]}")
        print(f"| {name} | {' | '.join(cells)} |", flush=True)
    return good, total, failures


_SIGINT_SCRIPT = """
import sys, time
from pathlib import Path
from headwater import Flow, task
from headwater.executors import LocalExecutor, LocalDaskExecutor

marker = Path(sys.argv[1])

@task
def long_task():
    marker.write_text("started")
    time.sleep(120)

with Flow("sigint") as flow:
    long_task()
kind = sys.argv[2]
executor = LocalExecutor() if kind == "local" else LocalDaskExecutor(kind, num_workers=2)
try:
    flow.run(executor=executor)
except KeyboardInterrupt:
    print("interrupted", flush=True)
"""


def sigint(kind: str) -> tuple[bool, str]:
    import psutil

    with tempfile.TemporaryDirectory() as tmp:
        marker = Path(tmp) / "started"
        script = Path(tmp) / "sigint.py"
        script.write_text(_SIGINT_SCRIPT)
        proc = subprocess.Popen(
            [sys.executable, str(script), str(marker), kind],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            # a shell's background job inherits SIGINT ignored; Python then never raises
            # KeyboardInterrupt, so give the child the default disposition back
            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
        )
        deadline = time.monotonic() + 60
        while not marker.exists() and time.monotonic() < deadline:
            time.sleep(0.02)
        children = psutil.Process(proc.pid).children(recursive=True)
        t0 = time.monotonic()
        proc.send_signal(signal.SIGINT)
        try:
            out, _ = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
            return False, "no exit 30 s after SIGINT"
        took = time.monotonic() - t0
        time.sleep(0.5)
        alive = [c.pid for c in children if c.is_running() and c.status() != "zombie"]
        ok = "interrupted" in out and not alive
        return ok, f"exit {took:.2f} s after SIGINT, children alive: {len(alive)}"


_WRITER_SCRIPT = """
import sys
from headwater import Flow, task
from headwater.engine.results import LocalResult

@task(checkpoint=True, result=LocalResult(dir=sys.argv[1], location="{task_name}-{map_index}.bin"))
def big(i):
    return bytes([i % 256]) * (40 * 1024 * 1024)

with Flow("writer") as flow:
    big.map(list(range(int(sys.argv[2]))))
flow.run(context={"checkpointing": True})
"""


def sigkill_writes(rounds: int) -> tuple[bool, str]:
    import cloudpickle

    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "results"
        script = Path(tmp) / "writer.py"
        script.write_text(_WRITER_SCRIPT)
        env = {**os.environ, "HEADWATER__FLOWS__CHECKPOINTING": "true"}
        for i in range(rounds):
            proc = subprocess.Popen([sys.executable, str(script), str(out), "50"], env=env)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                if out.exists() and len(list(out.iterdir())) > i + 1:
                    break
                time.sleep(0.01)
            time.sleep(0.05 * (i % 4))
            proc.kill()
            proc.wait()
        torn = 0
        for path in out.iterdir():
            if not path.name.startswith("."):
                try:
                    cloudpickle.loads(path.read_bytes())
                except Exception:
                    torn += 1
        stale_before = len([p for p in out.iterdir() if p.name.startswith(".")])
        for path in out.iterdir():  # make every temporary file look older than any run
            os.utime(path, (time.time() - 86400, time.time() - 86400))
        subprocess.run([sys.executable, str(script), str(out), "1"], env=env, check=True)
        stale_after = len([p for p in out.iterdir() if p.name.startswith(".")])
        ok = torn == 0 and stale_after == 0
        return ok, (
            f"{rounds} kills: {torn} torn result files, {stale_before} temporary files left, "
            f"{stale_after} after the next write"
        )


def interrupts(quick: bool) -> tuple[int, int, list[str]]:
    print("\n## interrupts\n")
    print("| fault | executor | outcome | detail |")
    print("|---|---|---|---|")
    good = total = 0
    failures: list[str] = []
    for kind in ("local", "threads", "processes"):
        ok, detail = sigint(kind)
        total += 1
        good += ok
        print(
            f"| SIGINT during a task | {kind} | {'ok' if ok else 'FAIL'} | {detail} |", flush=True
        )
        if not ok:
            failures.append(f"SIGINT on {kind}: {detail}")
    ok, detail = sigkill_writes(3 if quick else 14)
    total += 1
    good += ok
    print(f"| SIGKILL mid-write | local | {'ok' if ok else 'FAIL'} | {detail} |", flush=True)
    if not ok:
        failures.append(f"SIGKILL mid-write: {detail}")
    return good, total, failures


def load(n: int) -> None:
    print(f"\n## load (LocalExecutor, N = {n:,}, build + run, one fresh interpreter each)\n")
    print("| shape | outcome | time s | peak MB |")
    print("|---|---|---|---|")
    for shape in ("chain", "fan", "map"):
        v = run_scenario(f"load:{shape},{n}", "local", "", deadline=600)
        took = f"{v['took']:.2f}" if "took" in v else "-"
        peak = f"{v['peak_mb']:.0f}" if "peak_mb" in v else "-"
        print(f"| {shape} | {v['cell']} | {took} | {peak} |", flush=True)


def bad_inputs() -> tuple[int, int, list[str]]:
    """Run every case of tests/test_bad_input.py: does it fail clearly, naming the culprit?

    ``BAD_INPUTS`` must raise at the call with the documented type; ``RUN_FAILURES`` must end
    the run ``Failed`` with a message naming the callback, path or setting.
    """
    import importlib
    import inspect

    import pytest

    sys.path.insert(0, str(HERE.parent / "tests"))
    module = importlib.import_module("test_bad_input")
    good = total = 0
    failures: list[str] = []
    for case in module.BAD_INPUTS:
        total += 1
        try:
            case.call()
        except case.exc as exc:
            if all(word in str(exc) for word in case.words):
                good += 1
                continue
            failures.append(f"{case.id}: message {str(exc)[:120]!r} does not name {case.words}")
        except BaseException as exc:
            failures.append(f"{case.id}: raised {type(exc).__name__}, not {case.exc.__name__}")
        else:
            failures.append(f"{case.id}: accepted")
    for case in module.RUN_FAILURES:
        total += 1
        with tempfile.TemporaryDirectory() as tmp, pytest.MonkeyPatch.context() as mp:
            wants = "monkeypatch" in inspect.signature(case.call).parameters
            try:
                message = case.call(Path(tmp), mp) if wants else case.call(Path(tmp))
            except BaseException as exc:
                failures.append(f"{case.id}: flow.run raised {type(exc).__name__}")
                continue
        if all(word in message for word in case.words) and "cannot be pickled" not in message:
            good += 1
        else:
            failures.append(f"{case.id}: message {message[:120]!r} does not name {case.words}")
    print("\n## bad input\n")
    print(
        f"{good} of {total} bad inputs fail at once (or end the run Failed) with a message "
        "naming the culprit"
    )
    return good, total, failures


def secrets(address: str) -> tuple[int, int, list[str]]:
    print("\n## secrets\n")
    print("| executor | outcome | detail |")
    print("|---|---|---|")
    good = total = 0
    failures: list[str] = []
    for kind in EXECUTORS:
        v = run_scenario("secrets", kind, address)
        total += 1
        good += v["ok"]
        print(f"| {kind} | {v['cell']} | {v['detail'][:160]} |", flush=True)
        if not v["ok"]:
            failures.append(f"secrets on {kind}: {v['detail']}")
    return good, total, failures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="load at N = 10,000, fewer kills")
    args = parser.parse_args()
    print(f"# headwater reliability — Python {sys.version.split()[0]}, {os.cpu_count()} cores")
    cluster = start_cluster()
    try:
        address = cluster.scheduler_address
        results = [faults(address), interrupts(args.quick), secrets(address)]
    finally:
        cluster.close()
    results.append(bad_inputs())
    load(10_000 if args.quick else 100_000)
    good = sum(r[0] for r in results)
    total = sum(r[1] for r in results)
    print(f"\n{good} of {total} scenarios end as they should")
    for line in (f for r in results for f in r[2]):
        print(f"- {line}")


if __name__ == "__main__":
    main()
