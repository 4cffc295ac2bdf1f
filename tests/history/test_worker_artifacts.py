"""Artifacts (and log lines) of task runs in other processes reach the run's history.

The tasks run in worker processes — ``LocalDaskExecutor("processes")``, the session's loopback
dask cluster, or an ``@flow``'s ``ProcessPoolTaskRunner`` — and the process that started the
run records what they created, linked to their flow run and task run, secrets masked.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import pytest

from headwater import Flow, task
from headwater.artifacts import artifacts_of
from headwater.history import flush
from headwater.modern.runners import ProcessPoolTaskRunner
from headwater.tasks.secrets import HeadwaterSecret

ON_WORKERS = pytest.mark.parametrize("executor", ["dask-processes", "distributed"], indirect=True)
TABLE = [{"name": "a", "rows": 3}, {"name": "b", "rows": 5}]


@task
def makes_artifacts(x: str) -> tuple[int, str]:
    from headwater import context
    from headwater.artifacts import create_markdown_artifact, create_table_artifact

    create_markdown_artifact(f"# Report {x}", key=f"report-{x}", description="the report")
    create_table_artifact(TABLE, key=f"rows-{x}")
    return os.getpid(), context.get("flow_run_id")


@task
def shows_a_secret(password: str, visible: str) -> int:
    from headwater.artifacts import create_markdown_artifact

    create_markdown_artifact(f"login with {password} ({visible})", key="login")
    return os.getpid()


def by_key(store: Any, run_id: int) -> dict[str, dict[str, Any]]:
    return {a["key"]: a for a in store.list_artifacts(run_id)}


def assert_not_in_the_file(target: str, secret: str, visible: str) -> None:
    """``secret`` is nowhere in the SQLite file's bytes (its WAL included); ``visible`` is."""
    if target.startswith("postgresql://"):
        return  # the rows read back through the store were checked already
    flush()
    db = Path(target)
    parts = [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")]
    data = b"".join(p.read_bytes() for p in parts if p.exists())
    assert visible.encode() in data
    assert secret.encode() not in data


@ON_WORKERS
def test_artifacts_of_worker_tasks_are_recorded_with_their_task_run(store, executor):
    with Flow("worker-artifacts") as flow:
        made = makes_artifacts.map(["a", "b"])
    state = flow.run(executor=executor)
    assert state.is_successful()
    (pid, run_uuid), _ = state.result[made].result
    assert pid != os.getpid()  # they ran elsewhere
    store.flush()
    (run,) = store.list_flow_runs(flow_name="worker-artifacts")
    tasks = {t["task_name"]: t for t in store.list_task_runs(run["id"])}
    recorded = by_key(store, run["id"])
    assert sorted(recorded) == ["report-a", "report-b", "rows-a", "rows-b"]
    for index, x in enumerate("ab"):
        task_run = tasks[f"makes_artifacts[{index}]"]
        report, rows = recorded[f"report-{x}"], recorded[f"rows-{x}"]
        assert (report["type"], report["data"], report["description"]) == (
            "markdown",
            f"# Report {x}",
            "the report",
        )
        assert (rows["type"], rows["data"]) == ("table", TABLE)
        for artifact in (report, rows):
            assert artifact["task_run_id"] == task_run["id"]
            assert artifact["flow_run_id"] == run["id"]
            assert task_run["started_at"] <= artifact["created_at"] <= task_run["ended_at"]
    kept = artifacts_of(run_uuid)
    assert sorted(a.key for a in kept) == ["report-a", "report-b", "rows-a", "rows-b"]
    assert {a.data for a in kept if a.type == "markdown"} == {"# Report a", "# Report b"}


@pytest.mark.parametrize("executor", ["dask-processes"], indirect=True)
def test_a_context_secret_in_a_worker_artifact_is_masked(store, recording, executor):
    from headwater import Parameter

    secret, visible = f"pw-{uuid.uuid4().hex[:12]}", f"visible-{uuid.uuid4().hex[:12]}"
    with Flow("worker-secret-artifact") as flow:
        shows_a_secret(HeadwaterSecret("DB_PASSWORD"), Parameter("visible"))
    state = flow.run(
        executor=executor,
        parameters={"visible": visible},
        context={"secrets": {"DB_PASSWORD": secret}},
    )
    assert state.is_successful()
    store.flush()
    (run,) = store.list_flow_runs(flow_name="worker-secret-artifact")
    assert by_key(store, run["id"])["login"]["data"] == f"login with ******** ({visible})"
    assert_not_in_the_file(recording, secret, visible)


@pytest.fixture(params=["processes", "dask"])
def task_runner(request: pytest.FixtureRequest) -> Any:
    """A task runner of worker processes: a process pool, or the session's dask cluster."""
    if request.param == "processes":
        return ProcessPoolTaskRunner(max_workers=1)
    from headwater.modern.runners import DaskTaskRunner

    return DaskTaskRunner(address=request.getfixturevalue("dask_cluster").scheduler.address)


def test_artifacts_and_lines_of_a_modern_flow_on_worker_processes_are_recorded(store, task_runner):
    from headwater import flow as modern_flow
    from headwater import get_run_logger
    from headwater import task as modern_task
    from headwater.artifacts import create_markdown_artifact, create_table_artifact

    @modern_task
    def build(x: int) -> int:
        get_run_logger().warning("building %d", x)
        create_markdown_artifact(f"# Built {x}", key=f"built-{x}")
        create_table_artifact(TABLE, key=f"table-{x}")
        return os.getpid()

    @modern_flow(name="modern-worker-artifacts", task_runner=task_runner)
    def pipeline() -> list[int]:
        return [f.result() for f in build.map([1, 2])]

    assert os.getpid() not in set(pipeline())
    store.flush()
    (run,) = store.list_flow_runs(flow_name="modern-worker-artifacts")
    rows = {t["task_slug"]: t for t in store.list_task_runs(run["id"])}
    assert sorted(rows) == ["build-1", "build-2"]
    recorded = by_key(store, run["id"])
    assert sorted(recorded) == ["built-1", "built-2", "table-1", "table-2"]
    lines = {m["message"].rsplit(" - ", 1)[-1]: m for m in store.list_logs(run["id"])}
    for x in (1, 2):
        markdown, table = recorded[f"built-{x}"], recorded[f"table-{x}"]
        assert (markdown["type"], markdown["data"]) == ("markdown", f"# Built {x}")
        assert (table["type"], table["data"]) == ("table", TABLE)
        task_run_id = markdown["task_run_id"]
        assert task_run_id is not None and table["task_run_id"] == task_run_id
        assert lines[f"building {x}"]["task_run_id"] == task_run_id
        assert lines[f"building {x}"]["flow_run_id"] == run["id"]
        task_run = next(t for t in rows.values() if t["id"] == task_run_id)
        assert task_run["started_at"] <= markdown["created_at"] <= task_run["ended_at"]
    assert recorded["built-1"]["task_run_id"] != recorded["built-2"]["task_run_id"]


def test_a_secret_in_an_artifact_of_a_modern_worker_task_is_masked(store, recording):
    from headwater import flow as modern_flow
    from headwater import task as modern_task
    from headwater.artifacts import create_markdown_artifact
    from headwater.testing._isolation import temporary_settings

    secret, visible = f"pw-{uuid.uuid4().hex[:12]}", f"visible-{uuid.uuid4().hex[:12]}"

    @modern_task
    def login(password: str) -> None:
        create_markdown_artifact(f"login with {password} ({visible})", key="modern-login")

    @modern_flow(name="modern-worker-secret", task_runner=ProcessPoolTaskRunner(max_workers=1))
    def pipeline() -> None:
        login.submit(secret).result()

    with temporary_settings({"context.secrets.API_TOKEN": secret}):
        pipeline()
    store.flush()
    (run,) = store.list_flow_runs(flow_name="modern-worker-secret")
    assert by_key(store, run["id"])["modern-login"]["data"] == f"login with ******** ({visible})"
    assert_not_in_the_file(recording, secret, visible)


@task
def makes_many(n: int) -> str:
    from headwater import context
    from headwater.artifacts import (
        create_markdown_artifact,
        create_progress_artifact,
        update_progress_artifact,
    )

    progress = create_progress_artifact(0.0, key="load-progress")
    update_progress_artifact(progress, 100.0, description="loaded")
    for i in range(n):
        create_markdown_artifact(f"# note {i}", key=f"note-{i}")
    return str(context.get("flow_run_id"))


@pytest.mark.parametrize("executor", ["dask-processes"], indirect=True)
def test_progress_updates_come_back_and_the_count_is_capped(store, executor, monkeypatch):
    from headwater.history import HistoryRecorder

    monkeypatch.setattr(HistoryRecorder, "worker_max_artifacts", 4)
    with Flow("worker-many-artifacts") as flow:
        made = makes_many(5)
    state = flow.run(executor=executor)
    assert state.is_successful()
    store.flush()
    (run,) = store.list_flow_runs(flow_name="worker-many-artifacts")
    recorded = [(a["key"], a["type"], a["data"]) for a in store.list_artifacts(run["id"])]
    assert recorded == [
        ("load-progress", "progress", 0.0),
        ("load-progress", "progress", 100.0),
        ("note-0", "markdown", "# note 0"),
        ("note-1", "markdown", "# note 1"),
    ]
    messages = [m["message"] for m in store.list_logs(run["id"])]
    assert any("more than 4 artifacts" in m for m in messages)
    (progress,) = [a for a in artifacts_of(state.result[made].result) if a.key == "load-progress"]
    assert (progress.data, progress.description) == (100.0, "loaded")
