"""``headwater runs`` (list, show, logs) and ``headwater history prune`` on a recorded history."""

from __future__ import annotations

import io
import json

import pytest

from headwater import Flow, task
from headwater.cli import main


@task
def greet(name):
    from headwater import context

    context.get("logger").info("hello %s", name)
    return f"hello {name}"


@task
def explode():
    raise KeyError("missing")


def _cli(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(args), stdout=out, stderr=err)
    return code, out.getvalue(), err.getvalue()


@pytest.fixture
def recorded(store):
    with Flow("greeter") as good:
        greet("ada")
    with Flow("exploder") as bad:
        explode()
    good.run()
    bad.run()
    store.flush()
    return store


def test_runs_lists_the_newest_first(recorded):
    code, out, err = _cli("runs")
    assert code == 0, err
    lines = out.splitlines()
    assert lines[0].split() == ["ID", "FLOW", "STATE", "STARTED", "DURATION", "TASK", "RUNS"]
    assert "exploder" in lines[1] and "Failed" in lines[1] and "(1 failed)" in lines[1]
    assert "greeter" in lines[2] and "Success" in lines[2]
    assert _cli("runs", "list")[1] == out


def test_runs_filters_and_json(recorded):
    code, out, _ = _cli("runs", "--flow", "greeter", "--json")
    runs = json.loads(out)
    assert code == 0 and [r["flow_name"] for r in runs] == ["greeter"]
    code, out, _ = _cli("runs", "list", "--state", "Failed", "--json", "--limit", "5")
    assert [r["flow_name"] for r in json.loads(out)] == ["exploder"]
    code, out, _ = _cli("runs", "--flow", "nobody")
    assert code == 0 and out.strip() == "No flow runs recorded that match."


def test_runs_show_and_logs(recorded):
    (failed,) = recorded.list_flow_runs(flow_name="exploder")
    code, out, err = _cli("runs", "show", str(failed["id"]))
    assert code == 0, err
    assert out.startswith(f"Flow run {failed['id']} of 'exploder': Failed")
    assert "KeyError: 'missing'" in out
    code, out, _ = _cli("runs", "show", str(failed["id"]), "--json")
    shown = json.loads(out)
    assert shown["task_runs"][0]["error_type"] == "KeyError"
    assert "Traceback" in shown["task_runs"][0]["traceback"]
    (good,) = recorded.list_flow_runs(flow_name="greeter")
    code, out, _ = _cli("runs", "logs", str(good["id"]))
    assert code == 0 and "INFO" in out and "greet | hello ada" in out


def test_an_unknown_run_is_named(recorded):
    code, _, err = _cli("runs", "show", "999")
    assert code == 1 and "no flow run 999" in err and "headwater runs" in err


def test_history_prune(recorded):
    code, out, err = _cli("history", "prune", "--older-than", "30d")
    assert code == 0, err
    assert out.startswith("Deleted 0 flow run(s) older than 30 days")
    code, out, _ = _cli("history", "prune", "--older-than", "0")
    assert code == 0 and out.startswith("Deleted 2 flow run(s)")
    assert recorded.count_flow_runs() == 0
    code, _, err = _cli("history", "prune", "--older-than", "a month")
    assert code == 2 and "--older-than must be a number of days" in err


def test_runs_reads_the_database_given(tmp_path):
    db = tmp_path / "elsewhere.db"
    code, out, err = _cli("runs", "--db", str(db))
    assert code == 0, err
    assert out.strip() == "No flow runs recorded yet."
    (tmp_path / "junk.db").write_text("junk" * 500)
    code, _, err = _cli("runs", "--db", str(tmp_path / "junk.db"))
    assert code == 1 and "not a headwater history database" in err
