"""Under pytest, headwater's log lines appear once: in ``caplog`` and in a failure's report.

A small test file runs in a fresh ``pytest`` process; its report is read as a user sees it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

INNER = """
from headwater import Flow, task


@task
def talk():
    talk.logger.warning("inner-unique-line")


def build():
    with Flow("inner") as flow:
        talk()
    return flow


def test_fails():
    build().run()
    assert False, "failing on purpose"


def test_caplog_holds_each_line_once(caplog):
    build().run()
    assert [r.getMessage() for r in caplog.records].count("inner-unique-line") == 1
    assert caplog.text.count("inner-unique-line") == 1
    assert caplog.text.count("Beginning Flow run for 'inner'") == 1
"""


def run_inner(tmp_path: Path, *args: str) -> str:
    (tmp_path / "test_inner.py").write_text(INNER)
    env = {k: v for k, v in os.environ.items() if not k.startswith("HEADWATER__LOGGING__")}
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args, "test_inner.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr  # test_fails fails on purpose
    expected = "1 failed, 1 deselected" if "-k" in args else "1 failed, 1 passed"
    assert f"= {expected} in" in proc.stdout, proc.stdout
    return proc.stdout


def test_a_failure_report_shows_each_log_line_once(tmp_path: Path) -> None:
    report = run_inner(tmp_path)
    assert report.count("inner-unique-line") == 1, report
    section = report[report.index("Captured log call") :]
    assert "inner-unique-line" in section
    assert "Captured stderr call" not in report


@pytest.mark.parametrize("level", ["INFO", "DEBUG"])
def test_a_failure_report_at_a_lower_level_shows_each_line_once(tmp_path: Path, level: str) -> None:
    report = run_inner(tmp_path, f"--log-level={level}")
    assert report.count("inner-unique-line") == 1, report
    assert report.count("Beginning Flow run for 'inner'") == 1, report


def test_without_pytests_log_capture_the_line_is_in_captured_stderr_once(tmp_path: Path) -> None:
    report = run_inner(tmp_path, "-p", "no:logging", "-k", "test_fails")  # (no caplog)
    assert report.count("inner-unique-line") == 1, report
    assert "inner-unique-line" in report[report.index("Captured stderr call") :]
