"""Flows: a graph of tasks and the edges between them.

Build one with the functional API (call tasks inside ``with Flow(...)``) or the imperative API
(``add_task``, ``add_edge``, ``set_dependencies``, ``chain``), then ``flow.run()``::

    from headwater import Flow, Parameter, task

    @task
    def double(x):
        return 2 * x

    with Flow("example") as flow:
        n = Parameter("n", default=2)
        result = double(n)

    state = flow.run(n=21)
    assert state.result[result].result == 42

All graph queries are O(tasks + edges) or better: upstream/downstream edges are indexed per task
and the topological order is computed once and cached until the graph changes.
"""

from __future__ import annotations

import collections
import logging
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from headwater.context import context as _context
from headwater.core import _options
from headwater.core import _task_init as _init
from headwater.core._flow_editing import FlowEditing, contains_task, unwrap_annotations
from headwater.core._flow_graph import FlowGraph
from headwater.core._flow_services import FlowServices
from headwater.core.edge import Edge
from headwater.core.task import Task

if TYPE_CHECKING:
    from headwater.engine.state import State

__all__ = ["Flow"]


class Flow(FlowGraph, FlowEditing, FlowServices):
    """A workflow: tasks plus the edges (dependencies and data) between them.

    Args:
        name: the flow's name (required, non-empty).
        schedule: a :class:`~headwater.schedules.Schedule` that ``flow.run()`` follows.
        executor: the default executor for this flow's runs.
        run_config: a :mod:`~headwater.run_configs` run config, kept as metadata.
        storage: where ``flow.save``/``Flow.load`` keep the flow.
        tasks: tasks to add.
        edges: edges to add.
        reference_tasks: tasks whose states decide the flow's final state
            (default: the terminal tasks).
        state_handlers: ``fn(flow, old_state, new_state) -> Optional[State]``.
        on_failure: ``fn(flow, state)`` called when the flow run fails.
        validate: check each edge for cycles as it is added (default
            ``config.flows.eager_edge_validation``).
        result: default :class:`~headwater.engine.result.Result` for the flow's tasks.
        terminal_state_handler: ``fn(flow, state, reference_task_states) -> Optional[State]``
            that may replace the final state.
        cache_dir: directory of a persistent cache for this flow's cached tasks.
    """

    def __init__(
        self,
        name: str,
        schedule: Any = None,
        executor: Any = None,
        run_config: Any = None,
        storage: Any = None,
        tasks: Iterable[Task] | None = None,
        edges: Iterable[Edge] | None = None,
        reference_tasks: Iterable[Task] | None = None,
        state_handlers: list[Callable[..., Any]] | None = None,
        on_failure: Callable[..., Any] | None = None,
        validate: bool | None = None,
        result: Any = None,
        terminal_state_handler: Callable[..., Any] | None = None,
        cache_dir: str | None = None,
    ) -> None:
        if not isinstance(name, str) or not name:
            raise ValueError(f"A Flow needs a non-empty string name, got {name!r}")
        self.name = name
        owner = f"Flow {name!r}"
        _options.check_schedule(schedule, owner)
        _options.check_executor(executor, owner)
        _options.check_result(result, owner)
        self.schedule = schedule
        self.executor = executor
        self.run_config = run_config
        self.storage = storage
        self.result = result
        self.cache_dir = cache_dir
        self.state_handlers = _options.check_callables(
            state_handlers, "state_handlers", owner, "fn(flow, old_state, new_state)"
        )
        _options.check_callable(on_failure, "on_failure", owner, "fn(flow, state)")
        _options.check_callable(terminal_state_handler, "terminal_state_handler", owner)
        self.on_failure = on_failure
        self.terminal_state_handler = terminal_state_handler
        if validate is None:
            from headwater.configuration import config

            try:
                validate = bool(config.flows.eager_edge_validation)
            except AttributeError:
                validate = False
        self.validate_edges = validate

        self.tasks: set[Task] = set()
        self.edges: set[Edge] = set()
        self.constants: dict[Task, dict[str, Any]] = collections.defaultdict(dict)
        self.slugs: dict[Task, str] = {}
        self._order: dict[Task, int] = {}
        self._up: dict[Task, list[Edge]] = {}
        self._down: dict[Task, list[Edge]] = {}
        self._bound_keys: dict[Task, set[str]] = {}
        self._slug_counts: dict[str, int] = collections.Counter()
        self._taken_slugs: set[str] = set()
        self._reference_tasks: set[Task] = set()
        # Graph queries remembered until the graph changes (Prefect 1's keys, e.g.
        # ("root_tasks", ())); every change through the flow's methods clears it.
        self._cache: dict[Any, Any] = {}
        self._validated_edges = -1
        self._context_cm: list[Any] = []

        for t in tasks or ():
            self.add_task(t)
        for e in edges or ():
            self.add_edge(
                e.upstream_task,
                e.downstream_task,
                key=e.key,
                mapped=e.mapped,
                flattened=e.flattened,
            )
        self.set_reference_tasks(reference_tasks or [])

    # -- basics ---------------------------------------------------------------------------
    def __repr__(self) -> str:
        return f"<Flow: name={self.name!r}>"

    def __iter__(self) -> Iterator[Task]:
        return iter(self.sorted_tasks())

    def __len__(self) -> int:
        return len(self.tasks)

    def __eq__(self, other: object) -> bool:
        # as in Prefect 1: same name, tasks, edges and reference tasks (flows still hash by id)
        if type(self) is not type(other):
            return False
        assert isinstance(other, Flow)
        return (self.name, self.tasks, self.edges, self.reference_tasks()) == (
            other.name,
            other.tasks,
            other.edges,
            other.reference_tasks(),
        )

    __hash__ = object.__hash__

    @property
    def logger(self) -> logging.Logger:
        """The ``"headwater.<flow name>"`` logger."""
        from headwater.utilities.logging import get_logger

        return get_logger(self.name)

    def __enter__(self) -> Flow:
        # Tasks created in the block are tracked, to warn about those never added to the flow.
        tracker: set[Task] = set()
        cm = _context(flow=self, **{_init.TRACKER_KEY: tracker})
        cm.__enter__()
        self._context_cm.append((cm, tracker))
        return self

    def __exit__(self, *exc: Any) -> None:
        cm, tracker = self._context_cm.pop()
        cm.__exit__(*exc)
        if exc[0] is None:
            _init.unused_tasks_warning(self, tracker)

    def __getstate__(self) -> dict[str, Any]:
        d = self.__dict__.copy()
        d["_context_cm"] = []
        d["_cache"] = dict(self._cache)
        d["constants"] = dict(self.constants)
        d.pop("_derived_cache", None)  # remade on demand; it can be as big as the graph
        return d

    def __setstate__(self, d: dict[str, Any]) -> None:
        d.setdefault("_cache", {})
        self.__dict__.update(d)
        consts = collections.defaultdict(dict)
        consts.update(d.get("constants", {}))
        self.constants = consts

    # -- building -------------------------------------------------------------------------
    def add_task(self, task: Task) -> Task:
        """Add ``task`` (no edges); returns it.

        Inside a ``with case(...)`` or resource block the task joins that block, as a task
        called there does.

        Raises:
            TypeError: ``task`` is not a task.
            ValueError: its slug (a parameter's name) is taken in this flow.
        """
        if task in self.tasks:
            return task
        if not isinstance(task, Task):
            raise TypeError(f"Flows can only contain Tasks, got {type(task).__name__}: {task!r}")
        from headwater.core.parameter import Parameter

        if isinstance(task, Parameter):
            for other in self.tasks:
                if isinstance(other, Parameter) and other.name == task.name:
                    raise ValueError(
                        f'A task with the slug "{task.slug}" already exists in this flow: a '
                        f"parameter named {task.name!r} already exists in {self!r}."
                    )
        slug = task.slug
        generated = getattr(task, "_generated_slug", None)
        if slug is None or (slug == generated and slug in self._taken_slugs):
            # a slug another flow generated for this task may be taken here: make a new one
            base = "-".join([task.name, *sorted(task.tags)])
            n = self._slug_counts[base] + 1
            slug = f"{base}-{n}"
            while slug in self._taken_slugs:
                n += 1
                slug = f"{base}-{n}"
            self._slug_counts[base] = n
            if task.slug is None:
                # the first flow a task joins names it, so that context.task_slug is set
                task.slug = task._generated_slug = slug  # type: ignore[attr-defined]
        elif slug in self._taken_slugs:
            raise ValueError(
                f'A task with the slug "{slug}" already exists in this flow: slug {slug!r} '
                f"already exists in {self!r}."
            )
        self._taken_slugs.add(slug)
        self.slugs[task] = slug
        self.tasks.add(task)
        self._order[task] = len(self._order)
        self._up[task] = []
        self._down[task] = []
        self._cache.clear()
        _init.join_open_blocks(task, self)
        return task

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
        """
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
        edge = Edge(
            upstream_task, downstream_task, key=key, mapped=mapped, flattened=flattened, flow=self
        )
        upstream_task, downstream_task = edge.upstream_task, edge.downstream_task
        if key is not None and not edge.mapped and not edge.flattened:
            if (
                isinstance(upstream_task, _init.constant_class())
                and upstream_task not in self.tasks
            ):
                self.add_task(downstream_task)
                if key in self._bound_keys.get(downstream_task, ()):
                    raise ValueError(
                        f"Argument {key!r} of {downstream_task!r} is already bound to an "
                        "upstream task."
                    )
                self.constants[downstream_task][key] = upstream_task.value  # type: ignore[attr-defined]
                self._cache.clear()
                return edge
        if key is not None:
            bound = self._bound_keys.get(downstream_task)
            if bound is not None and key in bound:
                other = next(e.upstream_task for e in self._up[downstream_task] if e.key == key)
                raise ValueError(
                    f"Argument {key!r} of {downstream_task!r} is already bound (to {other!r}): "
                    "it has already been assigned in this flow, and each key takes one upstream "
                    "task. To call the task again with new arguments, call Task.copy() first."
                )
            if key in self.constants.get(downstream_task, {}):
                raise ValueError(
                    f"Argument {key!r} of {downstream_task!r} is already bound to a constant."
                )
            sig = downstream_task._signature
            if (
                (validate if validate is not None else self.validate_edges)
                and not sig.var_kw
                and key not in sig.names
            ):
                raise TypeError(f"{downstream_task!r} has no run() argument named {key!r}.")
        if edge in self.edges:
            return edge
        self.add_task(upstream_task)
        self.add_task(downstream_task)
        self.edges.add(edge)
        self._up[downstream_task].append(edge)
        self._down[upstream_task].append(edge)
        if key is not None:
            self._bound_keys.setdefault(downstream_task, set()).add(key)
        self._cache.clear()
        if validate if validate is not None else self.validate_edges:
            try:
                self.sorted_tasks()
            except ValueError:
                if key is not None:
                    self._bound_keys[downstream_task].discard(key)
                self.edges.discard(edge)
                self._up[downstream_task].remove(edge)
                self._down[upstream_task].remove(edge)
                self._cache.clear()
                raise
        return edge

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

        task = as_task(task, flow=self)
        if upstream_tasks is not None or downstream_tasks is not None:
            owner = f"Task {task.name!r}"
            _options.check_task_list(upstream_tasks, "upstream_tasks", owner)
            _options.check_task_list(downstream_tasks, "downstream_tasks", owner)
        self.add_task(task)
        for t in upstream_tasks or ():
            is_mapped, flattened, t = unwrap_annotations(t, mapped)
            self.add_edge(
                as_task(t, flow=self),
                task,
                mapped=is_mapped,
                flattened=flattened,
                validate=validate,
            )
        for t in downstream_tasks or ():
            is_mapped, flattened, t = unwrap_annotations(t, mapped)
            self.add_edge(
                task,
                as_task(t, flow=self),
                mapped=is_mapped,
                flattened=flattened,
                validate=validate,
            )
        for key, t in (keyword_tasks or {}).items():
            is_mapped, flattened, t = unwrap_annotations(t, mapped)
            if is_mapped and not flattened and not isinstance(t, Task):
                _options.check_mappable(t, key, f"Task {task.name!r}")
            if isinstance(t, Task) or is_mapped or flattened or contains_task(t):
                self.add_edge(
                    as_task(t, flow=self),
                    task,
                    key=key,
                    mapped=is_mapped,
                    flattened=flattened,
                    validate=validate,
                )
            else:
                if key in self._bound_keys.get(task, ()):
                    raise ValueError(
                        f"Argument {key!r} of {task!r} is already bound to an upstream task."
                    )
                self.constants[task][key] = t

    def chain(self, *tasks: Any, validate: bool | None = None) -> list[Edge]:
        """Make each task depend on the previous one; returns the new edges."""
        if len(tasks) < 2:
            raise ValueError("chain() needs at least two tasks.")
        return [self.add_edge(a, b, validate=validate) for a, b in zip(tasks, tasks[1:])]

    # -- running --------------------------------------------------------------------------
    def run(
        self,
        parameters: dict[str, Any] | None = None,
        run_on_schedule: bool | None = None,
        runner_cls: type | None = None,
        **kwargs: Any,
    ) -> State:
        """Run the flow in this process and return its final state.

        Keyword arguments named like the flow's parameters are parameters; the rest go to
        :meth:`FlowRunner.run` (``executor``, ``context``, ``task_states``, ``task_contexts``,
        ``return_tasks``, ``task_runner_state_handlers``).
        """
        from headwater.engine.flow_run import run_flow

        return run_flow(
            self,
            parameters=parameters,
            run_on_schedule=run_on_schedule,
            runner_cls=runner_cls,
            **kwargs,
        )

    # -- display --------------------------------------------------------------------------
    def to_dot(self, flow_state: State | None = None) -> str:
        """The graph in Graphviz DOT text (no system binary needed)."""
        from headwater.utilities.graph import flow_to_dot

        return flow_to_dot(self, flow_state)

    def to_mermaid(self, flow_state: State | None = None) -> str:
        """The graph as a Mermaid flowchart."""
        from headwater.utilities.graph import flow_to_mermaid

        return flow_to_mermaid(self, flow_state)

    def visualize(
        self,
        flow_state: State | None = None,
        filename: str | None = None,
        format: str | None = None,
    ) -> Any:  # noqa: A002
        """A ``graphviz.Digraph`` of the flow (needs the ``graphviz`` package)."""
        from headwater.utilities.graph import visualize

        return visualize(self, flow_state=flow_state, filename=filename, format=format)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        return {
            "text/markdown": "```mermaid\n" + self.to_mermaid() + "\n```",
            "text/plain": repr(self),
        }

    # -- storage --------------------------------------------------------------------------
    def save(self, fpath: str | None = None) -> str:
        """Pickle the flow (with headwater and Python versions) to ``fpath``; returns the path."""
        from headwater.storage.serialize import save_flow

        return save_flow(self, fpath)

    @classmethod
    def load(cls, fpath: str) -> Flow:
        """Load a flow saved with :meth:`save` (a path, or a flow name in the default place)."""
        from headwater.storage.serialize import load_flow

        return load_flow(fpath)
