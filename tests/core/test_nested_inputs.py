"""Deeply nested task inputs build and run; nested apply_map is refused when it is built."""

from __future__ import annotations

import sys

import pytest

from headwater import Flow, apply_map, flatten, task

DEPTH = 400
DEEPER = sys.getrecursionlimit() + 500  # deeper than any recursive walk could go


@task
def ident(x):
    return x


@task
def inc(x):
    return x + 1


def nested_list(depth, inner):
    value = inner
    for _ in range(depth):
        value = [value]
    return value


def nested_dict(depth, inner):
    value = inner
    for _ in range(depth):
        value = {"k": value}
    return value


def innermost(value, depth):
    """What ``depth`` levels of one-item lists or {"k": ...} dicts hold (== would recurse)."""
    for _ in range(depth):
        assert len(value) == 1
        value = value["k"] if isinstance(value, dict) else value[0]
    return value


def run_value(flow, t):
    state = flow.run()
    assert state.is_successful(), state
    return state.result[t].result


@pytest.mark.parametrize("depth", [DEPTH, DEEPER])
@pytest.mark.parametrize("make", [nested_list, nested_dict], ids=["list", "dict"])
def test_a_deeply_nested_constant_builds_and_runs(make, depth):
    value = make(depth, 7)
    with Flow("deep constant") as flow:
        t = ident(value)
    assert innermost(run_value(flow, t), depth) == 7


@pytest.mark.parametrize("depth", [DEPTH, DEEPER])
@pytest.mark.parametrize("make", [nested_list, nested_dict], ids=["list", "dict"])
def test_a_task_deep_inside_nested_collections_builds_and_runs(make, depth):
    with Flow("deep task") as flow:
        t = ident(make(depth, inc(1)))
    assert innermost(run_value(flow, t), depth) == 2


def test_collections_of_tasks_mixed_with_constants_keep_their_shape():
    with Flow("mixed") as flow:
        a, b = inc(1), inc(10)
        t = ident({"a": [a, (b, {b}), [1, [2]]], "n": None, (1, 2): {"deep": nested_list(50, a)}})
    assert run_value(flow, t) == {
        "a": [2, (11, {11}), [1, [2]]],
        "n": None,
        (1, 2): {"deep": nested_list(50, 2)},
    }


def test_a_collection_shared_twice_and_a_list_containing_itself():
    loop = [1]
    loop.append(loop)
    with Flow("shared") as flow:
        shared = [inc(1)]
        t = ident([shared, shared, loop])
    result = run_value(flow, t)
    assert result[:2] == [[2], [2]] and result[2] is loop


@pytest.mark.parametrize("depth", [DEPTH, DEEPER])
def test_a_chain_of_nested_task_calls_builds_and_runs(depth):
    with Flow("chain") as flow:
        t = 0
        for _ in range(depth):
            t = inc(t)
    assert run_value(flow, t) == depth


class TestNestedApplyMap:
    def test_is_refused_at_build_time_naming_both_functions(self):
        def per_element(y):
            return inc(y)

        def per_group(group):
            return apply_map(per_element, group)

        with Flow("nested") as flow, pytest.raises(ValueError) as exc:
            apply_map(per_group, [[1, 2], [3, 4]])
        msg = str(exc.value)
        assert "apply_map(" in msg and "per_element" in msg and "per_group" in msg
        assert "Nested mapping is not supported" in msg and "flatten(" in msg
        assert flow is not None

    def test_the_suggested_flatten_maps_every_inner_item(self):
        def per_element(y):
            return inc(ident(y))

        with Flow("flat") as flow:
            t = apply_map(per_element, flatten([[1, 2], [3]]))
        state = flow.run()
        assert [s.result for s in state.result[t].map_states] == [2, 3, 4]

    def test_apply_map_after_an_apply_map_in_the_same_flow_still_works(self):
        with Flow("sequential") as flow:
            a = apply_map(lambda x: inc(x), [1, 2])
            b = apply_map(lambda x: inc(x), a)
        state = flow.run()
        assert [s.result for s in state.result[b].map_states] == [3, 4]

    def test_apply_map_into_another_flow_from_inside_a_mapped_function_is_not_nested(self):
        other = Flow("other")

        def per_item(x):
            # given a flow, apply_map passes its function flow= (as Prefect 1)
            apply_map(lambda y, flow: inc.copy().bind(y, flow=flow), [10, 20], flow=other)
            return inc(x)

        with Flow("outer") as flow:
            t = apply_map(per_item, [1, 2])
        state = flow.run()
        assert [s.result for s in state.result[t].map_states] == [2, 3]
        assert other.run().is_successful()
