"""The read side of a :class:`~headwater.core.flow.Flow`'s graph: edges, neighbours, order.

:class:`FlowGraph` is the first layer of ``Flow``: it holds the flow's
:class:`~headwater.core.graph.TaskGraph` (``flow.graph``) and answers Prefect 1's graph queries
from it. Every query is O(tasks + edges) or better: upstream/downstream edges are indexed per
task, and answers (the topological order, root and terminal tasks, the parameters) are
remembered by the graph until it changes. Callers get their own copies of sets and dicts.
Prefect 1's answers (``sorted_tasks``, ``root_tasks``, ``terminal_tasks`` and the edge
dictionaries) are also kept in ``flow._cache`` under Prefect 1's keys, emptied on every change
of the graph; what is put there by hand is pickled with the flow, as in Prefect 1::

    from headwater import Flow, Task

    a, b = Task(name="a"), Task(name="b")
    flow = Flow("queries")
    flow.add_edge(a, b)
    assert flow.root_tasks() == {a} and flow.terminal_tasks() == {b}
    assert flow.sorted_tasks() == (a, b)
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any, TypeVar

from headwater.core.edge import Edge
from headwater.core.graph import ANSWERS_KEY, Answers, CycleError, TaskGraph
from headwater.core.task import Task

if TYPE_CHECKING:
    from headwater.core.parameter import Parameter

__all__ = ["FlowGraph"]

_T = TypeVar("_T")

_MISSING: Any = object()


def _copied(value: Any) -> Any:
    """A caller's own copy of a remembered answer (sets and dicts of sets are copied)."""
    t = type(value)
    if t is set:
        return set(value)
    if t is dict:
        return {k: set(v) if type(v) is set else v for k, v in value.items()}
    return value


class FlowGraph:
    """Graph queries of :class:`~headwater.core.flow.Flow` (its first layer; not used alone)."""

    name: str
    graph: TaskGraph
    slugs: dict[Task, str]
    _reference_tasks: set[Task]
    _validated: tuple[int, int, int] | None

    # -- the graph's sets -------------------------------------------------------------------
    @property
    def tasks(self) -> set[Task]:
        """The flow's tasks (the graph's own set)."""
        return self.graph.tasks

    @tasks.setter
    def tasks(self, tasks: Iterable[Task]) -> None:
        self.graph.tasks = set(tasks)
        self.graph.forget()

    @property
    def edges(self) -> set[Edge]:
        """The flow's edges (the graph's own set)."""
        return self.graph.edges

    @edges.setter
    def edges(self, edges: Iterable[Edge]) -> None:
        self.graph.edges = set(edges)
        self.graph.forget()

    @property
    def _cache(self) -> dict[Any, Any]:
        """Prefect 1's remembered answers, by its keys; empty again after each graph change."""
        return self.graph.memo(ANSWERS_KEY, Answers)

    def _answer(self, key: Any, compute: Callable[[], Any]) -> Any:
        cache = self.graph.memo(ANSWERS_KEY, Answers)
        hit = cache.get(key, _MISSING)
        if hit is _MISSING:
            hit = cache[key] = cache.computed[key] = compute()
        return _copied(hit)

    # -- neighbours ---------------------------------------------------------------------------
    def edges_to(self, task: Task) -> set[Edge]:
        """Edges into ``task``."""
        self._check(task)
        return set(self.graph.upstream[task])

    def edges_from(self, task: Task) -> set[Edge]:
        """Edges out of ``task``."""
        self._check(task)
        return set(self.graph.downstream[task])

    def upstream_tasks(self, task: Task) -> set[Task]:
        """Tasks ``task`` depends on."""
        self._check(task)
        return self.graph.upstream_tasks(task)

    def downstream_tasks(self, task: Task) -> set[Task]:
        """Tasks that depend on ``task``."""
        self._check(task)
        return self.graph.downstream_tasks(task)

    def all_upstream_edges(self) -> dict[Task, set[Edge]]:
        """Each task's upstream edges."""
        graph = self.graph
        return self._answer(  # type: ignore[no-any-return]
            ("all_upstream_edges", ()), lambda: {t: set(es) for t, es in graph.upstream.items()}
        )

    def all_downstream_edges(self) -> dict[Task, set[Edge]]:
        """Each task's downstream edges."""
        graph = self.graph
        return self._answer(  # type: ignore[no-any-return]
            ("all_downstream_edges", ()),
            lambda: {t: set(es) for t, es in graph.downstream.items()},
        )

    def _check(self, task: Task) -> None:
        if task not in self.graph.upstream:
            raise ValueError(f"Task {task!r} was not found in Flow {self!r}.")

    # -- remembered answers -----------------------------------------------------------------
    def root_tasks(self) -> set[Task]:
        """Tasks with no upstream tasks."""
        graph = self.graph
        return self._answer(("root_tasks", ()), lambda: set(graph.root_tasks()))  # type: ignore[no-any-return]

    def terminal_tasks(self) -> set[Task]:
        """Tasks with no downstream tasks."""
        graph = self.graph
        return self._answer(("terminal_tasks", ()), lambda: set(graph.terminal_tasks()))  # type: ignore[no-any-return]

    def reference_tasks(self) -> set[Task]:
        """Tasks whose states decide the flow's final state (default: terminal tasks).

        Tasks whose ``reference_by_default`` attribute is false (such as a resource's init and
        cleanup tasks) are left out of the default, and tasks downstream of which there are only
        such tasks count as terminal.
        """
        if self._reference_tasks:
            return set(self._reference_tasks)
        return set(self.graph.memo("default_reference_tasks", self._find_default_reference_tasks))

    def _find_default_reference_tasks(self) -> frozenset[Task]:
        down = self.graph.downstream
        return frozenset(
            t
            for t in self.graph.tasks
            if t.reference_by_default
            and all(not e.downstream_task.reference_by_default for e in down[t])
        )

    def set_reference_tasks(self, tasks: Iterable[Task]) -> None:
        """Set the tasks whose states decide the flow's final state (``[]``: the default)."""
        tasks = set(tasks)
        missing = tasks - self.graph.tasks
        if missing:
            raise ValueError(
                f"Reference tasks must be part of the flow: {sorted(map(repr, missing))} are not "
                f"in {self!r}."
            )
        self._validated = None
        self._reference_tasks = tasks
        self._cache.clear()  # Prefect 1's answers go with any change of the flow's shape

    def parameters(self) -> set[Parameter]:
        """The flow's :class:`~headwater.core.parameter.Parameter` tasks."""
        return set(self.graph.memo("parameters", self._find_parameters))

    def _find_parameters(self) -> frozenset[Parameter]:
        from headwater.core.parameter import Parameter

        return frozenset(t for t in self.graph.tasks if isinstance(t, Parameter))

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

    # -- order and validity -----------------------------------------------------------------
    def sorted_tasks(self, root_tasks: Iterable[Task] | None = None) -> tuple[Task, ...]:
        """Tasks in topological order (ties in insertion order); a cycle is a ``ValueError``.

        Args:
            root_tasks: if given (and not empty), only these tasks and everything downstream
                of them.

        Raises:
            ValueError: the graph has a cycle (a
                :class:`~headwater.core.graph.CycleError`), or a root task is not in the flow.
        """
        roots = tuple(root_tasks or ())
        for t in roots:
            self._check(t)
        graph = self.graph
        try:
            return self._answer(  # type: ignore[no-any-return]
                ("_sorted_tasks", (("root_tasks", roots),)), lambda: graph.sorted_tasks(roots)
            )
        except CycleError as exc:
            raise CycleError(
                f"Cycle found; flows must be acyclic! {self!r} contains the cycle "
                f"{' -> '.join(repr(t) for t in exc.cycle)}. Remove one of these dependencies.",
                exc.cycle,
            ) from None

    def validate(self) -> None:
        """Check the graph: edges refer to tasks in the flow, reference tasks exist, no cycles.

        The result is remembered until the graph changes (through the flow's methods), so
        repeated runs of an unchanged flow do not validate it again.
        """
        graph = self.graph
        mark = (graph.version, len(graph.tasks), len(graph.edges))
        if self._validated == mark:
            return
        tasks = graph.tasks
        for e in graph.edges:
            if e.upstream_task not in tasks or e.downstream_task not in tasks:
                raise ValueError(
                    f"Some edges refer to tasks not contained in this flow: {e!r} refers to a "
                    f"task that is not in {self!r}."
                )
        if not self._reference_tasks <= tasks:
            missing = sorted(map(repr, self._reference_tasks - tasks))
            raise ValueError(
                f"Some reference tasks are not contained in this flow: {', '.join(missing)} "
                f"are not in {self!r}."
            )
        if len(set(self.slugs.values())) != len(self.slugs):
            raise ValueError(f"Task slugs are not unique in {self!r}.")
        graph.forget()  # (the sets may have been changed by hand)
        self.sorted_tasks()
        self._validated = mark
