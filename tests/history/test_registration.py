"""Registered flows: the store's registry on SQLite and PostgreSQL, and ``flow.register()``
registering locally (the flow kept in its storage, a version recorded in the history)."""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from headwater import Flow, Parameter, task
from headwater.exceptions import FlowStorageError
from headwater.history import open_store
from headwater.history._registry import describe_schedule
from headwater.history._schema import MIGRATIONS, SCHEMA_VERSION, statements
from headwater.schedules import CronSchedule, IntervalSchedule


# -- the store ------------------------------------------------------------------------------
def test_registering_again_adds_a_version_only_when_the_flow_changed(target: str) -> None:
    with open_store(target) as store:
        first = store.register_flow("etl", project="data", labels=["b", "a"], flow_hash="h1")
        same = store.register_flow("etl", project="data", labels=["a", "b"], flow_hash="h1")
        changed = store.register_flow("etl", project="data", labels=["a", "b"], flow_hash="h2")
        relabelled = store.register_flow("etl", project="data", labels=["a"], flow_hash="h2")
        elsewhere = store.register_flow("etl", project="other", flow_hash="h2")
        assert [r["version"] for r in (first, same, changed, relabelled, elsewhere)] == [
            1,
            1,
            2,
            3,
            1,
        ]
        assert [r["created"] for r in (first, same, changed)] == [True, False, True]
        assert same["id"] == first["id"] and changed["id"] != first["id"]
        latest = store.get_registered_flow("etl", project="data")
        assert latest is not None
        assert (latest["version"], latest["labels"], latest["flow_hash"]) == (3, ["a"], "h2")
        old = store.get_registered_flow("etl", project="data", version=1)
        assert old is not None and old["labels"] == ["a", "b"]
        assert store.get_registered_flow("missing") is None


def test_the_same_idempotency_key_adds_no_version_and_a_new_key_does(target: str) -> None:
    with open_store(target) as store:
        first = store.register_flow("etl", flow_hash="h1", idempotency_key="k1")
        same_key = store.register_flow("etl", flow_hash="h2", idempotency_key="k1")
        new_key = store.register_flow("etl", flow_hash="h2", idempotency_key="k2")
        unchanged_new_key = store.register_flow("etl", flow_hash="h2", idempotency_key="k3")
    assert [r["version"] for r in (first, same_key, new_key, unchanged_new_key)] == [1, 1, 2, 3]
    assert same_key["flow_hash"] == "h1"  # the version of the key, as it was


def test_every_field_reads_back(target: str) -> None:
    parameters = [{"name": "n", "required": False, "default": {"deep": [1, 2]}}]
    storage = {"type": "Local", "directory": "/flows", "flows": {"etl": "/flows/etl.hwflow"}}
    with open_store(target) as store:
        store.register_flow(
            "etl",
            project="data",
            labels=["prod"],
            storage=storage,
            location="/flows/etl.hwflow",
            schedule="every 5 minutes",
            schedule_active=False,
            parameters=parameters,
            flow_hash="h",
            idempotency_key="k",
        )
        row = store.get_registered_flow("etl")
    assert row is not None
    expected = {
        "name": "etl",
        "project": "data",
        "version": 1,
        "labels": ["prod"],
        "storage": storage,
        "location": "/flows/etl.hwflow",
        "schedule": "every 5 minutes",
        "schedule_active": False,
        "parameters": parameters,
        "flow_hash": "h",
        "idempotency_key": "k",
    }
    assert {k: row[k] for k in expected} == expected
    registered_at = dt.datetime.fromisoformat(row["registered_at"])
    assert abs((dt.datetime.now(dt.UTC) - registered_at).total_seconds()) < 3600


def test_the_list_has_the_latest_versions_chosen_by_project_and_labels(target: str) -> None:
    with open_store(target) as store:
        store.register_flow("b", project="data", labels=["prod", "eu"], flow_hash="1")
        store.register_flow("b", project="data", labels=["prod"], flow_hash="2")
        store.register_flow("a", labels=["prod", "eu"], flow_hash="1")
        store.register_flow("c", project="ops", flow_hash="1")
        listed = store.list_registered_flows()
        assert [(f["name"], f["project"], f["version"]) for f in listed] == [
            ("a", None, 1),
            ("b", "data", 2),
            ("c", "ops", 1),
        ]
        assert [f["name"] for f in store.list_registered_flows(project="data")] == ["b"]
        assert [f["name"] for f in store.list_registered_flows(labels=["prod"])] == ["a", "b"]
        assert [f["name"] for f in store.list_registered_flows(labels=["prod", "eu"])] == ["a"]
        assert store.list_registered_flows(project="nobody") == []


def test_writers_registering_at_once_get_distinct_versions(target: str) -> None:
    errors: list[BaseException] = []
    versions: list[int] = []

    def register(n: int) -> None:
        try:
            with open_store(target) as store:
                versions.append(store.register_flow("etl", flow_hash=f"h{n}")["version"])
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=register, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    assert sorted(versions) == [1, 2, 3, 4, 5, 6]


def test_a_database_of_schema_two_gets_the_registry(tmp_path: Path) -> None:
    db = tmp_path / "history.db"
    conn = sqlite3.connect(db)
    for migration in MIGRATIONS[:2]:
        for statement in statements(migration, "sqlite"):
            conn.execute(statement)
    conn.execute("PRAGMA user_version = 2")
    conn.commit()
    conn.close()
    with open_store(db) as store:
        assert store.schema_version == SCHEMA_VERSION == 3
        assert store.list_registered_flows() == []
        assert store.register_flow("etl")["version"] == 1


def test_a_registered_flow_needs_a_name(target: str) -> None:
    with open_store(target) as store, pytest.raises(ValueError, match="needs a name"):
        store.register_flow("")


def test_schedules_are_described_in_one_line() -> None:
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    assert describe_schedule(None) is None
    every = IntervalSchedule(start_date=start, interval=dt.timedelta(minutes=5))
    assert describe_schedule(every) == "every 5 minutes"
    assert describe_schedule(CronSchedule("0 9 * * *")) == "cron '0 9 * * *'"
    odd = IntervalSchedule(start_date=start, interval=dt.timedelta(seconds=1.5))
    assert describe_schedule(odd) == "every 1.5 seconds"


# -- flow.register() ------------------------------------------------------------------------
@task
def double(n: int) -> int:
    return 2 * n


def _flow(default: int = 1, schedule: Any = None) -> Flow:
    with Flow("doubler", schedule=schedule) as flow:
        double(Parameter("n", default=default))
    return flow


def test_register_keeps_the_flow_in_local_storage_and_records_it(
    headwater_home: Path, recording: str, capsys: pytest.CaptureFixture[str]
) -> None:
    schedule = IntervalSchedule(interval=dt.timedelta(hours=1))
    flow_id = _flow(schedule=schedule).register(project_name="maths", labels=["dev"])
    out = capsys.readouterr().out
    assert "Flow 'doubler' registered locally: version 1" in out
    assert f"ID: {flow_id}" in out and "headwater serve" in out
    with open_store(recording) as store:
        row = store.get_registered_flow("doubler", project="maths")
    assert row is not None and str(row["id"]) == flow_id
    assert "dev" in row["labels"] and row["schedule"] == "every 1 hour"
    assert row["parameters"] == [{"name": "n", "required": False, "default": 1}]
    saved = Path(row["location"])
    assert saved.parent == headwater_home / "flows" and saved.is_file()
    from headwater.serialization.storage import StorageSchema

    loaded = StorageSchema().load(row["storage"]).get_flow("doubler")
    assert loaded.run(run_on_schedule=False, n=4).result[loaded.get_tasks("double")[0]].result == 8


def test_register_again_adds_a_version_only_for_a_changed_flow(
    headwater_home: Path, recording: str
) -> None:
    first = _flow(1).register(no_url=True)
    unchanged = _flow(1).register(no_url=True)
    changed = _flow(2).register(no_url=True)
    keyed = _flow(2).register(no_url=True, idempotency_key="release-1")
    keyed_again = _flow(3).register(no_url=True, idempotency_key="release-1")
    assert first == unchanged and len({first, changed, keyed}) == 3 and keyed_again == keyed
    with open_store(recording) as store:
        row = store.get_registered_flow("doubler")
    assert row is not None and row["version"] == 3


def test_register_records_even_with_history_off(headwater_home: Path) -> None:
    from headwater.utilities.configuration import set_temporary_config

    with set_temporary_config({"history.enabled": False}):
        flow_id = _flow().register(no_url=True, set_schedule_active=False)
    with open_store(headwater_home / "history.db") as store:
        row = store.get_registered_flow("doubler")
    assert row is not None and str(row["id"]) == flow_id and row["schedule_active"] is False


def test_register_refuses_a_storage_it_could_not_load_from(headwater_home: Path) -> None:
    from headwater.storage import S3

    flow = _flow()
    flow.storage = S3(bucket="flows")
    with pytest.raises(FlowStorageError, match="Local or Module"):
        flow.register(no_url=True)


def test_register_without_build_needs_the_flow_in_its_storage(headwater_home: Path) -> None:
    from headwater.storage import Local

    flow = _flow()
    flow.storage = Local(directory=str(headwater_home / "elsewhere"))
    with pytest.raises(ValueError, match="build=True"):
        flow.register(build=False, no_url=True)
    flow.storage.add_flow(flow)
    assert flow.register(build=False, no_url=True)


def test_run_agent_runs_the_flow_on_its_schedule_recording_every_run(
    headwater_home: Path, recording: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from headwater.utilities.configuration import set_temporary_config

    start = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=0.3)
    step = dt.timedelta(seconds=0.2)
    flow = _flow(schedule=IntervalSchedule(start_date=start, interval=step, end_date=start + step))
    due = flow.schedule.next(10)
    with set_temporary_config({"history.enabled": False}):  # recorded all the same
        flow.run_agent()
    assert "headwater has no server to poll" in capsys.readouterr().out
    with open_store(recording) as store:
        store.flush()
        runs = store.list_flow_runs(flow_name="doubler")
    assert len(runs) == len(due) == 2
    assert {run["state"] for run in runs} == {"Success"}


def test_run_agent_of_a_flow_without_a_schedule_says_what_to_do() -> None:
    from headwater.exceptions import ServerNotAvailableError

    with pytest.raises(ServerNotAvailableError, match="headwater serve"):
        _flow().run_agent()
