"""The read side of a :class:`~headwater.core.flow.Flow`'s graph: edges, neighbours, order.

:class:`FlowGraph` is mixed into ``Flow``. Every query is O(tasks + edges) or better:
upstream/downstream edges are indexed per task, and answers (the topological order, root and
terminal tasks, the run plan) are remembered in ``flow._cache`` until the graph changes through
the flow's methods. Cached keys follow Prefect 1's (``("root_tasks", ())``,
``("_sorted_tasks", (("root_tasks", ()),))`` ...), and callers get copies of sets and dicts::

    from headwater import Flow, Task

    a, b = Task(name="a"), Task(name="b")
    flow = Flow("queries")
    flow.add_edge(a, b)
    assert flow.root_tasks() == {a} and flow.terminal_tasks() == {b}
    assert flow.sorted_tasks() == (a, b)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from headwater.core.edge import Edge
from headwater.core.task import Task

if TYPE_CHECKING:
    from headwater.core.parameter import Parameter

__all__ = ["FlowGraph", "SORTED_KEY"]

SORTED_KEY = ("_sorted_tasks", (("root_tasks", ()),))
"""The ``_cache`` key of the whole topological order."""


class FlowGraph:
    """Graph queries of :class:`~headwater.core.flow.Flow` (a mixin; not used on its own)."""

    tasks: set[Task]
    edges: set[Edge]
    slugs: dict[Task, str]
    _cache: dict[Any, Any]
    _order: dict[Task, int]
    _up: dict[Task, list[Edge]]
    _down: dict[Task, list[Edge]]
    _reference_tasks: set[Task]
    _validated_edges: int

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
        """Each task's upstream edges (remembered until the graph changes; do not modify)."""
        return self._cached(  # type: ignore[no-any-return]
            ("all_upstream_edges", ()), lambda: {t: set(es) for t, es in self._up.items()}
        )

    def all_downstream_edges(self) -> dict[Task, set[Edge]]:
        """Each task's downstream edges (remembered until the graph changes; do not modify)."""
        return self._cached(  # type: ignore[no-any-return]
            ("all_downstream_edges", ()), lambda: {t: set(es) for t, es in self._down.items()}
        )

    def _check(self, task: Task) -> None:
        if task not in self._up:
            raise ValueError(f"Task {task!r} was not found in Flow {self!r}.")

    def root_tasks(self) -> set[Task]:
        """Tasks with no upstream tasks (remembered until the graph changes; do not modify)."""
        return self._cached(  # type: ignore[no-any-return]
            ("root_tasks", ()), lambda: {t for t in self.tasks if not self._up[t]}
        )

    def terminal_tasks(self) -> set[Task]:
        """Tasks with no downstream tasks (remembered until the graph changes; do not modify)."""
        return self._cached(("terminal_tasks", ()), self._find_terminal_tasks)  # type: ignore[no-any-return]

    def _find_terminal_tasks(self) -> set[Task]:
        down = self._down
        return {t for t in self.tasks if not down[t]}

    def _cached(self, key: Any, compute: Callable[[], Any]) -> Any:
        """``compute()`` remembered under ``key`` until the graph changes; callers get copies."""
        cache = self._cache
        try:
            value = cache[key]
        except KeyError:
            value = cache[key] = compute()
        if isinstance(value, set):
            return set(value)
        if isinstance(value, dict):
            return {k: set(v) for k, v in value.items()}
        return value

    def _derived(self, name: str, compute: Callable[[], Any]) -> Any:
        """``compute()``, remembered until the graph changes (callers must not change it).

        Entries are tied to the current topological order (kept in ``_cache``, made when the
        flow is validated or sorted), which every change to the graph through the flow's methods
        discards, so a stale entry is never returned. On a 100,000-task flow, finding the
        terminal tasks anew for each run costs more than 1 us per task, scattered over the
        whole graph.
        """
        key = self._cache.get(SORTED_KEY)
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
        """Set the tasks whose states decide the flow's final state (``[]``: the default)."""
        tasks = set(tasks)
        missing = tasks - self.tasks
        if missing:
            raise ValueError(
                f"Reference tasks must be part of the flow: {sorted(map(repr, missing))} are not "
                f"in {self!r}."
            )
        self._cache.clear()
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
            root_tasks: if given (and not empty), only these tasks and everything downstream
                of them.

        Raises:
            ValueError: the graph has a cycle, or a root task is not in the flow.
        """
        roots = tuple(root_tasks or ())
        key = ("_sorted_tasks", (("root_tasks", roots),))
        cached = self._cache.get(key)
        if cached is not None:
            return cached  # type: ignore[no-any-return]
        for t in roots:
            self._check(t)
        everything = self._cache.get(SORTED_KEY)
        if everything is None:
            everything = self._cache[SORTED_KEY] = self._sort()
        if not roots:
            return everything  # type: ignore[no-any-return]
        down = self._down
        keep: set[Task] = set()
        stack = list(roots)
        while stack:
            t = stack.pop()
            if t in keep:
                continue
            keep.add(t)
            stack.extend(e.downstream_task for e in down[t])
        result = self._cache[key] = tuple(t for t in everything if t in keep)
        return result

    def _sort(self) -> tuple[Task, ...]:
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
                f"Cycle found; flows must be acyclic! {self!r} contains the cycle "
                f"{' -> '.join(repr(t) for t in cycle)}. Remove one of these dependencies."
            )
        return tuple(out)

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
        if SORTED_KEY in self._cache and getattr(self, "_validated_edges", -1) == len(self.edges):
            return
        for e in self.edges:
            if e.upstream_task not in self.tasks or e.downstream_task not in self.tasks:
                raise ValueError(
                    f"Some edges refer to tasks not contained in this flow: {e!r} refers to a "
                    f"task that is not in {self!r}."
                )
        if not self._reference_tasks <= self.tasks:
            missing = sorted(map(repr, self._reference_tasks - self.tasks))
            raise ValueError(
                f"Some reference tasks are not contained in this flow: {', '.join(missing)} "
                f"are not in {self!r}."
            )
        if len(set(self.slugs.values())) != len(self.slugs):
            raise ValueError(f"Task slugs are not unique in {self!r}.")
        self._cache.clear()
        self.sorted_tasks()
        self._validated_edges = len(self.edges)
