"""The executor contract: how the flow runner hands work out.

An executor has three methods:

- :meth:`Executor.start` — a context manager that owns any pools, processes or clusters for the
  length of one flow run, and releases them on exit (also on errors and Ctrl-C);
- :meth:`Executor.submit` — schedule ``fn(*args, **kwargs)`` and return a future. Futures
  returned by earlier ``submit`` calls may sit anywhere inside ``args``/``kwargs`` (also nested
  in lists, tuples, sets and dicts); they are replaced by their values before ``fn`` runs.
  ``extra_context`` is a plain dict of :mod:`headwater.context` values the call runs under —
  the only way context reaches work on another thread, process or machine;
- :meth:`Executor.wait` — take futures in any nested shape and return the same shape holding
  their values.

Every executor must be picklable before and after ``start()``.

An executor also declares what it can do, as three class attributes (all false by default; the
flow runner reads them instead of testing for executor classes):

- :attr:`Executor.runs_inline` — ``submit`` runs the call before it returns, in the calling
  thread (``LocalExecutor`` and its subclasses): the flow runner then submits each task run as
  it is, with no wrapping;
- :attr:`Executor.pickles_calls` — calls and their arguments are pickled to another process
  (process pools, clusters): the flow runner then checks what a task run sends and explains
  what cannot be pickled;
- :attr:`Executor.reports_completion` — the futures ``submit`` returns accept
  ``add_done_callback(fn)``, and ``fn(future)`` is called in this process once the call has
  finished (the distributed executor): the flow runner then reports each task run to the run's
  observers (the progress bar...) as its future completes, rather than where it ran.

``headwater.testing``'s ``ExecutorContract`` checks all of this, capabilities included, for any
implementation.

A submitted argument may be wrapped in :class:`Shared`: a value the submitter will not change
for the rest of the run and passes to many calls (the flow runner wraps each run's context and
each task's runner this way). An executor that sends calls to other processes may send such a
value once and let later calls reuse it; any other executor passes it on as it is. Either way
the called function receives a ``Shared`` and reads its ``value``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["Executor", "Shared"]


class Executor:
    """Base class for executors.

    Attributes:
        runs_inline: ``submit`` runs the call to completion before it returns, in the calling
            thread, and returns its value (or a future already done).
        pickles_calls: submitted functions, their arguments and their values are pickled to
            travel to and from another process; what cannot be pickled fails its call.
        reports_completion: the futures ``submit`` returns have ``add_done_callback(fn)``;
            ``fn`` is called once with the future, in this process, when the call has finished
            (also when it failed), and the future's ``result()`` then returns at once.
    """

    runs_inline: bool = False
    pickles_calls: bool = False
    reports_completion: bool = False

    def __init__(self) -> None:
        self.executor_id = f"{type(self).__name__}-{id(self):x}"

    def __repr__(self) -> str:
        return f"<Executor: {type(self).__name__}>"

    @contextmanager
    def start(self) -> Iterator[None]:
        """Acquire the resources this executor needs for one flow run."""
        yield

    def submit(
        self,
        fn: Callable[..., Any],
        /,
        *args: Any,
        extra_context: dict[str, Any] | None = None,
        **kwargs: Any,
    ) -> Any:
        """Schedule ``fn(*args, **kwargs)`` and return a future of its value.

        ``fn`` is positional-only, so ``kwargs`` may hold a keyword argument named ``fn``.
        """
        raise NotImplementedError

    def wait(self, futures: Any) -> Any:
        """Resolve ``futures`` (any nesting of lists, tuples, sets and dicts) to values."""
        raise NotImplementedError


class Shared:
    """A submitted argument that stays the same for the rest of the run.

    ``Shared(value)`` is a promise from the submitter: neither it nor ``value`` will change
    while the executor is started, and ``value`` holds no futures. Executors that pickle
    calls may therefore pickle it once, send it to each worker once, and hand every later call
    that receives the same ``Shared`` object the copy already there. The called function reads
    ``.value``; it gets a ``Shared`` whatever the executor (an equal copy in other processes).

    Args:
        value: the value.
        name: a short label for dashboards and error messages.
    """

    __slots__ = ("value", "name", "__weakref__")

    def __init__(self, value: Any, name: str = "shared") -> None:
        self.value = value
        self.name = name

    def __reduce__(self) -> tuple[type[Shared], tuple[Any, str]]:
        return (Shared, (self.value, self.name))

    def __repr__(self) -> str:
        return f"<Shared {self.name}>"
