"""``prefect_test_harness`` / ``headwater_test_harness`` and ``disable_run_logger``."""

from __future__ import annotations

import logging
import os
import subprocess
import sys

import pytest

import headwater
from headwater.testing.utilities import (
    disable_run_logger,
    headwater_test_harness,
    prefect_test_harness,
)


def test_harness_isolates_home_storage_and_history():
    from headwater import flow, task

    before = headwater.config.home_dir

    @task(persist_result=True)
    def one():
        return 1

    @flow
    def uses_storage():
        return one()

    with prefect_test_harness() as home:
        assert headwater.config.home_dir == home != before
        assert headwater.config.history.path == f"{home}/history.db"
        assert uses_storage() == 1
        assert os.listdir(os.path.join(home, "storage"))
        out = subprocess.run(
            [sys.executable, "-c", "import headwater; print(headwater.config.home_dir)"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.stdout.strip() == home
    assert headwater.config.home_dir == before
    assert not os.path.exists(home)


def test_harness_undoes_limits_set_in_code():
    from headwater.concurrency import concurrency_limit, set_concurrency_limit

    set_concurrency_limit("outer", 1)
    try:
        with headwater_test_harness():
            set_concurrency_limit("inner", 2)
            set_concurrency_limit("outer", 5)
        assert concurrency_limit("inner") is None and concurrency_limit("outer") == 1
    finally:
        set_concurrency_limit("outer", None)


def test_harness_restores_after_an_error():
    before = headwater.config.home_dir
    with pytest.raises(RuntimeError), headwater_test_harness():
        raise RuntimeError("inside")
    assert headwater.config.home_dir == before
    assert prefect_test_harness is headwater_test_harness


def test_disable_run_logger_lets_task_functions_run_outside_flows(caplog):
    from headwater import get_run_logger, task

    @task
    def greet(name):
        get_run_logger().info("hello %s", name)
        return f"hi {name}"

    with disable_run_logger():
        with caplog.at_level(logging.INFO):
            assert greet.fn("ann") == "hi ann"
        assert logging.getLogger("headwater.task_runs").disabled
    assert "hello ann" not in caplog.text
    assert not logging.getLogger("headwater.task_runs").disabled


def test_disable_run_logger_is_reexported_where_prefect_has_it():
    from headwater import logging as hw_logging

    assert hasattr(hw_logging, "disable_run_logger")
