"""Secrets never reach the run history: each secret value a run holds is written as ``********``
in parameters, task messages, error messages, tracebacks and log lines.

Every test runs a real flow into a SQLite file, with a marker secret in one place, then reads
the database file and its WAL as bytes: the marker is absent, and a marker that is not secret,
written beside it, is present (so the bytes read hold the rows). The report and the UI's run
page do not show it either.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from headwater import Flow, Parameter, task
from headwater.history import flush, open_store
from headwater.tasks.secrets import EnvVarSecret, HeadwaterSecret, SecretBase
from headwater.testing._isolation import temporary_settings
from headwater.utilities.logging import get_logger

MASK = "********"


def marker(kind: str) -> str:
    """A value found nowhere else: ``kind`` and a random part."""
    return f"{kind}-{uuid.uuid4().hex[:12]}"


@pytest.fixture
def db(tmp_path: Path) -> Iterator[Path]:
    """A SQLite history file the runs of the test are recorded into."""
    path = tmp_path / "history.db"
    settings = {"history.path": str(path), "history.url": "", "history.enabled": True}
    with temporary_settings(settings):
        yield path


def raw_bytes(db: Path) -> bytes:
    """The database file, its WAL and shared-memory file, as written so far."""
    flush()
    parts = [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")]
    return b"".join(p.read_bytes() for p in parts if p.exists())


def newest_run(db: Path) -> dict[str, Any]:
    flush()
    with open_store(db) as store:
        return store.list_flow_runs(limit=1)[0]  # type: ignore[no-any-return]


def assert_masked(db: Path, secret: str, visible: str) -> None:
    """``secret`` is nowhere in the database's bytes; ``visible`` and the mask are."""
    data = raw_bytes(db)
    assert visible.encode() in data
    assert MASK.encode() in data
    assert secret.encode() not in data


@task
def use(password: str, visible: str) -> None:
    get_logger("secrets").warning("connecting with %s (%s)", password, visible)
    raise ValueError(f"login refused for {password}")


def login_flow(secret_task: Any) -> Flow:
    with Flow(f"login-{uuid.uuid4().hex[:6]}") as flow:
        use(secret_task, Parameter("visible"))
    return flow


def test_a_context_secret_is_masked_in_logs_errors_and_tracebacks(db: Path) -> None:
    secret, visible = marker("ctx-secret"), marker("visible")
    flow = login_flow(HeadwaterSecret("DB_PASSWORD"))
    state = flow.run(parameters={"visible": visible}, context={"secrets": {"DB_PASSWORD": secret}})
    assert state.is_failed()
    assert_masked(db, secret, visible)
    run = newest_run(db)
    with open_store(db) as store:
        [failed] = [t for t in store.list_task_runs(run["id"]) if t["state"] == "Failed"]
        logs = [log["message"] for log in store.list_logs(run["id"])]
    assert failed["error_message"] == f"login refused for {MASK}"
    assert f"ValueError: login refused for {MASK}" in failed["traceback"]
    assert MASK in failed["message"] and secret not in failed["message"]
    assert f"connecting with {MASK} ({visible})" in logs


def test_a_parameter_holding_a_secret_is_masked(db: Path) -> None:
    secret, visible = marker("param-secret"), marker("visible")

    @task
    def connect(dsn: str) -> str:
        return dsn.split("@")[-1]

    with Flow("dsn") as flow:
        connect(Parameter("dsn"))
        flow.add_task(Parameter("visible"))
    dsn = f"postgresql://app:{secret}@db.example.org/app"
    context = {"secrets": {"DSN_PASSWORD": secret}}
    assert flow.run(parameters={"dsn": dsn, "visible": visible}, context=context).is_successful()
    assert_masked(db, secret, visible)
    assert newest_run(db)["parameters"]["dsn"] == f"postgresql://app:{MASK}@db.example.org/app"


def test_a_configured_secret_is_masked(db: Path) -> None:
    secret, visible = marker("cfg-secret"), marker("visible")
    with temporary_settings({"context.secrets.API_TOKEN": secret}):
        state = login_flow(HeadwaterSecret("API_TOKEN")).run(parameters={"visible": visible})
    assert state.is_failed()
    assert_masked(db, secret, visible)


def test_an_environment_secret_is_masked(db: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    secret, visible = marker("env-secret"), marker("visible")
    name = f"HW_TEST_SECRET_{uuid.uuid4().hex[:8].upper()}"
    monkeypatch.setenv(name, secret)
    state = login_flow(EnvVarSecret(name)).run(parameters={"visible": visible})
    assert state.is_failed()
    assert_masked(db, secret, visible)


class Generated(SecretBase):
    """A secret task whose value exists only once it runs."""

    def __init__(self, value: str, **kwargs: Any) -> None:
        self.value = value
        super().__init__(**kwargs)

    def run(self) -> str:
        return self.value


def test_a_secret_task_result_is_masked(db: Path) -> None:
    secret, visible = marker("task-secret"), marker("visible")
    state = login_flow(Generated(secret, name="token")).run(parameters={"visible": visible})
    assert state.is_failed()
    assert_masked(db, secret, visible)


def test_a_secret_str_parameter_of_a_modern_flow_is_masked(db: Path) -> None:
    pydantic = pytest.importorskip("pydantic")
    from headwater import flow

    secret, visible = marker("str-secret"), marker("visible")

    @flow(name=f"modern-{visible}")
    def modern(token: Any, n: int = 1) -> None:
        raise ValueError(f"bad token {token.get_secret_value()}")

    with pytest.raises(ValueError, match="bad token"):
        modern(pydantic.SecretStr(secret))
    assert_masked(db, secret, visible)
    run = newest_run(db)
    assert run["parameters"] == {"token": MASK, "n": 1}
    assert run["message"].endswith(f"bad token {MASK}")


def test_the_report_and_the_run_page_do_not_show_a_secret(db: Path) -> None:
    pytest.importorskip("starlette")
    pytest.importorskip("httpx2")
    from starlette.testclient import TestClient

    from headwater.ui import create_app, render_report

    secret, visible = marker("page-secret"), marker("visible")
    flow = login_flow(HeadwaterSecret("DB_PASSWORD"))
    flow.run(parameters={"visible": visible}, context={"secrets": {"DB_PASSWORD": secret}})
    run_id = newest_run(db)["id"]
    report = render_report(db, run_id)
    assert visible in report and MASK in report and secret not in report
    app = create_app(db, token="test-token-0123456789")
    try:
        with TestClient(app, base_url="http://127.0.0.1") as client:
            page = client.get(f"/runs/{run_id}").text
            api = client.get(f"/api/runs/{run_id}/logs").text
    finally:
        app.state.ui.data.close()
    assert visible in page and MASK in page and secret not in page
    assert secret not in api


def test_a_short_secret_inside_the_run_uuid_leaves_the_uuid_whole(db: Path) -> None:
    import sqlite3

    run_uuid = str(uuid.uuid4())
    piece, visible = run_uuid[9:13], marker("visible")
    context = {"flow_run_id": run_uuid, "secrets": {"PIN": piece}}
    state = login_flow(HeadwaterSecret("PIN")).run(parameters={"visible": visible}, context=context)
    assert state.is_failed()
    flush()
    with sqlite3.connect(db) as conn:
        stored = conn.execute("SELECT run_uuid, state FROM flow_runs").fetchall()
    assert stored == [(run_uuid, "Failed")]
    with open_store(db) as store:
        [failed] = [t for t in store.list_task_runs(newest_run(db)["id"]) if t["error_message"]]
    assert failed["error_message"] == f"login refused for {MASK}"


def test_secrets_are_masked_on_every_backend(store: Any) -> None:
    secret, visible = marker("backend-secret"), marker("visible")
    context = {"secrets": {"DB_PASSWORD": secret}}
    flow = login_flow(HeadwaterSecret("DB_PASSWORD"))
    assert flow.run(parameters={"visible": visible}, context=context).is_failed()
    store.flush()
    [run] = store.list_flow_runs(flow_name=flow.name)
    rows = store.list_task_runs(run["id"])
    logs = store.list_logs(run["id"])
    texts = repr([run, rows, logs])
    assert visible in texts and MASK in texts and secret not in texts
