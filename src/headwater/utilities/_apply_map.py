"""``apply_map``: map a whole function-built subgraph over its arguments.

:func:`headwater.utilities.tasks.apply_map` is this module's :func:`apply_map`. It follows
Prefect 1's algorithm:

1. every argument becomes a task in a scratch flow (a plain list becomes a ``Constant``,
   a list holding tasks a collection task); ``unmapped(...)`` arguments are passed whole and
   ``flatten(...)`` ones are flattened first;
2. ``func`` runs once, inside the scratch flow (passed as ``flow=`` when ``apply_map`` was
   given a flow), with ``context.mapped`` set, so a ``.map()`` inside it is an error;
3. the scratch flow's tasks and edges are copied into the real flow, every edge mapped except
   those from ``unmapped`` arguments and from tasks of the flow that ``func`` uses directly
   (closures, passed whole), and constants that came from mapped arguments become mapped edges
   from their ``Constant`` tasks;
4. each task of the subgraph with no upstream task in the subgraph gets an edge from every
   argument except unmapped constants, so all of them map over the same items (the shortest
   argument decides how many) and wait for all of them.

::

    from headwater import Flow, apply_map, case, task
    from headwater.tasks.control_flow import merge

    @task
    def inc(x):
        return x + 1

    @task
    def is_even(x):
        return x % 2 == 0

    def inc_if_even(x):
        with case(is_even(x), True):
            x2 = inc(x)
        return merge(x2, x)

    with Flow("example") as flow:
        result = apply_map(inc_if_even, range(4))

    assert flow.run().result[result].result == [1, 1, 3, 3]
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from headwater.context import context as _context
from headwater.core.edge import EdgeAnnotation
from headwater.core.task import Task

if TYPE_CHECKING:
    from headwater.core.flow import Flow

__all__ = ["apply_map"]


def _func_name(func: Callable[..., Any]) -> str:
    return getattr(func, "__qualname__", None) or getattr(func, "__name__", None) or repr(func)


def _flags(value: Any) -> tuple[bool, bool]:
    """``(mapped, flattened)`` for an argument, from its annotations."""
    if isinstance(value, EdgeAnnotation):
        return value.annotations.get("mapped", True), value.annotations.get("flattened", False)
    return True, False


def apply_map(func: Callable[..., Any], *args: Any, flow: Flow | None = None, **kwargs: Any) -> Any:
    """Map a function that adds tasks to a flow over its arguments, item by item.

    Args:
        func: builds tasks from its arguments (tasks standing for one item each); may use
            ``case``, resource blocks and anything else that builds a graph.
        *args: what to map over: sequences or tasks. Wrap one in ``unmapped(...)`` to pass it
            whole, or in ``flatten(...)`` to flatten it first.
        flow: the flow to add the tasks to (default: the active flow). When given, ``func``
            is called with ``flow=`` (the scratch flow it must add its tasks to).
        **kwargs: keyword arguments to map over, as ``args``.

    Returns:
        What ``func`` returned.

    Raises:
        ValueError: no flow is given or active, or ``apply_map`` is called inside a function
            ``apply_map`` is mapping (nested mapping), or ``func`` maps a task itself.
        TypeError: an argument is neither a sequence nor a task.
    """
    from headwater.core.flow import Flow

    flow_given = flow is not None
    target = _target_flow(func, flow)
    for value in itertools.chain(args, kwargs.values()):
        if not isinstance(value, (Task, EdgeAnnotation, Sequence)):
            raise TypeError(
                f"Cannot map over non-sequence object of type `{type(value).__name__}` in "
                f"apply_map({_func_name(func)}): pass a list (or a task), or wrap the value in "
                "unmapped(...) to pass it whole."
            )

    original = set(target.tasks)
    arguments = _Arguments(target, Flow("apply_map"))
    new_args = [arguments.prepare(a) for a in args]
    new_kwargs = {k: arguments.prepare(v) for k, v in kwargs.items()}
    sub = arguments.sub
    argument_edges = set(sub.edges)  # into collection tasks made from the arguments
    scratch = {
        "mapped": True,
        "case": None,
        "resource": None,
        "apply_map": (sub, _func_name(func)),
    }
    with _context(**scratch), sub:
        if flow_given:
            result = func(*new_args, flow=sub, **new_kwargs)
        else:
            result = func(*new_args, **new_kwargs)

    # (copying into ``flow`` is this call's own mapping: allowed even when ``apply_map`` runs
    # inside a function another ``apply_map`` maps into a different flow)
    with _context(mapped=False):
        whole = original - _upstream_of(argument_edges)
        _copy_into(target, sub, arguments.info, arguments.constant_of, original, whole)
    return result


def _target_flow(func: Callable[..., Any], flow: Flow | None) -> Flow:
    """The flow ``apply_map(func, ...)`` adds tasks to: ``flow``, else the active one.

    Raises:
        ValueError: there is none, or ``apply_map`` is already mapping into it (nesting).
    """
    if flow is None:
        flow = _context.get("flow")
        if flow is None:
            raise ValueError(
                "apply_map() needs an active flow: couldn't infer a flow in the current context. "
                "Call it inside `with Flow(...):` or pass flow=."
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
    return flow


class _Arguments:
    """Step 1 of the module docstring: the arguments of one call made tasks of ``sub``.

    Attributes:
        info: per argument task, ``(mapped, constant, flattened)``.
        constant_of: ``id(value) -> its Constant task``, for mapped constant arguments.
    """

    def __init__(self, flow: Flow, sub: Flow) -> None:
        self.flow = flow
        self.sub = sub
        self.info: dict[Task, tuple[bool, bool, bool]] = {}
        self.constant_of: dict[int, Task] = {}

    def prepare(self, value: Any) -> Task:
        """The task standing for argument ``value``."""
        from headwater.tasks.core.constants import Constant
        from headwater.utilities.tasks import as_task

        is_mapped, is_flat = _flags(value)
        with _context(case=None, resource=None):
            made = as_task(value, flow=self.sub)
            is_constant = isinstance(made, Constant)
            if not is_constant:
                self.sub.add_task(made)
        self.info[made] = (is_mapped, is_constant, is_flat)
        if not isinstance(made, Constant):
            self.flow.add_task(made)  # joins an enclosing case or resource block
        elif is_mapped:
            self.constant_of[id(made.value)] = made
        return made


def _upstream_of(edges: set[Any]) -> set[Task]:
    return {e.upstream_task for e in edges}


def _copy_into(
    flow: Flow,
    sub: Flow,
    arg_info: dict[Task, tuple[bool, bool, bool]],
    constant_of: dict[int, Task],
    original: set[Task],
    whole: set[Task],
) -> None:
    """Steps 3 and 4 of the module docstring: copy ``sub`` into ``flow``, mapped.

    ``original``: the tasks of ``flow`` before the call; ``whole``: those of them that are not
    items of a collection argument, whose edges pass their result whole.
    """
    for t in sub.sorted_tasks():
        flow.add_task(t)
    for e in sub.edges:
        if e.upstream_task in arg_info:
            mapped, _, flat = arg_info[e.upstream_task]
        elif e.upstream_task in whole:
            # a task of the flow that ``func`` used directly (a closure), not an argument:
            # passed whole, as written
            mapped, flat = e.mapped, False
        else:
            mapped, flat = True, False
        flow.add_edge(
            e.upstream_task,
            e.downstream_task,
            key=e.key,
            mapped=mapped,
            flattened=flat or e.flattened,
            validate=False,
        )
    for t, consts in sub.constants.items():
        for key, value in consts.items():
            c_task = constant_of.get(id(value))
            if c_task is None:
                flow.constants[t][key] = value
                continue
            flow.add_task(c_task)
            flow.add_edge(
                c_task, t, key=key, mapped=True, flattened=arg_info[c_task][2], validate=False
            )

    new_tasks = set(sub.tasks) - original - set(arg_info)
    for t in sorted(new_tasks, key=lambda t: t.id):
        upstream = flow.upstream_tasks(t)
        if upstream & new_tasks:
            continue
        for arg_task, (is_mapped, is_constant, is_flat) in arg_info.items():
            if arg_task not in upstream and (is_mapped or not is_constant):
                flow.add_edge(arg_task, t, mapped=is_mapped, flattened=is_flat, validate=False)
