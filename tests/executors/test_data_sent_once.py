"""Large inputs reach each worker once, not once per mapped child.

``Big`` records every unpickling (one line per process that unpickles it) in a file. A flow maps
a task over 12 items with a 2 MiB ``Big`` as its unmapped input — a constant, a parameter, or the
result of an upstream task — and the test counts how often worker processes unpickled it: at
most once per worker process (there are two), never once per child. Thread-based executors never
pickle it at all.
"""

from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from headwater import Flow, Parameter, task, unmapped

CHILDREN = 12
SIZE = 2 * 2**20
# worker processes the executor fixture's executors run tasks in
WORKER_PROCESSES = {"local": 0, "dask-sync": 0, "dask-threads": 0, "dask-processes": 2}


class Big:
    """A large value that logs each unpickling to ``counter`` (module level: workers import it)."""

    def __init__(self, counter: str, size: int = SIZE) -> None:
        self.counter = counter
        self.data = bytes(size)

    def __reduce__(self) -> tuple[Any, tuple[str, bytes]]:
        return (_unpickle_big, (self.counter, self.data))


def _unpickle_big(counter: str, data: bytes) -> Big:
    with open(counter, "a") as fh:
        fh.write(f"{os.getpid()}\n")
    big = Big.__new__(Big)
    big.counter, big.data = counter, data
    return big


@task
def use(i: int, big: Big) -> tuple[int, int]:
    return i, len(big.data)


@task
def make_big(counter: str) -> Big:
    return Big(counter)


def _unpickled_in_workers(counter: Path) -> Counter[int]:
    if not counter.exists():
        return Counter()
    pids = Counter(int(line) for line in counter.read_text().split())
    pids.pop(os.getpid(), None)  # results coming back to the flow's process do not count
    return pids


def _check(
    state: Any,
    used: Any,
    executor: Any,
    request: pytest.FixtureRequest,
    counter: Path,
    per_process: int = 1,
) -> None:
    assert state.is_successful(), state.result
    assert [c.result for c in state.result[used].map_states] == [(i, SIZE) for i in range(CHILDREN)]
    kind = request.node.callspec.params["executor"]
    bound = WORKER_PROCESSES.get(kind, 2)
    unpickled = _unpickled_in_workers(counter)
    assert sum(unpickled.values()) <= bound * per_process, (kind, unpickled)
    assert all(n <= per_process for n in unpickled.values()), unpickled


def test_a_large_constant_input_is_sent_once(
    executor: Any, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    counter = tmp_path / "unpickled"
    with Flow("constant") as flow:
        used = use.map(list(range(CHILDREN)), big=unmapped(Big(str(counter))))
    state = flow.run(executor=executor)
    _check(state, used, executor, request, counter)


def test_a_large_parameter_is_sent_once(
    executor: Any, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    counter = tmp_path / "unpickled"
    with Flow("parameter") as flow:
        big = Parameter("big")
        used = use.map(list(range(CHILDREN)), big=unmapped(big))
    state = flow.run(executor=executor, big=Big(str(counter)))
    # a parameter travels twice: in the flow's parameters (``headwater.context.parameters``,
    # which every task sees) and as the parameter task's result
    _check(state, used, executor, request, counter, per_process=2)


def test_a_large_upstream_result_is_sent_once(
    executor: Any, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    counter = tmp_path / "unpickled"
    with Flow("upstream") as flow:
        used = use.map(list(range(CHILDREN)), big=unmapped(make_big(str(counter))))
    state = flow.run(executor=executor)
    _check(state, used, executor, request, counter)
