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
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from headwater.context import context as _context
from headwater.core.edge import EdgeAnnotation, flatten, unmapped
from headwater.core.task import Task

if TYPE_CHECKING:
    from headwater.core.flow import Flow

__all__ = ["apply_map", "as_task", "defaults_from_attrs", "pause_task", "tags", "task"]


def task(fn: Callable[..., Any] | None = None, **task_init_kwargs: Any) -> Any:
    """Turn a function into a :class:`~headwater.tasks.core.function.FunctionTask`.

    Use bare (``@task``) or with any Task option (``@task(name="x", max_retries=2, ...)``).
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
    otherwise a :class:`~headwater.tasks.core.constants.Constant`."""
    if isinstance(x, Task):
        return x
    if isinstance(x, EdgeAnnotation):
        raise TypeError(f"{x!r} can only be used as an argument of a task call or map().")
    from headwater.core.flow import _contains_task

    if _contains_task(x):
        flow = flow if flow is not None else _context.get("flow")
        if flow is None:
            raise ValueError(
                f"A collection holding tasks ({x!r}) can only become a task inside a flow."
            )
        return _collection_task(x, flow)
    from headwater.tasks.core.constants import Constant

    return Constant(value=x)


_COLLECTIONS = (list, tuple, set, dict)


def _collection_task(x: Any, flow: Flow) -> Task:
    """The collection task for ``x``, which holds tasks, nested collections becoming tasks too.

    The nesting is walked with an explicit stack, innermost collections first, so any depth
    builds (a 1,000-level list is no ``RecursionError``). Collections without tasks stay
    constants of the collection task that holds them.
    """
    from headwater.tasks.core import collections as coll
    from headwater.tasks.core.constants import Constant

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
            items = [*node.keys(), *node.values()] if isinstance(node, dict) else node
            stack.extend((c, False) for c in items if isinstance(c, _COLLECTIONS))
            continue
        items = [*node.keys(), *node.values()] if isinstance(node, dict) else list(node)
        found = any(isinstance(c, Task) or has_task.get(id(c), False) for c in items)
        has_task[key] = found
        if not found:
            built[key] = node
            continue

        def conv(c: Any) -> Any:
            return built.get(id(c), c) if isinstance(c, _COLLECTIONS) else c

        if isinstance(node, dict):
            keys = [conv(k) for k in node]
            values = [conv(v) for v in node.values()]
            keys_task = (
                coll.List().bind(*keys, flow=flow)
                if any(isinstance(k, Task) for k in keys)
                else Constant(value=list(node))
            )
            values_task = (
                coll.List().bind(*values, flow=flow)
                if any(isinstance(v, Task) for v in values)
                else Constant(value=list(node.values()))
            )
            built[key] = coll.Dict().bind(keys=keys_task, values=values_task, flow=flow)
        else:
            kind: type[Task] = coll.List if isinstance(node, list) else coll.Tuple
            if isinstance(node, set):
                kind = coll.Set
            built[key] = kind().bind(*(conv(c) for c in node), flow=flow)
    task = built[id(x)]
    assert isinstance(task, Task)
    return task


def defaults_from_attrs(*attr_args: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorate a ``run`` method: arguments left as ``None`` take the task's same-named attribute.

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
                if pos is not None and pos < len(args):
                    if args[pos] is None:
                        args = (*args[:pos], getattr(self, attr), *args[pos + 1 :])
                elif kwargs.get(attr) is None:
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


def apply_map(func: Callable[..., Any], *args: Any, flow: Flow | None = None, **kwargs: Any) -> Any:
    """Map a whole function-built subgraph over its arguments.

    ``func`` is called once, inside a scratch flow, with the (mapped) arguments; every task it
    creates is added to ``flow`` as a mapped task, so the subgraph runs once per item. Wrap an
    argument in ``unmapped(...)`` to pass it whole, or in ``flatten(...)`` to flatten it first.
    ``case`` blocks inside ``func`` work per item.

    Raises:
        ValueError: no flow is active, or ``apply_map`` is called inside a function that
            ``apply_map`` is mapping: a mapped task's children cannot be mapped again, so
            nested calls would build a wrong graph.
    """
    from headwater.core.flow import Flow

    flow = flow if flow is not None else _context.get("flow")
    if flow is None:
        raise ValueError(
            "apply_map() needs an active flow: call it inside `with Flow(...):` or pass flow=."
        )
    outer = _context.get("apply_map")
    if outer is not None and outer[0] is flow:
        inner_name, outer_name = _func_name(func), outer[1]
        raise ValueError(
            f"apply_map({inner_name}) was called inside {outer_name}, which apply_map is "
            f"already mapping. Nested mapping is not supported: each task {outer_name} creates "
            "already runs once per item, and its children cannot be mapped again. Call "
            f"apply_map({inner_name}, flatten(items)) once to map over every inner item, or "
            f"have one task in {outer_name} handle the whole inner list of its item."
        )

    mapped_inputs: dict[Task, bool] = {}  # task -> flattened

    def convert(a: Any) -> Any:
        if isinstance(a, unmapped):
            return a.value
        flat = False
        if isinstance(a, flatten):
            flat, a = True, a.value
        t = as_task(a, flow=flow)
        flow.add_task(t)
        mapped_inputs[t] = flat
        return t

    new_args = [convert(a) for a in args]
    new_kwargs = {k: convert(v) for k, v in kwargs.items()}
    sub = Flow("apply_map")
    with _context(flow=sub, case=None, resource=None, apply_map=(sub, _func_name(func))):
        result = func(*new_args, **new_kwargs)
    existing = set(flow.tasks)
    new_tasks = [t for t in sub.sorted_tasks() if t not in existing]
    for t in new_tasks:
        flow.add_task(t)
    new_set = set(new_tasks)
    for t in sub.sorted_tasks():
        for e in sub._up[t]:
            up, down = e.upstream_task, e.downstream_task
            if down in new_set and up in mapped_inputs:
                flow.add_edge(
                    up,
                    down,
                    key=e.key,
                    mapped=True,
                    flattened=mapped_inputs[up] or e.flattened,
                    validate=False,
                )
            elif down in new_set and up in new_set:
                flow.add_edge(
                    up,
                    down,
                    key=e.key,
                    mapped=_is_mapped_in(up, sub, mapped_inputs),
                    flattened=e.flattened,
                    validate=False,
                )
            else:
                flow.add_edge(
                    up, down, key=e.key, mapped=e.mapped, flattened=e.flattened, validate=False
                )
    for t, consts in sub.constants.items():
        flow.constants[t].update(consts)
    outer_case = _context.get("case")
    if outer_case is not None:
        for t in new_tasks:
            outer_case.add_task(t, flow)
    outer_resource = _context.get("resource")
    if outer_resource is not None:
        for t in new_tasks:
            outer_resource.add_task(t, flow)
    return result


def _func_name(func: Callable[..., Any]) -> str:
    return getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or repr(func)


def _is_mapped_in(task: Task, sub: Flow, mapped_inputs: dict[Task, bool]) -> bool:
    """Whether ``task`` (created by an apply_map function) is mapped: it has a mapped input."""
    seen: set[Task] = set()
    stack = [task]
    while stack:
        t = stack.pop()
        if t in seen:
            continue
        seen.add(t)
        for e in sub._up.get(t, ()):
            if e.upstream_task in mapped_inputs:
                return True
            stack.append(e.upstream_task)
    return False
