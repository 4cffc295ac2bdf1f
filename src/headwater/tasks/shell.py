"""Run shell commands as tasks.

A :class:`ShellTask` writes its command (after an optional helper script) to a temporary file
and runs it with a shell (``bash`` by default). Its result is the last line the command printed,
or every line with ``return_all=True``. A non-zero exit status fails the task; the ``Failed``
state still carries the output lines, so nothing the command printed is lost::

    from headwater import Flow
    from headwater.tasks.shell import ShellTask

    shell = ShellTask(helper_script="cd /tmp", return_all=True)

    with Flow("shell") as flow:
        listing = shell(command="echo one; echo two")

    state = flow.run()
    assert state.result[listing].result == ["one", "two"]

By default the command's standard error is merged into its output, as in a terminal. With
``log_stderr=True`` it is kept apart and written to the task's logger instead (``ERROR`` when
the command fails, ``WARNING`` when it succeeds).

The shell runs in a session (process group) of its own, and that whole group is killed when the
task's run ends — the command finished, the task timed out, Ctrl-C, an error — so nothing the
command started (``sleep`` under ``bash``, a job left in the background) keeps running after
the task. A process that must outlive the task has to leave the group (``setsid``).
"""

from __future__ import annotations

import logging
import os
import queue
import subprocess
import tempfile
import threading
import time
from collections.abc import Mapping
from typing import IO, Any

from headwater.core.task import Task
from headwater.engine import signals
from headwater.utilities.tasks import defaults_from_attrs

__all__ = ["ShellTask"]


def _stream_level(stream_output: bool | int | str) -> int | None:
    """The log level for streamed output lines, or ``None`` when streaming is off."""
    if stream_output is False or stream_output is None:
        return None
    if stream_output is True:
        return logging.INFO
    if isinstance(stream_output, int):
        return stream_output
    if isinstance(stream_output, str):
        level = logging.getLevelName(stream_output.upper())
        if isinstance(level, int):
            return level
    raise _OptionError(
        f"ShellTask: stream_output must be True/False, a log level number or a level name "
        f"such as 'INFO' or 'DEBUG'; got {stream_output!r}"
    )


class _OptionError(TypeError, ValueError):
    """A ShellTask option of the wrong kind (a ``TypeError`` in Prefect 1)."""


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace").rstrip("\r\n")


_STEP = 0.05  # seconds: how long the task's thread waits at a time (a timeout acts this fast)


def _new_group() -> dict[str, Any]:
    """``Popen`` options that start the command in a process group of its own."""
    if os.name == "posix":
        return {"start_new_session": True}
    return {"creationflags": getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)}


def _exited(proc: subprocess.Popen[bytes]) -> bool:
    """Whether the shell has exited; on POSIX it is not reaped, so its pid is not reused."""
    if proc.returncode is not None:
        return True
    if os.name == "posix" and hasattr(os, "waitid"):
        try:
            return os.waitid(os.P_PID, proc.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None
        except ChildProcessError:  # reaped by someone else
            pass
    return proc.poll() is not None


def _kill_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill the command's process group (POSIX), or the shell itself elsewhere.

    Called while the shell is running or not yet reaped: its pid, the group's id, is not free.
    """
    if os.name == "posix":
        import signal

        try:
            os.killpg(proc.pid, signal.SIGKILL)  # the group's id is the shell's pid
        except (ProcessLookupError, PermissionError):  # nothing left of it
            pass
    elif proc.poll() is None:
        proc.kill()


def _forward(stream: IO[bytes], into: queue.SimpleQueue[bytes | None]) -> None:
    """Put each line of ``stream`` into ``into``, then ``None``."""
    try:
        for raw in iter(stream.readline, b""):
            into.put(raw)
    except (OSError, ValueError):  # closed under us: the task is over
        pass
    finally:
        into.put(None)


class ShellTask(Task):
    """A task that runs a shell command and returns its output.

    Args:
        command: the command to run (can also be given to ``run``).
        env: extra environment variables, set over a copy of ``os.environ``.
        helper_script: shell code run before the command, in the same shell (e.g. ``cd`` or
            ``source`` lines).
        shell: the shell executable (``bash``, ``sh``, ``zsh``, ...), found on ``PATH``.
        return_all: return every output line as a list instead of only the last line.
        log_stderr: keep standard error apart from the output and log it (``ERROR`` level when
            the command fails, ``WARNING`` when it succeeds). When false, standard error is
            merged into the output lines.
        stream_output: log each output line as it arrives: ``True`` logs at ``INFO``; a level
            number or name (``"DEBUG"``) picks the level.
        **kwargs: any :class:`~headwater.core.task.Task` option.

    Raises:
        TypeError: if ``shell`` is not a string.
    """

    script_suffix = ".sh"  # the command file's suffix (PowerShell needs ".ps1")

    def __init__(
        self,
        command: str | None = None,
        env: Mapping[str, str] | None = None,
        helper_script: str | None = None,
        shell: str = "bash",
        return_all: bool = False,
        log_stderr: bool = False,
        stream_output: bool | int | str = False,
        **kwargs: Any,
    ) -> None:
        if not isinstance(shell, str) or not shell:
            raise TypeError(
                f"ShellTask: shell must be the name or path of a shell executable such as "
                f"'bash' or 'sh', got {shell!r}"
            )
        self.command = command
        self.env = env
        self.helper_script = helper_script
        self.shell = shell
        self.return_all = return_all
        self.log_stderr = log_stderr
        self._stream_level = _stream_level(stream_output)
        self.stream_output = stream_output
        super().__init__(**kwargs)

    def _environment(self, env: Mapping[str, str] | None) -> dict[str, str]:
        merged = os.environ.copy()
        if env is None:
            return merged
        if not isinstance(env, Mapping):
            raise TypeError(
                f"ShellTask {self.name!r}: env must be a mapping of variable names to strings, "
                f"got {type(env).__name__}"
            )
        for key, value in env.items():
            if not isinstance(key, str) or not isinstance(value, str):
                raise TypeError(
                    f"ShellTask {self.name!r}: env variable names and values must be strings; "
                    f"{key!r} is set to {type(value).__name__} {value!r} (use str(...))"
                )
            merged[key] = value
        return merged

    @defaults_from_attrs("command", "env", "helper_script")
    def run(
        self,
        command: str | None = None,
        env: Mapping[str, str] | None = None,
        helper_script: str | None = None,
    ) -> str | list[str] | None:
        """Run the command and return its output.

        Args:
            command: the command (default: the one given at construction).
            env: extra environment variables (default: the ones given at construction).
            helper_script: shell code to run first (default: the one given at construction).

        Returns:
            The last output line (``None`` if there was none), or every line as a list when
            ``return_all`` is set.

        Raises:
            TypeError: if no command is given, or ``command``/``env`` have the wrong type.
            FileNotFoundError: if the shell executable cannot be found.
            headwater.engine.signals.FAIL: if the command exits with a non-zero status; the
                signal's result holds the output (same shape as the return value).
        """
        if command is None:
            raise TypeError(
                f"ShellTask {self.name!r}: no command given; pass ShellTask(command=...) or "
                "give command= when calling the task."
            )
        if not isinstance(command, str):
            raise TypeError(
                f"ShellTask {self.name!r}: command must be a string, got "
                f"{type(command).__name__}: {command!r}"
            )
        if helper_script is not None and not isinstance(helper_script, str):
            raise TypeError(
                f"ShellTask {self.name!r}: helper_script must be a string, got "
                f"{type(helper_script).__name__}"
            )
        environment = self._environment(env)
        script = f"{helper_script}\n{command}\n" if helper_script else f"{command}\n"

        fd, path = tempfile.mkstemp(prefix="headwater-shell-", suffix=self.script_suffix)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(script)
            returncode, lines, err_lines = self._execute(path, environment)
        finally:
            os.unlink(path)

        output: str | list[str] | None = (
            lines if self.return_all else (lines[-1] if lines else None)
        )
        logger = self.logger
        if not returncode:
            if err_lines:
                logger.warning("Command wrote to stderr:\n%s", "\n".join(err_lines))
            return output
        msg = f"Command failed with exit code {returncode}"
        last = lines[-1] if lines else (err_lines[-1] if err_lines else None)
        if last:
            msg = f"{msg}: {last}"
        logger.error(msg)  # first the failure, then what the command wrote (as Prefect 1)
        if err_lines:
            logger.error("Command wrote to stderr:\n%s", "\n".join(err_lines))
        raise signals.FAIL(msg, result=output)

    def _execute(self, path: str, environment: dict[str, str]) -> tuple[int, list[str], list[str]]:
        """Run the script at ``path``; return (exit code, output lines, stderr lines).

        The shell starts in a session (and process group) of its own. However ``run`` ends —
        the command finished, the task timed out, Ctrl-C, an error — the whole group is killed
        before it returns, so no process the command started (``sleep`` under ``bash``, a
        background job) outlives the task. The output is read by a thread while this one waits
        in short steps, so that a timeout or Ctrl-C is acted on at once, even while the command
        prints nothing.
        """
        try:
            proc = subprocess.Popen(
                [self.shell, path],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE if self.log_stderr else subprocess.STDOUT,
                env=environment,
                **_new_group(),
            )
        except FileNotFoundError:
            raise FileNotFoundError(
                f"ShellTask {self.name!r}: the shell {self.shell!r} was not found on PATH. "
                f"Install it, or choose another with ShellTask(shell='sh')."
            ) from None
        except PermissionError:
            raise PermissionError(
                f"ShellTask {self.name!r}: the shell {self.shell!r} is not executable."
            ) from None

        err_lines: list[str] = []
        readers: list[threading.Thread] = []
        if proc.stderr is not None:
            readers.append(
                threading.Thread(target=self._collect, args=(proc.stderr, err_lines), daemon=True)
            )
        out: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        readers.append(threading.Thread(target=_forward, args=(proc.stdout, out), daemon=True))
        for reader in readers:
            reader.start()
        lines: list[str] = []
        try:
            # (in a function of its own: Python 3.11 can skip this frame's ``finally`` for an
            # exception raised asynchronously at the head of a loop written here)
            self._follow(proc, out, readers, lines)
        finally:
            if proc.returncode is None:  # interrupted: first of all, end the command
                _kill_group(proc)
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:  # pragma: no cover - SIGKILL was ignored
                pass
            for reader in readers:
                reader.join(1)  # the pipes are at their end once the group is gone
            proc.stdout.close()  # type: ignore[union-attr]
            if proc.stderr is not None:
                proc.stderr.close()
        return proc.returncode, lines, err_lines

    def _follow(
        self,
        proc: subprocess.Popen[bytes],
        out: queue.SimpleQueue[bytes | None],
        readers: list[threading.Thread],
        lines: list[str],
    ) -> None:
        """Take the output lines into ``lines`` until the command ends, in short waits.

        Once the shell has exited, what it left running in the background is killed (it would
        otherwise hold the output open, and outlive the task); its output so far is kept.
        """
        level = self._stream_level
        logger = self.logger
        ended = False
        while True:
            try:
                raw = out.get(timeout=_STEP)
            except queue.Empty:
                if not ended and _exited(proc):
                    ended = True
                    _kill_group(proc)
                continue
            if raw is None:
                break
            line = _decode(raw)
            if self.return_all:
                lines.append(line)
            else:
                lines[:] = [line]
            if level is not None:
                logger.log(level, line)
        pause = 0.0005
        while not _exited(proc):  # (its output ends as it exits: this is short)
            time.sleep(pause)
            pause = min(pause * 2, _STEP)
        _kill_group(proc)  # what it left running, output closed or not
        proc.wait()
        for reader in readers:
            while reader.is_alive():
                reader.join(_STEP)

    @staticmethod
    def _collect(stream: IO[bytes], into: list[str]) -> None:
        try:
            for raw in iter(stream.readline, b""):
                into.append(_decode(raw))
        except (OSError, ValueError):  # closed under us: the task is over
            pass
