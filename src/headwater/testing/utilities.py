"""Test helpers of Prefect 3's ``prefect.testing.utilities``, with nothing to start.

``prefect_test_harness()`` starts a temporary API server and database in Prefect; headwater has
neither, so its harness returns at once. Inside the block, headwater keeps everything it writes
in a fresh temporary home directory — persisted results (``storage``), the cache, lock files,
saved blocks and the run history — and starts with an empty in-process cache; all of it, and
the concurrency limits set in code, are restored and the directory removed afterwards::

    from headwater.testing.utilities import prefect_test_harness

    def test_my_flow():
        with prefect_test_harness():
            ...  # run flows: nothing they persist outlives the block

``disable_run_logger()`` lets a test call a task's or flow's ``.fn`` that uses
``get_run_logger()`` outside a run.
"""

from __future__ import annotations

import contextlib
import logging
import shutil
import sys
import tempfile
from collections.abc import Iterator

__all__ = ["disable_run_logger", "headwater_test_harness", "prefect_test_harness"]

_RUN_LOGGERS = ("headwater.flow_runs", "headwater.task_runs")


@contextlib.contextmanager
def headwater_test_harness(server_startup_timeout: float | None = None) -> Iterator[str]:
    """Run the block against a fresh, temporary home directory (and history, and caches).

    The setting holds in the calling thread, in threads started in the block and in
    subprocesses (as ``HEADWATER__HOME_DIR``).

    Args:
        server_startup_timeout: accepted for compatibility with Prefect; there is no server.

    Yields:
        The temporary home directory.
    """
    from headwater.concurrency._core import saved_limits
    from headwater.testing._isolation import clear_loaded_caches, temporary_settings

    home = tempfile.mkdtemp(prefix="headwater-test-")
    overrides = {
        "home_dir": home,
        "history.path": f"{home}/history.db",
        "history.url": "",
    }
    clear_loaded_caches()
    try:
        with temporary_settings(overrides), saved_limits():
            yield home
            _flush_history()
    finally:
        clear_loaded_caches()
        shutil.rmtree(home, ignore_errors=True)


prefect_test_harness = headwater_test_harness
"""Prefect 3's name for :func:`headwater_test_harness`."""


def _flush_history() -> None:
    """Let the history writer finish with the temporary database before it is removed."""
    history = sys.modules.get("headwater.history")
    flush = getattr(history, "flush", None)
    if flush is not None:
        flush()


@contextlib.contextmanager
def disable_run_logger() -> Iterator[None]:
    """Silence the run loggers in the block; ``get_run_logger()`` works outside runs there."""
    from headwater.modern.log import disable_run_logger as quiet_run_logger

    loggers = [logging.getLogger(name) for name in _RUN_LOGGERS]
    before = [lg.disabled for lg in loggers]
    with quiet_run_logger():
        for lg in loggers:
            lg.disabled = True
        try:
            yield
        finally:
            for lg, was in zip(loggers, before, strict=True):
                lg.disabled = was
