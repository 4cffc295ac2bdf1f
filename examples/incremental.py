"""An incremental pipeline: targets make a re-run do only the work that changed.

Run it with ``python examples/incremental.py [RESULTS_DIR]`` (default: ``./incremental-results``)
and run it again:

1. The first run computes every task and, because checkpointing is on, writes each result to
   its *target* file under ``RESULTS_DIR``.
2. The second run finds every target file: the tasks do not run, they end ``Cached`` with the
   stored values read back, and the report is the same.
3. Edit the code of ``clean`` (say, round to whole degrees) and run it once more: ``clean``'s
   target contains ``{task_hash}``, a hash of the task's own source code, so the new code looks
   for files that do not exist yet and recomputes. ``download``'s code did not change, so it
   stays cached.

Each task prints one line per mapped child: ``computed`` or ``skipped (cached)``.

The command line runs the same flow; targets are only used with checkpointing on::

    HEADWATER__FLOWS__CHECKPOINTING=true headwater run examples/incremental.py

``{task_hash}`` covers the source of the task function only: a change in a helper it calls or a
global it reads does not change the hash. Put such code in the task, or bump a version string in
the target (``"clean/v2/{day}-{task_hash}.json"``) when you change it.
"""

from __future__ import annotations

import statistics
import sys

from headwater import Flow, Parameter, task
from headwater.engine.results import LocalResult
from headwater.engine.serializers import JSONSerializer
from headwater.engine.state import State

DAYS = ["2024-03-01", "2024-03-02", "2024-03-03"]


@task(target="raw/{day}.json")
def download(day: str) -> list[float]:
    """Fetch one day of temperature readings in °C (made up here, but the same every run)."""
    seed = sum(map(ord, day))
    return [round(8 + (seed * (hour + 7)) % 97 / 10, 1) for hour in range(6)]


@task(target="clean/{day}-{task_hash}.json")
def clean(day: str, readings: list[float]) -> list[float]:
    """Convert the readings to °F."""
    return [round(c * 9 / 5 + 32, 1) for c in readings]


@task(checkpoint=False)
def report(days: list[str], cleaned: list[list[float]]) -> list[str]:
    return [f"{day}: mean {statistics.mean(values):.2f} F" for day, values in zip(days, cleaned)]


def build_flow(results_dir: str = "incremental-results") -> Flow:
    """The pipeline, its results stored as JSON files under ``results_dir``."""
    # JSON files, so the stored results can be read by anything
    result = LocalResult(dir=results_dir, serializer=JSONSerializer())
    with Flow("incremental", result=result) as flow:
        days = Parameter("days", default=DAYS)
        raw = download.map(days)
        cleaned = clean.map(days, raw)
        report(days, cleaned)
    return flow


def describe(state: State) -> str:
    if state.is_cached():
        return "skipped (cached)"
    if state.is_successful():
        return "computed"
    return f"{type(state).__name__}: {state.message}"


def main() -> int:
    results_dir = sys.argv[1] if len(sys.argv) > 1 else "incremental-results"
    flow = build_flow(results_dir)
    steps = {name: flow.get_tasks(name=name)[0] for name in ("download", "clean")}
    [summary] = flow.get_tasks(name="report")
    state = flow.run(context={"checkpointing": True})
    for name, step in steps.items():
        for day, child in zip(DAYS, state.result[step].map_states):
            print(f"{name}[{day}]: {describe(child)}")
    if not state.is_successful():
        print(f"flow run failed: {state.message}")
        return 1
    for line in state.result[summary].result:
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
