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
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any

from headwater.context import context as _context
from headwater.core import _options
from headwater.core._flow_services import FlowServices
from headwater.core.edge import Edge, EdgeAnnotation
from headwater.core.task import Task

if TYPE_CHECKING:
    from headwater.core.parameter import Parameter
    from headwater.engine.state import State

__all__ = ["Flow"]


class Flow(FlowServices):
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
        self._sorted: tuple[Task, ...] | None = None
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

    def __enter__(self) -> Flow:
        cm = _context(flow=self)
        cm.__enter__()
        self._context_cm.append(cm)
        return self

    def __exit__(self, *exc: Any) -> None:
        cm = self._context_cm.pop()
        cm.__exit__(*exc)

    def __getstate__(self) -> dict[str, Any]:
        d = self.__dict__.copy()
        d["_context_cm"] = []
        d["constants"] = dict(self.constants)
        d.pop("_derived_cache", None)  # remade on demand; it can be as big as the graph
        return d

    def __setstate__(self, d: dict[str, Any]) -> None:
        self.__dict__.update(d)
        consts = collections.defaultdict(dict)
        consts.update(d.get("constants", {}))
        self.constants = consts

    # -- building -------------------------------------------------------------------------
    def add_task(self, task: Task) -> Task:
        """Add ``task`` (no edges); returns it."""
        if task in self.tasks:
            return task
        if not isinstance(task, Task):
            raise TypeError(f"Flows can only contain Tasks, got {type(task).__name__}: {task!r}")
        from headwater.core.parameter import Parameter

        if isinstance(task, Parameter):
            for other in self.tasks:
                if isinstance(other, Parameter) and other.name == task.name:
                    raise ValueError(f"A parameter named {task.name!r} already exists in {self!r}.")
        slug = task.slug
        generated = getattr(task, "_generated_slug", None)
        if slug is None or (slug == generated and slug in self._taken_slugs):
            # a slug another flow generated for this task may be taken here: make a new one
            base = task.name
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
            raise ValueError(f"A task with the slug {slug!r} already exists in {self!r}.")
        self._taken_slugs.add(slug)
        self.slugs[task] = slug
        self.tasks.add(task)
        self._order[task] = len(self._order)
        self._up[task] = []
        self._down[task] = []
        self._sorted = None
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
        """Add an edge from ``upstream_task`` to ``downstream_task`` (adding the tasks too)."""
        from headwater.utilities.tasks import as_task

        upstream_task = as_task(upstream_task, flow=self)
        downstream_task = as_task(downstream_task, flow=self)
        edge = Edge(upstream_task, downstream_task, key=key, mapped=mapped, flattened=flattened)
        if key is not None:
            bound = self._bound_keys.get(downstream_task)
            if bound is not None and key in bound:
                other = next(e.upstream_task for e in self._up[downstream_task] if e.key == key)
                raise ValueError(
                    f"Argument {key!r} of {downstream_task!r} is already bound (to "
                    f"{other!r}); each key may have only one upstream task."
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
        self._sorted = None
        if validate if validate is not None else self.validate_edges:
            try:
                self.sorted_tasks()
            except ValueError:
                if key is not None:
                    self._bound_keys[downstream_task].discard(key)
                self.edges.discard(edge)
                self._up[downstream_task].remove(edge)
                self._down[upstream_task].remove(edge)
                self._sorted = None
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
            is_mapped, flattened, t = _unwrap(t, mapped)
            self.add_edge(
                as_task(t, flow=self),
                task,
                mapped=is_mapped,
                flattened=flattened,
                validate=validate,
            )
        for t in downstream_tasks or ():
            is_mapped, flattened, t = _unwrap(t, mapped)
            self.add_edge(
                task,
                as_task(t, flow=self),
                mapped=is_mapped,
                flattened=flattened,
                validate=validate,
            )
        for key, t in (keyword_tasks or {}).items():
            is_mapped, flattened, t = _unwrap(t, mapped)
            if is_mapped and not isinstance(t, Task):
                _options.check_mappable(t, key, f"Task {task.name!r}")
            if isinstance(t, Task) or is_mapped or flattened or _contains_task(t):
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

    def update(
        self, flow: Flow, merge_parameters: bool = False, validate: bool | None = None
    ) -> None:
        """Add ``flow``'s tasks, edges, constants and reference tasks to this flow."""
        from headwater.core.parameter import Parameter

        mine = (
            {t.name: t for t in self.tasks if isinstance(t, Parameter)} if merge_parameters else {}
        )
        remap: dict[Task, Task] = {}
        for t in flow.sorted_tasks():
            if merge_parameters and isinstance(t, Parameter) and t.name in mine:
                remap[t] = mine[t.name]
            else:
                remap[t] = t
                self.add_task(t)
        for e in flow.edges:
            self.add_edge(
                remap[e.upstream_task],
                remap[e.downstream_task],
                key=e.key,
                mapped=e.mapped,
                flattened=e.flattened,
                validate=validate,
            )
        for t, consts in flow.constants.items():
            self.constants[remap[t]].update(consts)
        self._reference_tasks.update(remap[t] for t in flow._reference_tasks)

    def replace(self, old: Task, new: Any, validate: bool = True) -> None:
        """Put ``new`` in place of ``old``, keeping ``old``'s edges and constants."""
        from headwater.utilities.tasks import as_task

        if old not in self.tasks:
            raise ValueError(f"{old!r} is not in {self!r}.")
        new = as_task(new, flow=self)
        up = list(self._up[old])
        down = list(self._down[old])
        self._bound_keys.pop(old, None)
        for e in down:
            if e.key is not None:
                self._bound_keys[e.downstream_task].discard(e.key)
        for e in up + down:
            self.edges.discard(e)
            self._up[e.downstream_task].remove(e)
            self._down[e.upstream_task].remove(e)
        consts = self.constants.pop(old, {})
        was_ref = old in self._reference_tasks
        self.tasks.discard(old)
        self._taken_slugs.discard(self.slugs.pop(old, ""))
        del self._up[old], self._down[old], self._order[old]
        self._reference_tasks.discard(old)
        self._sorted = None
        self.add_task(new)
        for e in up:
            self.add_edge(
                e.upstream_task,
                new,
                key=e.key,
                mapped=e.mapped,
                flattened=e.flattened,
                validate=False,
            )
        for e in down:
            self.add_edge(
                new,
                e.downstream_task,
                key=e.key,
                mapped=e.mapped,
                flattened=e.flattened,
                validate=False,
            )
        if consts:
            self.constants[new].update(consts)
        if was_ref:
            self._reference_tasks.add(new)
        if validate:
            self.validate()

    def copy(self) -> Flow:
        """A new flow with the same tasks and edges (the sets can be changed independently)."""
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        new.tasks = set(self.tasks)
        new.edges = set(self.edges)
        consts: dict[Task, dict[str, Any]] = collections.defaultdict(dict)
        consts.update({t: dict(c) for t, c in self.constants.items()})
        new.constants = consts
        new.slugs = dict(self.slugs)
        new._order = dict(self._order)
        new._up = {t: list(es) for t, es in self._up.items()}
        new._down = {t: list(es) for t, es in self._down.items()}
        new._bound_keys = {t: set(ks) for t, ks in self._bound_keys.items()}
        new._slug_counts = collections.Counter(self._slug_counts)
        new._taken_slugs = set(self._taken_slugs)
        new._reference_tasks = set(self._reference_tasks)
        new.state_handlers = list(self.state_handlers)
        new._context_cm = []
        new.__dict__.pop("_derived_cache", None)
        return new

    # -- queries --------------------------------------------------------------------------
    def edges_to(self, task: Task) -> set[Edge]:
        """Edges into ``task``."""
        self._check(task)
        return set(self._up[task])

    def edges_from(self, task: Task) -> set[Edge]:
        """Edges out of ``task``."""
        self._check(task)
        return set(self._down[task])

    def upstream_tasks(self, task: Task) -> set[Task]:
        """Tasks ``task`` depends on."""
        self._check(task)
        return {e.upstream_task for e in self._up[task]}

    def downstream_tasks(self, task: Task) -> set[Task]:
        """Tasks that depend on ``task``."""
        self._check(task)
        return {e.downstream_task for e in self._down[task]}

    def all_upstream_edges(self) -> dict[Task, set[Edge]]:
        return {t: set(es) for t, es in self._up.items()}

    def all_downstream_edges(self) -> dict[Task, set[Edge]]:
        return {t: set(es) for t, es in self._down.items()}

    def _check(self, task: Task) -> None:
        if task not in self._up:
            raise ValueError(f"{task!r} was not found in {self!r}.")

    def root_tasks(self) -> set[Task]:
        """Tasks with no upstream tasks."""
        return {t for t in self.tasks if not self._up[t]}

    def terminal_tasks(self) -> set[Task]:
        """Tasks with no downstream tasks."""
        return set(self._derived("terminal", self._find_terminal_tasks))

    def _find_terminal_tasks(self) -> set[Task]:
        down = self._down
        return {t for t in self.tasks if not down[t]}

    def _derived(self, name: str, compute: Callable[[], Any]) -> Any:
        """``compute()``, remembered until the graph changes (callers must not change it).

        Entries are tied to the current topological order (``_sorted``, made when the flow is
        validated or sorted), which every change to the graph through the flow's methods
        discards, so a stale entry is never returned. On a 100,000-task flow, finding the
        terminal tasks anew for each run costs more than 1 us per task, scattered over the
        whole graph.
        """
        key = self._sorted
        if key is None:
            return compute()
        cache = self.__dict__.get("_derived_cache")
        if cache is None or cache[0] is not key:
            cache = self._derived_cache = (key, {})
        value = cache[1].get(name)
        if value is None:
            value = cache[1][name] = compute()
        return value

    def reference_tasks(self) -> set[Task]:
        """Tasks whose states decide the flow's final state (default: terminal tasks).

        Tasks whose ``reference_by_default`` attribute is false (such as a resource's init and
        cleanup tasks) are left out of the default, and tasks downstream of which there are only
        such tasks count as terminal.
        """
        if self._reference_tasks:
            return set(self._reference_tasks)
        return set(self._derived("reference", self._find_default_reference_tasks))

    def _find_default_reference_tasks(self) -> set[Task]:
        down = self._down
        out = set()
        for t in self.tasks:
            if not t.reference_by_default:
                continue
            if all(not e.downstream_task.reference_by_default for e in down[t]):
                out.add(t)
        return out

    def set_reference_tasks(self, tasks: Iterable[Task]) -> None:
        tasks = set(tasks)
        missing = tasks - self.tasks
        if missing:
            raise ValueError(f"Reference tasks {sorted(map(repr, missing))} are not in {self!r}.")
        self._reference_tasks = tasks

    def parameters(self) -> set[Parameter]:
        """The flow's :class:`~headwater.core.parameter.Parameter` tasks."""
        return set(self._derived("parameters", self._find_parameters))

    def _find_parameters(self) -> set[Parameter]:
        from headwater.core.parameter import Parameter

        return {t for t in self.tasks if isinstance(t, Parameter)}

    def get_tasks(
        self,
        name: str | None = None,
        slug: str | None = None,
        tags: Iterable[str] | None = None,
        task_type: type | None = None,
    ) -> list[Task]:
        """Tasks matching every given criterion (tags: the task has all of them)."""
        if isinstance(tags, str):
            tags = [tags]
        want = set(tags or ())
        out = []
        for t in self.sorted_tasks():
            if name is not None and t.name != name:
                continue
            if slug is not None and self.slugs.get(t) != slug:
                continue
            if want and not want <= t.tags:
                continue
            if task_type is not None and not isinstance(t, task_type):
                continue
            out.append(t)
        return out

    def sorted_tasks(self, root_tasks: Iterable[Task] | None = None) -> tuple[Task, ...]:
        """Tasks in topological order (ties in insertion order); a cycle is a ``ValueError``.

        Args:
            root_tasks: if given, only these tasks and everything downstream of them.
        """
        if root_tasks is None and self._sorted is not None:
            return self._sorted
        order = self._order
        indeg = {t: len(self._up[t]) for t in self.tasks}
        import heapq

        heap = [(order[t], t.id, t) for t, d in indeg.items() if d == 0]
        heapq.heapify(heap)
        out: list[Task] = []
        down = self._down
        while heap:
            _, _, t = heapq.heappop(heap)
            out.append(t)
            for e in down[t]:
                d = e.downstream_task
                indeg[d] -= 1
                if indeg[d] == 0:
                    heapq.heappush(heap, (order[d], d.id, d))
        if len(out) != len(self.tasks):
            cycle = self._find_cycle({t for t, d in indeg.items() if d > 0})
            raise ValueError(
                f"{self!r} contains a cycle: {' -> '.join(repr(t) for t in cycle)}. Remove one of "
                "these dependencies."
            )
        result = tuple(out)
        if root_tasks is None:
            self._sorted = result
            return result
        keep: set[Task] = set()
        stack = list(root_tasks)
        while stack:
            t = stack.pop()
            if t in keep:
                continue
            keep.add(t)
            stack.extend(e.downstream_task for e in down[t])
        return tuple(t for t in result if t in keep)

    def _find_cycle(self, candidates: set[Task]) -> list[Task]:
        # Walk upstream inside the unsorted remainder until a task repeats.
        start = min(candidates, key=lambda t: self._order[t])
        seen: dict[Task, int] = {}
        path: list[Task] = []
        t = start
        while t not in seen:
            seen[t] = len(path)
            path.append(t)
            t = next(e.upstream_task for e in self._up[t] if e.upstream_task in candidates)
        cycle = path[seen[t] :]
        cycle.reverse()
        return cycle + [cycle[0]]

    def validate(self) -> None:
        """Check the graph: edges refer to tasks in the flow, reference tasks exist, no cycles.

        The result is remembered until the graph changes (through the flow's methods), so
        repeated runs of an unchanged flow do not validate it again.
        """
        if self._sorted is not None and getattr(self, "_validated_edges", -1) == len(self.edges):
            return
        for e in self.edges:
            if e.upstream_task not in self.tasks or e.downstream_task not in self.tasks:
                raise ValueError(f"{e!r} refers to a task that is not in {self!r}.")
        if not self._reference_tasks <= self.tasks:
            raise ValueError(f"Some reference tasks are not in {self!r}.")
        if len(set(self.slugs.values())) != len(self.slugs):
            raise ValueError(f"Task slugs are not unique in {self!r}.")
        self._sorted = None
        self.sorted_tasks()
        self._validated_edges = len(self.edges)

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


def _unwrap(value: Any, mapped: bool) -> tuple[bool, bool, Any]:
    flattened = False
    while isinstance(value, EdgeAnnotation):
        ann = value.annotations
        if "mapped" in ann:
            mapped = ann["mapped"]
        if ann.get("flattened"):
            flattened = True
        value = value.value
    return mapped, flattened, value


def _contains_task(value: Any) -> bool:
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
