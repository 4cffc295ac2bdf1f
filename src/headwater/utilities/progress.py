"""A progress bar for long flow runs, in terminals and in Jupyter notebooks.

``flow.run(progress=...)`` (default: ``config.flows.progress``, itself ``"auto"``) decides
whether a run shows one:

- ``True``: always (on stderr, or as a notebook widget when running in Jupyter);
- ``False``: never;
- ``"auto"``: only in a terminal or a notebook, only when headwater's DEBUG log lines are off
  (they already say what is happening, two lines per task), and only once the run has lasted a
  second — short runs, tests and output piped to a file never see a bar.

The bar counts task runs (a mapped task counts once per child, once its length is known) and
failures, and shows the elapsed time::

    etl: [##########............] 4,210/10,000 task runs · 3 failed · 12.4 s

The bar is a :class:`~headwater.engine.observers.RunObserver`: it hears of task runs where the
run's observers do, as they finish in this process (LocalExecutor, LocalDaskExecutor with
threads or sync), as their futures complete on a ``distributed`` cluster, and with
``LocalDaskExecutor("processes")`` when results come back to the flow runner. It shows one flow
run and closes when that run finishes.

Drawing happens on a small daemon thread, so the engine's cost per task is one counter update.

>>> bar = ProgressBar("demo", enabled=False)
>>> bar.add_total(3); bar.finished(None); bar.text()
'demo: [######..............] 1/3 task runs · 0.0 s'
"""

from __future__ import annotations

import importlib
import sys
import threading
import time
from typing import IO, Any

from headwater.engine.observers import RunObserver

__all__ = ["ProgressBar", "progress_bar_for"]

_WIDTH = 20


def _in_notebook() -> bool:
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    try:
        shell = ipython.get_ipython()
    except Exception:  # any failure means: not in a notebook
        return False
    return shell is not None and type(shell).__name__ == "ZMQInteractiveShell"


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except Exception:
        return False


def _resolve_setting(progress: Any) -> Any:
    if progress is None:
        from headwater.configuration import setting

        progress = setting("flows.progress")
    if isinstance(progress, str):
        word = progress.strip().lower()
        if word == "auto":
            return "auto"
        if word in ("true", "yes", "on", "1"):
            return True
        if word in ("false", "no", "off", "0"):
            return False
        raise ValueError(f"progress must be True, False or 'auto', got {progress!r}")
    if isinstance(progress, bool):
        return progress
    raise TypeError(
        f"progress must be True, False or 'auto', got {progress!r} ({type(progress).__name__})"
    )


def progress_bar_for(
    flow_name: str, progress: Any = None, stream: IO[str] | None = None
) -> ProgressBar | None:
    """The progress bar a run should show, or ``None`` when it shows none (see module docs).

    Raises:
        ValueError, TypeError: ``progress`` is not ``True``, ``False`` or ``"auto"``.
    """
    setting = _resolve_setting(progress)
    if setting is False:
        return None
    stream = stream if stream is not None else sys.stderr
    notebook = _in_notebook()
    if setting == "auto":
        from headwater.utilities.logging import get_logger

        if not (notebook or _is_terminal(stream)) or get_logger().isEnabledFor(10):
            return None
        return ProgressBar(flow_name, stream=stream, notebook=notebook, delay=1.0)
    return ProgressBar(flow_name, stream=stream, notebook=notebook, delay=0.0, final=True)


class ProgressBar(RunObserver):
    """Counts task runs and draws them on a daemon thread; a run observer.

    Args:
        flow_name: shown in front of the bar.
        stream: where a terminal bar is written (default ``sys.stderr``).
        notebook: draw a notebook display instead of text (default: detected).
        delay: seconds before the bar first appears.
        interval: seconds between redraws (terminals); at least 5 s between lines when
            ``stream`` is not a terminal.
        enabled: ``False`` counts without drawing (useful in tests and doctests).
        final: draw the final line when the run ends even if the bar never showed.
    """

    def __init__(
        self,
        flow_name: str,
        stream: IO[str] | None = None,
        notebook: bool | None = None,
        delay: float = 1.0,
        interval: float = 0.1,
        enabled: bool = True,
        final: bool = False,
    ) -> None:
        self.flow_name = flow_name
        self.stream = stream if stream is not None else sys.stderr
        self.notebook = _in_notebook() if notebook is None else notebook
        self.terminal = _is_terminal(self.stream)
        self.delay = delay
        self.interval = interval if (self.terminal or self.notebook) else max(interval, 5.0)
        self.total = 0
        self.done = 0
        self.failed = 0
        self.started = time.monotonic()
        self.shown = False
        self.final = final
        self.pass_number = 1
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._handle: Any = None
        self._thread: threading.Thread | None = None
        if enabled:
            self._thread = threading.Thread(
                target=self._draw_loop, name="headwater-progress", daemon=True
            )
            self._thread.start()

    # -- counting (called from any thread) ------------------------------------------------------
    def add_total(self, n: int) -> None:
        """``n`` more task runs are known to be coming."""
        with self._lock:
            self.total += n

    def new_pass(self) -> None:
        """A retry pass starts: every task is visited again, so counting starts over."""
        with self._lock:
            self.total = 0
            self.done = 0
            self.failed = 0

    def finished(self, state: Any) -> None:
        """One task run finished with ``state``."""
        failed = (
            state is not None
            and getattr(state, "is_failed", None) is not None
            and state.is_failed()
        )
        with self._lock:
            self.done += 1
            if failed:
                self.failed += 1

    # -- as a run observer ---------------------------------------------------------------------
    def tasks_planned(self, *, count: int, pass_number: int = 1, **kwargs: Any) -> None:
        """``count`` more task runs are coming; a new ``pass_number`` starts counting over."""
        if pass_number != self.pass_number:
            self.pass_number = pass_number
            self.new_pass()
        self.add_total(count)

    def task_run_finished(self, *, state: Any, **kwargs: Any) -> None:
        """One task run finished with ``state``."""
        self.finished(state)

    def flow_run_finished(self, *, state: Any, **kwargs: Any) -> None:
        """The run is over: draw its final line (see :meth:`close`)."""
        self.close(state)

    # -- drawing --------------------------------------------------------------------------------
    def text(self) -> str:
        """The bar as one line of text."""
        with self._lock:
            total, done, failed = self.total, self.done, self.failed
        shown_total = max(total, done)
        filled = int(_WIDTH * done / shown_total) if shown_total else 0
        bar = "#" * filled + "." * (_WIDTH - filled)
        parts = [f"{self.flow_name}: [{bar}] {done:,}/{shown_total:,} task runs"]
        if failed:
            parts.append(f"{failed:,} failed")
        parts.append(f"{time.monotonic() - self.started:.1f} s")
        return " · ".join(parts)

    def _html(self) -> str:
        import html

        with self._lock:
            total, done = max(self.total, self.done), self.done
        return (
            f'<div><progress value="{done}" max="{max(total, 1)}" style="width: 20em"></progress> '
            f"<code>{html.escape(self.text())}</code></div>"
        )

    def _draw(self, final: bool = False) -> None:
        if self.notebook:
            ipy: Any = importlib.import_module("IPython.display")
            if self._handle is None:
                self._handle = ipy.display(ipy.HTML(self._html()), display_id=True)
                if self._handle is None:  # no display system after all: draw text from now on
                    self.notebook = False
            else:
                self._handle.update(ipy.HTML(self._html()))
        elif self.terminal:
            self.stream.write("\r" + self.text() + "\x1b[K" + ("\n" if final else ""))
            self.stream.flush()
        else:
            self.stream.write(self.text() + "\n")
            self.stream.flush()
        self.shown = True

    def _draw_loop(self) -> None:
        # on a pipe or file, the first line comes after one interval, not with 0/0 counts
        first = self.delay if (self.terminal or self.notebook) else max(self.delay, self.interval)
        if self._stop.wait(first):
            return
        while True:
            try:
                self._draw()
            except Exception:
                return  # a closed stream or a gone notebook never breaks a run
            if self._stop.wait(self.interval):
                return

    def close(self, state: Any = None) -> None:
        """Stop drawing; a bar that was shown gets its final line (with the run's outcome)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        if self.shown or self.final:
            with self._lock:
                self.done = (
                    max(self.done, self.total)
                    if state is not None and state.is_finished()
                    else self.done
                )
            try:
                self._draw(final=True)
            except Exception:
                pass
