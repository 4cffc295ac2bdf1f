"""``PowershellTask``: a :class:`~headwater.tasks.shell.ShellTask` that runs PowerShell.

The command (after an optional helper script) is written to a ``.ps1`` file and run with
``pwsh`` (PowerShell 6+) or ``powershell`` (Windows PowerShell 5)::

    from headwater.tasks.powershell import PowershellTask

    task = PowershellTask(helper_script="Set-Location ~", return_all=True)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from headwater.tasks.shell import ShellTask

__all__ = ["PowershellTask"]


class PowershellTask(ShellTask):
    """A task that runs a PowerShell command and returns its output.

    Args:
        command: the command to run (can also be given to ``run``).
        env: extra environment variables, set over a copy of ``os.environ``.
        helper_script: PowerShell code run before the command, in the same process.
        shell: ``"pwsh"`` (default) or ``"powershell"``.
        return_all: return every output line as a list instead of only the last line.
        log_stderr: keep standard error apart and log it.
        stream_output: log each output line as it arrives (``True``: at ``INFO``; or a level).
        **kwargs: any :class:`~headwater.core.task.Task` option.
    """

    script_suffix = ".ps1"

    def __init__(
        self,
        command: str | None = None,
        env: Mapping[str, str] | None = None,
        helper_script: str | None = None,
        shell: str = "pwsh",
        return_all: bool = False,
        log_stderr: bool = False,
        stream_output: bool | int | str = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            command=command,
            env=env,
            helper_script=helper_script,
            shell=shell,
            return_all=return_all,
            log_stderr=log_stderr,
            stream_output=stream_output,
            **kwargs,
        )
