"""The store itself: schema and migrations, logs, artifacts, pruning, crashed runs, turning off."""

from __future__ import annotations

import datetime as dt
import logging
import sqlite3
import time

import pytest

from headwater import Flow, task
from headwater.history import HistoryError, open_store, record_artifact
from headwater.history._schema import MIGRATIONS, SCHEMA_VERSION, statements
from headwater.history._sqlite import SQLiteStore


@task
def shout(n):
    from headwater import context

    logger = context.get("logger")
    for i in range(n):
        logger.info("line %d of %d", i, n)
    logger.debug("a debug line")
    logger.warning("a warning")
    return n


@task
def publish():
    return record_artifact(
        key="report", type="markdown", data="# Done\n<b>ok</b>", description="the summary"
    )


def _run_of(store, flow_name):
    store.flush()
    (run,) = store.list_flow_runs(flow_name=flow_name)
    return run


# -- schema ---------------------------------------------------------------------------------
def test_a_new_file_gets_the_current_schema_in_wal_mode(tmp_path):
    db = tmp_path / "sub" / "history.db"
    with SQLiteStore(db) as store:
        assert store.schema_version == SCHEMA_VERSION
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert {"flows", "flow_runs", "task_runs", "logs", "artifacts"} <= tables
    conn.close()


def test_an_older_file_is_migrated_and_keeps_its_rows(tmp_path):
    db = tmp_path / "history.db"
    conn = sqlite3.connect(db)
    for statement in statements(MIGRATIONS[0], "sqlite"):  # a file of schema version 1
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO flows (name, graph_hash, created_at) VALUES ('old', 'h', 0)")
    conn.execute(
        "INSERT INTO flow_runs (run_uuid, flow_id, state, started_at, ended_at) "
        "VALUES ('u1', 1, 'Success', 100.0, 102.5)"
    )
    conn.commit()
    conn.close()
    with open_store(db) as store:
        assert store.schema_version == SCHEMA_VERSION == 3
        (run,) = store.list_flow_runs()
        assert (run["flow_name"], run["state"], run["duration_seconds"]) == ("old", "Success", 2.5)
        assert store.list_artifacts(run["id"]) == []  # the table version 2 added


def test_a_file_of_a_newer_headwater_is_refused(tmp_path):
    db = tmp_path / "history.db"
    SQLiteStore(db).close()
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()
    with pytest.raises(HistoryError, match="newer than this headwater"):
        open_store(db)


def test_a_file_that_is_not_a_database_is_named(tmp_path):
    db = tmp_path / "history.db"
    db.write_text("hello, not sqlite" * 100)
    with pytest.raises(HistoryError, match="not a headwater history database"):
        open_store(db)


def test_postgres_migrations_record_the_version(postgres_database):
    with open_store(postgres_database) as store:
        assert store.schema_version == SCHEMA_VERSION
    with open_store(postgres_database) as again:  # opening again migrates nothing
        assert again.schema_version == SCHEMA_VERSION


# -- logs and artifacts -----------------------------------------------------------------------
def test_logs_at_the_threshold_and_above_are_kept(store):
    with Flow("loud") as flow:
        shout(3)
    flow.run()
    run = _run_of(store, "loud")
    logs = store.list_logs(run["id"])
    messages = [entry["message"] for entry in logs]
    assert [m for m in messages if m.startswith("line")] == [
        "line 0 of 3",
        "line 1 of 3",
        "line 2 of 3",
    ]
    assert "a debug line" not in messages and "a warning" in messages
    (task_run,) = [t for t in store.list_task_runs(run["id"]) if t["task_name"] == "shout"]
    mine = store.list_logs(run["id"], task_run_id=task_run["id"])
    assert [m["message"] for m in mine if m["message"].startswith("line")] == messages[1:4]
    assert all(m["task_run_id"] == task_run["id"] and m["task_name"] == "shout" for m in mine)
    warning = next(m for m in logs if m["message"] == "a warning")
    assert (warning["level"], warning["level_name"]) == (logging.WARNING, "WARNING")
    assert warning["logger"].startswith("headwater")


def test_the_log_level_setting_and_the_cap(store):
    from headwater.utilities.configuration import set_temporary_config

    with Flow("capped") as flow:
        shout(30)
    with set_temporary_config({"history.log_level": "WARNING", "history.max_logs_per_run": 5}):
        flow.run()
    run = _run_of(store, "capped")
    logs = store.list_logs(run["id"])
    assert [(m["level"], m["message"]) for m in logs] == [(logging.WARNING, "a warning")]
    with set_temporary_config({"history.max_logs_per_run": 5}):
        flow.run()
    store.flush()
    newest = store.list_flow_runs(flow_name="capped", limit=1)[0]
    logs = store.list_logs(newest["id"])
    assert len(logs) == 6
    assert (
        "not recorded" in logs[-1]["message"] and "history.max_logs_per_run" in logs[-1]["message"]
    )
    assert store.list_logs(newest["id"], limit=2) == logs[:2]


def test_artifacts_of_a_task_run(store):
    with Flow("reporting") as flow:
        publish()
    state = flow.run()
    assert state.result[next(iter(flow.tasks))].result is True
    run = _run_of(store, "reporting")
    (artifact,) = store.list_artifacts(run["id"])
    (task_run,) = store.list_task_runs(run["id"])
    assert artifact["task_run_id"] == task_run["id"]
    assert (artifact["key"], artifact["type"], artifact["description"]) == (
        "report",
        "markdown",
        "the summary",
    )
    assert artifact["data"] == "# Done\n<b>ok</b>"
    assert dt.datetime.fromisoformat(artifact["created_at"]).utcoffset() == dt.timedelta(0)


def test_record_artifact_checks_its_arguments_and_needs_a_run():
    assert record_artifact(key="k", type="table", data=[{"a": 1}]) is False  # no run here
    with pytest.raises(ValueError, match="type must be one of markdown, table"):
        record_artifact(key="k", type="chart", data=1)
    with pytest.raises(TypeError, match="JSON-serialisable"):
        record_artifact(key="k", type="table", data=object())


# -- upkeep -----------------------------------------------------------------------------------
def test_prune_deletes_old_runs_with_their_rows(store):
    with Flow("old-and-new") as flow:
        shout(2)
        publish()
    flow.run()
    flow.run()
    store.flush()
    old, new = sorted(store.list_flow_runs(), key=lambda r: r["id"])

    def age(cur):
        cur.execute(
            store.sql("UPDATE flow_runs SET started_at = started_at - ? WHERE id = ?"),
            [40 * 86400, old["id"]],
        )

    store.transaction(age)
    assert store.prune(dt.timedelta(days=30)) == 1
    assert [r["id"] for r in store.list_flow_runs()] == [new["id"]]
    for table in ("task_runs", "logs", "artifacts"):
        rows = store.query(f"SELECT COUNT(*) FROM {table} WHERE flow_run_id = ?", [old["id"]])
        assert rows == [(0,)], table
    assert store.list_task_runs(new["id"]) and store.list_logs(new["id"])
    assert store.prune(dt.timedelta(days=30)) == 0


def test_a_run_without_heartbeat_is_marked_crashed(store):
    def insert(cur):
        cur.execute(
            store.sql("INSERT INTO flows (name, graph_hash, created_at) VALUES (?, ?, ?)"),
            ["ghost", "h", 0.0],
        )
        cur.execute(store.sql("SELECT id FROM flows WHERE name = ?"), ["ghost"])
        flow_id = cur.fetchone()[0]
        long_ago = time.time() - 3600
        cur.execute(
            store.sql(
                "INSERT INTO flow_runs (run_uuid, flow_id, state, started_at, host, pid, "
                "heartbeat_at) VALUES (?, ?, 'Running', ?, 'elsewhere', 1, ?)"
            ),
            ["ghost-run", flow_id, long_ago, long_ago],
        )

    store.transaction(insert)
    (run,) = store.list_flow_runs(flow_name="ghost")
    assert (run["state"], run["is_live"]) == ("Running", False)
    assert store.mark_crashed() == 1
    (run,) = store.list_flow_runs(flow_name="ghost")
    assert run["state"] == "Crashed" and "ended without finishing" in run["message"]
    assert run["ended_at"] == run["started_at"]


# -- turning history off -----------------------------------------------------------------------
def test_history_false_records_nothing(store):
    with Flow("unrecorded") as flow:
        shout(1)
    flow.run(history=False)
    store.flush()
    assert store.count_flow_runs() == 0
    with pytest.raises(TypeError, match="history must be True, False or None"):
        flow.run(history="no")


def test_the_enabled_setting_turns_it_off(store):
    from headwater.utilities.configuration import set_temporary_config

    with Flow("unrecorded") as flow:
        shout(1)
    with set_temporary_config({"history.enabled": False}):
        flow.run()
    flow.run()
    store.flush()
    assert store.count_flow_runs() == 1


def test_a_live_run_gets_heartbeats(tmp_path):
    import threading

    from headwater.testing._isolation import temporary_settings

    release = threading.Event()

    @task
    def wait_for_release():
        assert release.wait(60)

    with Flow("beating") as flow:
        wait_for_release()
    db = tmp_path / "history.db"
    with temporary_settings({"history.path": str(db), "history.heartbeat_seconds": 1}):
        runner = threading.Thread(target=flow.run)
        runner.start()
        try:
            with open_store(db) as store:
                deadline = time.monotonic() + 30
                beats = []
                while time.monotonic() < deadline:
                    beats = store.query("SELECT started_at, heartbeat_at FROM flow_runs")
                    if beats and beats[0][1] > beats[0][0]:
                        break
                    time.sleep(0.05)
                assert beats and beats[0][1] > beats[0][0], beats
                (run,) = store.list_flow_runs()
                assert run["state"] == "Running" and run["is_live"]
                assert store.mark_crashed() == 0  # alive: its process beats
        finally:
            release.set()
            runner.join(60)
        with open_store(db) as store:
            store.flush()
            assert store.list_flow_runs()[0]["state"] == "Success"


def test_a_history_that_cannot_be_written_leaves_runs_alone(tmp_path, caplog):
    from headwater.testing._isolation import temporary_settings

    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    with Flow("unwritable") as flow:
        shout(1)
    with temporary_settings({"history.path": str(blocker / "history.db")}):
        with caplog.at_level(logging.WARNING, logger="headwater"):
            assert flow.run().is_successful()
            from headwater.history import flush

            assert flush(30)
    assert any("Run history: could not open" in r.getMessage() for r in caplog.records)
