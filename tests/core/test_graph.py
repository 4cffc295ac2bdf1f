"""``TaskGraph``: the flow's indexes, kept consistent through every change, and its version."""

from __future__ import annotations

import pickle

import cloudpickle
import pytest

from headwater import Flow, Parameter, Task
from headwater.core.edge import Edge
from headwater.core.graph import CycleError, TaskGraph


def named(*names: str) -> list[Task]:
    return [Task(name=n) for n in names]


def assert_consistent(graph: TaskGraph) -> None:
    """Every index of ``graph`` says the same as its edge set."""
    assert set(graph.upstream) == graph.tasks == set(graph.downstream) == set(graph.order)
    for t in graph.tasks:
        assert set(graph.upstream[t]) == {e for e in graph.edges if e.downstream_task is t}
        assert set(graph.downstream[t]) == {e for e in graph.edges if e.upstream_task is t}
        assert len(graph.upstream[t]) == len(set(graph.upstream[t]))
        keys = {e.key for e in graph.upstream[t] if e.key is not None}
        assert graph.bound_keys.get(t, set()) == keys
    for e in graph.edges:
        assert e.upstream_task in graph.tasks and e.downstream_task in graph.tasks


class TestTaskGraph:
    def test_empty(self):
        graph = TaskGraph()
        assert graph.version == 0 and len(graph) == 0
        assert graph.sorted_tasks() == () and graph.root_tasks() == frozenset()

    def test_every_change_increases_the_version(self):
        a, b = named("a", "b")
        graph = TaskGraph()
        seen = [graph.version]
        graph.add_task(a)
        seen.append(graph.version)
        graph.add_task(b)
        seen.append(graph.version)
        e = Edge(a, b, key="x")
        graph.add_edge(e)
        seen.append(graph.version)
        graph.remove_edge(e)
        seen.append(graph.version)
        graph.add_edge(e)
        seen.append(graph.version)
        graph.remove_task(b)
        seen.append(graph.version)
        assert seen == sorted(set(seen)), seen  # strictly increasing
        assert_consistent(graph)

    def test_adding_what_is_there_changes_nothing(self):
        a, b = named("a", "b")
        graph = TaskGraph()
        assert graph.add_task(a) is True
        graph.add_task(b)
        assert graph.add_edge(Edge(a, b)) is True
        version = graph.version
        assert graph.add_task(a) is False
        assert graph.add_edge(Edge(a, b)) is False  # an equal edge
        assert graph.version == version
        assert len(graph.upstream[b]) == 1

    def test_indexes(self):
        a, b, c = named("a", "b", "c")
        graph = TaskGraph()
        for t in (a, b, c):
            graph.add_task(t)
        ab, ac, bc = Edge(a, b), Edge(a, c, key="x"), Edge(b, c, key="y")
        for e in (ab, ac, bc):
            graph.add_edge(e)
        assert graph.upstream[c] == [ac, bc] and graph.downstream[a] == [ab, ac]
        assert graph.upstream_tasks(c) == {a, b} and graph.downstream_tasks(a) == {b, c}
        assert graph.bound_keys[c] == {"x", "y"}
        assert graph.root_tasks() == {a} and graph.terminal_tasks() == {c}
        assert graph.sorted_tasks() == (a, b, c) and list(graph) == [a, b, c]
        assert graph.sorted_tasks([b]) == (b, c)
        assert b in graph and Task(name="other") not in graph
        assert_consistent(graph)

    def test_edge_needs_its_tasks(self):
        a, b = named("a", "b")
        graph = TaskGraph()
        graph.add_task(a)
        with pytest.raises(KeyError):
            graph.add_edge(Edge(a, b))
        assert graph.edges == set()
        assert_consistent(graph)

    def test_remove_task_removes_its_edges(self):
        a, b, c = named("a", "b", "c")
        graph = TaskGraph()
        for t in (a, b, c):
            graph.add_task(t)
        graph.add_edge(Edge(a, b, key="x"))
        graph.add_edge(Edge(b, c, key="y"))
        up, down = graph.remove_task(b)
        assert up == [Edge(a, b, key="x")] and down == [Edge(b, c, key="y")]
        assert graph.tasks == {a, c} and graph.edges == set()
        assert graph.bound_keys.get(c, set()) == set()
        assert graph.sorted_tasks() == (a, c)
        assert_consistent(graph)

    def test_ties_in_the_order_tasks_were_added(self):
        tasks = named("c", "a", "b")
        graph = TaskGraph()
        for t in tasks:
            graph.add_task(t)
        assert graph.sorted_tasks() == tuple(tasks)

    def test_answers_are_remade_after_a_change(self):
        a, b, c = named("a", "b", "c")
        graph = TaskGraph()
        graph.add_task(a)
        graph.add_task(b)
        assert graph.sorted_tasks() == (a, b)
        assert graph.root_tasks() == {a, b}
        graph.add_edge(Edge(b, a))
        assert graph.sorted_tasks() == (b, a)
        assert graph.root_tasks() == {b} and graph.terminal_tasks() == {a}
        graph.add_task(c)
        assert graph.sorted_tasks() == (b, a, c)

    def test_memo_is_kept_for_one_version(self):
        a, b = named("a", "b")
        graph = TaskGraph()
        graph.add_task(a)
        calls = []

        def compute() -> int:
            calls.append(graph.version)
            return len(graph.tasks)

        assert graph.memo("n", compute) == 1
        assert graph.memo("n", compute) == 1
        assert len(calls) == 1
        graph.add_task(b)
        assert graph.memo("n", compute) == 2
        assert len(calls) == 2

    def test_cycle(self):
        a, b, c = named("a", "b", "c")
        graph = TaskGraph()
        for t in (a, b, c):
            graph.add_task(t)
        graph.add_edge(Edge(a, b))
        graph.add_edge(Edge(b, c))
        graph.add_edge(Edge(c, b))
        with pytest.raises(CycleError, match="Cycle found") as info:
            graph.sorted_tasks()
        assert isinstance(info.value, ValueError)
        cycle = info.value.cycle
        assert cycle[0] is cycle[-1] and set(cycle) == {b, c}

    def test_copy_is_independent(self):
        a, b, c = named("a", "b", "c")
        graph = TaskGraph()
        for t in (a, b):
            graph.add_task(t)
        graph.add_edge(Edge(a, b, key="x"))
        assert graph.sorted_tasks() == (a, b)
        copy = graph.copy()
        assert copy is not graph and copy.version == graph.version
        assert copy.sorted_tasks() == (a, b)
        copy.add_task(c)
        copy.add_edge(Edge(b, c))
        copy.remove_edge(Edge(a, b, key="x"))
        assert graph.tasks == {a, b} and graph.edges == {Edge(a, b, key="x")}
        assert graph.bound_keys[b] == {"x"} and graph.downstream[b] == []
        assert graph.sorted_tasks() == (a, b)
        assert copy.sorted_tasks() == (a, b, c)
        assert_consistent(graph)
        assert_consistent(copy)

    @pytest.mark.parametrize("dumps", [pickle.dumps, cloudpickle.dumps])
    def test_pickling_round_trip(self, dumps):
        a, b, c = named("a", "b", "c")
        graph = TaskGraph()
        for t in (a, b, c):
            graph.add_task(t)
        graph.add_edge(Edge(a, c, key="x"))
        graph.add_edge(Edge(b, c))
        before = graph.sorted_tasks()
        back = pickle.loads(dumps(graph))
        assert back.version == graph.version
        assert [t.name for t in back.sorted_tasks()] == [t.name for t in before]
        assert_consistent(back)
        # one object per task and edge in the copy: the indexes share them
        (into_c,) = [t for t in back.tasks if t.name == "c"]
        assert all(e.downstream_task is into_c for e in back.upstream[into_c])
        assert {id(e) for e in back.edges} == {id(e) for es in back.upstream.values() for e in es}
        back.add_task(Task(name="d"))
        assert back.version > graph.version and len(graph.tasks) == 3

    def test_pickle_leaves_remembered_answers_behind(self):
        tasks = named(*"abcdefgh")
        graph = TaskGraph()
        for t in tasks:
            graph.add_task(t)
        for u, d in zip(tasks, tasks[1:]):
            graph.add_edge(Edge(u, d))
        size = len(pickle.dumps(graph))
        graph.sorted_tasks()
        graph.sorted_tasks(tasks[3:5])
        graph.root_tasks()
        assert len(pickle.dumps(graph)) == size


class TestFlowGraph:
    def test_flow_delegates_to_its_graph(self):
        a, b = named("a", "b")
        flow = Flow("f")
        flow.add_edge(a, b, key="x")
        graph = flow.graph
        assert flow.tasks is graph.tasks and flow.edges is graph.edges
        assert graph.upstream[b] == [Edge(a, b, key="x")]
        assert graph.downstream[a] == [Edge(a, b, key="x")]
        assert flow.sorted_tasks() == graph.sorted_tasks() == (a, b)
        assert_consistent(graph)

    def test_every_flow_change_increases_the_version(self):
        a, b, c = named("a", "b", "c")
        flow = Flow("f")
        versions = [flow.graph.version]

        def changed() -> None:
            assert flow.graph.version > versions[-1]
            versions.append(flow.graph.version)
            assert_consistent(flow.graph)

        flow.add_task(a)
        changed()
        flow.add_edge(a, b)
        changed()
        flow.set_dependencies(c, upstream_tasks=[b])
        changed()
        flow.replace(c, Task(name="c2"))
        changed()
        other = Flow("g")
        other.add_edge(Task(name="x"), Task(name="y"))
        flow.update(other)
        changed()
        flow.chain(b, Task(name="z"))
        changed()

    def test_constants_and_repeated_edges_leave_the_graph_alone(self):
        a, b = named("a", "b")
        flow = Flow("f")
        flow.add_edge(a, b)
        version = flow.graph.version
        flow.add_edge(a, b)
        flow.set_dependencies(b, keyword_tasks={"limit": 3})
        assert flow.graph.version == version
        assert flow.constants[b] == {"limit": 3}

    def test_failed_validation_leaves_the_graph_as_it_was(self):
        a, b = named("a", "b")
        flow = Flow("f")
        flow.add_edge(a, b)
        flow.sorted_tasks()
        with pytest.raises(ValueError, match="Cycle found"):
            flow.add_edge(b, a, validate=True)
        assert flow.edges == {Edge(a, b)} and flow.sorted_tasks() == (a, b)
        assert_consistent(flow.graph)

    def test_replace_keeps_indexes_consistent(self):
        a, b, c, new = named("a", "b", "c", "new")
        flow = Flow("f")
        flow.add_edge(a, b, key="x")
        flow.add_edge(b, c, key="y")
        flow.set_reference_tasks([b])
        flow.replace(b, new)
        graph = flow.graph
        assert b not in graph and new in graph
        assert graph.upstream[new] == [Edge(a, new, key="x")]
        assert graph.downstream[new] == [Edge(new, c, key="y")]
        assert graph.bound_keys[c] == {"y"} and graph.bound_keys[new] == {"x"}
        assert flow.reference_tasks() == {new}
        assert flow.sorted_tasks() == (a, new, c)
        assert_consistent(graph)

    def test_copy_gets_its_own_graph(self):
        a, b, c = named("a", "b", "c")
        flow = Flow("f")
        flow.add_edge(a, b)
        flow.sorted_tasks()
        copy = flow.copy()
        assert copy.graph is not flow.graph
        version = flow.graph.version
        copy.add_edge(b, c)
        assert flow.graph.version == version and flow.tasks == {a, b}
        assert flow.terminal_tasks() == {b} and copy.terminal_tasks() == {c}
        assert_consistent(flow.graph)
        assert_consistent(copy.graph)

    @pytest.mark.parametrize("dumps", [pickle.dumps, cloudpickle.dumps])
    def test_pickled_flow_has_one_graph(self, dumps):
        a, b = named("a", "b")
        p = Parameter("p", default=1)
        flow = Flow("f")
        flow.add_edge(p, a, key="x")
        flow.add_edge(a, b)
        flow.set_dependencies(b, keyword_tasks={"limit": 2})
        back = pickle.loads(dumps(flow))
        assert back.tasks is back.graph.tasks and back.edges is back.graph.edges
        names = {t.name: t for t in back.tasks}
        assert back.graph.upstream[names["a"]][0].upstream_task is names["p"]
        assert back.constants[names["b"]] == {"limit": 2}
        assert {t.name for t in back.parameters()} == {"p"}
        assert [t.name for t in back.sorted_tasks()] == ["p", "a", "b"]
        assert "_up" not in back.__dict__ and "tasks" not in back.__dict__
        assert_consistent(back.graph)

    def test_flow_pickled_with_indexes_as_attributes_loads(self):
        # the form flows were pickled in before they kept a TaskGraph
        a, b = named("a", "b")
        flow = Flow("f")
        flow.add_edge(a, b, key="x")
        state = flow.__getstate__()
        graph = state.pop("graph")
        state.pop("_validated")
        state.update(
            tasks=set(graph.tasks),
            edges=set(graph.edges),
            _up={t: list(es) for t, es in graph.upstream.items()},
            _down={t: list(es) for t, es in graph.downstream.items()},
            _order=dict(graph.order),
            _bound_keys={t: set(ks) for t, ks in graph.bound_keys.items()},
            _cache={},
            _validated_edges=-1,
        )
        old = object.__new__(Flow)
        old.__setstate__(state)
        assert old.sorted_tasks() == (a, b)
        assert old.graph.upstream[b] == [Edge(a, b, key="x")]
        assert_consistent(old.graph)
        with pytest.raises(ValueError, match="already bound"):
            old.add_edge(Task(name="c"), b, key="x")
