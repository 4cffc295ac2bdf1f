"""Helpers for building tasks: ``@task``, ``tags``, ``as_task``, ``apply_map`` and friends.

::

    from headwater import Flow, task, tags

    @task(max_retries=3, retry_delay=timedelta(seconds=2))
    def fetch(url):
        ...

    with Flow("crawl") as flow, tags("io"):
        pages = fetch.map(["https://a", "https://b"])
"""

from __future__ import annotations

import datetime
import functools
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, overload

from headwater.context import context as _context
from headwater.core.edge import EdgeAnnotation
from headwater.core.task import Task

if TYPE_CHECKING:
    from headwater.core.flow import Flow
    from headwater.tasks.core.function import FunctionTask

__all__ = ["apply_map", "as_task", "defaults_from_attrs", "pause_task", "tags", "task"]

from headwater.utilities._apply_map import apply_map

P = ParamSpec("P")
R = TypeVar("R")


# The options of both forms are typed as Task's; ``**task_init_kwargs: Any`` takes the rest.
@overload
def task(
    fn: Callable[P, R],
    *,
    name: str | None = None,
    slug: str | None = None,
    tags: Iterable[str] | None = None,
    max_retries: int | None = None,
    retry_delay: datetime.timedelta | None = None,
    retry_on: type[BaseException] | Iterable[type[BaseException]] | None = None,
    timeout: int | datetime.timedelta | None = None,
    trigger: Callable[..., bool] | None = None,
    skip_on_upstream_skip: bool = True,
    cache_for: datetime.timedelta | None = None,
    cache_validator: Callable[..., bool] | None = None,
    cache_key: str | None = None,
    checkpoint: bool | None = None,
    state_handlers: list[Callable[..., Any]] | None = None,
    log_stdout: bool = False,
    target: str | Callable[..., str] | None = None,
    task_run_name: str | Callable[..., str] | None = None,
    nout: int | None = None,
    **task_init_kwargs: Any,
) -> FunctionTask[P, R]: ...
@overload
def task(
    fn: None = None,
    *,
    name: str | None = None,
    slug: str | None = None,
    tags: Iterable[str] | None = None,
    max_retries: int | None = None,
    retry_delay: datetime.timedelta | None = None,
    retry_on: type[BaseException] | Iterable[type[BaseException]] | None = None,
    timeout: int | datetime.timedelta | None = None,
    trigger: Callable[..., bool] | None = None,
    skip_on_upstream_skip: bool = True,
    cache_for: datetime.timedelta | None = None,
    cache_validator: Callable[..., bool] | None = None,
    cache_key: str | None = None,
    checkpoint: bool | None = None,
    state_handlers: list[Callable[..., Any]] | None = None,
    log_stdout: bool = False,
    target: str | Callable[..., str] | None = None,
    task_run_name: str | Callable[..., str] | None = None,
    nout: int | None = None,
    **task_init_kwargs: Any,
) -> Callable[[Callable[P, R]], FunctionTask[P, R]]: ...
def task(fn: Callable[..., Any] | None = None, **task_init_kwargs: Any) -> Any:
    """Turn a function into a :class:`~headwater.tasks.core.function.FunctionTask`.

    Use bare (``@task``) or with any Task option (``@task(name="x", max_retries=2, ...)``).

    For type checkers the task keeps the function's signature: ``@task`` on
    ``def add(x: int, y: int) -> int`` gives a ``FunctionTask[[int, int], int]``, whose ``run``
    is typed as ``add`` and whose calls are checked against ``add``'s parameters. The options
    are typed as :class:`~headwater.core.task.Task`'s (a wrong type is reported); others are
    passed on as they are.
    """
    from headwater.tasks.core.function import FunctionTask

    if fn is None:
        return lambda f: FunctionTask(fn=f, **task_init_kwargs)
    if not callable(fn):
        raise TypeError(
            f"@task decorates a function; got {type(fn).__name__}: {fn!r}. Pass options by "
            "keyword: @task(name=...)."
        )
    return FunctionTask(fn=fn, **task_init_kwargs)


@contextmanager
def tags(*tags: str) -> Iterator[None]:
    """Add ``tags`` to every task created inside the block."""
    for t in tags:
        if not isinstance(t, str):
            raise TypeError(f"tags() takes tag strings, got {type(t).__name__}: {t!r}")
    current = set(_context.get("tags") or ())
    with _context(tags=current | set(tags)):
        yield


def as_task(x: Any, flow: Flow | None = None) -> Task:
    """Return ``x`` if it is a task; a collection task if it is a collection holding tasks;
    otherwise a :class:`~headwater.tasks.core.constants.Constant`.

    An annotation such as ``mapped(t)`` gives the task of its value. Tasks made here have
    ``auto_generated = True``.
    """
    if isinstance(x, Task):
        return x
    while isinstance(x, EdgeAnnotation):
        x = x.value
        if isinstance(x, Task):
            return x
    from headwater.core._flow_building import contains_task

    if contains_task(x):
        flow = flow if flow is not None else _context.get("flow")
        if flow is None:
            raise ValueError(
                f"A collection holding tasks ({x!r}) can only become a task inside a flow."
            )
        made = _collection_task(x, flow)
    else:
        from headwater.tasks.core.constants import Constant

        made = Constant(value=x)
    made.auto_generated = True
    return made


_COLLECTIONS = (list, tuple, set, dict)


def _auto(task: Task) -> Task:
    task.auto_generated = True
    return task


def _items(node: Any) -> list[Any]:
    return [*node.keys(), *node.values()] if isinstance(node, dict) else list(node)


def _collection_task(x: Any, flow: Flow) -> Task:
    """The collection task for ``x``, which holds tasks, nested collections becoming tasks too.

    The nesting is walked with an explicit stack, innermost collections first, so any depth
    builds (a 1,000-level list is no ``RecursionError``). Collections without tasks stay
    constants of the collection task that holds them.
    """
    built: dict[int, Any] = {}  # id(collection) -> its task, or the collection itself
    has_task: dict[int, bool] = {}
    stack: list[tuple[Any, bool]] = [(x, False)]
    while stack:
        node, children_done = stack.pop()
        key = id(node)
        if not children_done:
            if key in has_task:  # already built, or (a cycle) being built
                continue
            has_task[key] = False
            stack.append((node, True))
            stack.extend((c, False) for c in _items(node) if isinstance(c, _COLLECTIONS))
            continue
        found = any(isinstance(c, Task) or has_task.get(id(c), False) for c in _items(node))
        has_task[key] = found
        built[key] = _auto(_bind_collection(node, built, flow)) if found else node
    task = built[id(x)]
    assert isinstance(task, Task)
    return task


def _bind_collection(node: Any, built: dict[int, Any], flow: Flow) -> Task:
    """The collection task of ``node``, whose nested collections are in ``built`` already."""
    from headwater.tasks.core import collections as coll

    def conv(c: Any) -> Any:
        return built.get(id(c), c) if isinstance(c, _COLLECTIONS) else c

    if not isinstance(node, dict):
        kind: type[Task] = coll.List if isinstance(node, list) else coll.Tuple
        if isinstance(node, set):
            kind = coll.Set
        return kind().bind(*(conv(c) for c in node), flow=flow)
    keys = [conv(k) for k in node]
    values = [conv(v) for v in node.values()]
    # keys or values without tasks stay a plain list: a constant of the Dict task
    keys_arg: Any = (
        _auto(coll.List().bind(*keys, flow=flow))
        if any(isinstance(k, Task) for k in keys)
        else list(node)
    )
    values_arg: Any = (
        _auto(coll.List().bind(*values, flow=flow))
        if any(isinstance(v, Task) for v in values)
        else list(node.values())
    )
    return coll.Dict().bind(keys=keys_arg, values=values_arg, flow=flow)


def defaults_from_attrs(*attr_args: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a ``run`` method: arguments not passed take the task's same-named attribute.

    An argument passed explicitly, even as ``None``, is used as given (as in Prefect 1).

    ::

        class Greet(Task):
            def __init__(self, greeting="hello", **kw):
                self.greeting = greeting
                super().__init__(**kw)

            @defaults_from_attrs("greeting")
            def run(self, name, greeting=None):
                return f"{greeting} {name}"
    """

    def wrapper(run_method: Callable[..., Any]) -> Callable[..., Any]:
        import inspect

        # position of each attribute among run()'s arguments (after self), so that an argument
        # given positionally is not filled in a second time
        names = list(inspect.signature(run_method).parameters)[1:]
        positions = {a: names.index(a) for a in attr_args if a in names}

        @functools.wraps(run_method)
        def method(self: Any, *args: Any, **kwargs: Any) -> Any:
            for attr in attr_args:
                pos = positions.get(attr)
                if (pos is None or pos >= len(args)) and attr not in kwargs:
                    kwargs[attr] = getattr(self, attr)
            return run_method(self, *args, **kwargs)

        return method

    return wrapper


def pause_task(message: str | None = None, duration: datetime.timedelta | None = None) -> None:
    """Pause the running task (``Paused`` state) unless this run was resumed.

    Args:
        message: the ``Paused`` state's message.
        duration: if given, the pause ends by itself after this long.
    """
    from headwater.engine import signals

    if _context.get("resume", False):
        return
    start_time = None
    if duration is not None:
        import pendulum

        start_time = pendulum.now("UTC") + duration
    raise signals.PAUSE(
        message or "Pause signal raised during task execution.", start_time=start_time
    )
