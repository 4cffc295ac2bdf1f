"""Adding tasks and edges to a :class:`~headwater.core.flow.Flow`: the imperative API.

:class:`FlowBuilding` is the layer of ``Flow`` above its graph queries: ``add_task``,
``add_edge``, ``set_dependencies`` and ``chain``. The functional API (calling tasks inside
``with Flow(...)``) ends up here too. Each call is O(1) in the size of the flow (a big flow
builds in time proportional to its tasks and edges)::

    from headwater import Flow, Task

    a, b, c = Task(name="a"), Task(name="b"), Task(name="c")
    flow = Flow("imperative")
    flow.chain(a, b, c)
    flow.set_dependencies(c, keyword_tasks={"limit": 10})
    assert flow.upstream_tasks(c) == {b} and flow.constants[c] == {"limit": 10}

A keyed, unmapped :class:`~headwater.tasks.core.constants.Constant` upstream becomes an entry of
``flow.constants`` rather than a task of the graph; every argument takes one upstream value.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, cast

from headwater.context import context as _context
from headwater.core import _options
from headwater.core import _task_init as _init
from headwater.core._flow_graph import FlowGraph
from headwater.core.edge import Edge, EdgeAnnotation
from headwater.core.task import Task

if TYPE_CHECKING:
    from headwater.core.flow import Flow

__all__ = ["FlowBuilding", "contains_task", "unwrap_annotations"]


class FlowBuilding(FlowGraph):
    """``add_task``, ``add_edge``, ``set_dependencies``, ``chain`` of
    :class:`~headwater.core.flow.Flow` (a layer of it; not used alone)."""

    constants: dict[Task, dict[str, Any]]
    validate_edges: bool
    _slug_counts: dict[str, int]
    _taken_slugs: set[str]

    def add_task(self, task: Task) -> Task:
        """Add ``task`` (no edges); returns it.

        Inside a ``with case(...)`` or resource block the task joins that block, as a task
        called there does.

        Raises:
            TypeError: ``task`` is not a task.
            ValueError: its slug (a parameter's name) is taken in this flow.
        """
        graph = self.graph
        if task in graph.upstream:
            return task
        if not isinstance(task, Task):
            raise TypeError(f"Flows can only contain Tasks, got {type(task).__name__}: {task!r}")
        if isinstance(task, _init.parameter_class()):
            self._check_parameter_name(task)
        slug = self._slug_for(task)
        self._taken_slugs.add(slug)
        self.slugs[task] = slug
        graph.add_task(task)
        _init.join_open_blocks(task, self)
        return task

    def _check_parameter_name(self, parameter: Task) -> None:
        parameter_class = _init.parameter_class()
        for other in self.graph.tasks:
            if isinstance(other, parameter_class) and other.name == parameter.name:
                raise ValueError(
                    f'A task with the slug "{parameter.slug}" already exists in this flow: a '
                    f"parameter named {parameter.name!r} already exists in {self!r}."
                )

    def _slug_for(self, task: Task) -> str:
        """The slug ``task`` takes in this flow (the first flow a task joins names it)."""
        slug = task.slug
        taken = self._taken_slugs
        if slug is not None and not (task.slug_is_generated and slug in taken):
            if slug in taken:
                raise ValueError(
                    f'A task with the slug "{slug}" already exists in this flow: slug {slug!r} '
                    f"already exists in {self!r}."
                )
            return slug
        # no slug yet, or one another flow generated that is taken here: make a new one
        base = "-".join([task.name, *sorted(task.tags)])
        n = self._slug_counts.get(base, 0) + 1
        slug = f"{base}-{n}"
        while slug in taken:
            n += 1
            slug = f"{base}-{n}"
        self._slug_counts[base] = n
        if task.slug is None:
            task.use_generated_slug(slug)  # so that context.task_slug is set when it runs
        return slug

    def add_edge(
        self,
        upstream_task: Any,
        downstream_task: Any,
        key: str | None = None,
        mapped: bool = False,
        flattened: bool = False,
        validate: bool | None = None,
    ) -> Edge:
        """Add an edge from ``upstream_task`` to ``downstream_task`` (adding the tasks too).

        Values that are not tasks become tasks (:func:`~headwater.utilities.tasks.as_task`);
        a keyed, unmapped :class:`~headwater.tasks.core.constants.Constant` upstream is stored
        in ``flow.constants`` instead of becoming a node. Returns the edge.

        Raises:
            ValueError: the downstream task is a ``Parameter``, ``mapped=True`` inside a mapped
                task's run, ``key`` is already bound for the downstream task, or (when
                validating) the edge makes a cycle.
            TypeError: (when validating) the downstream ``run()`` has no argument ``key``.
        """
        self._check_edge_request(upstream_task, downstream_task, mapped)
        edge = Edge(
            upstream_task, downstream_task, key=key, mapped=mapped, flattened=flattened, flow=self
        )
        up, down = edge.upstream_task, edge.downstream_task
        if validate is None:
            validate = self.validate_edges
        graph = self.graph
        if key is not None:
            if (
                not edge.mapped
                and not edge.flattened
                and isinstance(up, _init.constant_class())
                and up not in graph.upstream
            ):
                self._bind_constant(down, key, up.value)  # type: ignore[attr-defined]
                return edge
            self._check_key_is_free(down, key, validate)
        self.add_task(up)  # (nothing to do when the edge is there already)
        self.add_task(down)
        if not graph.add_edge(edge):
            return edge
        if validate:
            try:
                self.sorted_tasks()
            except ValueError:
                graph.remove_edge(edge)
                raise
        return edge

    def _check_edge_request(self, upstream_task: Any, downstream_task: Any, mapped: bool) -> None:
        if mapped and _context.get("mapped", False):
            raise ValueError(
                "Cannot set `mapped=True` when running from inside a mapped context: "
                f"{downstream_task!r} is being added from a mapped task's run."
            )
        if isinstance(downstream_task, _init.parameter_class()):
            raise ValueError(
                f"Parameters must be root tasks and can not have upstream dependencies: "
                f"{downstream_task!r} cannot depend on {upstream_task!r}."
            )

    def _bind_constant(self, task: Task, key: str, value: Any) -> None:
        """Make ``value`` the constant input ``key`` of ``task`` (adding the task)."""
        self.add_task(task)
        if key in self.graph.bound_keys.get(task, ()):
            raise ValueError(f"Argument {key!r} of {task!r} is already bound to an upstream task.")
        self.constants[task][key] = value

    def _check_key_is_free(self, task: Task, key: str, validate: bool) -> None:
        """Raise unless an edge may pass a result to ``task``'s argument ``key``."""
        if key in self.graph.bound_keys.get(task, ()):
            other = next(e.upstream_task for e in self.graph.upstream[task] if e.key == key)
            raise ValueError(
                f"Argument {key!r} of {task!r} is already bound (to {other!r}): "
                "it has already been assigned in this flow, and each key takes one upstream "
                "task. To call the task again with new arguments, call Task.copy() first."
            )
        if key in self.constants.get(task, {}):
            raise ValueError(f"Argument {key!r} of {task!r} is already bound to a constant.")
        if validate and not task.accepts_argument(key):
            raise TypeError(f"{task!r} has no run() argument named {key!r}.")

    def set_dependencies(
        self,
        task: Any,
        upstream_tasks: Iterable[Any] | None = None,
        downstream_tasks: Iterable[Any] | None = None,
        keyword_tasks: dict[str, Any] | None = None,
        mapped: bool = False,
        validate: bool | None = None,
    ) -> None:
        """Add ``task`` with upstream/downstream dependencies and keyword (data) inputs.

        Non-task keyword values are stored in ``flow.constants[task]`` (unless mapped over,
        which needs a task); collections holding tasks become collection tasks.
        """
        from headwater.utilities.tasks import as_task

        flow = cast("Flow", self)
        task = as_task(task, flow=flow)
        if upstream_tasks is not None or downstream_tasks is not None:
            owner = f"Task {task.name!r}"
            _options.check_task_list(upstream_tasks, "upstream_tasks", owner)
            _options.check_task_list(downstream_tasks, "downstream_tasks", owner)
        self.add_task(task)
        for t in upstream_tasks or ():
            is_mapped, flattened, t = unwrap_annotations(t, mapped)
            self.add_edge(
                as_task(t, flow=flow),
                task,
                mapped=is_mapped,
                flattened=flattened,
                validate=validate,
            )
        for t in downstream_tasks or ():
            is_mapped, flattened, t = unwrap_annotations(t, mapped)
            self.add_edge(
                task,
                as_task(t, flow=flow),
                mapped=is_mapped,
                flattened=flattened,
                validate=validate,
            )
        for key, t in (keyword_tasks or {}).items():
            self._add_keyword_input(task, key, t, mapped, validate)

    def _add_keyword_input(
        self, task: Task, key: str, value: Any, mapped: bool, validate: bool | None
    ) -> None:
        """Pass ``value`` to ``task``'s argument ``key``: an edge, or a flow constant."""
        is_mapped, flattened, value = unwrap_annotations(value, mapped)
        if isinstance(value, Task):
            self.add_edge(
                value, task, key=key, mapped=is_mapped, flattened=flattened, validate=validate
            )
            return
        if is_mapped and not flattened:
            _options.check_mappable(value, key, f"Task {task.name!r}")
        if is_mapped or flattened or contains_task(value):
            from headwater.utilities.tasks import as_task

            self.add_edge(
                as_task(value, flow=cast("Flow", self)),
                task,
                key=key,
                mapped=is_mapped,
                flattened=flattened,
                validate=validate,
            )
        elif key in self.graph.bound_keys.get(task, ()):
            raise ValueError(f"Argument {key!r} of {task!r} is already bound to an upstream task.")
        else:
            self.constants[task][key] = value

    def chain(self, *tasks: Any, validate: bool | None = None) -> list[Edge]:
        """Make each task depend on the previous one; returns the new edges."""
        if len(tasks) < 2:
            raise ValueError("chain() needs at least two tasks.")
        return [self.add_edge(a, b, validate=validate) for a, b in zip(tasks, tasks[1:])]


def unwrap_annotations(value: Any, mapped: bool) -> tuple[bool, bool, Any]:
    """``(mapped, flattened, value)`` of a possibly annotated value (``mapped(x)`` ...)."""
    flattened = False
    while isinstance(value, EdgeAnnotation):
        ann = value.annotations
        if "mapped" in ann:
            mapped = ann["mapped"]
        if ann.get("flattened"):
            flattened = True
        value = value.value
    return mapped, flattened, value


def contains_task(value: Any) -> bool:
    """Whether ``value`` is a task or a (nested) list/tuple/set/dict holding one.

    Iterative, so a constant nested thousands of levels deep is no ``RecursionError``.
    """
    stack = [value]
    seen: set[int] = set()
    while stack:
        v = stack.pop()
        if isinstance(v, Task):
            return True
        if isinstance(v, (list, tuple, set, dict)) and id(v) not in seen:
            seen.add(id(v))  # a list that contains itself is searched once
            if isinstance(v, dict):
                stack.extend(v.keys())
                stack.extend(v.values())
            else:
                stack.extend(v)
    return False
