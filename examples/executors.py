"""The same flow on every executor headwater ships.

Run it with ``python examples/executors.py`` (the dask executors need the dask extra:
``pip install "headwater[dask]"``). It builds one small flow — a mapped chain and a
reduce — and runs it on ``LocalExecutor``, on the three ``LocalDaskExecutor`` schedulers and on
a ``DaskExecutor`` with a temporary two-process cluster that it starts and closes itself.
Every run prints the same result. ``headwater run examples/executors.py --executor threads``
runs the flow once on the executor named.

The tasks are defined at module level, and the runs happen under ``if __name__ ==
"__main__":``, because process-based executors start fresh Python processes that import this
file: they must be able to find the tasks, and must not start the runs again.
"""

from __future__ import annotations

import os

import headwater
from headwater import Flow, Parameter, task
from headwater.executors import DaskExecutor, LocalDaskExecutor, LocalExecutor


@task
def numbers(n: int) -> list[int]:
    return list(range(1, n + 1))


@task
def square(x: int) -> int:
    return x * x


@task
def where(x: int) -> tuple[str, int]:
    """Report the task's name (with its map index) and the process it ran in."""
    return headwater.context.task_full_name, os.getpid()


@task
def total(values: list[int]) -> int:
    return sum(values)


def build_flow() -> Flow:
    """The flow: ``n`` numbers, squared, each square's place, and their total."""
    with Flow("squares") as flow:
        n = Parameter("n", default=4)
        squares = square.map(numbers(n))
        where.map(squares)
        total(squares)
    return flow


def main() -> None:
    flow = build_flow()
    [result] = flow.get_tasks(name="total")
    [places] = flow.get_tasks(name="where")
    executors = [
        LocalExecutor(),
        LocalDaskExecutor(scheduler="sync"),
        LocalDaskExecutor(scheduler="threads", num_workers=2),
        LocalDaskExecutor(scheduler="processes", num_workers=2),
        # a temporary cluster: started for the run, closed afterwards
        DaskExecutor(
            cluster_kwargs={
                "n_workers": 2,
                "threads_per_worker": 1,
                "processes": True,
                "host": "127.0.0.1",
                "dashboard_address": ":0",
            }
        ),
    ]
    for executor in executors:
        state = flow.run(executor=executor, n=4)
        assert state.is_successful(), state
        names = [s.result[0] for s in state.result[places].map_states]
        pids = {s.result[1] for s in state.result[places].map_states}
        elsewhere = "in other processes" if os.getpid() not in pids else "in this process"
        print(f"{executor!r}: total = {state.result[result].result}; {names} ran {elsewhere}")


if __name__ == "__main__":
    main()
