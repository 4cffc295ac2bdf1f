"""``FunctionTask``: a task whose ``run()`` is a plain function (what ``@task`` builds).

>>> from headwater.tasks.core.function import FunctionTask
>>> double = FunctionTask(lambda x: 2 * x, name="double")
>>> double.run(4)
8

``async def`` functions work too: the engine runs them on an event loop it owns, also when a
loop is already running in the calling thread (as in Jupyter).

For type checkers a ``FunctionTask`` is generic in its function's parameters and return type,
``FunctionTask[P, R]``: ``task.run`` has the function's own signature, and calling the task is
checked against the function's parameters (see :class:`FunctionTask`).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, Generic, ParamSpec, TypeVar, overload

from headwater.core.signature import TaskSignature, infer_nout
from headwater.core.task import Task

if TYPE_CHECKING:
    from headwater.core.flow import Flow

__all__ = ["FunctionTask"]

P = ParamSpec("P")
R = TypeVar("R")


class FunctionTask(Task, Generic[P, R]):
    """A ``FunctionTask`` is a task that runs ``fn`` (what ``@task`` makes).

    The instance takes ``fn``'s ``__name__`` and ``__doc__`` (``None`` for a lambda).

    **Typing.** ``FunctionTask[P, R]`` keeps ``fn``'s signature: ``task.run`` is typed as
    ``fn`` itself (``Callable[P, R]``), and ``task(...)`` is checked against ``fn``'s parameters
    (names, count, types). The call returns ``FunctionTask[P, R]``, because inside a
    ``with Flow(...)`` block that is what it is: a task, whose ``.map``, ``.set_upstream`` and
    ``[i]`` the graph is built with. Inside a Prefect 2/3-style ``@flow`` the same call runs the
    task and returns its value; that code type-checks too, because every task is, for type
    checkers, assignable to any type (it stands for its result in a flow), so
    ``total: int = add(1, 2)`` or ``return add(1, 2)`` from a function returning ``int`` pass
    ``mypy --strict``. Annotate the variable (``total: int = ...``) to have the value typed as
    ``R`` from there on. The same rule lets a ``Parameter`` or another task's result be passed
    where ``fn`` expects a plain value. Calls that also give one of the call's own options
    (``upstream_tasks=``, ``task_args=``, ``mapped=``, ``flow=``) are checked loosely.

    Args:
        fn: the function (or coroutine function) to run; may not take ``*args``.
        name: defaults to ``fn.__name__``.
        **kwargs: any other :class:`~headwater.core.task.Task` option.
    """

    if TYPE_CHECKING:
        run: Callable[P, R]

        @overload  # type: ignore[override]  # narrower than Task's: checked against fn
        def __call__(self, *args: P.args, **kwargs: P.kwargs) -> FunctionTask[P, R]: ...
        @overload
        def __call__(
            self,
            *args: Any,
            upstream_tasks: Iterable[Any] | None,
            task_args: dict[str, Any] | None = None,
            mapped: bool = False,
            flow: Flow | None = None,
            **kwargs: Any,
        ) -> FunctionTask[P, R]: ...
        @overload
        def __call__(
            self,
            *args: Any,
            task_args: dict[str, Any] | None,
            mapped: bool = False,
            flow: Flow | None = None,
            **kwargs: Any,
        ) -> FunctionTask[P, R]: ...
        @overload
        def __call__(
            self, *args: Any, flow: Flow | None, mapped: bool = False, **kwargs: Any
        ) -> FunctionTask[P, R]: ...
        @overload
        def __call__(self, *args: Any, mapped: bool, **kwargs: Any) -> FunctionTask[P, R]: ...
        def __call__(self, *args: Any, **kwargs: Any) -> FunctionTask[P, R]:
            """Copy the task and bind the arguments in the active flow (see :meth:`Task.__call__`)."""

        def map(
            self,
            *args: Any,
            upstream_tasks: Iterable[Any] | None = None,
            flow: Flow | None = None,
            task_args: dict[str, Any] | None = None,
            **kwargs: Any,
        ) -> FunctionTask[P, R]:
            """A copy of the task mapped over the arguments (see :meth:`Task.map`)."""

    def __init__(self, fn: Callable[P, R], name: str | None = None, **kwargs: Any) -> None:
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
