"""The progress bar of flow runs: when it shows, what it counts, on every executor."""

from __future__ import annotations

import contextlib
import io
import logging
import subprocess
import sys

import pytest

from headwater import Flow, task
from headwater.utilities.configuration import set_temporary_config
from headwater.utilities.logging import get_logger
from headwater.utilities.progress import ProgressBar, progress_bar_for


class FakeTerminal(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.fixture
def quiet_logs():
    logger = get_logger()
    level = logger.level
    logger.setLevel(logging.WARNING)
    yield
    logger.setLevel(level)


@task
def inc(x):
    return x + 1


@task
def fails_on_three(x):
    if x == 3:
        raise ValueError("three")
    return x


def final_line(text: str) -> str:
    return text.replace("\x1b[K", "").split("\r")[-1].strip()


def test_counts_and_text_without_drawing():
    bar = ProgressBar("etl", enabled=False)
    bar.add_total(4)
    for _ in range(3):
        bar.finished(None)

    class FailedState:
        def is_failed(self):
            return True

    bar.finished(FailedState())
    assert bar.text().startswith("etl: [####################] 4/4 task runs · 1 failed · ")
    bar.new_pass()
    assert bar.text().startswith("etl: [....................] 0/0 task runs")


def test_forced_bar_draws_on_a_terminal_and_ends_with_a_newline(quiet_logs):
    with Flow("numbers") as flow:
        inc.map(list(range(10)))
    terminal = FakeTerminal()
    with contextlib.redirect_stderr(terminal):
        state = flow.run(progress=True)
    assert state.is_successful()
    out = terminal.getvalue()
    assert out.endswith("\n")
    # ten mapped children and the task holding the list
    assert final_line(out).startswith("numbers: [####################] 11/11 task runs · ")


def test_failures_are_counted(quiet_logs):
    with Flow("some fail") as flow:
        fails_on_three.map([1, 2, 3, 4])
    terminal = FakeTerminal()
    with contextlib.redirect_stderr(terminal):
        flow.run(progress=True)
    assert "5/5 task runs · 1 failed · " in final_line(terminal.getvalue())


def test_auto_shows_nothing_when_not_a_terminal(quiet_logs):
    with Flow("plain") as flow:
        inc(1)
    pipe = io.StringIO()
    with contextlib.redirect_stderr(pipe):
        flow.run()
    assert pipe.getvalue() == ""
    assert progress_bar_for("plain", "auto", stream=io.StringIO()) is None


def test_auto_shows_nothing_while_per_task_debug_lines_are_on():
    logger = get_logger()
    level = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        assert progress_bar_for("x", "auto", stream=FakeTerminal()) is None
    finally:
        logger.setLevel(level)


def test_auto_shows_a_bar_at_the_default_info_level():
    # at INFO a run logs its start and end only, so the bar is what shows it going on
    logger = get_logger()
    level = logger.level
    logger.setLevel(logging.INFO)
    bar = progress_bar_for("x", "auto", stream=FakeTerminal())
    try:
        assert isinstance(bar, ProgressBar)
    finally:
        if bar is not None:
            bar.close()
        logger.setLevel(level)


def test_auto_on_a_quiet_terminal_waits_a_second_before_drawing(quiet_logs):
    bar = progress_bar_for("x", "auto", stream=FakeTerminal())
    try:
        assert isinstance(bar, ProgressBar)
        assert bar.delay == 1.0
    finally:
        bar.close()
    # closed before the delay: nothing was drawn
    assert bar.stream.getvalue() == ""


def test_a_short_auto_run_on_a_terminal_draws_nothing(quiet_logs):
    with Flow("short") as flow:
        inc(1)
    terminal = FakeTerminal()
    with contextlib.redirect_stderr(terminal):
        flow.run()
    assert terminal.getvalue() == ""


def test_config_turns_it_off_and_bad_values_are_errors(quiet_logs):
    with set_temporary_config({"flows.progress": False}):
        assert progress_bar_for("x", None, stream=FakeTerminal()) is None
    with Flow("bad") as flow:
        inc(1)
    with pytest.raises(ValueError, match="progress must be True, False or 'auto', got 'sometimes'"):
        flow.run(progress="sometimes")
    with pytest.raises(TypeError, match="progress must be True, False or 'auto'"):
        flow.run(progress=3)


def test_a_parameter_named_progress_stays_a_parameter(quiet_logs):
    from headwater import Parameter

    with Flow("param") as flow:
        p = Parameter("progress")
        out = inc(p)
    state = flow.run(progress=41)
    assert state.result[out].result == 42


def test_every_executor_ends_with_every_task_run_counted(executor, quiet_logs):
    with Flow("everywhere") as flow:
        a = inc.map(list(range(6)))
        inc.map(a)
    terminal = FakeTerminal()
    with contextlib.redirect_stderr(terminal):
        state = flow.run(executor=executor, progress=True)
    assert state.is_successful()
    assert final_line(terminal.getvalue()).startswith(
        "everywhere: [####################] 13/13 task runs"
    )


NOTEBOOK_SCRIPT = """
from IPython.core.interactiveshell import InteractiveShell
from headwater.utilities.progress import ProgressBar

published = []
shell = InteractiveShell.instance()
shell.display_pub.publish = lambda data, metadata=None, **kw: published.append((data, kw))
bar = ProgressBar("nb", notebook=True, enabled=False)
bar.add_total(2)
bar.finished(None)
bar._draw()
bar.finished(None)
bar._draw(final=True)
first, second = published
assert '<progress value="1" max="2"' in first[0]["text/html"], first
assert '<progress value="2" max="2"' in second[0]["text/html"], second
assert second[1].get("update") is True, second  # the same display, updated in place
print("ok")
"""


def test_notebook_display_is_created_once_then_updated_in_place():
    pytest.importorskip("IPython")
    proc = subprocess.run(
        [sys.executable, "-c", NOTEBOOK_SCRIPT], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "ok"
