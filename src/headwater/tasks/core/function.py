"""``FunctionTask``: a task whose ``run()`` is a plain function (what ``@task`` builds).

>>> from headwater.tasks.core.function import FunctionTask
>>> double = FunctionTask(lambda x: 2 * x, name="double")
>>> double.run(4)
8

``async def`` functions work too: the engine runs them on an event loop it owns, also when a
loop is already running in the calling thread (as in Jupyter).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from headwater.core.signature import TaskSignature, infer_nout
from headwater.core.task import Task

__all__ = ["FunctionTask"]


class FunctionTask(Task):
    """A ``FunctionTask`` is a task that runs ``fn`` (what ``@task`` makes).

    The instance takes ``fn``'s ``__name__`` and ``__doc__`` (``None`` for a lambda).

    Args:
        fn: the function (or coroutine function) to run; may not take ``*args``.
        name: defaults to ``fn.__name__``.
        **kwargs: any other :class:`~headwater.core.task.Task` option.
    """

    def __init__(self, fn: Callable[..., Any], name: str | None = None, **kwargs: Any) -> None:
        if not callable(fn):
            raise TypeError(f"FunctionTask needs a callable, got {type(fn).__name__}: {fn!r}")
        if name is None:
            name = getattr(fn, "__name__", type(self).__name__)
        self._signature = TaskSignature(fn, f"Task {name!r}", skip_self=False)
        if kwargs.get("nout") is None:
            kwargs["nout"] = infer_nout(fn)
        self.run = fn
        self.is_async = inspect.iscoroutinefunction(fn)
        # (only a few attributes: instance dicts of up to 30 keys share their keys, which keeps
        # each task small in flows of 100,000 tasks)
        for attr in ("__doc__", "__name__"):
            value = getattr(fn, attr, None)
            if value is not None or attr == "__doc__":
                try:
                    setattr(self, attr, value)
                except (AttributeError, TypeError):
                    pass
        self.__wrapped__ = fn
        super().__init__(name=name, **kwargs)

    def _run_callable(self) -> Callable[..., Any]:
        return self.run

    def __getstate__(self) -> dict[str, Any]:
        return self.__dict__.copy()
