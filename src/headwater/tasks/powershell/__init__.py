"""Run PowerShell scripts as tasks: :class:`PowershellTask`."""

from __future__ import annotations

from headwater.tasks.powershell.powershell import PowershellTask

__all__ = ["PowershellTask"]
