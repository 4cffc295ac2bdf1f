"""The Flow graph API: building (functional and imperative), introspection, validation."""

from __future__ import annotations

import pytest

from headwater import Flow, Parameter, Task, task
from headwater.core.edge import Edge, flatten, mapped, unmapped
from headwater.tasks.core.constants import Constant


class AddTask(Task):
    def run(self, x, y=1):
        return x + y


@task
def inc(x):
    return x + 1


def named(*names):
    return [Task(name=n) for n in names]


class TestEdge:
    def test_basics(self):
        a, b = named("a", "b")
        e = Edge(a, b, key="x", mapped=True)
        assert (e.upstream_task, e.downstream_task, e.key, e.mapped, e.flattened) == (
            a,
            b,
            "x",
            True,
            False,
        )
        assert e.tasks == {a, b}
        assert repr(e) == "<Edge (key=x, mapped): a to b>"

    def test_equality(self):
        a, b = named("a", "b")
        assert Edge(a, b, key="x") == Edge(a, b, key="x")
        assert Edge(a, b, key="x") != Edge(a, b, key="y")
        assert Edge(a, b) != Edge(a, b, mapped=True)
        assert len({Edge(a, b), Edge(a, b)}) == 1

    @pytest.mark.parametrize("key", ["1x", "a-b", "with space", ""])
    def test_non_identifier_key_is_a_value_error(self, key):
        a, b = named("a", "b")
        with pytest.raises(ValueError, match="not a valid Python identifier"):
            Edge(a, b, key=key)

    def test_self_edge_is_a_value_error(self):
        a = Task(name="a")
        with pytest.raises(ValueError, match="cannot depend on itself"):
            Edge(a, a)

    def test_non_task_becomes_a_constant_task(self):
        # as in Prefect 1, an Edge converts values with as_task
        edge = Edge(1, Task())
        assert isinstance(edge.upstream_task, Constant) and edge.upstream_task.value == 1

    def test_annotations_set_the_flags(self):
        a, b = named("a", "b")
        edge = Edge(mapped(flatten(a)), b)
        assert edge.upstream_task is a and edge.mapped and edge.flattened
        assert not Edge(unmapped(a), b, mapped=True).mapped  # the annotation wins

    def test_flow_add_edge_validates_too(self):
        a = Task(name="a")
        flow = Flow("f")
        with pytest.raises(ValueError, match="cannot depend on itself"):
            flow.add_edge(a, a)


class TestFlowConstruction:
    def test_empty_name_is_a_value_error(self):
        with pytest.raises(ValueError, match="non-empty string name"):
            Flow("")

    def test_tasks_and_edges_arguments(self):
        a, b = named("a", "b")
        flow = Flow("f", tasks=[a], edges=[Edge(a, b)])
        assert flow.tasks == {a, b}
        assert flow.edges == {Edge(a, b)}

    def test_reference_tasks_argument(self):
        a, b = named("a", "b")
        flow = Flow("f", tasks=[a, b], reference_tasks=[a])
        assert flow.reference_tasks() == {a}

    def test_reference_tasks_must_be_in_the_flow(self):
        a, b = named("a", "b")
        flow = Flow("f", tasks=[a])
        with pytest.raises(ValueError, match="not in"):
            flow.set_reference_tasks([b])

    def test_repr_and_len(self):
        flow = Flow("etl", tasks=named("a", "b"))
        assert repr(flow) == "<Flow: name='etl'>"
        assert len(flow) == 2

    def test_add_task_type_check(self):
        with pytest.raises(TypeError, match="only contain Tasks"):
            Flow("f").add_task(1)


class TestImperativeAPI:
    def test_add_task_is_idempotent(self):
        a = Task()
        flow = Flow("f")
        assert flow.add_task(a) is a
        flow.add_task(a)
        assert flow.tasks == {a}

    def test_add_edge_adds_tasks(self):
        a, b = Task(name="a"), AddTask(name="b")
        flow = Flow("f")
        e = flow.add_edge(a, b, key="x")
        assert flow.tasks == {a, b}
        assert flow.edges == {e}
        assert flow.edges_to(b) == {e}
        assert flow.edges_from(a) == {e}

    def test_add_edge_mapped_and_flattened(self):
        a, b = Task(name="a"), AddTask(name="b")
        flow = Flow("f")
        e = flow.add_edge(a, b, key="x", mapped=True, flattened=True)
        assert e.mapped and e.flattened

    def test_key_can_be_bound_only_once(self):
        a, b, c = Task(name="a"), Task(name="b"), AddTask(name="c")
        flow = Flow("f")
        flow.add_edge(a, c, key="x")
        with pytest.raises(ValueError, match="'x' of <Task: c> is already bound"):
            flow.add_edge(b, c, key="x")

    def test_key_bound_to_a_constant(self):
        a, c = Task(name="a"), AddTask(name="c")
        flow = Flow("f")
        flow.set_dependencies(c, keyword_tasks={"x": 1})
        with pytest.raises(ValueError, match="already bound to a constant"):
            flow.add_edge(a, c, key="x")

    def test_unknown_key_with_eager_validation(self):
        a, c = Task(name="a"), AddTask(name="c")
        flow = Flow("f", validate=True)
        with pytest.raises(TypeError, match="no run\\(\\) argument named 'z'"):
            flow.add_edge(a, c, key="z")

    def test_eager_validation_rejects_a_cycle_and_keeps_the_graph(self):
        a, b = named("a", "b")
        flow = Flow("f", validate=True)
        flow.add_edge(a, b)
        with pytest.raises(ValueError, match="cycle"):
            flow.add_edge(b, a)
        assert flow.edges == {Edge(a, b)}
        assert flow.sorted_tasks() == (a, b)

    def test_set_dependencies(self):
        a, b, c = Task(name="a"), AddTask(name="b"), Task(name="c")
        flow = Flow("f")
        flow.set_dependencies(
            b, upstream_tasks=[a], downstream_tasks=[c], keyword_tasks={"x": a, "y": 5}
        )
        assert {(e.upstream_task, e.downstream_task, e.key) for e in flow.edges} == {
            (a, b, None),
            (a, b, "x"),
            (b, c, None),
        }
        assert dict(flow.constants[b]) == {"y": 5}

    def test_set_dependencies_mapped(self):
        a, b = Constant([1, 2]), AddTask(name="b")
        flow = Flow("f")
        flow.set_dependencies(b, keyword_tasks={"x": a}, mapped=True)
        [e] = flow.edges
        assert e.mapped

    def test_set_dependencies_with_a_mapped_constant_makes_a_task(self):
        b = AddTask(name="b")
        flow = Flow("f")
        flow.set_dependencies(b, keyword_tasks={"x": [1, 2]}, mapped=True)
        [e] = flow.edges
        assert isinstance(e.upstream_task, Constant) and e.mapped
        assert b not in flow.constants or "x" not in flow.constants[b]

    def test_chain(self):
        a, b, c = named("a", "b", "c")
        flow = Flow("f")
        edges = flow.chain(a, b, c)
        assert edges == [Edge(a, b), Edge(b, c)]
        assert flow.sorted_tasks() == (a, b, c)

    def test_chain_needs_two_tasks(self):
        with pytest.raises(ValueError, match="at least two"):
            Flow("f").chain(Task())

    def test_imperative_flow_runs(self):
        a, b = Constant(2), AddTask(name="b")
        flow = Flow("f")
        flow.add_edge(a, b, key="x")
        flow.set_dependencies(b, keyword_tasks={"y": 40})
        state = flow.run()
        assert state.is_successful()
        assert state.result[b].result == 42


class TestFunctionalAPI:
    def test_context_manager_sets_the_active_flow(self):
        import headwater

        with Flow("f") as flow:
            assert headwater.context.flow is flow
        assert headwater.context.get("flow") is None

    def test_nested_flows_restore_the_outer_flow(self):
        import headwater

        with Flow("outer") as outer:
            with Flow("inner"):
                pass
            assert headwater.context.flow is outer

    def test_run_inside_with_block_is_a_value_error(self):
        with Flow("f") as flow:
            inc(1)
            with pytest.raises(ValueError, match="inside its own `with Flow"):
                flow.run()

    def test_constants_stored_on_the_flow(self):
        with Flow("f") as flow:
            t = AddTask()(x=1, y=[1, 2])
        assert dict(flow.constants[t]) == {"x": 1, "y": [1, 2]}
        assert flow.tasks == {t}


class TestIntrospection:
    @pytest.fixture
    def diamond(self):
        a, b, c, d = named("a", "b", "c", "d")
        flow = Flow("diamond")
        flow.add_edge(a, b)
        flow.add_edge(a, c)
        flow.add_edge(b, d)
        flow.add_edge(c, d)
        return flow, (a, b, c, d)

    def test_root_and_terminal_tasks(self, diamond):
        flow, (a, b, c, d) = diamond
        assert flow.root_tasks() == {a}
        assert flow.terminal_tasks() == {d}

    def test_reference_tasks_default_to_terminal(self, diamond):
        flow, (a, b, c, d) = diamond
        assert flow.reference_tasks() == {d}
        flow.set_reference_tasks([b, c])
        assert flow.reference_tasks() == {b, c}
        flow.set_reference_tasks([])
        assert flow.reference_tasks() == {d}

    def test_answers_follow_every_change_to_the_graph(self, diamond):
        # terminal/reference tasks, parameters and the run plan are remembered between runs
        # of an unchanged flow; each change through the flow's methods must be seen
        flow, (a, b, c, d) = diamond
        flow.validate()
        assert flow.terminal_tasks() == {d} and flow.reference_tasks() == {d}
        flow.terminal_tasks().add(a)  # callers get copies
        assert flow.terminal_tasks() == {d}
        e = Task(name="e")
        flow.add_edge(d, e)
        flow.validate()
        assert flow.terminal_tasks() == {e} and flow.reference_tasks() == {e}
        p = Parameter("p", default=1)
        assert flow.parameters() == set()
        flow.add_edge(p, b, key="x")
        assert flow.parameters() == {p}
        f = Task(name="f")
        flow.replace(e, f)
        assert flow.terminal_tasks() == {f}
        copy = flow.copy()
        g = Task(name="g")
        copy.add_edge(f, g)
        assert copy.terminal_tasks() == {g} and flow.terminal_tasks() == {f}

    def test_a_changed_flow_runs_its_new_graph(self):
        with Flow("f") as flow:
            x = inc(1)
        assert flow.run().result[x].result == 2
        with flow:
            y = inc(x)
        state = flow.run()
        assert state.result[y].result == 3
        flow.add_edge(y, z := AddTask(name="z"), key="x")
        state = flow.run()
        assert state.result[z].result == 4
        assert flow.reference_tasks() == {z}

    def test_pickled_flow_leaves_remembered_answers_behind(self, diamond):
        import pickle

        flow, (a, b, c, d) = diamond
        flow.validate()
        size = len(pickle.dumps(flow))
        flow.run()
        flow.reference_tasks(), flow.parameters(), flow.root_tasks()
        assert len(pickle.dumps(flow)) == size
        copy = pickle.loads(pickle.dumps(flow))
        assert {t.name for t in copy.terminal_tasks()} == {"d"}

    def test_prefect1_cache_is_read_emptied_on_change_and_pickled_when_set_by_hand(self, diamond):
        import pickle

        flow, (a, b, c, d) = diamond
        key = ("_sorted_tasks", (("root_tasks", ()),))
        order = flow.sorted_tasks()
        assert flow._cache[key] == order
        assert flow.root_tasks() == {a} and flow._cache[("root_tasks", ())] == {a}
        flow.root_tasks().add(d)  # callers get their own copies
        assert flow.root_tasks() == {a}
        flow._cache[key] = "by hand"
        assert flow.sorted_tasks() == "by hand"
        copy = pickle.loads(pickle.dumps(flow))
        assert copy.sorted_tasks() == "by hand"
        assert ("root_tasks", ()) not in copy._cache  # computed answers are remade
        flow.add_edge(d, Task(name="e"))
        assert ("_sorted_tasks", (("root_tasks", ()),)) not in flow._cache
        assert flow.sorted_tasks()[-1].name == "e"

    def test_sorted_tasks(self, diamond):
        flow, (a, b, c, d) = diamond
        order = flow.sorted_tasks()
        assert order[0] is a and order[-1] is d
        assert set(order[1:3]) == {b, c}
        assert list(flow) == list(order)

    def test_sorted_tasks_from_roots(self, diamond):
        flow, (a, b, c, d) = diamond
        assert flow.sorted_tasks(root_tasks=[b]) == (b, d)

    def test_edges_and_neighbours(self, diamond):
        flow, (a, b, c, d) = diamond
        assert flow.edges_to(d) == {Edge(b, d), Edge(c, d)}
        assert flow.edges_from(a) == {Edge(a, b), Edge(a, c)}
        assert flow.upstream_tasks(d) == {b, c}
        assert flow.downstream_tasks(a) == {b, c}
        assert flow.upstream_tasks(a) == set()
        assert flow.all_upstream_edges()[d] == {Edge(b, d), Edge(c, d)}
        assert flow.all_downstream_edges()[d] == set()

    def test_unknown_task_in_queries(self, diamond):
        flow, _ = diamond
        stranger = Task(name="stranger")
        for query in (flow.edges_to, flow.edges_from, flow.upstream_tasks, flow.downstream_tasks):
            with pytest.raises(ValueError, match="<Task: stranger> was not found"):
                query(stranger)

    def test_get_tasks(self):
        a = Task(name="a", tags=["x", "y"])
        b = Task(name="b", tags=["x"])
        c = AddTask(name="a", slug="special")
        flow = Flow("f", tasks=[a, b, c])
        assert flow.get_tasks(name="a") == [a, c]
        assert flow.get_tasks(slug="special") == [c]
        assert flow.get_tasks(tags=["x"]) == [a, b]
        assert flow.get_tasks(tags=["x", "y"]) == [a]
        assert flow.get_tasks(tags="y") == [a]
        assert flow.get_tasks(task_type=AddTask) == [c]
        assert flow.get_tasks(name="a", tags=["x"]) == [a]
        assert flow.get_tasks(name="zzz") == []

    def test_slugs_are_unique(self):
        a, b = Task(name="t"), Task(name="t")
        flow = Flow("f", tasks=[a, b])
        assert flow.slugs[a] != flow.slugs[b]
        with pytest.raises(ValueError, match="slug 'x' already exists"):
            flow.add_task(Task(slug="x"))
            flow.add_task(Task(slug="x"))

    def test_parameters(self):
        with Flow("f") as flow:
            x = Parameter("x")
            y = Parameter("y", default=1)
            inc(x)
            inc(y)
        assert flow.parameters() == {x, y}

    def test_validate_with_a_cycle_names_the_tasks(self):
        a, b, c, other = named("alpha", "beta", "gamma", "other")
        flow = Flow("f")
        flow.add_edge(other, a)
        flow.add_edge(a, b)
        flow.add_edge(b, c)
        flow.add_edge(c, a)
        with pytest.raises(ValueError, match="cycle") as info:
            flow.validate()
        message = str(info.value)
        for name in ("alpha", "beta", "gamma"):
            assert name in message
        assert "other" not in message

    def test_run_with_a_cycle_is_a_value_error(self):
        a, b = named("a", "b")
        flow = Flow("f")
        flow.add_edge(a, b)
        flow.add_edge(b, a)
        with pytest.raises(ValueError, match="cycle"):
            flow.run()

    def test_validate_reports_missing_tasks(self, diamond):
        flow, (a, b, c, d) = diamond
        flow.tasks.discard(d)
        with pytest.raises(ValueError, match="not in"):
            flow.validate()


class TestCopyUpdateReplace:
    def test_copy_is_independent(self):
        a, b, c = named("a", "b", "c")
        flow = Flow("f")
        flow.add_edge(a, b)
        flow.set_reference_tasks([a])
        new = flow.copy()
        assert new.tasks == flow.tasks and new.edges == flow.edges
        assert new.reference_tasks() == {a}
        new.add_edge(b, c)
        assert c not in flow.tasks
        assert Edge(b, c) not in flow.edges
        assert flow.terminal_tasks() == {b}
        assert new.terminal_tasks() == {c}

    def test_copy_keeps_constants_independently(self):
        with Flow("f") as flow:
            t = AddTask()(x=1)
        new = flow.copy()
        new.constants[t]["y"] = 2
        assert dict(flow.constants[t]) == {"x": 1}
        assert new.run().result[t].result == 3

    def test_update(self):
        a, b, c, d = named("a", "b", "c", "d")
        f1 = Flow("one")
        f1.add_edge(a, b)
        f2 = Flow("two")
        f2.add_edge(c, d)
        f2.set_reference_tasks([c])
        f1.update(f2)
        assert f1.tasks == {a, b, c, d}
        assert f1.edges == {Edge(a, b), Edge(c, d)}
        # as in Prefect 1, reference tasks are merged only when asked
        assert f1.reference_tasks() == {b, d}
        f1.update(f2, merge_reference_tasks=True)
        assert f1.reference_tasks() == {b, c, d}

    def test_update_brings_constants(self):
        with Flow("two") as f2:
            t = AddTask()(x=1)
        f1 = Flow("one")
        f1.update(f2)
        assert f1.run().result[t].result == 2

    def test_update_merging_parameters(self):
        with Flow("one") as f1:
            x1 = Parameter("x", default=1)
            t1 = inc(x1)
        with Flow("two") as f2:
            x2 = Parameter("x", default=1)
            t2 = inc(x2)
        f1.update(f2, merge_parameters=True)
        # as Prefect 1: the updating flow's parameter replaces this flow's one
        assert f1.parameters() == {x2}
        assert f1.upstream_tasks(t1) == {x2}
        state = f1.run(x=10)
        assert state.result[t1].result == state.result[t2].result == 11

    def test_replace_keeps_edges_and_constants(self):
        with Flow("f") as flow:
            a = inc(1)
            b = AddTask()(x=a, y=10)
            c = inc(b)
        flow.set_reference_tasks([b])
        new = AddTask(name="replacement")
        flow.replace(b, new)
        assert b not in flow.tasks and new in flow.tasks
        assert flow.upstream_tasks(new) == {a}
        assert flow.downstream_tasks(new) == {c}
        assert dict(flow.constants[new]) == {"y": 10}
        assert flow.reference_tasks() == {new}
        state = flow.run()
        assert state.result[new].result == 12
        assert state.result[c].result == 13

    def test_replace_unknown_task(self):
        with pytest.raises(ValueError, match="is not in"):
            Flow("f").replace(Task(name="a"), Task(name="b"))
