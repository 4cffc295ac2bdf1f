"""``case`` blocks: plain, nested, with mapped tasks and inside ``apply_map``."""

from __future__ import annotations

import pytest

import headwater
from headwater import Flow, Parameter, apply_map, case, task
from headwater.engine import state as st
from headwater.tasks.control_flow import FilterTask, merge
from headwater.tasks.control_flow.conditional import CompareValue


def skipped(state: st.State) -> bool:
    """Skipped, or a mapped task whose children were all skipped."""
    if isinstance(state, st.Mapped):
        return all(c.is_skipped() for c in state.map_states)
    return state.is_skipped()


@task
def identity(x):
    return x


@task
def inc(x):
    return x + 1


@task
def double(x):
    return 2 * x


@task
def is_even(x):
    return x % 2 == 0


@task
def constant():
    return "ran"


def test_block_runs_when_the_value_matches(executor):
    with Flow("case") as flow:
        n = Parameter("n")
        with case(n, 1):
            a = inc(n)
            b = double(a)
    state = flow.run(n=1, executor=executor)
    assert state.is_successful()
    assert state.result[a].result == 2
    assert state.result[b].result == 4


def test_block_is_skipped_when_the_value_differs(executor):
    with Flow("case") as flow:
        n = Parameter("n")
        with case(n, 1):
            a = inc(n)
            b = double(a)
        after = identity(b)
    state = flow.run(n=2, executor=executor)
    assert state.is_successful()
    for t in (a, b, after):
        assert isinstance(state.result[t], st.Skipped), t


def test_comparison_task_is_named_after_the_value_and_gates_only_block_roots():
    with Flow("case") as flow:
        n = Parameter("n")
        with case(n, "yes"):
            a = inc(n)
            b = double(a)
            c = constant()
    (compare,) = flow.get_tasks(name="case(yes)")
    assert isinstance(compare, CompareValue)
    assert flow.upstream_tasks(compare) == {n}
    assert flow.downstream_tasks(compare) == {a, c}
    assert compare not in flow.upstream_tasks(b)


def test_empty_block_adds_no_task():
    with Flow("case") as flow:
        n = identity(1)
        with case(n, 1):
            pass
    assert flow.tasks == {n}


def test_a_task_as_value_is_a_type_error():
    with Flow("case"):
        n = Parameter("n")
        with pytest.raises(TypeError, match="fixed value.*is_equal"):
            case(n, identity(n))


def test_block_sets_and_restores_context_case():
    n = Parameter("n")
    with Flow("case"):
        assert headwater.context.get("case") is None
        with case(n, 1) as outer:
            assert headwater.context.case is outer
            with case(n, 2) as inner:
                assert headwater.context.case is inner
            assert headwater.context.case is outer
        assert headwater.context.get("case") is None


@pytest.mark.parametrize(
    ("x", "y", "expected"),
    [(1, 1, "both"), (1, 0, "outer only"), (0, 1, "neither"), (0, 0, "neither")],
)
def test_nested_blocks_run_only_when_every_level_matches(executor, x, y, expected):
    with Flow("nested") as flow:
        px, py = Parameter("x"), Parameter("y")
        with case(px, 1):
            outer_task = identity("outer")
            with case(py, 1):
                inner_task = identity("inner")
    state = flow.run(x=x, y=y, executor=executor)
    ran = {
        name
        for name, t in (("outer", outer_task), ("inner", inner_task))
        if not state.result[t].is_skipped()
    }
    assert ran == {"both": {"outer", "inner"}, "outer only": {"outer"}, "neither": set()}[expected]


def test_nested_block_comparison_depends_on_the_outer_comparison():
    with Flow("nested") as flow:
        px, py = Parameter("x"), Parameter("y")
        with case(px, 1):
            with case(py, 2):
                identity("inner")
    (outer,) = flow.get_tasks(name="case(1)")
    (inner,) = flow.get_tasks(name="case(2)")
    assert outer in flow.upstream_tasks(inner)


def test_mapped_tasks_inside_a_block(executor):
    with Flow("mapped body") as flow:
        flag = Parameter("flag")
        with case(flag, True):
            items = inc.map([1, 2, 3])
            total = double.map(items)
    ran = flow.run(flag=True, executor=executor)
    assert [s.result for s in ran.result[total].map_states] == [4, 6, 8]
    not_run = flow.run(flag=False, executor=executor)
    assert skipped(not_run.result[items])
    assert skipped(not_run.result[total])


def test_block_on_a_mapped_condition_runs_item_by_item(executor):
    with Flow("mapped condition") as flow:
        numbers = identity([1, 2, 3, 4])
        even = is_even.map(numbers)
        with case(even, True):
            doubled = double.map(numbers)
    state = flow.run(executor=executor)
    children = state.result[doubled].map_states
    assert [c.is_skipped() for c in children] == [True, False, True, False]
    assert [c.result for c in children] == [None, 4, None, 8]


def test_case_inside_apply_map_branches_per_item(executor):
    def branch(x):
        even = is_even(x)
        with case(even, True):
            a = double(x)
        with case(even, False):
            b = inc(x)
        return merge(a, b)

    with Flow("apply_map") as flow:
        result = apply_map(branch, [1, 2, 3, 4])
    state = flow.run(executor=executor)
    assert state.is_successful()
    assert [c.result for c in state.result[result].map_states] == [2, 4, 4, 8]


def test_apply_map_inside_a_case_block_is_gated(executor):
    with Flow("apply_map in case") as flow:
        flag = Parameter("flag")
        with case(flag, True):
            result = apply_map(lambda x: inc(double(x)), [1, 2])
    ran = flow.run(flag=True, executor=executor)
    assert [c.result for c in ran.result[result].map_states] == [3, 5]
    not_run = flow.run(flag=False, executor=executor)
    assert skipped(not_run.result[result])


@task(skip_on_upstream_skip=False, trigger=headwater.triggers.all_finished)
def report(x):
    return f"report {x}"


@pytest.mark.parametrize(("go", "expected"), [(True, [1, 2]), (False, None)])
def test_filter_task_inside_a_block_follows_the_block(executor, go, expected):
    with Flow("filter in case") as flow:
        flag = Parameter("go")
        with case(flag, True):
            kept = FilterTask()(identity([1, None, 2]))
            after = identity(kept)
    state = flow.run(go=go, executor=executor)
    assert state.is_successful()
    if expected is None:
        assert state.result[kept].is_skipped()
        assert "case(True) did not match" in state.result[kept].message
        assert state.result[after].is_skipped()
    else:
        assert state.result[after].result == expected


def test_task_that_runs_after_skips_is_still_gated_by_its_block(executor):
    with Flow("runs after skips") as flow:
        outer, inner = Parameter("outer"), Parameter("inner")
        with case(outer, 1):
            with case(inner, 1):
                a = inc(inner)
            r = report(a)
    matched = flow.run(outer=1, inner=0, executor=executor)
    # inside the matching outer block it runs although its input was skipped
    assert matched.result[a].is_skipped()
    assert matched.result[r].result == "report None"
    not_matched = flow.run(outer=0, inner=1, executor=executor)
    assert not_matched.result[r].is_skipped()
    assert not_matched.is_successful()


def test_filter_task_in_a_block_on_a_mapped_condition(executor):
    with Flow("filter mapped condition") as flow:
        numbers = identity([1, 2, 3, 4])
        with case(is_even.map(numbers), True):
            doubled = double.map(numbers)
        kept = FilterTask()(doubled)
    state = flow.run(executor=executor)
    assert state.result[kept].result == [4, 8]
