"""``TaskGraph``: the tasks and edges of a flow, indexed per task, with a version number.

A :class:`~headwater.core.flow.Flow` keeps its graph in ``flow.graph`` and changes it only
through the methods below. Every change (a task or an edge added or removed) increases
:attr:`TaskGraph.version`, so anything computed from the graph can be kept as long as the version
it was computed at is the current one: the graph's own answers (the topological order, root
tasks ...) through :meth:`TaskGraph.memo`, and the engine's run plan keyed by
``(graph, graph.version)``::

    from headwater import Task
    from headwater.core.edge import Edge
    from headwater.core.graph import TaskGraph

    a, b = Task(name="a"), Task(name="b")
    graph = TaskGraph()
    graph.add_task(a)
    graph.add_task(b)
    graph.add_edge(Edge(a, b))
    assert graph.sorted_tasks() == (a, b)
    assert graph.upstream[b][0].upstream_task is a
    assert graph.version == 3

Every query is O(tasks + edges) or better: each task's upstream and downstream edges are lists
kept as edges come and go, and the topological order is computed once per version.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypeVar, cast

if TYPE_CHECKING:
    from headwater.core.edge import Edge
    from headwater.core.task import Task

__all__ = ["CycleError", "TaskGraph"]

_T = TypeVar("_T")


class CycleError(ValueError):
    """The graph has a cycle (flows must be acyclic).

    Args:
        message: what is wrong, naming the tasks on the cycle.
        cycle: the tasks on the cycle, the first repeated at the end.
    """

    def __init__(self, message: str, cycle: list[Task]) -> None:
        super().__init__(message)
        self.cycle = cycle


#: the key under which a graph remembers its flow's :class:`Answers`
ANSWERS_KEY = ("flow-answers",)


class Answers(dict[Any, Any]):
    """Prefect 1's ``flow._cache``: answers by Prefect 1's keys, for one version of a graph.

    ``computed`` holds the answers the flow computed itself; they are remade on demand, so only
    the entries put there by hand are pickled with the graph (:meth:`by_hand`).
    """

    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        self.computed: dict[Any, Any] = {}

    def by_hand(self) -> dict[Any, Any] | None:
        """The entries that are not the flow's own computed answers (``None`` if none)."""
        computed, missing = self.computed, object()
        out = {k: v for k, v in self.items() if computed.get(k, missing) is not v}
        return out or None


class TaskGraph:
    """The tasks and edges of a flow, indexed per task, and a version increased on each change.

    The attributes are the graph's own indexes: read them, and change the graph only with
    :meth:`add_task`, :meth:`add_edge`, :meth:`remove_edge` and :meth:`remove_task` (which keep
    them consistent and increase :attr:`version`).

    Attributes:
        tasks: every task of the graph.
        edges: every edge of the graph.
        upstream: per task, the edges into it, in the order they were added.
        downstream: per task, the edges out of it, in the order they were added.
        order: per task, a number increasing in the order tasks were added (ties in the
            topological order are broken by it).
        bound_keys: per task, the ``run()`` arguments that an edge passes a result to.
        version: increased by every change to the graph.
    """

    __slots__ = (
        "tasks",
        "edges",
        "upstream",
        "downstream",
        "order",
        "bound_keys",
        "version",
        "_added",
        "_memo",
        "_memo_version",
        "__weakref__",
    )

    def __init__(self) -> None:
        self.tasks: set[Task] = set()
        self.edges: set[Edge] = set()
        self.upstream: dict[Task, list[Edge]] = {}
        self.downstream: dict[Task, list[Edge]] = {}
        self.order: dict[Task, int] = {}
        self.bound_keys: dict[Task, set[str]] = {}
        self.version = 0
        self._added = 0  # tasks ever added: the next task's ``order``
        self._memo: dict[Any, Any] = {}
        self._memo_version = 0

    def __repr__(self) -> str:
        return (
            f"<TaskGraph: {len(self.tasks)} tasks, {len(self.edges)} edges, version {self.version}>"
        )

    def __contains__(self, task: object) -> bool:
        return task in self.upstream

    def __len__(self) -> int:
        return len(self.tasks)

    def __iter__(self) -> Iterator[Task]:
        return iter(self.sorted_tasks())

    # -- changes ------------------------------------------------------------------------------
    def add_task(self, task: Task) -> bool:
        """Add ``task`` (no edges); returns whether it was new."""
        if task in self.upstream:
            return False
        self.tasks.add(task)
        self.upstream[task] = []
        self.downstream[task] = []
        self.order[task] = self._added
        self._added += 1
        self.version += 1
        return True

    def add_edge(self, edge: Edge) -> bool:
        """Add ``edge``, whose two tasks must be in the graph; returns whether it was new.

        Raises:
            KeyError: one of the edge's tasks is not in the graph.
        """
        if edge in self.edges:
            return False
        up, down = edge.upstream_task, edge.downstream_task
        into = self.upstream[down]
        out_of = self.downstream[up]
        self.edges.add(edge)
        into.append(edge)
        out_of.append(edge)
        key = edge.key
        if key is not None:
            keys = self.bound_keys.get(down)
            if keys is None:
                self.bound_keys[down] = {key}
            else:
                keys.add(key)
        self.version += 1
        return True

    def remove_edge(self, edge: Edge) -> None:
        """Remove ``edge`` from the graph (its tasks stay).

        Raises:
            KeyError: the edge is not in the graph.
        """
        self.edges.remove(edge)
        self.upstream[edge.downstream_task].remove(edge)
        self.downstream[edge.upstream_task].remove(edge)
        if edge.key is not None:
            keys = self.bound_keys.get(edge.downstream_task)
            if keys is not None:
                keys.discard(edge.key)
        self.version += 1

    def remove_task(self, task: Task) -> tuple[list[Edge], list[Edge]]:
        """Remove ``task`` and its edges; returns the removed ``(upstream, downstream)`` edges.

        Raises:
            KeyError: the task is not in the graph.
        """
        up = list(self.upstream[task])
        down = list(self.downstream[task])
        for e in up + down:
            self.remove_edge(e)
        self.tasks.discard(task)
        del self.upstream[task], self.downstream[task], self.order[task]
        self.bound_keys.pop(task, None)
        self.version += 1
        return up, down

    def copy(self) -> TaskGraph:
        """A graph with the same tasks and edges whose indexes change independently."""
        new = TaskGraph()
        new.tasks = set(self.tasks)
        new.edges = set(self.edges)
        new.upstream = {t: list(es) for t, es in self.upstream.items()}
        new.downstream = {t: list(es) for t, es in self.downstream.items()}
        new.order = dict(self.order)
        new.bound_keys = {t: set(ks) for t, ks in self.bound_keys.items()}
        new.version = self.version
        new._added = self._added
        if self._memo_version == self.version:
            new._memo = dict(self._memo)  # (memo values are never changed in place)
        new._memo_version = self._memo_version
        return new

    def __getstate__(self) -> dict[str, Any]:
        # answers remembered for the current version are remade on demand: they can be as big
        # as the graph itself
        return {
            "tasks": self.tasks,
            "edges": self.edges,
            "upstream": self.upstream,
            "downstream": self.downstream,
            "order": self.order,
            "bound_keys": self.bound_keys,
            "version": self.version,
            "added": self._added,
            # what was put in Prefect 1's ``flow._cache`` by hand travels with the flow
            "answers": self._memo[ANSWERS_KEY].by_hand()
            if self._memo_version == self.version and ANSWERS_KEY in self._memo
            else None,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.tasks = state["tasks"]
        self.edges = state["edges"]
        self.upstream = state["upstream"]
        self.downstream = state["downstream"]
        self.order = state["order"]
        self.bound_keys = state["bound_keys"]
        self.version = state["version"]
        self._added = state["added"]
        self._memo = {}
        self._memo_version = self.version
        answers = state.get("answers")
        if answers:
            self._memo[ANSWERS_KEY] = Answers(answers)

    # -- remembered answers -------------------------------------------------------------------
    def memo(self, key: Any, compute: Callable[[], _T]) -> _T:
        """``compute()``, remembered under ``key`` until the graph changes.

        The value is shared by every caller: treat it as read-only (or copy it).
        """
        memo = self._memo
        if self._memo_version != self.version:
            memo = self._memo = {}
            self._memo_version = self.version
        try:
            return cast(_T, memo[key])
        except KeyError:
            value = memo[key] = compute()
            return value

    def forget(self) -> None:
        """Drop the remembered answers (for indexes changed by hand)."""
        self._memo = {}

    # -- queries ------------------------------------------------------------------------------
    def upstream_tasks(self, task: Task) -> set[Task]:
        """The tasks ``task`` depends on."""
        return {e.upstream_task for e in self.upstream[task]}

    def downstream_tasks(self, task: Task) -> set[Task]:
        """The tasks that depend on ``task``."""
        return {e.downstream_task for e in self.downstream[task]}

    def root_tasks(self) -> frozenset[Task]:
        """The tasks with no upstream edge."""
        up = self.upstream
        return self.memo("root_tasks", lambda: frozenset(t for t in self.tasks if not up[t]))

    def terminal_tasks(self) -> frozenset[Task]:
        """The tasks with no downstream edge."""
        down = self.downstream
        return self.memo("terminal_tasks", lambda: frozenset(t for t in self.tasks if not down[t]))

    def sorted_tasks(self, root_tasks: Iterable[Task] = ()) -> tuple[Task, ...]:
        """The tasks in topological order, ties in the order they were added.

        Args:
            root_tasks: if not empty, only these tasks and the tasks downstream of them.

        Raises:
            CycleError: the graph has a cycle.
            KeyError: a root task is not in the graph.
        """
        everything = self.memo("sorted", self._sort)
        roots = tuple(root_tasks)
        if not roots:
            return everything
        return self.memo(("sorted", roots), lambda: self._sort_from(everything, roots))

    def _sort_from(self, everything: tuple[Task, ...], roots: tuple[Task, ...]) -> tuple[Task, ...]:
        down = self.downstream
        keep: set[Task] = set()
        stack = list(roots)
        while stack:
            t = stack.pop()
            if t in keep:
                continue
            keep.add(t)
            stack.extend(e.downstream_task for e in down[t])
        return tuple(t for t in everything if t in keep)

    def _sort(self) -> tuple[Task, ...]:
        order = self.order
        up = self.upstream
        down = self.downstream
        indeg = {t: len(up[t]) for t in self.tasks}
        heap = [(order[t], t.id, t) for t, d in indeg.items() if d == 0]
        heapq.heapify(heap)
        out: list[Task] = []
        while heap:
            t = heapq.heappop(heap)[2]
            out.append(t)
            for e in down[t]:
                d = e.downstream_task
                indeg[d] -= 1
                if indeg[d] == 0:
                    heapq.heappush(heap, (order[d], d.id, d))
        if len(out) != len(self.tasks):
            cycle = self.find_cycle({t for t, d in indeg.items() if d > 0})
            raise CycleError(
                "Cycle found; graphs must be acyclic! The graph contains the cycle "
                f"{' -> '.join(repr(t) for t in cycle)}.",
                cycle,
            )
        return tuple(out)

    def find_cycle(self, candidates: set[Task]) -> list[Task]:
        """A cycle among ``candidates`` (tasks left unsorted), the first task repeated at the end.

        Walks upstream inside ``candidates`` until a task repeats.
        """
        start = min(candidates, key=self.order.__getitem__)
        seen: dict[Task, int] = {}
        path: list[Task] = []
        t = start
        while t not in seen:
            seen[t] = len(path)
            path.append(t)
            t = next(e.upstream_task for e in self.upstream[t] if e.upstream_task in candidates)
        cycle = path[seen[t] :]
        cycle.reverse()
        return cycle + [cycle[0]]
