from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import pytest

from headwater import Flow, task
from headwater.engine import signals
from headwater.engine.state import TimedOut
from headwater.executors import LocalExecutor
from headwater.tasks.shell import ShellTask

pytestmark = pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")


@task
def make_command(word):
    return f"echo {word}"


def run_flow(flow):
    return flow.run(executor=LocalExecutor())


class TestOutput:
    def test_returns_last_line(self):
        assert ShellTask().run(command="echo one; echo two") == "two"

    def test_return_all_returns_every_line(self):
        assert ShellTask(return_all=True).run(command="echo one; echo two") == ["one", "two"]

    def test_no_output_gives_none_or_empty_list(self):
        assert ShellTask().run(command="true") is None
        assert ShellTask(return_all=True).run(command="true") == []

    def test_trailing_spaces_are_kept_newlines_dropped(self):
        assert ShellTask().run(command="printf 'a  \\n'") == "a  "

    def test_undecodable_bytes_do_not_crash(self):
        assert ShellTask().run(command="printf 'x\\377y\\n'") == "x\ufffdy"

    def test_stderr_is_merged_into_output_by_default(self):
        out = ShellTask(return_all=True).run(command="echo out; echo err >&2")
        assert sorted(out) == ["err", "out"]

    def test_command_from_constructor_and_override_at_run(self):
        t = ShellTask(command="echo built")
        assert t.run() == "built"
        assert t.run(command="echo given") == "given"

    def test_positional_command(self):
        assert ShellTask().run("echo positional") == "positional"

    def test_helper_script_runs_first_in_same_shell(self):
        t = ShellTask(helper_script="greet() { echo hello-$1; }")
        assert t.run(command="greet ada") == "hello-ada"

    def test_other_shell(self):
        if shutil.which("sh") is None:
            pytest.skip("needs sh")
        assert ShellTask(shell="sh").run(command="echo from-sh") == "from-sh"

    def test_temporary_script_is_removed(self, tmp_path, monkeypatch):
        monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
        ShellTask().run(command="echo hi")
        with pytest.raises(signals.FAIL):
            ShellTask().run(command="exit 1")
        assert list(tmp_path.iterdir()) == []


class TestEnvironment:
    def test_env_is_merged_over_os_environ(self, monkeypatch):
        monkeypatch.setenv("HW_FROM_PROCESS", "outer")
        t = ShellTask(env={"HW_GIVEN": "inner"})
        assert t.run(command='echo "$HW_FROM_PROCESS $HW_GIVEN"') == "outer inner"

    def test_env_overrides_os_environ(self, monkeypatch):
        monkeypatch.setenv("HW_VALUE", "outer")
        assert ShellTask(env={"HW_VALUE": "inner"}).run(command="echo $HW_VALUE") == "inner"

    def test_env_does_not_leak_into_the_process(self):
        ShellTask(env={"HW_NOT_LEAKED": "x"}).run(command="true")
        assert "HW_NOT_LEAKED" not in os.environ

    def test_env_given_at_run(self):
        assert ShellTask().run(command="echo $HW_RUN", env={"HW_RUN": "yes"}) == "yes"

    def test_non_string_env_value_is_rejected(self):
        with pytest.raises(TypeError, match=r"'PORT' is set to int 8080.*str\(\.\.\.\)"):
            ShellTask(env={"PORT": 8080}).run(command="true")

    def test_env_not_a_mapping_is_rejected(self):
        with pytest.raises(TypeError, match="env must be a mapping"):
            ShellTask(env=["A=1"]).run(command="true")


class TestFailure:
    def test_nonzero_exit_fails_with_last_line(self):
        with pytest.raises(signals.FAIL) as info:
            ShellTask().run(command="echo first; echo last; exit 3")
        assert info.value.state.is_failed()
        assert info.value.state.result == "last"
        assert "exit code 3" in info.value.message

    def test_nonzero_exit_with_return_all_carries_every_line(self):
        with pytest.raises(signals.FAIL) as info:
            ShellTask(return_all=True).run(command="echo a; echo b; exit 1")
        assert info.value.state.result == ["a", "b"]

    def test_error_output_is_in_the_message(self):
        with pytest.raises(signals.FAIL, match="exit code 2: no-such-thing: oops"):
            ShellTask().run(command="echo 'no-such-thing: oops' >&2; exit 2")

    def test_failure_is_logged(self, caplog):
        with caplog.at_level(logging.INFO, logger="headwater"), pytest.raises(signals.FAIL):
            ShellTask(name="deploy").run(command="exit 4")
        errors = [r for r in caplog.records if r.levelno == logging.ERROR]
        assert any("exit code 4" in r.getMessage() and r.name == "headwater.deploy" for r in errors)

    def test_missing_shell_names_it(self):
        t = ShellTask(shell="no-such-shell-xyz")
        with pytest.raises(FileNotFoundError, match="'no-such-shell-xyz' was not found on PATH"):
            t.run(command="echo hi")

    def test_no_command(self):
        with pytest.raises(TypeError, match="no command given"):
            ShellTask().run()

    def test_command_not_a_string(self):
        with pytest.raises(TypeError, match="command must be a string, got list"):
            ShellTask().run(command=["echo", "hi"])

    def test_helper_script_not_a_string(self):
        with pytest.raises(TypeError, match="helper_script must be a string"):
            ShellTask(helper_script=["cd /"]).run(command="true")

    @pytest.mark.parametrize("shell", ["", None, 3])
    def test_bad_shell(self, shell):
        with pytest.raises(TypeError, match="shell must be the name or path"):
            ShellTask(shell=shell)

    def test_bad_stream_output(self):
        with pytest.raises(ValueError, match="stream_output must be"):
            ShellTask(stream_output="LOUD")
        with pytest.raises(TypeError, match="stream_output must be"):  # as Prefect 1
            ShellTask(stream_output="LOUD")


class TestLogging:
    def test_a_failure_is_logged_before_what_the_command_wrote(self, caplog):
        with caplog.at_level(logging.ERROR, logger="headwater.ShellTask"):
            with pytest.raises(signals.FAIL):
                ShellTask(log_stderr=True).run(command="echo broken >&2; exit 3")
        messages = [r.getMessage() for r in caplog.records if r.name == "headwater.ShellTask"]
        assert messages[0].startswith("Command failed with exit code 3")
        assert "broken" in messages[1]

    def test_log_stderr_keeps_stderr_out_of_result_and_logs_error_on_failure(self, caplog):
        t = ShellTask(log_stderr=True, return_all=True)
        with caplog.at_level(logging.INFO, logger="headwater"):
            with pytest.raises(signals.FAIL) as info:
                t.run(command="echo out; echo broken >&2; exit 1")
        assert info.value.state.result == ["out"]
        assert any(
            r.levelno == logging.ERROR and "broken" in r.getMessage() for r in caplog.records
        )

    def test_log_stderr_on_success_logs_warning(self, caplog):
        t = ShellTask(log_stderr=True)
        with caplog.at_level(logging.INFO, logger="headwater"):
            assert t.run(command="echo note >&2; echo done") == "done"
        assert [r.levelno for r in caplog.records if "note" in r.getMessage()] == [logging.WARNING]

    def test_large_stderr_does_not_deadlock(self):
        t = ShellTask(log_stderr=True)
        cmd = "head -c 300000 /dev/zero | tr '\\0' x >&2; echo finished"
        assert t.run(command=cmd) == "finished"

    def test_output_not_logged_without_stream_output(self, caplog):
        with caplog.at_level(logging.DEBUG, logger="headwater"):
            ShellTask().run(command="echo quiet-line")
        assert not any("quiet-line" in r.getMessage() for r in caplog.records)

    def test_stream_output_logs_at_chosen_level(self, caplog):
        with caplog.at_level(logging.DEBUG, logger="headwater"):
            ShellTask(stream_output="DEBUG").run(command="echo l1; echo l2")
        lines = [
            (r.levelno, r.getMessage()) for r in caplog.records if r.getMessage() in ("l1", "l2")
        ]
        assert lines == [(logging.DEBUG, "l1"), (logging.DEBUG, "l2")]

    def test_stream_output_logs_lines_while_command_runs(self, tmp_path):
        """The command waits (bounded) for a file that the log handler creates on seeing its
        first line: it can only see the file if that line was logged before the command ended."""
        flag = tmp_path / "seen"

        class Handler(logging.Handler):
            def emit(self, record):
                if record.getMessage() == "first":
                    flag.touch()

        handler = Handler()
        logger = logging.getLogger("headwater")
        logger.addHandler(handler)
        try:
            cmd = (
                "echo first\n"
                'for i in $(seq 1 1000); do [ -f "$FLAG" ] && break; sleep 0.01; done\n'
                '[ -f "$FLAG" ] && echo saw-flag || echo no-flag'
            )
            out = ShellTask(stream_output=True, env={"FLAG": str(flag)}).run(command=cmd)
        finally:
            logger.removeHandler(handler)
        assert out == "saw-flag"


class TestInFlow:
    def test_success(self):
        shell = ShellTask(return_all=True)
        with Flow("shell-ok") as flow:
            out = shell(command="echo a; echo b")
        state = run_flow(flow)
        assert state.is_successful()
        assert state.result[out].result == ["a", "b"]

    def test_command_from_upstream_task(self):
        with Flow("shell-upstream") as flow:
            out = ShellTask()(command=make_command("piped"))
        assert run_flow(flow).result[out].result == "piped"

    def test_failure_state_carries_output_lines(self):
        with Flow("shell-fail") as flow:
            out = ShellTask(return_all=True)(command="echo partial; exit 5")
        state = run_flow(flow)
        assert state.is_failed()
        task_state = state.result[out]
        assert task_state.is_failed()
        assert task_state.result == ["partial"]
        assert "exit code 5" in task_state.message

    def test_missing_shell_fails_the_task_with_its_name(self):
        with Flow("shell-missing") as flow:
            out = ShellTask(shell="no-such-shell-xyz")(command="echo hi")
        task_state = run_flow(flow).result[out]
        assert task_state.is_failed()
        assert "no-such-shell-xyz" in task_state.message


# -- no process of the command outlives the task -------------------------------------------------
try:
    import psutil
except ImportError:  # pragma: no cover - a test dependency
    psutil = None

INTERRUPTED_SCRIPT = """
import sys
from headwater.tasks.shell import ShellTask

try:
    ShellTask().run(command="echo $$ > {pid_file}; sleep 40")
except KeyboardInterrupt:
    print("KeyboardInterrupt reached the caller", flush=True)
    sys.exit(3)
"""


def _poll(predicate, timeout, what):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


def _gone(pid):
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def _shell_and_children(pid):
    """The shell with process id ``pid`` and all its descendants (as psutil processes)."""
    shell = psutil.Process(pid)
    return [shell, *shell.children(recursive=True)]


def _kill_leftovers(procs):
    for p in procs:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass


@pytest.mark.skipif(psutil is None, reason="needs psutil")
class TestNoProcessOutlivesTheTask:
    @pytest.mark.timeout(60)
    def test_timeout_kills_the_shell_and_what_it_started(self):
        """``ShellTask(command="sleep 40", timeout=1)``: no ``bash``, no ``sleep`` afterwards."""
        me = psutil.Process()
        seen = []
        shell = ShellTask(command="sleep 40", timeout=1)
        with Flow("shell-timeout") as flow:
            out = shell()
        result = {}
        runner = threading.Thread(target=lambda: result.update(state=run_flow(flow)))
        runner.start()
        try:

            def command_running():
                found = [p for p in me.children(recursive=True) if p.name() == "sleep"]
                if found:
                    seen.extend([*found, *found[0].parents()[:1]])  # sleep and its shell
                return found

            _poll(command_running, 30, "the command to start")
            runner.join(30)
            assert isinstance(result["state"].result[out], TimedOut)
            _poll(lambda: all(_gone(p.pid) for p in seen), 10, f"{seen} to end")
        finally:
            runner.join(30)
            _kill_leftovers(seen)

    @pytest.mark.timeout(60)
    def test_ctrl_c_kills_the_shell_and_what_it_started(self, tmp_path):
        pid_file = tmp_path / "shell-pid"
        script = tmp_path / "interrupted.py"
        script.write_text(INTERRUPTED_SCRIPT.format(pid_file=str(pid_file)))
        proc = subprocess.Popen(
            [sys.executable, str(script)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        procs = []
        try:
            _poll(lambda: pid_file.exists() and pid_file.read_text().strip(), 30, "the shell")

            def shell_and_sleep():
                found = _shell_and_children(int(pid_file.read_text()))
                return found if len(found) >= 2 else None

            procs = _poll(shell_and_sleep, 10, "sleep to start")
            proc.send_signal(signal.SIGINT)  # Ctrl-C for this process only, not the command
            out, err = proc.communicate(timeout=20)
            assert "KeyboardInterrupt reached the caller" in out, (out, err)
            _poll(lambda: all(_gone(p.pid) for p in procs), 10, f"{procs} to end")
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
            _kill_leftovers(procs)

    @pytest.mark.timeout(60)
    def test_what_the_command_leaves_in_the_background_ends_with_it(self, tmp_path):
        pid_file = tmp_path / "background-pid"
        result = {}
        # the background job keeps the output open: the task used to wait for it to end
        command = f"sleep 300 & echo $! > {pid_file}; echo done"
        runner = threading.Thread(target=lambda: result.update(out=ShellTask().run(command)))
        runner.start()
        try:
            runner.join(20)  # the deadline: the shell itself is done at once
            assert result.get("out") == "done", "the task waited for its background job"
            _poll(lambda: _gone(int(pid_file.read_text())), 10, "the background job to end")
        finally:
            if pid_file.exists() and not _gone(int(pid_file.read_text())):
                os.kill(int(pid_file.read_text()), signal.SIGKILL)
            runner.join(30)
