"""Speed of the @flow API: task calls, submits, empty flows, first result, a large map.

One command, one table::

    python benchmarks/modern.py           # full sizes
    python benchmarks/modern.py --quick   # smaller N (a minute on a loaded machine)

Rows (each measured in a fresh interpreter, best of ``--repeat`` runs):

- ``plain call``: a plain Python function call (the reference);
- ``task in @flow``: a task called inside a running ``@flow``; engine time is the time per
  call minus the plain call's;
- ``.submit() (thread pool)``: the time ``task.submit()`` takes to return, and the whole run
  per task (submit, run on the pool, ``result()``);
- ``empty @flow call``: calling a ``@flow`` whose body does nothing;
- ``first flow result``: a fresh interpreter importing headwater and calling a one-task flow,
  minus a bare interpreter's start-up (headwater's own time);
- ``.map over N``: one ``.map`` over N items on the thread pool, and the process's peak memory.

headwater's bytecode is written before measuring, as installing it does. Times are CPU time
(``time.process_time``; ``time.thread_time`` of the submitting thread for
``.submit()``; the children's user + system time for fresh interpreters), not wall-clock time:
on a shared, loaded machine the wall clock also counts the time spent waiting for a core.
Two columns: with the run history recording every run (the default) and without it
(``HEADWATER__HISTORY__ENABLED=false``: the engine alone).

Prefect 3 is measured in the same run when it is installed (``import prefect`` gives 3.x).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import subprocess
import sys
import textwrap

TARGETS = {
    "task in @flow": ("us", 15.0),
    ".submit() (thread pool)": ("us", 60.0),
    "empty @flow call": ("us", 200.0),
    "first flow result": ("ms", 100.0),
    ".map over N": ("peak MB", 500.0),
}

CASES = {
    "plain": """
def inc(x):
    return x + 1
t = time.process_time()
for i in range(N):
    inc(i)
out = {"per": (time.process_time() - t) / N}
""",
    "task": """
from {pkg} import flow, task
@task
def inc(x):
    return x + 1
@flow
def main():
    t = time.process_time()
    for i in range(N):
        inc(i)
    return (time.process_time() - t) / N
main()
out = {"per": main()}
""",
    "submit": """
from {pkg} import flow, task
@task
def inc(x):
    return x + 1
@flow
def main():
    t, w = time.thread_time(), time.process_time()
    futures = [inc.submit(i) for i in range(N)]
    submitted = time.thread_time() - t
    [f.result() for f in futures]
    return submitted / N, (time.process_time() - w) / N
main()
submit, whole = main()
out = {"per": submit, "whole": whole}
""",
    "empty": """
from {pkg} import flow
@flow
def empty():
    pass
empty()
t = time.process_time()
for _ in range(N):
    empty()
out = {"per": (time.process_time() - t) / N}
""",
    "map": """
import resource
from {pkg} import flow, task
@task
def inc(x):
    return x + 1
@flow
def main():
    return len(inc.map(range(N)).result())
t = time.process_time()
assert main() == N
out = {"per": (time.process_time() - t) / N,
       "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
""",
}

FIRST = """
from {pkg} import flow, task
@task
def one():
    return 1
@flow
def first():
    return one()
assert first() == 1
"""


def _env(history: bool) -> dict[str, str]:
    env = dict(os.environ)
    if not history:
        env["HEADWATER__HISTORY__ENABLED"] = "false"
    return env


def _run(code: str, pkg: str, n: int, history: bool = True) -> dict[str, float]:
    body = textwrap.dedent(code).replace("{pkg}", pkg)
    script = f"import json, time\nN = {n}\n{body}\nprint(json.dumps(out))\n"
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, env=_env(history)
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _best(code: str, pkg: str, n: int, repeat: int, history: bool) -> dict[str, float]:
    runs = [_run(code, pkg, n, history) for _ in range(repeat)]
    return min(runs, key=lambda r: r["per"])


def _startup(code: str, repeat: int, history: bool = True) -> float:
    """The least CPU time (user + system) a fresh interpreter running ``code`` takes."""
    best = float("inf")
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        subprocess.run(
            [sys.executable, "-c", code], check=True, capture_output=True, env=_env(history)
        )
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
        best = min(best, cpu)
    return best


def _prefect3() -> bool:
    if importlib.util.find_spec("prefect") is None:
        return False
    out = subprocess.run(
        [sys.executable, "-c", "import prefect; print(prefect.__version__)"],
        capture_output=True,
        text=True,
    )
    return out.returncode == 0 and out.stdout.strip().startswith("3.")


Row = tuple[float, str]


def measure(pkg: str, sizes: dict[str, int], repeat: int, history: bool) -> dict[str, Row]:
    """The rows for package ``pkg`` (``headwater`` or ``prefect``)."""
    plain = _best(CASES["plain"], pkg, sizes["task"], repeat, history)["per"]
    task = _best(CASES["task"], pkg, sizes["task"], repeat, history)["per"]
    submit = _best(CASES["submit"], pkg, sizes["submit"], repeat, history)
    empty = _best(CASES["empty"], pkg, sizes["empty"], repeat, history)["per"]
    bare = _startup("pass", repeat + 2)
    first = _startup(FIRST.replace("{pkg}", pkg), repeat + 2, history) - bare
    mapped = _best(CASES["map"], pkg, sizes["map"], 1, history)
    return {
        "plain call": (plain * 1e6, f"{plain * 1e9:.0f} ns"),
        "task in @flow": ((task - plain) * 1e6, f"{(task - plain) * 1e6:.1f} us engine"),
        ".submit() (thread pool)": (
            submit["per"] * 1e6,
            f"{submit['per'] * 1e6:.0f} us ({submit['whole'] * 1e6:.0f} us/task)",
        ),
        "empty @flow call": (empty * 1e6, f"{empty * 1e6:.0f} us"),
        "first flow result": (first * 1e3, f"{first * 1e3:.0f} ms (bare {bare * 1e3:.0f} ms)"),
        ".map over N": (
            mapped["peak_mb"],
            f"{mapped['peak_mb']:.0f} MB ({mapped['per'] * 1e6:.0f} us/item)",
        ),
    }


def _compile_bytecode() -> None:
    """Write headwater's bytecode first, as installing a package does.

    With ``PYTHONDONTWRITEBYTECODE`` set (or sources edited since), every fresh interpreter
    would compile the modules it imports again, and the start-up rows would measure that.
    """
    import compileall

    import headwater

    compileall.compile_dir(os.path.dirname(headwater.__file__), quiet=1)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes")
    parser.add_argument("--repeat", type=int, default=3, help="fresh interpreters per row")
    args = parser.parse_args(argv)
    sizes = {"task": 20_000, "submit": 5_000, "empty": 2_000, "map": 100_000}
    if args.quick:
        sizes = {"task": 5_000, "submit": 2_000, "empty": 500, "map": 100_000}
    _compile_bytecode()
    on = measure("headwater", sizes, args.repeat, history=True)
    off = measure("headwater", sizes, args.repeat, history=False)
    prefect = None
    if _prefect3():
        prefect = measure("prefect", {k: max(1, v // 100) for k, v in sizes.items()}, 1, True)
    print(
        f"Python {sys.version.split()[0]}; best of {args.repeat} fresh interpreters per row; "
        f".map over {sizes['map']:,} items"
    )
    header = (
        f"{'case':<24}| {'history on (default)':<26}| {'history off':<26}| "
        f"{'target':<16}| met (off/on)"
    )
    if prefect is not None:
        header += " | prefect 3"
    print(header)
    print("-" * len(header))
    for case in on:
        unit, target = TARGETS.get(case, ("", None))
        goal = f"<= {target:g} {unit}" if target is not None else "(reference)"
        met = ""
        if target is not None:
            met = "/".join("yes" if r[case][0] <= target else "NO" for r in (off, on))
        line = f"{case:<24}| {on[case][1]:<26}| {off[case][1]:<26}| {goal:<16}| {met}"
        if prefect is not None:
            line += f" | {prefect[case][1]}"
        print(line)
    if prefect is None:
        print("Prefect 3 is not installed here: its column is left out (pip install 'prefect>=3').")
    print(
        "history on: every run is recorded in the run history (the default); history off: "
        "HEADWATER__HISTORY__ENABLED=false, the engine alone."
    )


if __name__ == "__main__":
    main()
