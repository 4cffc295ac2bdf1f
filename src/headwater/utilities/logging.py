"""Logging: the ``"headwater"`` logger, per-task child loggers and stdout capture.

headwater configures only its own logger (level, format and a stream handler from
``config.logging``) and never the root logger or the log-record factory. Records emitted while a
flow runs carry ``flow_name``, ``flow_run_id``, ``task_name``, ``task_slug`` and ``task_run_id``
attributes (when set), so handlers and formatters can use them::

    from headwater.utilities.logging import get_logger

    log = get_logger("my-task")      # the "headwater.my-task" logger
    log.info("hello")
"""

from __future__ import annotations

import io
import logging
import sys
from typing import Any

from headwater.context import context as _context

__all__ = ["ContextFilter", "StdoutToLogger", "configure_logging", "get_logger"]

_ROOT_NAME = "headwater"
_configured: list[logging.Handler] = []
_RECORD_KEYS = ("flow_name", "flow_run_id", "task_name", "task_slug", "task_run_id")


class ContextFilter(logging.Filter):
    """Adds run-context attributes to each record that passes through headwater's handler."""

    def filter(self, record: logging.LogRecord) -> bool:
        ctx = _context._get()
        for key in _RECORD_KEYS:
            if not hasattr(record, key):
                setattr(record, key, ctx.get(key))
        for key in _extra_attributes():
            if not hasattr(record, key):
                setattr(record, key, ctx.get(key))
        return True


def _extra_attributes() -> list[str]:
    from headwater.configuration import config

    try:
        return list(config.logging.log_attributes or [])
    except AttributeError:
        return []


def configure_logging(force: bool = False) -> logging.Logger:
    """Set up the ``"headwater"`` logger from ``config.logging`` (once, unless ``force``)."""
    from headwater.configuration import config

    logger = logging.getLogger(_ROOT_NAME)
    if _configured and not force:
        return logger
    for h in _configured:
        logger.removeHandler(h)
        for name in _extra_logger_names(config):
            logging.getLogger(name).removeHandler(h)
    _configured.clear()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(config.logging.format, config.logging.datefmt))
    handler.addFilter(ContextFilter())
    logger.addHandler(handler)
    logger.setLevel(str(config.logging.level).upper())
    _configured.append(handler)
    for name in _extra_logger_names(config):
        extra = logging.getLogger(name)
        if handler not in extra.handlers:
            extra.addHandler(handler)
            extra.setLevel(str(config.logging.level).upper())
    return logger


def _extra_logger_names(config: Any) -> list[str]:
    names = config.logging.get("extra_loggers") or []
    if isinstance(names, str):
        names = [n.strip() for n in names.strip("[]").split(",") if n.strip()]
    return [n for n in names if n != _ROOT_NAME and not n.startswith(_ROOT_NAME + ".")]


def get_logger(name: str | None = None) -> logging.Logger:
    """The ``"headwater"`` logger, or its child ``"headwater.<name>"``."""
    root = configure_logging()
    if name is None:
        return root
    return root.getChild(name)


class StdoutToLogger(io.TextIOBase):
    """A text stream that sends each written line to a logger at INFO (``log_stdout=True``)."""

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger
        self._buf = ""

    def writable(self) -> bool:
        return True

    def write(self, s: str) -> int:
        self._buf += s
        while "\n" in self._buf:
            line, self._buf = self._buf.split("\n", 1)
            if line:
                self.logger.info(line)
        return len(s)

    def flush(self) -> None:
        if self._buf:
            self.logger.info(self._buf)
            self._buf = ""
