"""Artifacts: created in runs, kept per run in memory, recorded in the run history."""

from __future__ import annotations

import logging
import uuid

import pytest

from headwater import artifacts
from headwater.artifacts import (
    artifacts_of,
    create_image_artifact,
    create_link_artifact,
    create_markdown_artifact,
    create_progress_artifact,
    create_table_artifact,
    get_artifact,
    update_progress_artifact,
)


@pytest.fixture(autouse=True)
def _home(headwater_home):
    return headwater_home


def test_each_kind_outside_a_run():
    ids = [
        create_markdown_artifact("# hi", key="md-one", description="a note"),
        create_table_artifact({"a": [1, 2], "b": [float("nan"), 3]}, key="tbl"),
        create_link_artifact("https://example.com", "Example", key="lnk"),
        create_image_artifact("https://example.com/a.png", key="img"),
    ]
    assert all(isinstance(i, uuid.UUID) for i in ids)
    kept = {a.id: a for a in artifacts_of(None)}
    assert kept[ids[0]].data == "# hi" and kept[ids[0]].description == "a note"
    assert kept[ids[1]].data == {"a": [1, 2], "b": [None, 3]}  # NaN is not JSON
    assert kept[ids[2]].type == "markdown" and kept[ids[2]].data == "[Example](https://example.com)"
    assert kept[ids[3]].type == "image"
    assert get_artifact("tbl").id == ids[1]
    assert artifacts.Artifact.get("no-such-key") is None


def test_keys_are_checked():
    with pytest.raises(ValueError, match="lowercase letters, numbers and dashes"):
        create_markdown_artifact("x", key="Not_OK")


def test_bad_content_is_refused():
    with pytest.raises(TypeError, match="markdown must be a string"):
        create_markdown_artifact(3)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="table must be"):
        create_table_artifact("rows")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="number from 0 to 100"):
        create_progress_artifact("half")  # type: ignore[arg-type]


def test_progress_is_clamped_and_updated(caplog):
    with caplog.at_level(logging.WARNING, logger="headwater.artifacts"):
        pid = create_progress_artifact(150.0, key="load")
    assert "interpreting it as 100.0%" in caplog.text
    assert get_artifact("load").data == 100.0
    assert update_progress_artifact(pid, 40, description="loading") == pid
    assert get_artifact("load").data == 40.0 and get_artifact("load").description == "loading"
    with pytest.raises(ValueError, match="no progress artifact"):
        update_progress_artifact(uuid.uuid4(), 10)


def test_artifacts_belong_to_their_flow_run_and_reach_the_history(headwater_home):
    from headwater import flow, runtime
    from headwater.history import open_store

    seen = {}

    @flow
    def report():
        seen["id"] = runtime.flow_run.id
        create_markdown_artifact("# done", key="report-md")
        create_table_artifact([{"rows": 3}], key="report-table")

    report()
    kept = artifacts_of(seen["id"])
    assert [a.key for a in kept] == ["report-md", "report-table"]
    assert all(a.flow_run_id == seen["id"] for a in kept)
    with open_store(headwater_home / "history.db") as store:
        store.flush()
        runs = store.list_flow_runs(flow_name="report")
        recorded = store.list_artifacts(runs[0]["id"])
    assert [(a["key"], a["type"]) for a in recorded] == [
        ("report-md", "markdown"),
        ("report-table", "table"),
    ]


def test_artifacts_of_prefect_1_runs_are_recorded(headwater_home):
    from headwater import Flow, task
    from headwater.history import open_store

    @task
    def step():
        create_markdown_artifact("# from a task", key="p1-note")

    with Flow("classic") as f:
        step()
    assert f.run().is_successful()
    with open_store(headwater_home / "history.db") as store:
        store.flush()
        run = store.list_flow_runs(flow_name="classic")[0]
        assert [a["key"] for a in store.list_artifacts(run["id"])] == ["p1-note"]


def test_memory_is_bounded(monkeypatch):
    monkeypatch.setattr(artifacts, "MAX_RUNS_KEPT", 3)
    from headwater.context import context

    for i in range(5):
        with context(flow_run_id=f"bounded-{i}"):
            create_markdown_artifact("x")
    assert artifacts_of("bounded-0") == [] and len(artifacts_of("bounded-4")) == 1
