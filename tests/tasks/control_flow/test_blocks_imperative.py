"""Tasks added with the imperative API inside ``case`` and resource blocks belong to them."""

from __future__ import annotations

import pytest

from headwater import Flow, Task, case, resource_manager, task
from headwater.tasks.control_flow import merge


@task
def identity(x):
    return x


@task
def inc(x):
    return x + 1


@pytest.mark.parametrize(("branch", "expected"), [(True, 2), (False, 3)])
def test_imperative_case_runs_only_the_matching_branch(branch, expected):
    flow = Flow("imperative-case")
    cond = identity.copy().bind(branch, flow=flow)
    on_true, on_false = inc.copy(), inc.copy()
    with case(cond, True):
        flow.add_task(on_true)
        flow.set_dependencies(on_true, keyword_tasks={"x": 1})
    with case(cond, False):
        flow.add_task(on_false)
        flow.set_dependencies(on_false, keyword_tasks={"x": 2})
    result = merge(on_true, on_false, flow=flow, checkpoint=False)
    state = flow.run()
    assert state.result[result].result == expected
    skipped = on_false if branch else on_true
    assert state.result[skipped].is_skipped()
    assert result.checkpoint is False


def test_a_case_block_takes_tasks_of_one_flow():
    flow, other = Flow("one"), Flow("two")
    a = Task(name="a")
    with pytest.raises(ValueError, match="Multiple flows cannot be used with the same case"):
        with case(identity.copy(), True):
            flow.add_task(a)
            other.add_task(a)


def test_imperative_resource_block_orders_added_tasks():
    calls = []

    @resource_manager
    class Log:
        def setup(self):
            calls.append("setup")
            return "res"

        def cleanup(self, res):
            calls.append("cleanup")

    @task
    def work():
        calls.append("work")

    flow = Flow("imperative-resource")
    body = work.copy()
    with Log(flow=flow):
        flow.add_task(body)
    assert flow.run().is_successful()
    assert calls == ["setup", "work", "cleanup"]


def test_a_resource_block_takes_tasks_of_its_own_flow():
    @resource_manager
    class Res:
        def setup(self):
            return 1

    flow, other = Flow("one"), Flow("two")
    with pytest.raises(ValueError, match="Multiple flows cannot be used with the same resource"):
        with Res(flow=flow):
            inc(1, flow=other)
