"""What a flow run leaves in the history: every field of the flow, the run and its task runs."""

from __future__ import annotations

import datetime as dt
import os
import socket
from typing import Any

import pytest

import headwater
from headwater import Flow, Parameter, task
from headwater.history import open_store
from headwater.history._batch import graph_hash


@task
def add(x, y):
    return x + y


@task
def fail_with_value_error(x):
    raise ValueError(f"bad value {x}")


@task(max_retries=2, retry_delay=dt.timedelta(0))
def flaky(x):
    from headwater import context

    if context.get("task_run_count", 1) < 3:
        raise RuntimeError("not yet")
    return x


def _when(text: str | None) -> dt.datetime:
    assert text is not None
    moment = dt.datetime.fromisoformat(text)
    assert moment.utcoffset() == dt.timedelta(0)
    return moment


def _one_run(store: Any, flow_name: str) -> dict[str, Any]:
    store.flush()
    runs = store.list_flow_runs(flow_name=flow_name)
    assert len(runs) == 1, runs
    return dict(runs[0])


def test_every_field_of_a_successful_run(store):
    with Flow("adder") as flow:
        x = Parameter("x", default=1)
        add(x, 2)
    before = dt.datetime.now(dt.UTC)
    state = flow.run(x=5, flow_run_name="nightly")
    after = dt.datetime.now(dt.UTC)
    assert state.is_successful()
    run = _one_run(store, "adder")
    assert run["name"] == "nightly"
    assert run["state"] == "Success" and run["message"] == state.message
    assert run["parameters"] == {"x": 5}
    assert before <= _when(run["started_at"]) <= _when(run["ended_at"]) <= after
    assert run["duration_seconds"] == pytest.approx(
        (_when(run["ended_at"]) - _when(run["started_at"])).total_seconds(), abs=1e-3
    )
    assert _when(run["scheduled_at"]) <= _when(run["started_at"])
    assert (run["host"], run["pid"]) == (socket.gethostname(), os.getpid())
    assert run["version"] == headwater.__version__
    assert run["executor"] == "LocalExecutor"
    assert run["parent_run_id"] is None
    assert (run["task_run_count"], run["failed_task_count"], run["is_live"]) == (2, 0, False)
    assert store.get_flow_run(run["id"]) == run

    tasks = {t["task_name"]: t for t in store.list_task_runs(run["id"])}
    assert set(tasks) == {"x", "add"}
    t = tasks["add"]
    assert (t["state"], t["message"], t["map_index"], t["run_count"]) == (
        "Success",
        "Task run succeeded.",
        None,
        1,
    )
    assert (t["cached"], t["error_type"], t["error_message"], t["traceback"]) == (
        False,
        None,
        None,
        None,
    )
    assert t["task_slug"] == next(k.slug for k in flow.tasks if k.name == "add")
    assert t["flow_run_id"] == run["id"]
    assert _when(run["started_at"]) <= _when(t["started_at"]) <= _when(t["ended_at"])
    assert t["duration_seconds"] >= 0
    assert store.get_task_run(t["id"]) == t

    flows = store.list_flows()
    assert [(f["name"], f["run_count"], f["last_state"]) for f in flows] == [
        ("adder", 1, "Success")
    ]
    assert flows[0]["graph_hash"] == graph_hash(flow)
    detail = store.get_flow(flows[0]["id"])
    assert detail["graph"] == flow.serialize()
    assert detail["stats"]["runs"] == 1 and detail["stats"]["success_rate"] == 1.0
    assert detail["stats"]["p50_seconds"] == pytest.approx(run["duration_seconds"])


def test_a_failed_task_keeps_its_error_and_traceback(store):
    with Flow("failing") as flow:
        fail_with_value_error(add(1, 2))
    assert flow.run().is_failed()
    run = _one_run(store, "failing")
    assert (run["state"], run["failed_task_count"]) == ("Failed", 1)
    failed = [t for t in store.list_task_runs(run["id"]) if t["state"] == "Failed"]
    assert len(failed) == 1
    t = failed[0]
    assert (t["error_type"], t["error_message"]) == ("ValueError", "bad value 3")
    assert t["traceback"].startswith("Traceback (most recent call last):")
    assert "fail_with_value_error" in t["traceback"] and "ValueError: bad value 3" in t["traceback"]


def test_a_mapped_run_records_each_child(store):
    with Flow("mapped") as flow:
        add.map([1, 2, 3], [10, 20, 30])
    assert flow.run().is_successful()
    run = _one_run(store, "mapped")
    children = [t for t in store.list_task_runs(run["id"]) if t["task_slug"].startswith("add")]
    assert sorted((t["map_index"], t["task_name"], t["state"]) for t in children) == [
        (0, "add[0]", "Success"),
        (1, "add[1]", "Success"),
        (2, "add[2]", "Success"),
    ]


def test_retries_count_runs_in_one_row(store):
    with Flow("retrying") as flow:
        flaky(7)
    assert flow.run().is_successful()
    run = _one_run(store, "retrying")
    rows = [t for t in store.list_task_runs(run["id"]) if t["task_name"] == "flaky"]
    assert [(t["state"], t["run_count"]) for t in rows] == [("Success", 3)]


def test_cached_task_runs_are_marked(store):
    cached = task(lambda x, y: x + y, name="plus", cache_for=dt.timedelta(hours=1))
    with Flow("caching") as flow:
        cached(1, 1)
    flow.run()
    flow.run()
    store.flush()
    first, second = sorted(store.list_flow_runs(flow_name="caching"), key=lambda r: r["id"])
    assert [t["cached"] for t in store.list_task_runs(first["id"])] == [False]
    assert [(t["cached"], t["state"]) for t in store.list_task_runs(second["id"])] == [
        (True, "Cached")
    ]
    flows = store.list_flows()
    assert [f["run_count"] for f in flows] == [2]  # one graph, one flow row


def test_a_subflow_run_names_its_parent(store):
    with Flow("child") as child:
        add(1, 1)

    @task
    def run_child():
        return child.run().is_successful()

    with Flow("parent") as parent:
        run_child()
    assert parent.run().is_successful()
    store.flush()
    (parent_run,) = store.list_flow_runs(flow_name="parent")
    (child_run,) = store.list_flow_runs(flow_name="child")
    assert child_run["parent_run_id"] == parent_run["id"]
    assert parent_run["parent_run_id"] is None


def test_filters_and_counts(store):
    with Flow("ok") as ok:
        add(1, 1)
    with Flow("bad") as bad:
        fail_with_value_error(1)
    for f in (ok, bad, ok):
        f.run()
    store.flush()
    assert store.count_flow_runs() == 3
    assert store.count_flow_runs(flow_name="ok") == 2
    assert [r["flow_name"] for r in store.list_flow_runs(state="Failed")] == ["bad"]
    newest = store.list_flow_runs(limit=1)
    assert [r["flow_name"] for r in newest] == ["ok"]
    assert len(store.list_flow_runs(limit=2, offset=2)) == 1
    later = dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)
    assert store.list_flow_runs(since=later) == []
    assert store.count_flow_runs(until=later.isoformat()) == 3
    flow_id = store.list_flow_runs(flow_name="bad")[0]["flow_id"]
    assert store.count_flow_runs(flow_id=flow_id) == 1
    with pytest.raises(TypeError, match="unknown filter"):
        store.list_flow_runs(colour="red")
    with pytest.raises(ValueError, match="ISO-8601"):
        store.list_flow_runs(since="yesterday")


def test_every_executor_records_the_same_fields(executor, tmp_path):
    from headwater.testing._isolation import temporary_settings

    db = tmp_path / "history.db"
    with Flow("on-executor") as flow:
        fail_with_value_error.map(add.map([1, 2], [3, 4]))
    with temporary_settings({"history.path": str(db), "history.url": ""}):
        flow.run(executor=executor)
    with open_store(db) as store:
        run = _one_run(store, "on-executor")
        assert run["state"] == "Failed" and run["executor"]
        tasks = store.list_task_runs(run["id"])
    by_name = {t["task_name"]: t for t in tasks}
    assert by_name["add[0]"]["state"] == by_name["add[1]"]["state"] == "Success"
    assert {by_name["add[0]"]["map_index"], by_name["add[1]"]["map_index"]} == {0, 1}
    failed = by_name["fail_with_value_error[0]"]
    assert failed["state"] == "Failed" and failed["error_type"] == "ValueError"
    assert "bad value 4" in failed["traceback"]
    assert all(t["ended_at"] is not None for t in tasks)


def test_a_modern_flow_run_is_recorded_with_its_state_names(store):
    from headwater import flow as modern_flow
    from headwater import task as modern_task

    @modern_task
    def double(x):
        return 2 * x

    @modern_task
    def refuse():
        raise ValueError("refused")

    @modern_flow(name="modern-recorded")
    def pipeline(n: int = 2):
        double(n)
        try:
            refuse()
        except ValueError:
            pass
        return n

    assert pipeline(n=3) == 3
    run = _one_run(store, "modern-recorded")
    assert (run["state"], run["parameters"]) == ("Completed", {"n": 3})
    tasks = {t["task_name"]: t for t in store.list_task_runs(run["id"])}
    assert tasks["double"]["state"] == "Completed" and tasks["double"]["started_at"]
    failed = tasks["refuse"]
    assert (failed["state"], failed["error_type"], failed["error_message"]) == (
        "Failed",
        "ValueError",
        "refused",
    )
    assert run["failed_task_count"] == 1
    (flow_row,) = store.list_flows()
    assert store.get_flow(flow_row["id"])["stats"]["success_rate"] == 1.0
