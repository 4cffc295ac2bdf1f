"""``merge``, ``switch`` and ``ifelse``."""

from __future__ import annotations

import pytest

from headwater import Flow, Parameter, case, task
from headwater.engine import signals
from headwater.engine import state as st
from headwater.tasks.control_flow import FilterTask, ifelse, merge, switch
from headwater.tasks.control_flow.conditional import CompareValue, Merge


@task
def identity(x):
    return x


@task
def nothing():
    return None


@task
def skip():
    raise signals.SKIP("not today")


@task
def fail():
    raise ValueError("broken branch")


@task
def label(x):
    return f"label {x}"


@task
def is_even(x):
    return x % 2 == 0


@task
def double(x):
    return 2 * x


@task
def negate(x):
    return -x


# -- merge ----------------------------------------------------------------------------------


def test_merge_returns_the_first_non_none_input_in_order(executor):
    with Flow("merge") as flow:
        m = merge(nothing(), identity("second"), identity("third"))
    assert flow.run(executor=executor).result[m].result == "second"


def test_merge_keeps_argument_order_beyond_nine_inputs(executor):
    with Flow("merge") as flow:
        inputs = [nothing() for _ in range(9)] + [identity("tenth"), identity("eleventh")]
        m = merge(*inputs)
    assert flow.run(executor=executor).result[m].result == "tenth"


def test_merge_of_skipped_and_successful_branches_runs(executor):
    with Flow("merge") as flow:
        m = merge(skip(), identity("fallback"))
    state = flow.run(executor=executor)
    assert state.is_successful()
    assert state.result[m].result == "fallback"


def test_merge_is_skipped_when_all_inputs_were_skipped(executor):
    with Flow("merge") as flow:
        m = merge(skip(), skip())
        after = identity(m)
    state = flow.run(executor=executor)
    assert state.result[m].is_skipped()
    assert state.result[after].is_skipped()


def test_merge_of_a_failed_branch_fails(executor):
    with Flow("merge") as flow:
        m = merge(fail(), skip())
    state = flow.run(executor=executor)
    assert isinstance(state.result[m], st.TriggerFailed)
    assert state.is_failed()


def test_merge_inside_a_case_block_runs_when_the_block_matches(executor):
    with Flow("merge in case") as flow:
        go = Parameter("go")
        a, b = label(1), label(2)
        with case(go, True):
            m = merge(a, b)
    assert flow.run(go=True, executor=executor).result[m].result == "label 1"


def test_merge_inside_a_case_block_is_skipped_when_the_block_does_not_match(executor):
    with Flow("merge in case") as flow:
        go = Parameter("go")
        a, b = label(1), label(2)
        with case(go, True):
            m = merge(a, b)
            after = identity(m)
    state = flow.run(go=False, executor=executor)
    assert state.result[a].result == "label 1"
    assert state.result[m].is_skipped()
    assert state.result[after].is_skipped()


def test_merge_with_inputs_inside_and_outside_a_non_matching_block_is_skipped(executor):
    with Flow("merge in case") as flow:
        go = Parameter("go")
        outside = label("outside")
        with case(go, True):
            inside = label("inside")
            m = merge(inside, outside)
    state = flow.run(go=False, executor=executor)
    assert state.result[inside].is_skipped()
    assert state.result[m].is_skipped()


@pytest.mark.parametrize(("outer", "inner", "expected"), [(1, 1, 2), (1, 0, -1), (0, 1, None)])
def test_merge_of_nested_case_branches(executor, outer, inner, expected):
    with Flow("nested merge") as flow:
        po, pi = Parameter("outer"), Parameter("inner")
        with case(po, 1):
            with case(pi, 1):
                a = double(po)
            with case(pi, 0):
                b = negate(po)
            m = merge(a, b)
    state = flow.run(outer=outer, inner=inner, executor=executor)
    if expected is None:
        assert state.result[m].is_skipped()
    else:
        assert state.result[m].result == expected


def test_merge_mapped_merges_item_by_item(executor):
    with Flow("mapped merge") as flow:
        numbers = identity([1, 2, 3])
        switch(is_even.map(numbers), {True: (a := double.map(numbers))}, mapped=True)
        m = merge(a, negate.map(numbers), mapped=True)
    state = flow.run(executor=executor)
    assert [c.result for c in state.result[m].map_states] == [-1, 4, -3]


def test_merge_needs_inputs():
    with Flow("merge"), pytest.raises(ValueError, match="at least one task"):
        merge()


def test_merge_must_not_skip_on_upstream_skip():
    with pytest.raises(ValueError, match="skip_on_upstream_skip=False"):
        Merge(skip_on_upstream_skip=True)


# -- switch ---------------------------------------------------------------------------------


@pytest.mark.parametrize("choice", ["a", "b", "c"])
def test_switch_runs_only_the_chosen_branch(executor, choice):
    with Flow("switch") as flow:
        which = Parameter("which")
        branches = {"a": label("a"), "b": label("b"), "c": label("c")}
        after = {k: identity(t) for k, t in branches.items()}
        switch(which, branches)
    state = flow.run(which=choice, executor=executor)
    assert state.is_successful()
    for key, t in branches.items():
        assert state.result[t].is_skipped() is (key != choice)
        assert state.result[after[key]].is_skipped() is (key != choice)
    assert state.result[branches[choice]].result == f"label {choice}"


def test_switch_adds_one_comparison_per_case():
    with Flow("switch") as flow:
        which = Parameter("which")
        a, b = label("a"), label("b")
        switch(which, {"a": a, "b": b})
    compares = flow.get_tasks(task_type=CompareValue)
    assert sorted(c.value for c in compares) == ["a", "b"]
    assert {t for c in compares for t in flow.downstream_tasks(c)} == {a, b}


def test_switch_mapped_decides_per_item(executor):
    with Flow("switch mapped") as flow:
        numbers = identity([1, 2, 3, 4])
        evens = double.map(numbers)
        odds = negate.map(numbers)
        switch(is_even.map(numbers), {True: evens, False: odds}, mapped=True)
    state = flow.run(executor=executor)
    assert [c.result for c in state.result[evens].map_states] == [None, 4, None, 8]
    assert [c.result for c in state.result[odds].map_states] == [-1, None, -3, None]


def test_switch_rejects_non_dict_cases():
    with Flow("switch"), pytest.raises(TypeError, match="dict of"):
        switch(identity(1), [label(1)])


def test_switch_rejects_task_keys():
    with Flow("switch"):
        cond = identity(1)
        with pytest.raises(TypeError, match="plain values, not tasks"):
            switch(cond, {identity(1): label(1)})


def test_switch_outside_a_flow_is_an_error():
    with pytest.raises(ValueError, match="active flow"):
        switch(identity, {1: label})


def test_compare_value_rejects_a_task():
    with Flow("compare") as flow:
        one = identity(1)
        # passing a task to a constructor also warns, as in Prefect 1
        with (
            pytest.raises(TypeError, match="not a task"),
            pytest.warns(UserWarning, match="A Task was passed as an argument to CompareValue"),
        ):
            CompareValue(one)
    assert flow.tasks == {one}


# -- ifelse ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("value", "taken"), [(5, "yes"), ("text", "yes"), (0, "no"), ([], "no")])
def test_ifelse_follows_the_truthiness_of_the_condition(executor, value, taken):
    with Flow("ifelse") as flow:
        cond = Parameter("cond")
        yes, no = label("yes"), label("no")
        ifelse(cond, yes, no)
        result = merge(yes, no)
    state = flow.run(cond=value, executor=executor)
    assert state.result[result].result == f"label {taken}"
    assert state.result[yes if taken == "no" else no].is_skipped()


def test_ifelse_without_a_false_branch(executor):
    with Flow("ifelse") as flow:
        cond = Parameter("cond")
        yes = label("yes")
        ifelse(cond, yes, None)
    assert flow.run(cond=False, executor=executor).result[yes].is_skipped()
    assert flow.run(cond=True, executor=executor).result[yes].result == "label yes"


def test_ifelse_mapped(executor):
    with Flow("ifelse mapped") as flow:
        numbers = identity([1, 2, 3])
        evens = double.map(numbers)
        odds = negate.map(numbers)
        ifelse(is_even.map(numbers), evens, odds, mapped=True)
        result = merge(evens, odds, mapped=True)
    state = flow.run(executor=executor)
    assert [c.result for c in state.result[result].map_states] == [-1, 4, -3]


@pytest.mark.parametrize("choice", ["values", "other"])
def test_switch_branch_that_runs_after_skips_is_skipped_when_not_chosen(executor, choice):
    with Flow("switch filter") as flow:
        which = Parameter("which")
        kept = FilterTask()(identity([1, None]))
        other = label("other")
        switch(which, {"values": kept, "other": other})
    state = flow.run(which=choice, executor=executor)
    assert state.is_successful()
    if choice == "values":
        assert state.result[kept].result == [1]
        assert state.result[other].is_skipped()
    else:
        assert state.result[kept].is_skipped()
        assert state.result[other].result == "label other"
