"""What a flow run leaves in the history: every field of the flow, the run and its task runs."""

from __future__ import annotations

import datetime as dt
import os
import socket
import time
import uuid
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


@task(max_retries=1, retry_delay=dt.timedelta(0))
def fails_some(x):
    from headwater import context

    if x % 5 == 0 and context.get("task_run_count", 1) < 2:
        raise RuntimeError("not yet")
    if x in (44, 59):
        raise ValueError(f"bad value {x}")
    return x


def test_rows_written_together_keep_their_order_and_errors(store):
    # 60 children run in two passes (the retried ones again), reported in both: the writer
    # gets each row twice in one batch, within one statement's worth of rows, failed ones
    # among the others
    with Flow("hundreds") as flow:
        fails_some.map(list(range(60)))
    assert flow.run().is_failed()
    run = _one_run(store, "hundreds")
    rows = {
        t["map_index"]: t for t in store.list_task_runs(run["id"]) if t["map_index"] is not None
    }
    assert sorted(rows) == list(range(60))
    for x, t in rows.items():
        failed = x in (44, 59)
        retried = failed or x % 5 == 0
        assert (t["state"], t["run_count"]) == (
            "Failed" if failed else "Success",
            2 if retried else 1,
        ), t
        assert t["error_type"] == ("ValueError" if failed else None), t
        assert (t["traceback"] is not None) == failed, t
        assert t["ended_at"] is not None and t["started_at"] is not None, t


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


@task(cache_for=dt.timedelta(hours=1))
def plus_hundred(x):
    return x + 100


@task
def warn(x):
    from headwater import context

    context.get("logger").warning("warned about %s", x)
    return x


with Flow("on-executor-child") as CHILD:
    add(1, 1)


@task
def run_child():
    return CHILD.run().is_successful()


def _wait_for(check, what: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def _on_executor_flow(name: str) -> tuple[Flow, Any]:
    with Flow(name) as flow:
        x = Parameter("x", default=1)
        added = add.map([1, 2], [3, 4])
        fail_with_value_error.map(added)
        flaky(x)
        cached = plus_hundred(7)
        warn(x)
        run_child()
    return flow, cached


def test_every_executor_records_every_field(executor, request):
    """On each executor: every field of the run, of its task runs, of its subflow's run."""
    name = f"on-executor-{request.node.callspec.id}-{uuid.uuid4().hex[:8]}"
    flow, cached = _on_executor_flow(name)
    before = time.time()
    first = flow.run(x=5, executor=executor, flow_run_name=f"{name}-first")
    second = flow.run(x=5, executor=executor)  # the cached task is reused, in this process
    after = time.time()
    assert first.is_failed() and second.is_failed()
    expiring = [s.result[cached].cached_result_expiration for s in (first, second)]
    reused = expiring[0] == expiring[1]  # (workers of another process keep their own cache)
    assert reused or request.node.callspec.id in ("dask-processes", "distributed")
    with open_store() as store:  # the session's history: the cluster's workers write there too
        store.flush()
        runs = sorted(store.list_flow_runs(flow_name=name), key=lambda r: r["id"])
        assert len(runs) == 2, runs
        run = runs[0]
        _check_flow_run(run, f"{name}-first", first, before, after)
        assert store.get_flow(run["flow_id"])["graph_hash"] == graph_hash(flow)
        tasks = {t["task_name"]: t for t in store.list_task_runs(run["id"])}
        _check_task_runs(tasks, _when(run["started_at"]), _when(run["ended_at"]))
        assert tasks["plus_hundred"]["cached"] is False
        again = {t["task_name"]: t for t in store.list_task_runs(runs[1]["id"])}
        assert (again["plus_hundred"]["state"], again["plus_hundred"]["cached"]) == (
            "Cached",
            reused,
        )
        children = _wait_for(
            lambda: [
                r
                for r in store.list_flow_runs(flow_name="on-executor-child", limit=1000)
                if r["parent_run_id"] == run["id"] and r["state"] == "Success"
            ],
            "the subflow's run",
        )
        assert len(children) == 1
        assert children[0]["parent_run_id"] == run["id"]
        warned = [m for m in store.list_logs(run["id"]) if m["message"] == "warned about 5"]
        assert [(m["task_name"], m["level_name"]) for m in warned] == [("warn", "WARNING")]
        assert warned[0]["task_run_id"] == tasks["warn"]["id"]


def _check_flow_run(run: dict[str, Any], name: str, state: Any, before: float, after: float):
    assert run["name"] == name
    assert (run["state"], run["message"]) == ("Failed", state.message)
    assert run["parameters"] == {"x": 5}
    started, ended = _when(run["started_at"]), _when(run["ended_at"])
    assert before <= started.timestamp() <= ended.timestamp() <= after
    assert run["duration_seconds"] == pytest.approx((ended - started).total_seconds(), abs=1e-3)
    assert _when(run["scheduled_at"]) <= started
    assert (run["host"], run["pid"], run["version"]) == (
        socket.gethostname(),
        os.getpid(),
        headwater.__version__,
    )
    assert run["executor"].split("(")[0] in ("LocalExecutor", "LocalDaskExecutor", "DaskExecutor")
    assert run["parent_run_id"] is None and run["is_live"] is False
    assert run["failed_task_count"] == 2


def _check_task_runs(tasks: dict[str, Any], started: dt.datetime, ended: dt.datetime) -> None:
    for t in tasks.values():  # every task run that ran has its times, within the run's
        if t["task_name"] != "x" and not t["task_name"].startswith(("List", "Constant", "[")):
            assert started <= _when(t["started_at"]) <= _when(t["ended_at"]) <= ended, t
    children = sorted((t for t in tasks.values() if t["task_slug"].startswith("add")),
                      key=lambda t: t["map_index"])  # fmt: skip
    assert [(t["task_name"], t["map_index"], t["state"]) for t in children] == [
        ("add[0]", 0, "Success"),
        ("add[1]", 1, "Success"),
    ]
    assert children[0]["message"] == "Task run succeeded."
    assert {t["task_slug"] for t in children} == {"add-1"}
    assert tasks["add[0]"]["run_count"] == 1 and tasks["add[0]"]["error_type"] is None
    failed = tasks["fail_with_value_error[1]"]
    assert (failed["state"], failed["map_index"], failed["run_count"]) == ("Failed", 1, 1)
    assert (failed["error_type"], failed["error_message"]) == ("ValueError", "bad value 6")
    assert failed["traceback"].startswith("Traceback (most recent call last):")
    assert "ValueError: bad value 6" in failed["traceback"]
    assert "bad value 6" in failed["message"]
    assert (tasks["flaky"]["state"], tasks["flaky"]["run_count"]) == ("Success", 3)
    assert tasks["flaky"]["cached"] is False and tasks["flaky"]["traceback"] is None


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


def test_a_flow_keeps_its_runs_out_of_the_history_and_a_run_decides_last(store):
    with Flow("kept-out", history=False) as kept_out:
        add(1, 1)
    with Flow("kept-in") as kept_in:
        add(1, 1)
    assert kept_out.run().is_successful()
    assert kept_in.run().is_successful()
    assert kept_out.run(history=True).is_successful()  # flow.run(history=) decides first
    assert kept_in.run(history=False).is_successful()
    store.flush()
    assert store.count_flow_runs(flow_name="kept-out") == 1
    assert store.count_flow_runs(flow_name="kept-in") == 1


def test_a_flow_or_a_run_records_although_the_configuration_says_not(store):
    from headwater.testing._isolation import temporary_settings

    with Flow("configured-off") as configured_off:
        add(1, 1)
    with Flow("recorded-anyway", history=True) as recorded:
        add(1, 1)
    with temporary_settings({"history.enabled": False}):
        configured_off.run()
        recorded.run()
        configured_off.run(history=True)
        recorded.run(history=False)
    store.flush()
    assert store.count_flow_runs(flow_name="configured-off") == 1
    assert store.count_flow_runs(flow_name="recorded-anyway") == 1


def test_a_modern_flow_keeps_its_runs_out_of_the_history(store):
    from headwater import flow as modern_flow

    @modern_flow(name="modern-kept-out", history=False)
    def quiet():
        return 1

    assert quiet() == 1
    assert quiet.with_options(history=None)() == 1  # as configured: recorded
    store.flush()
    assert store.count_flow_runs(flow_name="modern-kept-out") == 1


@pytest.mark.parametrize("value", ["no", 0, 1])
def test_the_history_option_takes_true_false_or_none(value):
    from headwater import flow as modern_flow

    with pytest.raises(TypeError, match="history must be True, False or None"):
        Flow("bad-history", history=value)
    with pytest.raises(TypeError, match="history must be True, False or None"):
        modern_flow(lambda: 1, history=value)


def test_a_modern_flow_records_log_lines_and_artifacts_with_their_task_runs(store):
    import logging

    from headwater import flow as modern_flow
    from headwater import task as modern_task
    from headwater.artifacts import create_markdown_artifact
    from headwater.logging import get_run_logger

    @modern_task(name="double")
    def doubles(x):
        get_run_logger().warning("doubling %s", x)
        print(f"printed {x}")
        create_markdown_artifact(f"# {x}", key=f"doubled-{x}")
        return 2 * x

    @modern_flow(name="modern-lines", log_prints=True)
    def pipeline():
        get_run_logger().warning("a line of the flow")
        logging.getLogger("headwater.custom").warning("a plain line")
        doubles(1)
        doubles.submit(2).result()
        create_markdown_artifact("# the flow's", key="of-the-flow")
        return 0

    assert pipeline() == 0
    run = _one_run(store, "modern-lines")
    rows = store.list_task_runs(run["id"])
    assert [t["task_name"] for t in rows] == ["double", "double"]  # one row per call
    first, second = rows
    assert (first["task_slug"], second["task_slug"]) == ("double-1", "double-2")
    lines = {m["message"].rsplit(" - ", 1)[-1]: m for m in store.list_logs(run["id"])}
    assert lines["a line of the flow"]["task_run_id"] is None
    assert lines["a plain line"]["task_run_id"] is None
    for x, row in ((1, first), (2, second)):
        for text in (f"doubling {x}", f"printed {x}"):
            assert (lines[text]["task_run_id"], lines[text]["task_name"]) == (row["id"], "double")
            assert lines[text]["flow_run_id"] == run["id"]
    artifacts = {a["key"]: a for a in store.list_artifacts(run["id"])}
    assert artifacts["doubled-1"]["task_run_id"] == first["id"]
    assert artifacts["doubled-2"]["task_run_id"] == second["id"]
    assert artifacts["of-the-flow"]["task_run_id"] is None
    assert artifacts["doubled-2"]["data"] == "# 2"
