"""Flows and helpers of the UI tests: real flows recorded into a temporary SQLite history.

- ``etl`` (``n``, ``label``): a parameter, a mapped task, log lines, a markdown, a table and a
  link artifact;
- a flow whose flow name, task name, parameter value, error message, log line and artifacts all
  hold ``<script>`` (the escaping tests look for it);
- a gated flow whose task waits until the test releases it, to see a run while it is live.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from headwater import Flow, Parameter, task
from headwater.history import flush, open_store, record_artifact
from headwater.utilities.configuration import set_temporary_config
from headwater.utilities.logging import get_logger

TOKEN = "test-token-0123456789"
EVIL = "<script>alert('{}')</script>"
HOST = "http://127.0.0.1"


def evil(where: str) -> str:
    """A ``<script>`` tag naming where it was put."""
    return EVIL.format(where)


@task
def extract(n: int) -> list[int]:
    get_logger("etl").info("extracting %d rows", n)
    return list(range(n))


@task
def transform(x: int) -> int:
    return x * 10


@task
def load(rows: list[int], label: str) -> int:
    get_logger("etl").warning("loaded %d rows for %s", len(rows), label)
    record_artifact(key="summary", type="markdown", data=f"# Loaded\n\n{len(rows)} rows")
    record_artifact(key="rows", type="table", data=[{"row": r} for r in rows])
    record_artifact(key="docs", type="link", data="https://example.org/etl")
    return len(rows)


def etl_flow() -> Flow:
    """``etl``: ``extract(n) -> transform.map -> load(label)``."""
    with Flow("etl") as flow:
        n = Parameter("n", default=3)
        label = Parameter("label", default="daily")
        load(transform.map(extract(n)), label)
    return flow


@task
def greet(who: str) -> str:
    return f"hello {who}"


def greet_flow() -> Flow:
    """``greet``: one required parameter, ``who``."""
    with Flow("greet") as flow:
        greet(Parameter("who"))
    return flow


@task(name=EVIL.format("task"))
def explode(value: str) -> None:
    get_logger("evil").error(evil("log"))
    record_artifact(key="evil-md", type="markdown", data=evil("artifact"))
    record_artifact(key="evil-link", type="link", data="javascript:alert('link')")
    record_artifact(key="evil-table", type="table", data=[{"cell": evil("table")}])
    raise ValueError(evil("error"))


def evil_flow() -> Flow:
    """A flow with ``<script>`` in every string a user writes."""
    with Flow(evil("flow")) as flow:
        explode(Parameter("value", default=evil("param")))
    return flow


def run_into(db: Path, flow: Flow, **kwargs: Any) -> Any:
    """Run ``flow`` recording into the history at ``db``; its final state."""
    with set_temporary_config({"history.path": str(db)}):
        return flow.run(**kwargs)


@dataclass
class History:
    """A temporary history database and the ids of the runs in it."""

    db: Path
    runs: dict[str, int] = field(default_factory=dict)
    flows: dict[str, int] = field(default_factory=dict)

    def store(self) -> Any:
        """The store, opened (close it)."""
        return open_store(self.db)


def newest(db: Path, flow_name: str) -> dict[str, Any]:
    flush()  # before opening: a run not written yet would look crashed
    with open_store(db) as store:
        return store.list_flow_runs(flow_name=flow_name, limit=1)[0]  # type: ignore[no-any-return]


@dataclass
class Gate:
    """A flow whose one task waits for :attr:`release`, to see runs while they are live."""

    flow: Flow
    started: threading.Event
    release: threading.Event


def gate_flow(name: str = "gated") -> Gate:
    """A flow ``name`` whose task ``wait`` waits until the gate is released (30 s at most)."""
    started, release = threading.Event(), threading.Event()

    @task(name="wait")
    def wait(seconds: float) -> str:
        started.set()
        if not release.wait(seconds):
            raise TimeoutError("the test never released the gate")
        return "released"

    with Flow(name) as flow:
        wait(Parameter("seconds", default=30.0))
    return Gate(flow, started, release)
