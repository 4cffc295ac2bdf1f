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
"""

from __future__ import annotations

import logging
import os
import subprocess
import tempfile
import threading
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
    raise ValueError(
        f"ShellTask: stream_output must be True/False, a log level number or a level name "
        f"such as 'INFO' or 'DEBUG'; got {stream_output!r}"
    )


def _decode(raw: bytes) -> str:
    return raw.decode("utf-8", errors="replace").rstrip("\r\n")


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

        fd, path = tempfile.mkstemp(prefix="headwater-shell-", suffix=".sh")
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
        if err_lines:
            level = logging.ERROR if returncode else logging.WARNING
            logger.log(level, "Command wrote to stderr:\n%s", "\n".join(err_lines))
        if returncode:
            msg = f"Command failed with exit code {returncode}"
            last = lines[-1] if lines else (err_lines[-1] if err_lines else None)
            if last:
                msg = f"{msg}: {last}"
            logger.error(msg)
            raise signals.FAIL(msg, result=output)
        return output

    def _execute(self, path: str, environment: dict[str, str]) -> tuple[int, list[str], list[str]]:
        """Run the script at ``path``; return (exit code, output lines, stderr lines)."""
        try:
            proc = subprocess.Popen(
                [self.shell, path],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE if self.log_stderr else subprocess.STDOUT,
                env=environment,
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
        drain: threading.Thread | None = None
        if proc.stderr is not None:
            drain = threading.Thread(
                target=self._collect, args=(proc.stderr, err_lines), daemon=True
            )
            drain.start()
        lines: list[str] = []
        level = self._stream_level
        logger = self.logger
        try:
            assert proc.stdout is not None
            for raw in iter(proc.stdout.readline, b""):
                line = _decode(raw)
                if self.return_all:
                    lines.append(line)
                else:
                    lines[:] = [line]
                if level is not None:
                    logger.log(level, line)
            proc.wait()
            if drain is not None:
                drain.join()
        finally:
            if proc.poll() is None:  # interrupted: never leave the command running
                proc.kill()
                proc.wait()
            proc.stdout.close()  # type: ignore[union-attr]
            if proc.stderr is not None:
                proc.stderr.close()
        return proc.returncode, lines, err_lines

    @staticmethod
    def _collect(stream: IO[bytes], into: list[str]) -> None:
        for raw in iter(stream.readline, b""):
            into.append(_decode(raw))
