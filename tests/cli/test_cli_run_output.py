"""What ``headwater run`` prints: ``--json``, ``--quiet``, ``--log-level``, and ``--executor``."""

from __future__ import annotations

import json
import math

import pytest

from headwater.cli._executors import ExecutorType, is_address
from headwater.cli._report import jsonable

MIXED = """
from headwater import Flow, Parameter, task

class Opaque:
    def __repr__(self):
        return "<Opaque thing>"

@task
def plain(n):
    return {"n": n, "items": [1, 2]}

@task
def opaque():
    return Opaque()

@task
def a_set():
    return {3}

@task
def double(x):
    return 2 * x

@task
def boom(x):
    raise ValueError("bad row")

with Flow("mixed") as flow:
    n = Parameter("n", default=2)
    plain(n)
    opaque()
    a_set()
    doubled = double.map([1, 2, 3])
"""

FAILING = MIXED + "    boom(doubled)\n"


def tasks_by_name(report: dict) -> dict[str, dict]:
    return {t["name"]: t for t in report["tasks"]}


class TestJson:
    def test_flow_and_task_states_and_results(self, headwater, write):
        path = write("mixed.py", MIXED)
        proc = headwater("run", str(path), "--json", "-p", "n=5")
        assert proc.returncode == 0, proc.stderr
        report = json.loads(proc.stdout)  # stdout is the JSON document and nothing else
        assert report["flow"] == "mixed"
        assert report["state"] == "Success"
        assert report["successful"] is True
        assert report["message"] == "All reference tasks succeeded."
        assert report["parameters"] == {"n": 5}
        tasks = tasks_by_name(report)
        assert tasks["n"]["result"] == 5
        assert tasks["plain"] == {
            "name": "plain",
            "slug": tasks["plain"]["slug"],
            "state": "Success",
            "message": "Task run succeeded.",
            "result": {"n": 5, "items": [1, 2]},
        }
        assert tasks["opaque"]["result"] == "<Opaque thing>"  # not JSON: its repr
        assert tasks["a_set"]["result"] == "{3}"
        mapped = tasks["double"]
        assert mapped["state"] == "Mapped"
        assert mapped["result"] == [2, 4, 6]
        assert [c["result"] for c in mapped["map_states"]] == [2, 4, 6]
        assert {c["state"] for c in mapped["map_states"]} == {"Success"}

    def test_a_failed_flow_still_prints_json_and_exits_1(self, headwater, write):
        path = write("failing.py", FAILING)
        proc = headwater("run", str(path), "--json")
        assert proc.returncode == 1
        report = json.loads(proc.stdout)
        assert report["state"] == "Failed" and report["successful"] is False
        boom = tasks_by_name(report)["boom"]
        assert boom["state"] == "Failed"
        assert boom["result"] == "ValueError('bad row')"
        assert "bad row" in boom["message"]

    def test_jsonable(self):
        assert jsonable([1, "a", None, {"k": 2.5}]) == [1, "a", None, {"k": 2.5}]
        assert jsonable(math.nan) == "nan"
        assert jsonable({(1, 2): "tuple key"}) == "{(1, 2): 'tuple key'}"
        assert jsonable(b"x") == "b'x'"


class TestQuietAndLogLevel:
    def test_default_logs_info_lines_on_stderr_and_the_table_on_stdout(self, headwater, write):
        path = write("mixed.py", MIXED)
        proc = headwater("run", str(path))
        assert proc.returncode == 0
        assert " INFO - headwater" in proc.stderr
        assert proc.stdout.startswith("Flow 'mixed': Success")

    def test_quiet_success_prints_nothing(self, headwater, write):
        path = write("mixed.py", MIXED)
        proc = headwater("run", str(path), "--quiet")
        assert proc.returncode == 0
        assert proc.stdout == "" and proc.stderr == ""

    def test_quiet_failure_is_one_line(self, headwater, write):
        path = write("failing.py", FAILING)
        proc = headwater("run", str(path), "-q")
        assert proc.returncode == 1
        assert proc.stdout == ""
        assert proc.stderr.splitlines() == [
            "headwater: flow 'mixed' ended Failed: Some reference tasks failed."
        ]

    def test_quiet_with_json_prints_only_the_json(self, headwater, write):
        path = write("mixed.py", MIXED)
        proc = headwater("run", str(path), "--json", "-q")
        assert proc.returncode == 0
        assert proc.stderr == ""
        assert json.loads(proc.stdout)["state"] == "Success"

    def test_log_level_warning_hides_info_lines(self, headwater, write):
        path = write("failing.py", FAILING)
        proc = headwater("run", str(path), "--log-level", "warning")
        assert proc.returncode == 1
        assert " INFO - " not in proc.stderr
        assert " ERROR - headwater" in proc.stderr  # the failed task is still logged

    def test_log_level_debug_shows_debug_lines(self, headwater, write):
        path = write(
            "chatty.py",
            """
            from headwater import Flow, task
            from headwater.utilities.logging import get_logger

            @task
            def chatty():
                get_logger("chatty").debug("a detail")

            with Flow("chatty") as flow:
                chatty()
            """,
        )
        quiet = headwater("run", str(path))
        assert quiet.returncode == 0 and "a detail" not in quiet.stderr
        proc = headwater("run", str(path), "--log-level", "DEBUG")
        assert proc.returncode == 0
        assert " DEBUG - headwater.chatty | a detail" in proc.stderr

    @pytest.mark.slow
    def test_quiet_and_log_level_reach_worker_processes(self, headwater, write):
        path = write("failing.py", FAILING)
        proc = headwater("run", str(path), "-q", "--executor", "processes")
        assert proc.returncode == 1
        assert proc.stderr.splitlines() == [
            "headwater: flow 'mixed' ended Failed: Some reference tasks failed."
        ]
        proc = headwater("run", str(path), "--log-level", "ERROR", "--executor", "processes")
        assert " INFO - " not in proc.stderr
        assert "Task 'boom': Exception encountered during task execution!" in proc.stderr

    def test_the_level_is_restored_after_the_run(self, monkeypatch):
        import logging
        import os

        from headwater.cli._run import log_level

        monkeypatch.delenv("HEADWATER__LOGGING__LEVEL", raising=False)
        logger = logging.getLogger("headwater")
        before = logger.level
        with log_level("debug", quiet=False):
            assert logger.level == logging.DEBUG
            assert os.environ["HEADWATER__LOGGING__LEVEL"] == "DEBUG"
        assert logger.level == before
        assert "HEADWATER__LOGGING__LEVEL" not in os.environ
        monkeypatch.setenv("HEADWATER__LOGGING__LEVEL", "INFO")
        with log_level(None, quiet=True):
            assert logger.level > logging.CRITICAL
            assert os.environ["HEADWATER__LOGGING__LEVEL"] == "CRITICAL"
        assert os.environ["HEADWATER__LOGGING__LEVEL"] == "INFO" and logger.level == before

    def test_a_bad_log_level_is_a_usage_error(self, headwater, write):
        path = write("mixed.py", MIXED)
        proc = headwater("run", str(path), "--log-level", "LOUD")
        assert proc.returncode == 2
        [line] = proc.stderr.splitlines()
        assert "Invalid value for '--log-level'" in line


class TestExecutor:
    @pytest.mark.parametrize(
        ("text", "value"),
        [
            ("local", "local"),
            ("THREADS", "threads"),
            ("local-dask-threads", "threads"),
            ("local-dask-processes", "processes"),
            ("sync", "sync"),
            ("dask", "dask"),
            ("tcp://127.0.0.1:8786", "tcp://127.0.0.1:8786"),
            ("scheduler.example:8786", "scheduler.example:8786"),
        ],
    )
    def test_names_and_addresses(self, text, value):
        assert ExecutorType().convert(text, None, None) == value

    @pytest.mark.parametrize("text", ["cluster", "tcp:/x", "host:port", ""])
    def test_anything_else_is_refused(self, text):
        import click

        with pytest.raises(click.BadParameter, match="invalid choice"):
            ExecutorType().convert(text, None, None)

    def test_is_address(self):
        assert is_address("tls://10.0.0.1:8786") and is_address("[::1]:8786")
        assert not is_address("threads")

    @pytest.mark.parametrize("executor", ["sync", "local-dask-threads"])
    def test_a_dask_scheduler_runs_the_flow(self, headwater, write, executor):
        path = write("mixed.py", MIXED)
        proc = headwater("run", str(path), "--executor", executor, "--json", "-q")
        assert proc.returncode == 0, proc.stderr
        assert tasks_by_name(json.loads(proc.stdout))["double"]["result"] == [2, 4, 6]

    @pytest.mark.slow
    def test_a_scheduler_address_runs_on_that_cluster(self, headwater, write, dask_cluster):
        path = write(
            "where.py",
            """
            from headwater import Flow, task

            @task
            def worker_name():
                from distributed import get_worker
                return get_worker().address

            with Flow("remote") as flow:
                worker_name()
            """,
        )
        address = dask_cluster.scheduler.address
        proc = headwater("run", str(path), "--executor", address, "--json", "-q")
        assert proc.returncode == 0, proc.stderr
        ran_on = tasks_by_name(json.loads(proc.stdout))["worker_name"]["result"]
        assert ran_on in dask_cluster.scheduler_info()["workers"]
