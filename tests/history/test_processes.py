"""The history across processes: a run killed mid-way, eight writers at once, a normal exit.

Each case runs real Python subprocesses that record into one database (a SQLite file, or the
test PostgreSQL server), then reads it back.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from headwater.history import open_store

WRITERS = 8
RUNS_EACH = 3
TASKS_EACH = 40

WRITER_SCRIPT = """
import sys, time
from pathlib import Path
from headwater import Flow, task

go, name = Path(sys.argv[1]), sys.argv[2]

@task
def work(i):
    from headwater import context
    context.get("logger").info("item %d", i)
    return i * 2

with Flow(name) as flow:
    work.map(list(range({tasks})))

deadline = time.monotonic() + 60
while not go.exists() and time.monotonic() < deadline:
    time.sleep(0.005)
for _ in range({runs}):
    assert flow.run().is_successful()
# no flush: what the run recorded is written at exit
"""

KILLED_SCRIPT = """
import sys, time
from pathlib import Path
from headwater import Flow, task

ready = Path(sys.argv[1])

@task
def quick(i):
    return i

@task
def block(xs):
    ready.write_text("running")
    time.sleep(600)

with Flow("killed") as flow:
    block(quick.map(list(range(20))))
flow.run()
"""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    src = str(Path(__file__).resolve().parents[2] / "src")
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    env["HEADWATER__FLOWS__PROGRESS"] = "false"
    return env


def _wait_for(check, what: str, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


def test_eight_processes_write_into_one_database_and_lose_nothing(recording, tmp_path):
    script = tmp_path / "writer.py"
    script.write_text(
        WRITER_SCRIPT.replace("{tasks}", str(TASKS_EACH)).replace("{runs}", str(RUNS_EACH))
    )
    go = tmp_path / "go"
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), str(go), f"writer-{i}"],
            env=_env(),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(WRITERS)
    ]
    go.write_text("go")
    outputs = [p.communicate(timeout=240) for p in procs]
    for p, (_, err) in zip(procs, outputs):
        assert p.returncode == 0, err
        assert "locked" not in err.lower() and "could not" not in err.lower(), err
    with open_store(recording) as store:
        runs = store.list_flow_runs(limit=1000)
        assert len(runs) == WRITERS * RUNS_EACH
        assert {r["flow_name"] for r in runs} == {f"writer-{i}" for i in range(WRITERS)}
        assert all(r["state"] == "Success" and not r["is_live"] for r in runs)
        assert len({r["pid"] for r in runs}) == WRITERS
        for r in runs:
            tasks = store.list_task_runs(r["id"])
            children = [t for t in tasks if t["map_index"] is not None]
            assert sorted(t["map_index"] for t in children) == list(range(TASKS_EACH))
            items = [m for m in store.list_logs(r["id"]) if m["message"].startswith("item ")]
            assert len(items) == TASKS_EACH
        assert len(store.list_flows()) == WRITERS


def test_a_run_killed_mid_way_is_marked_crashed_on_the_next_open(recording, tmp_path):
    script = tmp_path / "killed.py"
    script.write_text(textwrap.dedent(KILLED_SCRIPT))
    ready = tmp_path / "ready"
    proc = subprocess.Popen(
        [sys.executable, str(script), str(ready)],
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_for(ready.exists, "the blocking task to start")
        with open_store(recording) as store:
            run = _wait_for(
                lambda: next(iter(store.list_flow_runs(flow_name="killed")), None),
                "the run's row",
            )
            assert run["state"] == "Running" and run["is_live"]
            assert run["pid"] == proc.pid
            _wait_for(lambda: len(store.list_task_runs(run["id"])) >= 20, "the finished task runs")
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    if not recording.startswith("postgresql://"):
        import sqlite3

        conn = sqlite3.connect(recording)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        conn.close()
    with open_store(recording) as store:
        (run,) = store.list_flow_runs(flow_name="killed")
        assert run["state"] == "Crashed" and not run["is_live"]
        assert run["ended_at"] is not None
        tasks = store.list_task_runs(run["id"])
        assert sorted(t["map_index"] for t in tasks if t["task_name"].startswith("quick")) == list(
            range(20)
        )
        assert "block" not in {t["task_name"] for t in tasks}  # it never finished


def test_a_normal_exit_writes_every_row_first(recording, tmp_path):
    script = tmp_path / "exit.py"
    script.write_text(
        textwrap.dedent(
            """
            from headwater import Flow, task

            @task
            def one(i):
                return i

            with Flow("exiting") as flow:
                one.map(list(range(500)))
            flow.run()
            """
        )
    )
    subprocess.run([sys.executable, str(script)], env=_env(), check=True, timeout=120)
    with open_store(recording) as store:
        (run,) = store.list_flow_runs(flow_name="exiting")
        assert run["state"] == "Success"
        assert run["task_run_count"] == 501  # the children and the list they map over


@pytest.mark.parametrize("flag, expected", [(["--no-history"], 0), ([], 1)])
def test_the_command_line_flag(recording, tmp_path, flag, expected):
    flow_file = tmp_path / "flow.py"
    flow_file.write_text(
        textwrap.dedent(
            """
            from headwater import Flow, task

            @task
            def hello():
                return "hi"

            with Flow("cli-flow") as flow:
                hello()
            """
        )
    )
    cmd = [sys.executable, "-m", "headwater", "run", str(flow_file), "-q", *flag]
    subprocess.run(cmd, env=_env(), check=True, timeout=120)
    with open_store(recording) as store:
        assert store.count_flow_runs(flow_name="cli-flow") == expected
