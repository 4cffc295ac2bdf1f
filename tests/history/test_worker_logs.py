"""Log lines of task runs in other processes reach the run's history, linked to their task run.

Each case runs on ``LocalDaskExecutor("processes")`` and on the session's loopback dask
cluster: the lines are emitted in worker processes and recorded by the process that started
the run.
"""

from __future__ import annotations

import os

import pytest

from headwater import Flow, task
from headwater.testing._isolation import temporary_settings

ON_WORKERS = pytest.mark.parametrize("executor", ["dask-processes", "distributed"], indirect=True)


@task
def chatty(x):
    from headwater import context

    logger = context.get("logger")
    logger.info("info from %s in %d", x, os.getpid())
    logger.warning("warning from %s", x)
    try:
        raise ValueError(f"handled {x}")
    except ValueError:
        logger.exception("caught it")
    return os.getpid()


@task
def quiet_below_warning(x):
    from headwater import context

    context.get("logger").info("not kept %s", x)
    context.get("logger").error("kept %s", x)
    return x


@task
def many_lines(n):
    from headwater import context

    for i in range(n):
        context.get("logger").warning("line %d", i)
    return n


with Flow("worker-logs-inner") as INNER:
    quiet_below_warning(0)


@task
def runs_a_flow():
    from headwater import context

    context.get("logger").warning("before the inner flow")
    return INNER.run(history=False).is_successful()


@ON_WORKERS
def test_lines_of_worker_tasks_are_recorded_with_their_task_run(store, executor):
    with Flow("worker-logs") as flow:
        pids = chatty.map(["a", "b"])
    state = flow.run(executor=executor)
    assert state.is_successful()
    assert set(state.result[pids].result) != {os.getpid()}  # they ran elsewhere
    store.flush()
    (run,) = store.list_flow_runs(flow_name="worker-logs")
    tasks = {t["task_name"]: t for t in store.list_task_runs(run["id"])}
    lines = [m for m in store.list_logs(run["id"]) if m["task_name"]]
    by_task = {
        name: [
            (m["level_name"], m["message"].splitlines()[0]) for m in lines if m["task_name"] == name
        ]
        for name in ("chatty[0]", "chatty[1]")
    }
    for name, x in (("chatty[0]", "a"), ("chatty[1]", "b")):
        assert by_task[name][1:] == [("WARNING", f"warning from {x}"), ("ERROR", "caught it")]
        assert by_task[name][0][1].startswith(f"info from {x} in ")
        for m in (m for m in lines if m["task_name"] == name):
            assert m["task_run_id"] == tasks[name]["id"] and m["flow_run_id"] == run["id"]
            assert m["logger"].startswith("headwater")
            assert tasks[name]["started_at"] <= m["created_at"] <= tasks[name]["ended_at"]
    caught = next(m for m in lines if m["message"].startswith("caught it"))
    assert "Traceback (most recent call last):" in caught["message"]
    assert "ValueError: handled" in caught["message"]


@ON_WORKERS
def test_the_level_and_the_cap_apply_to_worker_lines(store, executor):
    with Flow("worker-levels") as flow:
        quiet_below_warning(1)
        many_lines(30)
    with temporary_settings({"history.log_level": "WARNING", "history.max_logs_per_run": 12}):
        assert flow.run(executor=executor).is_successful()
    store.flush()
    (run,) = store.list_flow_runs(flow_name="worker-levels")
    messages = [m["message"] for m in store.list_logs(run["id"])]
    assert "not kept 1" not in messages
    kept = [m for m in messages if m.startswith(("line ", "kept "))]
    assert len(kept) == 12
    assert any("more log line(s) of this run were not recorded" in m for m in messages)


@ON_WORKERS
def test_a_flow_run_inside_a_worker_task_keeps_its_lines(store, executor):
    with Flow("worker-outer") as flow:
        runs_a_flow()
    assert flow.run(executor=executor).is_successful()
    store.flush()
    (run,) = store.list_flow_runs(flow_name="worker-outer")
    messages = [(m["task_name"], m["message"]) for m in store.list_logs(run["id"])]
    assert ("runs_a_flow", "before the inner flow") in messages
    assert not [m for _, m in messages if m in ("kept 0", "not kept 0")]


@ON_WORKERS
def test_worker_lines_are_recorded_once_over_several_passes(store, executor):
    import datetime as dt

    @task(max_retries=1, retry_delay=dt.timedelta(0))
    def fails_once():
        from headwater import context

        if context.get("task_run_count", 1) < 2:
            raise RuntimeError("once")
        return 1

    with Flow("worker-passes") as flow:
        chatty("c")
        fails_once()
    assert flow.run(executor=executor).is_successful()
    store.flush()
    (run,) = store.list_flow_runs(flow_name="worker-passes")
    warnings = [m for m in store.list_logs(run["id"]) if m["message"] == "warning from c"]
    assert len(warnings) == 1
    tasks = {t["task_name"]: t for t in store.list_task_runs(run["id"])}
    assert (tasks["fails_once"]["state"], tasks["fails_once"]["run_count"]) == ("Success", 2)
    assert tasks["chatty"]["started_at"] <= warnings[0]["created_at"] <= tasks["chatty"]["ended_at"]
