"""Logging helpers kept from Prefect 1: temporary logger settings, ``RedirectToLog``, and the
cloud log shipping names (``CloudHandler``, ``LogManager``), which ship nothing here.

Prefect 1 sent log records to its server in batches. headwater has no server: a
:class:`CloudHandler` only queues records when ``config.cloud.send_flow_run_logs`` is true,
and the :class:`LogManager` keeps them in memory (``LOG_MANAGER.queue``) instead of sending.
"""

from __future__ import annotations

import contextlib
import json
import logging
import queue
from collections.abc import Iterator
from typing import Any

__all__ = [
    "LOG_MANAGER",
    "LOG_OVERHEAD",
    "MAX_BATCH_LOG_SIZE",
    "MAX_LOG_SIZE",
    "CloudHandler",
    "LogManager",
    "RedirectToLog",
    "create_diagnostic_logger",
    "getlogsize",
    "temporary_logger_config",
]

MAX_LOG_SIZE = 1_000_000
MAX_BATCH_LOG_SIZE = 4_000_000
# the JSON size of a record's fields other than its message
LOG_OVERHEAD = len(
    json.dumps(
        {
            "flow_run_id": "0" * 32,
            "task_run_id": "0" * 32,
            "timestamp": "2000-01-01T00:00:00.000000+00:00",
            "name": "X" * 100,
            "level": "WARNING",
            "message": "",
        }
    )
)


def getlogsize(log: dict[str, Any]) -> int:
    """The estimated JSON size of a log record dict."""
    return len(log.get("message", "")) + LOG_OVERHEAD


class LogManager:
    """Keeps queued log records in memory (headwater sends them nowhere)."""

    def __init__(self) -> None:
        self.queue: queue.Queue[dict[str, Any]] = queue.Queue()
        self.pending_logs: list[dict[str, Any]] = []
        self.pending_length = 0

    def ensure_started(self) -> None:
        """Nothing to start: there is no sender thread."""

    def stop(self) -> None:
        """Nothing to stop."""

    def enqueue(self, message: dict[str, Any]) -> None:
        """Keep one log record dict."""
        self.queue.put(message)


LOG_MANAGER = LogManager()


class CloudHandler(logging.Handler):
    """Queues records on ``LOG_MANAGER`` when ``config.cloud.send_flow_run_logs`` is true."""

    def emit(self, record: logging.LogRecord) -> None:
        from headwater.context import context

        config = context.get("config")
        cloud = getattr(config, "cloud", None) if config is not None else None
        if not (cloud is not None and cloud.get("send_flow_run_logs", False)):
            return
        from headwater.utilities import logging as hw_logging

        message = self.format(record)
        if len(message) > MAX_LOG_SIZE:
            message = message[: MAX_LOG_SIZE - LOG_OVERHEAD]
        hw_logging.LOG_MANAGER.enqueue(
            {
                "flow_run_id": context.get("flow_run_id"),
                "task_run_id": context.get("task_run_id"),
                "name": record.name,
                "level": record.levelname,
                "message": message,
            }
        )


def create_diagnostic_logger(name: str) -> logging.Logger:
    """A stand-alone logger (not under ``"headwater"``) with headwater's format."""
    from headwater.configuration import config

    logger = logging.getLogger(name)
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter(config.logging.format, config.logging.datefmt))
        logger.addHandler(handler)
    logger.setLevel(str(config.logging.level).upper())
    return logger


@contextlib.contextmanager
def temporary_logger_config(
    level: int | str | None = None,
    stream_fmt: str | None = None,
    stream_datefmt: str | None = None,
) -> Iterator[logging.Logger]:
    """Run a block with the ``"headwater"`` logger's level and stream format changed.

    Args:
        level: the log level.
        stream_fmt: the format of stream handlers.
        stream_datefmt: the date format of stream handlers.

    Yields:
        The ``"headwater"`` logger.
    """
    from headwater.utilities.configuration import set_temporary_config
    from headwater.utilities.logging import configure_logging, get_logger

    logger = get_logger()
    previous_level = logger.level
    overrides = {
        "logging.level": logging.getLevelName(level) if isinstance(level, int) else level,
        "logging.format": stream_fmt,
        "logging.datefmt": stream_datefmt,
    }
    try:
        with set_temporary_config({k: v for k, v in overrides.items() if v}):
            yield configure_logging(force=True)
    finally:
        configure_logging(force=True)
        logger.setLevel(previous_level)


class RedirectToLog:
    """A writable text stream whose every non-blank ``write`` becomes one INFO record.

    Args:
        logger: where the text goes (default: the ``"headwater.stdout"`` logger).
    """

    def __init__(self, logger: logging.Logger | None = None) -> None:
        from headwater.utilities.logging import get_logger

        self.stdout_logger = logger or get_logger("stdout")

    def write(self, s: str) -> None:
        """Log ``s`` at INFO unless it is blank.

        Raises:
            TypeError: ``s`` is not a string.
        """
        if not isinstance(s, str):
            raise TypeError(f"RedirectToLog.write needs a str, got {type(s).__name__}")
        if s.strip():
            self.stdout_logger.info(s)

    def flush(self) -> None:
        """Flush the logger's handlers."""
        for handler in self.stdout_logger.handlers:
            handler.flush()
