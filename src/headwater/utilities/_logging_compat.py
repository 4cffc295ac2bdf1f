"""Logging helpers kept from Prefect 1: temporary logger settings, ``RedirectToLog``, and the
log shipping classes (``CloudHandler``, ``LogManager``).

Prefect 1 sent log records to its server in batches. headwater has no server and its runs never
report to one, so a :class:`CloudHandler` stays idle; code that sets ``running_with_backend``
in the context and supplies a ``headwater.Client`` with ``write_run_logs`` gets Prefect 1's
batching.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime
import json
import logging
import queue
import threading
import time
import warnings
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
    """Sends queued log record dicts in batches to ``headwater.Client().write_run_logs``.

    Only a :class:`CloudHandler` running with a backend queues records, and headwater itself
    never runs with one: this is the Prefect 1 machinery for code that supplies its own client.
    The sender thread starts with the first record and flushes every
    ``config.cloud.logging_heartbeat`` seconds (default 5), and once more at exit.
    """

    def __init__(self) -> None:
        self.queue: queue.Queue[dict[str, Any]] = queue.Queue()
        self.pending_logs: list[dict[str, Any]] = []
        self.pending_length = 0
        self.thread: threading.Thread | None = None
        self.client: Any = None
        self.logging_period = 5.0
        self._stopped = threading.Event()

    def ensure_started(self) -> None:
        """Create the client and start the sender thread, unless already started."""
        if self.thread is not None:
            return
        import headwater
        from headwater.configuration import config

        client_class: Any = headwater.Client
        self.client = client_class()
        cloud = config.get("cloud") or {}
        self.logging_period = float(cloud.get("logging_heartbeat", 5.0))
        self._stopped.clear()
        self.thread = threading.Thread(
            target=self._write_logs_loop, name="headwater-log-manager", daemon=True
        )
        self.thread.start()
        atexit.register(self._on_shutdown)

    def _on_shutdown(self) -> None:
        for _ in range(3):
            try:
                self.stop()
                return
            except SystemExit:
                pass

    def stop(self) -> None:
        """Send what is queued and stop the sender thread (a no-op when not started)."""
        if self.thread is None:
            return
        self._stopped.set()
        self.thread.join()
        self._write_logs()
        self.thread = None
        self.client = None

    def _write_logs_loop(self) -> None:
        while not self._stopped.wait(self.logging_period):
            self._write_logs()

    def _write_logs(self) -> None:
        from headwater.utilities import logging as hw_logging

        max_log, max_batch = hw_logging.MAX_LOG_SIZE, hw_logging.MAX_BATCH_LOG_SIZE
        batch_limit = max(max_batch - max_log, max_log)
        more = True
        while more:
            try:
                while self.pending_length < batch_limit:
                    log = self.queue.get_nowait()
                    self.pending_length += getlogsize(log)
                    self.pending_logs.append(log)
            except queue.Empty:
                more = False
            if not self.pending_logs:
                continue
            try:
                self.client.write_run_logs(self.pending_logs)
            except Exception as exc:
                warnings.warn(
                    f"Failed to write logs with error: {exc!r}, pending log length: "
                    f"{self.pending_length:,}, max batch log length: {max_batch:,}, queue size: "
                    f"{self.queue.qsize():,}; they are sent again with the next batch",
                    stacklevel=2,
                )
                return
            self.pending_logs = []
            self.pending_length = 0

    def enqueue(self, message: dict[str, Any]) -> None:
        """Queue one log record dict for sending (starting the sender if needed)."""
        self.ensure_started()
        self.queue.put(message)


LOG_MANAGER = LogManager()


class CloudHandler(logging.Handler):
    """Queues records on ``LOG_MANAGER`` while a run reports to a backend.

    A record is queued when the context has ``running_with_backend`` set,
    ``config.cloud.send_flow_run_logs`` is true and the record is at least at
    ``config.logging.level``. headwater's own runs never set ``running_with_backend``.
    """

    def emit(self, record: logging.LogRecord) -> None:
        from headwater.context import context

        if not context.get("running_with_backend"):
            return
        config = context.get("config")
        cloud = config.get("cloud") if config is not None else None
        if not (cloud and cloud.get("send_flow_run_logs", False)):
            return
        level = logging.getLevelName(str(config.logging.get("level", "INFO")).upper())
        if isinstance(level, int) and record.levelno < level:
            return
        from headwater.utilities import logging as hw_logging

        message = self.format(record)
        log = {
            "flow_run_id": context.get("flow_run_id"),
            "task_run_id": context.get("task_run_id"),
            "timestamp": datetime.datetime.fromtimestamp(
                record.created or time.time(), datetime.UTC
            ).isoformat(),
            "name": record.name,
            "level": record.levelname,
            "message": message,
        }
        size, limit = getlogsize(log), hw_logging.MAX_LOG_SIZE
        if size > limit:
            warnings.warn(
                f"Received a log of size {size} bytes, exceeding the limit of {limit}. The "
                "message will be truncated.",
                stacklevel=2,
            )
            log["message"] = message[: limit - LOG_OVERHEAD]
        hw_logging.LOG_MANAGER.enqueue(log)


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
