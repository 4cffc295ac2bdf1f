"""How headwater's own handler writes a line: timestamps, colours, and where it runs.

:class:`LineFormatter` is a :class:`logging.Formatter` that formats the date part of a
timestamp once per second (``time.strftime`` is the dearest part of formatting a record) and,
when asked to, colours the level name with ANSI escapes. :func:`colour_wanted` decides the
colours: the ``logging.color`` setting (``true``/``false``), or with ``"auto"`` the usual
conventions — no colours when ``NO_COLOR`` is set, colours when ``FORCE_COLOR`` is, else only on
a terminal. :func:`in_ipython_kernel` tells a Jupyter kernel (where the progress bar, not a
stream of INFO lines, shows a run's advance) from a script or a terminal IPython.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import IO, Any

__all__ = ["LineFormatter", "colour_wanted", "in_ipython_kernel"]

_RESET = "\x1b[0m"
_COLOURS = {
    logging.DEBUG: "\x1b[2m",  # dim
    logging.INFO: "\x1b[36m",  # cyan
    logging.WARNING: "\x1b[33m",  # yellow
    logging.ERROR: "\x1b[31m",  # red
    logging.CRITICAL: "\x1b[1;31m",  # bold red
}


def _env_on(name: str) -> bool:
    value = os.environ.get(name, "")
    return value != "" and value.lower() not in ("0", "false", "no")


def colour_wanted(setting: Any, stream: IO[str] | Any) -> bool:
    """Whether lines written to ``stream`` get colours.

    Args:
        setting: ``logging.color``: ``True``, ``False`` or ``"auto"`` (``NO_COLOR`` set and not
            empty: no; ``FORCE_COLOR`` set and not ``0``/``false``: yes; else whether
            ``stream`` is a terminal).
        stream: where the handler writes.
    """
    if isinstance(setting, bool):
        return setting
    if os.environ.get("NO_COLOR", "") != "":
        return False
    if _env_on("FORCE_COLOR"):
        return True
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):  # no isatty, or a closed stream
        return False


def in_ipython_kernel() -> bool:
    """Whether this process is an IPython kernel (Jupyter, VS Code notebooks, nbclient)."""
    if "ipykernel" not in sys.modules:
        return False
    ipython = sys.modules.get("IPython")
    try:
        shell = ipython.get_ipython() if ipython is not None else None
    except Exception:  # any failure means: not in a kernel
        return False
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


class LineFormatter(logging.Formatter):
    """A :class:`logging.Formatter` with a per-second timestamp cache and optional colours.

    Args:
        fmt: the ``%``-style format of a line.
        datefmt: the ``time.strftime`` format of ``%(asctime)s`` (``%(msecs)03d`` gives the
            milliseconds); ``None`` for the standard library's default.
        colour: colour the level name.
        defaults: values of fields a record may lack (``None`` for headwater's context keys).
    """

    def __init__(
        self,
        fmt: str,
        datefmt: str | None = None,
        *,
        colour: bool = False,
        defaults: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(fmt, datefmt, defaults=defaults)
        self.colour = colour
        self._stamp: tuple[int, str] = (-1, "")

    def formatTime(self, record: logging.LogRecord, datefmt: str | None = None) -> str:
        """The record's time in ``datefmt``, formatted once per second."""
        if datefmt is None:
            return super().formatTime(record, datefmt)
        second = int(record.created)
        cached = self._stamp  # one read: another thread may replace it meanwhile
        if cached[0] != second:
            cached = (second, time.strftime(datefmt, self.converter(second)))
            self._stamp = cached
        return cached[1]

    def format(self, record: logging.LogRecord) -> str:
        """The line, with a coloured level name when :attr:`colour` is on."""
        if not self.colour:
            return super().format(record)
        name = record.levelname
        record.levelname = f"{_COLOURS.get(record.levelno, '')}{name}{_RESET}"
        try:
            return super().format(record)
        finally:
            record.levelname = name
