"""Building flows the Prefect 1 way: what the graph API returns, accepts, warns about and says."""

from __future__ import annotations

import logging

import pytest

import headwater
from headwater import Flow, Parameter, Task, task
from headwater.core.edge import Edge
from headwater.tasks.core.constants import Constant


@task
def inc(x):
    return x + 1


@task
def add(x, y):
    return x + y


class TestValidationMessages:
    """Errors carry Prefect 1's wording (which its users match on) and name the culprit."""

    def test_cycle(self):
        a, b = Task(name="a"), Task(name="b")
        flow = Flow("cyclic")
        flow.add_edge(a, b)
        flow.add_edge(b, a)
        with pytest.raises(ValueError, match="Cycle found") as info:
            flow.validate()
        assert "<Task: a>" in str(info.value) and "<Task: b>" in str(info.value)

    def test_edge_to_a_task_not_in_the_flow(self):
        a, b = Task(name="a"), Task(name="b")
        flow = Flow("f")
        flow.add_edge(a, b)
        flow.tasks.remove(b)
        with pytest.raises(ValueError, match="Some edges refer to tasks not contained"):
            flow.validate()

    def test_reference_task_not_in_the_flow(self):
        a = Task(name="a")
        flow = Flow("f", tasks=[a])
        flow.set_reference_tasks([a])
        flow.tasks.remove(a)
        with pytest.raises(ValueError, match="reference tasks are not contained.*<Task: a>"):
            flow.validate()

    def test_reference_tasks_must_be_in_the_flow(self):
        with pytest.raises(ValueError, match="must be part of the flow"):
            Flow("f", reference_tasks=[Task(name="stray")])

    def test_task_not_found(self):
        stray = Task(name="stray")
        with pytest.raises(ValueError, match="Task <Task: stray> was not found in Flow"):
            Flow("f").upstream_tasks(stray)
        with pytest.raises(ValueError, match="not found in Flow"):
            Flow("f", tasks=[Task()]).sorted_tasks(root_tasks=[stray])

    def test_parameter_cannot_be_downstream(self):
        p = Parameter("p")
        with pytest.raises(ValueError, match="Parameters must be root tasks.*<Parameter: p>"):
            Flow("f").add_edge(Task(name="t"), p)


class TestUnusedTaskWarning:
    def test_task_created_in_the_block_but_not_added_warns(self):
        with pytest.warns(UserWarning, match="Tasks were created but not added.*<Parameter: x>"):
            with Flow("f"):
                Parameter("x")

    def test_tasks_used_in_the_block_do_not_warn(self):
        with Flow("f") as flow:
            x = Parameter("x")
            inc(x)
            Task()[0]  # the item task uses the new task: both are in the flow
        assert len(flow.tasks) == 4

    def test_a_call_that_fails_does_not_also_warn(self):
        with Flow("f") as flow:
            with pytest.raises(TypeError, match="missing a required argument: 'y'"):
                add(x=1)
        assert not flow.tasks

    def test_nested_blocks_warn_once(self, recwarn):
        with Flow("outer"), Flow("inner"):
            Parameter("x")
        assert len([w for w in recwarn if "not added" in str(w.message)]) == 1


class TestFlowObject:
    def test_equality_is_by_name_tasks_edges_and_reference_tasks(self):
        a, b = Task(), Task()
        f1, f2 = Flow("f"), Flow("f")
        for f in (f1, f2):
            f.add_edge(a, b)
        assert f1 == f2 and f1.copy() == f1
        f2.set_reference_tasks([a])
        assert f1 != f2
        assert len({f1, f2}) == 2  # flows still hash by identity

    def test_logger_is_named_after_the_flow(self):
        logger = Flow("etl").logger
        assert isinstance(logger, logging.Logger) and logger.name == "headwater.etl"

    def test_generated_slugs_include_sorted_tags(self):
        with Flow("f") as flow:
            Task("a", tags=["z", "y"])()
            Task("a")()
        assert set(flow.slugs.values()) == {"a-y-z-1", "a-1"}

    def test_a_keyed_constant_edge_becomes_a_flow_constant(self):
        t = Task()
        flow = Flow("f")
        edge = flow.add_edge(Constant(5), t, key="x")
        assert flow.tasks == {t} and flow.constants[t] == {"x": 5}
        assert isinstance(edge.upstream_task, Constant)

    def test_replace_with_a_value_makes_a_constant(self):
        with Flow("f") as flow:
            x = Parameter("x")
            y = inc(x)
        flow.replace(x, 1)
        assert flow.constants[y] == {"x": 1}
        assert flow.run().result[y].result == 2

    def test_graph_queries_follow_changes(self):
        a, b, c = Task(name="a"), Task(name="b"), Task(name="c")
        flow = Flow("f")
        flow.add_edge(a, b)
        assert flow.root_tasks() == {a} and flow.terminal_tasks() == {b}
        flow.add_edge(b, c)
        assert flow.terminal_tasks() == {c} and flow.sorted_tasks() == (a, b, c)
        assert flow.sorted_tasks(root_tasks=[b]) == (b, c)

    def test_run_with_a_flow_run_name(self):
        @task
        def name_of_run():
            return headwater.context["flow_run_name"]

        with Flow("named") as flow:
            t = name_of_run()
        assert flow.run(flow_run_name="nightly").result[t].result == "nightly"

    def test_run_with_an_unknown_keyword_is_a_type_error(self):
        with pytest.raises(TypeError, match="unexpected keyword argument"):
            Flow("f", tasks=[Task()]).run(nonsense=1)

    def test_run_inside_its_own_block_is_a_runtime_error(self):
        with pytest.raises(RuntimeError, match="from within a `Flow` context manager"):
            with Flow("f") as flow:
                flow.run()


class TestEdges:
    def test_edge_converts_values_and_reads_annotations(self):
        from headwater.core.edge import flatten, mapped

        t = Task()
        e = Edge(mapped(flatten([1, 2])), t)
        assert isinstance(e.upstream_task, Constant) and e.mapped and e.flattened

    def test_a_value_edge_to_itself_is_refused(self):
        with pytest.raises(ValueError, match="Edges can not connect a task to itself"):
            Edge(1, 1)
