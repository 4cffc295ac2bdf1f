"""``apply_map`` follows Prefect 1: imperative functions, shared inputs, results of results."""

from __future__ import annotations

import pytest

from headwater import Flow, Parameter, apply_map, case, task
from headwater.core.edge import unmapped


@task
def inc(x):
    return x + 1


@task
def add(x, y):
    return x + y


def test_with_a_flow_the_function_gets_the_scratch_flow():
    def func(x, flow):
        return inc.copy().bind(x, flow=flow)

    flow = Flow("imperative")
    res = apply_map(func, range(3), flow=flow)
    assert flow.run().result[res].result == [1, 2, 3]


def test_every_subgraph_root_maps_over_every_input():
    # the shortest input decides the number of items for every task, as one loop would
    def func(x, y):
        return inc(x), inc(y)

    with Flow("lengths") as flow:
        a, b = apply_map(func, range(3), range(3, 300))
    state = flow.run()
    assert state.result[a].result == [1, 2, 3]
    assert state.result[b].result == [4, 5, 6]


def test_the_tuple_result_of_an_apply_map_can_be_mapped_again():
    @task
    def combine(pair):
        return pair[0] + pair[1]

    with Flow("again") as flow:
        first = apply_map(lambda item: (inc(item), inc(inc(item))), [1, 2, 3])
        second = apply_map(lambda pair: combine(pair), first)
    assert flow.run().result[second].result == [5, 7, 9]


def test_case_around_apply_map_gates_every_item():
    with Flow("gated") as flow:
        branch = Parameter("branch")
        with case(branch, True):
            shared = inc(1)
            out = apply_map(lambda x, a: add(x, a), range(3), unmapped(shared))
    assert flow.run(branch=True).result[out].result == [2, 3, 4]
    assert flow.run(branch=False).result[out].is_skipped()


def test_mapping_inside_the_function_is_refused():
    with Flow("f"), pytest.raises(ValueError, match="running from inside a mapped context"):
        apply_map(lambda x: inc.map(x), range(3))


def test_arguments_must_be_sequences():
    with Flow("f"), pytest.raises(TypeError, match="Cannot map over non-sequence object"):
        apply_map(lambda x: inc(x), 1)


def test_a_task_the_function_uses_directly_is_passed_whole():
    @task
    def size(items, x):
        return len(items) * x

    with Flow("closure") as flow:
        items = inc.copy().bind(1)  # 2, passed whole to every item
        out = apply_map(lambda x: size(unmapped([items]), x), [1, 2])
        closure = apply_map(lambda x: add(items, x), [1, 2])
    state = flow.run()
    assert state.result[out].result == [1, 2]
    assert state.result[closure].result == [3, 4]
