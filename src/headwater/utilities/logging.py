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

__all__ = [
    "HEADWATER_LOG_RECORD_ATTRIBUTES",
    "LOG_MANAGER",
    "LOG_OVERHEAD",
    "MAX_BATCH_LOG_SIZE",
    "MAX_LOG_SIZE",
    "PREFECT_LOG_RECORD_ATTRIBUTES",
    "CloudHandler",
    "ContextFilter",
    "LogManager",
    "RedirectToLog",
    "StandAside",
    "StdoutToLogger",
    "configure_extra_loggers",
    "configure_logging",
    "create_diagnostic_logger",
    "get_logger",
    "getlogsize",
    "temporary_logger_config",
]

_ROOT_NAME = "headwater"
_TEST_NAME = "headwater-test-logger"
_configured: list[logging.Handler] = []
_logger_filters: list[logging.Filter] = []
_RECORD_KEYS = ("flow_name", "flow_run_id", "task_name", "task_slug", "task_run_id")
HEADWATER_LOG_RECORD_ATTRIBUTES = _RECORD_KEYS
"""The run-context keys copied onto log records (plus ``config.logging.log_attributes``)."""
PREFECT_LOG_RECORD_ATTRIBUTES = _RECORD_KEYS
"""Prefect 1's name of :data:`HEADWATER_LOG_RECORD_ATTRIBUTES`."""


class ContextFilter(logging.Filter):
    """Adds run-context attributes to each record that passes through headwater's handler.

    Args:
        only_set: copy only the context keys that have a value (as a filter on the
            ``"headwater"`` logger itself does, so filters added after it see exactly the run's
            keys); the handler's filter (the default) gives every key a value, ``None`` when
            unset, so format strings may name them.
    """

    def __init__(self, only_set: bool = False) -> None:
        super().__init__()
        self.only_set = only_set

    def filter(self, record: logging.LogRecord) -> bool:
        ctx = _context.current()
        attrs = record.__dict__  # (a failed hasattr per key would cost an exception each)
        only_set = self.only_set
        for key in _RECORD_KEYS:
            if key not in attrs:
                value = ctx.get(key)
                if value or not only_set:
                    attrs[key] = value
        for key in _extra_attributes():
            if key not in attrs:
                attrs[key] = ctx.get(key)
        return True


class StandAside(logging.Filter):
    """Keeps headwater's own handler quiet for a record that an application handler will print.

    When a handler the application installed above the logger holding ``handler`` (on the root
    logger: ``basicConfig``, ``dictConfig``, pytest's log capture) will take the record through
    propagation, ``handler`` lets it go there alone, so no line is printed twice. Without such a
    handler (or with ``propagate`` off), ``handler`` prints the record.

    Args:
        handler: the handler this filter is attached to.
    """

    def __init__(self, handler: logging.Handler) -> None:
        super().__init__()
        self.handler = handler

    def filter(self, record: logging.LogRecord) -> bool:
        node: Any = logging.root.manager.loggerDict.get(record.name)
        above = False  # past the logger that holds our handler
        while isinstance(node, logging.Logger):
            if above:
                for h in node.handlers:
                    if record.levelno >= h.level and not isinstance(h, logging.NullHandler):
                        return False
            elif self.handler in node.handlers:
                above = True
            node = node.parent if node.propagate else None
        return True


def _extra_attributes() -> list[str]:
    from headwater.configuration import setting

    return list(setting("logging.log_attributes") or [])


def configure_logging(testing: bool = False, force: bool = False) -> logging.Logger:
    """Set up the ``"headwater"`` logger from ``config.logging`` (once, unless ``force``).

    Args:
        testing: set up, afresh, the separate ``"headwater-test-logger"`` logger instead, with
            the configuration in effect now, so tests can check logging settings without
            touching the ``"headwater"`` logger.
        force: set the ``"headwater"`` logger up again (after a configuration change).

    Returns:
        The logger set up.
    """
    from headwater.configuration import config

    if testing:
        return _configure_test_logger()
    logger = logging.getLogger(_ROOT_NAME)
    if _configured and not force:
        return logger
    for f in _logger_filters:
        logger.removeFilter(f)
    _logger_filters.clear()
    for h in _configured:
        logger.removeHandler(h)
        for name in _extra_logger_names(config):
            logging.getLogger(name).removeHandler(h)
    _configured.clear()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(config.logging.format, config.logging.datefmt))
    handler.addFilter(ContextFilter())
    handler.addFilter(StandAside(handler))
    logger.addHandler(handler)
    record_filter = ContextFilter(only_set=True)
    logger.addFilter(record_filter)
    if force or logger.level == logging.NOTSET:
        # a level the application already set on "headwater" is kept
        logger.setLevel(str(config.logging.level).upper())
    _configured.append(handler)
    _logger_filters.append(record_filter)
    for name in _extra_logger_names(config):
        extra = logging.getLogger(name)
        if handler not in extra.handlers:
            extra.addHandler(handler)
            extra.setLevel(str(config.logging.level).upper())
    return logger


def _configure_test_logger() -> logging.Logger:
    from headwater.configuration import config

    logger = logging.getLogger(_TEST_NAME)
    for h in list(logger.handlers):
        if getattr(h, "_headwater_test", False):
            logger.removeHandler(h)
    stream = logging.StreamHandler(sys.stderr)
    stream.setFormatter(logging.Formatter(config.logging.format, config.logging.datefmt))
    stream.addFilter(ContextFilter())
    cloud = CloudHandler()
    for h in (stream, cloud):
        setattr(h, "_headwater_test", True)  # noqa: B010 - a mark on a stdlib handler
        logger.addHandler(h)
    logger.setLevel(str(config.logging.level).upper())
    return logger


def configure_extra_loggers() -> None:
    """Give each logger named in ``config.logging.extra_loggers`` headwater's handler and level."""
    from headwater.configuration import config

    if not _configured:
        configure_logging()
        return
    handler = _configured[0]
    level = str(config.logging.level).upper()
    for name in _extra_logger_names(config):
        extra = logging.getLogger(name)
        if handler not in extra.handlers:
            extra.addHandler(handler)
        extra.setLevel(level)


def _extra_logger_names(config: Any) -> list[str]:
    names = config.logging.get("extra_loggers") or []
    if isinstance(names, str):
        names = [n.strip() for n in names.strip("[]").split(",") if n.strip()]
    return [n for n in names if n != _ROOT_NAME and not n.startswith(_ROOT_NAME + ".")]


_loggers: dict[str | None, logging.Logger] = {}


def get_logger(name: str | None = None) -> logging.Logger:
    """The ``"headwater"`` logger, or its child ``"headwater.<name>"``."""
    logger = _loggers.get(name)
    if logger is not None and _configured:
        return logger
    root = configure_logging()
    logger = root if name is None else root.getChild(name)
    _loggers[name] = logger
    return logger


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


class _StdoutRouter(io.TextIOBase):
    """Installed as ``sys.stdout`` while any ``log_stdout`` task runs: output written from a
    context with a capture target goes to that task's logger, the rest to the real stdout."""

    def __init__(self, original: Any) -> None:
        self.original = original

    def writable(self) -> bool:
        return True

    def write(self, s: str) -> int:
        target = _capture_target.get()
        if target is None:
            written: int = self.original.write(s)
            return written
        return target.write(s)

    def flush(self) -> None:
        target = _capture_target.get()
        if target is not None:
            target.flush()
        self.original.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.original, name)


import contextvars as _contextvars  # noqa: E402
import threading as _threading  # noqa: E402
from contextlib import contextmanager as _contextmanager  # noqa: E402

_capture_target: _contextvars.ContextVar[StdoutToLogger | None] = _contextvars.ContextVar(
    "headwater_stdout_capture", default=None
)
_router_lock = _threading.Lock()
_router_users = [0]


@_contextmanager
def capture_stdout(logger: logging.Logger):  # type: ignore[no-untyped-def]
    """Send ``print`` output of the current context (thread / task) to ``logger``."""
    with _router_lock:
        if _router_users[0] == 0 or not isinstance(sys.stdout, _StdoutRouter):
            sys.stdout = _StdoutRouter(sys.stdout)
        _router_users[0] += 1
    stream = StdoutToLogger(logger)
    token = _capture_target.set(stream)
    try:
        yield stream
    finally:
        stream.flush()
        _capture_target.reset(token)
        with _router_lock:
            _router_users[0] -= 1
            if _router_users[0] == 0 and isinstance(sys.stdout, _StdoutRouter):
                sys.stdout = sys.stdout.original


from headwater.utilities._logging_compat import (  # noqa: E402 - Prefect 1 names, kept here
    LOG_MANAGER,
    LOG_OVERHEAD,
    MAX_BATCH_LOG_SIZE,
    MAX_LOG_SIZE,
    CloudHandler,
    LogManager,
    RedirectToLog,
    create_diagnostic_logger,
    getlogsize,
    temporary_logger_config,
)
