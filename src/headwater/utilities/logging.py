"""Logging: the ``"headwater"`` logger, per-task child loggers and stdout capture.

headwater logs through the standard library and configures only its own logger: its level (from
``config.logging``) and one stream handler to stderr, never the root logger or the log-record
factory. Records emitted while a flow runs carry ``flow_name``, ``flow_run_id``, ``task_name``,
``task_slug`` and ``task_run_id`` attributes (when set), so handlers and formatters can use
them::

    from headwater.utilities.logging import get_logger

    log = get_logger("my-task")      # the "headwater.my-task" logger
    log.info("hello")

Each line is printed once. headwater's handler stands aside (:class:`StandAside`) for a record
that a handler of the application will show: any handler but a ``NullHandler`` above the
``"headwater"`` logger (``basicConfig``, ``dictConfig``, pytest's log capture), or a
``StreamHandler`` the application put on headwater's own loggers. Other handlers there, such as
a run history's or a test's collecting handler, store records rather than print them and change
nothing.

What the engine logs, and at which level (the default INFO shows a run's outline and what did
not go to plan, not a line per task):

- INFO: the start and the final state of a flow run, waits for retries and schedules, and one
  line for each task run that ends failed (``Failed``, ``TriggerFailed``, ``TimedOut``);
- WARNING: a failure that will be retried, in one line (the error's type and first line);
- ERROR: a failure that ends a task run, with its traceback;
- DEBUG: every task run's start and final state, and a retried failure's traceback.

Prefect 1 logs two INFO lines (start and finish) for every task run; headwater logs them at
DEBUG. Writing a line costs about 6-10 us (making the record, formatting its time and text,
writing it) on top of an engine cost of about 10 us per task, so a line per task cannot keep the
default level within 15 us per task (``benchmarks/logging_cost.py``); a flow of thousands of
tasks also buries its warnings among them. A run's outline, its retries and its failures stay
at INFO and above; the per-task lines are one level away (``HEADWATER__LOGGING__LEVEL=DEBUG``,
``--log-level DEBUG``).

Lines have millisecond timestamps and, on a terminal, a coloured level name (``logging.color``,
``NO_COLOR``, ``FORCE_COLOR``). In a Jupyter kernel the level is ``logging.notebook_level``
(default WARNING), so a notebook shows the progress bar and warnings. The level of the run's
process travels with the run's context (:data:`LOG_LEVEL_KEY`) to executor worker processes,
which take it on for the run's tasks (:func:`adopt_level`).
"""

from __future__ import annotations

import io
import logging
import sys
from typing import Any

from headwater._config.current import setting
from headwater.context import context as _context
from headwater.utilities._log_format import LineFormatter, colour_wanted, in_ipython_kernel

__all__ = [
    "HEADWATER_LOG_RECORD_ATTRIBUTES",
    "LOG_LEVEL_KEY",
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
    "adopt_level",
    "configure_extra_loggers",
    "configure_logging",
    "create_diagnostic_logger",
    "error_summary",
    "get_logger",
    "getlogsize",
    "run_level",
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
LOG_LEVEL_KEY = "log_level"
"""The run-context key holding the level of the ``"headwater"`` logger where the run started."""


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
        extra = setting("logging.log_attributes")
        if extra:
            for key in extra:
                if key not in attrs:
                    attrs[key] = ctx.get(key)
        return True


class StandAside(logging.Filter):
    """Keeps headwater's own handler quiet for a record that an application handler will show.

    Following the record's way up the logger tree (as propagation does), ``handler`` stands
    aside when it meets, at or above the record's level:

    - above the logger holding ``handler``: any handler but a ``NullHandler`` (``basicConfig``,
      ``dictConfig``, pytest's log capture, a ``RichHandler``...);
    - on that logger or below it (headwater's own loggers): a ``StreamHandler`` of the
      application, e.g. from ``dictConfig``'s ``"loggers": {"headwater": ...}``. Other handlers
      there (a run history's, a test's collecting handler) store records, print nothing and
      do not count.

    Without such a handler (or with ``propagate`` off), ``handler`` prints the record.

    Args:
        handler: the handler this filter is attached to.
    """

    def __init__(self, handler: logging.Handler) -> None:
        super().__init__()
        self.handler = handler

    def filter(self, record: logging.LogRecord) -> bool:
        own = self.handler
        level = record.levelno
        node: Any = logging.root.manager.loggerDict.get(record.name)
        above = False  # past the logger holding ``own``
        while isinstance(node, logging.Logger):
            holds_own = False
            for h in node.handlers:
                if h is own:
                    holds_own = True
                elif level >= h.level and _shows(h, above):
                    return False
            above = above or holds_own
            node = node.parent if node.propagate else None
        return True


def _shows(handler: logging.Handler, above: bool) -> bool:
    """Whether ``handler`` shows records: see :class:`StandAside`."""
    if above:
        return not isinstance(handler, logging.NullHandler)
    return isinstance(handler, logging.StreamHandler)


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
    handler.setFormatter(_line_formatter(config, handler.stream))
    handler.addFilter(ContextFilter())
    handler.addFilter(StandAside(handler))
    logger.addHandler(handler)
    record_filter = ContextFilter(only_set=True)
    logger.addFilter(record_filter)
    level = _configured_level(config)
    if force or logger.level == logging.NOTSET:
        # a level the application already set on "headwater" is kept
        logger.setLevel(level)
    _configured.append(handler)
    _logger_filters.append(record_filter)
    for name in _extra_logger_names(config):
        extra = logging.getLogger(name)
        if handler not in extra.handlers:
            extra.addHandler(handler)
            extra.setLevel(level)
    return logger


def _configured_level(config: Any) -> str:
    """``logging.level``, or ``logging.notebook_level`` in a Jupyter kernel."""
    key = "notebook_level" if in_ipython_kernel() else "level"
    return str(config.logging.get(key) or config.logging.level).upper()


def _line_formatter(config: Any, stream: Any) -> LineFormatter:
    """The formatter of headwater's stream handler, from ``config.logging``."""
    return LineFormatter(
        config.logging.format,
        config.logging.datefmt,
        colour=colour_wanted(config.logging.get("color", "auto"), stream),
        defaults=dict.fromkeys(_RECORD_KEYS),
    )


_HEADWATER = logging.getLogger(_ROOT_NAME)  # a logger lives as long as its process


def run_level() -> int:
    """The effective level of the ``"headwater"`` logger, which a run's context carries."""
    return _HEADWATER.getEffectiveLevel()


def adopt_level(level: int) -> None:
    """Give the ``"headwater"`` logger ``level`` (a run's, in a worker), unless it has it."""
    if _HEADWATER.level != level and _HEADWATER.getEffectiveLevel() != level:
        _HEADWATER.setLevel(level)


def error_summary(exc: BaseException) -> str:
    """``exc`` in one line: its type and the first line of its message."""
    text = str(exc).strip()
    first = text.splitlines()[0] if text else ""
    more = " ..." if "\n" in text else ""
    return f"{type(exc).__name__}: {first}{more}" if first else type(exc).__name__


def _configure_test_logger() -> logging.Logger:
    from headwater.configuration import config

    logger = logging.getLogger(_TEST_NAME)
    for h in list(logger.handlers):
        if getattr(h, "_headwater_test", False):
            logger.removeHandler(h)
    stream = logging.StreamHandler(sys.stderr)
    stream.setFormatter(_line_formatter(config, stream.stream))
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
