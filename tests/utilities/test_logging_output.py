"""What headwater's default logging writes: levels, timestamps, colours, retries.

Each case runs a flow in a fresh interpreter and reads what it wrote to a real pipe or a real
pseudo-terminal.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap

import pytest

FLOW = """
from datetime import timedelta
from headwater import Flow, context, task

@task
def ok(x):
    return x + 1

@task(max_retries=1, retry_delay=timedelta(seconds=0))
def flaky():
    if context.get("task_run_count", 1) == 1:
        raise ConnectionError("service unavailable\\nsecond line of the message")
    return 1

@task
def broken():
    raise ValueError("no good")

with Flow("lines") as flow:
    ok.map(list(range(5)))
    flaky()
    {extra}
flow.run()
"""


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without logging or colour settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if "COLOR" not in k}
    env = {k: v for k, v in env.items() if not k.startswith("HEADWATER__LOGGING__")}
    return {**env, **extra}


def run_flow(setup: str = "", extra: str = "pass", **env: str) -> str:
    """Run :data:`FLOW` in a fresh interpreter (``env`` added to a clean environment); its
    stderr, a pipe."""
    code = textwrap.dedent(setup) + "\n" + FLOW.format(extra=extra)
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env=clean_env(**env),
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stderr


def test_the_default_level_shows_the_run_and_its_retry_not_a_line_per_task() -> None:
    lines = [line.split("] ", 1)[1] for line in run_flow().splitlines()]
    assert lines == [
        "INFO - headwater.FlowRunner | Beginning Flow run for 'lines'",
        "WARNING - headwater.TaskRunner | Task 'flaky': attempt 1 of 2 failed, retrying: "
        "ConnectionError: service unavailable ...",
        "INFO - headwater.FlowRunner | Flow run SUCCESS: all reference tasks succeeded",
    ]


def test_a_retried_failure_is_one_warning_line_and_its_traceback_is_at_debug() -> None:
    out = run_flow()
    assert "Traceback" not in out and out.count("WARNING") == 1
    debug = run_flow(HEADWATER__LOGGING__LEVEL="DEBUG")
    assert debug.count("Traceback (most recent call last)") == 1
    assert "DEBUG - headwater.TaskRunner | Task 'flaky': the failure's traceback" in debug
    assert "Task 'ok[3]': Starting task run..." in debug
    assert "Task 'ok[3]': Finished task run for task with final state: 'Success'" in debug


def test_a_final_failure_is_an_error_with_its_traceback_and_an_info_line() -> None:
    out = run_flow(extra="broken()")
    assert "ERROR - headwater.TaskRunner | Task 'broken': Exception encountered" in out
    assert "ValueError: no good" in out and out.count("Traceback") == 1
    assert "INFO - headwater.TaskRunner | Task 'broken': Finished task run for task with " in out


def test_timestamps_have_milliseconds() -> None:
    first = run_flow().splitlines()[0]
    assert re.match(r"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}\] INFO - ", first), first


# -- colours ------------------------------------------------------------------------------------
ESC = "\x1b["


def run_in_terminal(**env: str) -> str:
    """Run :data:`FLOW` with stderr on a pseudo-terminal; what the terminal received."""
    import pty

    primary, secondary = pty.openpty()
    code = FLOW.format(extra="pass")
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=secondary,
        env=clean_env(**env),
    )
    os.close(secondary)
    chunks = []
    while True:
        try:
            data = os.read(primary, 65536)
        except OSError:  # EIO: the child closed its end
            break
        if not data:
            break
        chunks.append(data)
    os.close(primary)
    assert proc.wait(timeout=120) == 0
    return b"".join(chunks).decode()


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_a_terminal_gets_coloured_level_names() -> None:
    out = run_in_terminal()
    assert f"{ESC}33mWARNING{ESC}0m" in out and f"{ESC}36mINFO{ESC}0m" in out


@pytest.mark.skipif(sys.platform == "win32", reason="pseudo-terminals are POSIX")
def test_no_color_turns_colours_off_on_a_terminal() -> None:
    out = run_in_terminal(NO_COLOR="1")
    assert "WARNING" in out and ESC not in out


def test_a_pipe_gets_no_colours_unless_forced() -> None:
    assert ESC not in run_flow()
    assert f"{ESC}33mWARNING{ESC}0m" in run_flow(FORCE_COLOR="1")
    assert ESC not in run_flow(FORCE_COLOR="1", NO_COLOR="1")


def test_the_color_setting_decides_over_the_stream() -> None:
    assert f"{ESC}33mWARNING{ESC}0m" in run_flow(HEADWATER__LOGGING__COLOR="true")
    assert ESC not in run_flow(HEADWATER__LOGGING__COLOR="false", FORCE_COLOR="1")
