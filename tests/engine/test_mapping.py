"""Mapping: when a mapped task expands, what its children see, and ``flatten``."""

from __future__ import annotations

import logging

import pendulum
import pytest

from headwater import Flow, flatten, task, unmapped
from headwater.engine import signals
from headwater.engine import state as st
from headwater.engine.flow_runner import FlowRunner
from headwater.engine.mapping import NO_MAPPABLE_UPSTREAM, UNMAPPABLE_RESULT


@task
def inc(x):
    return x + 1


@task
def add(x, y):
    return x + y


@task
def boom():
    raise ValueError("boom")


@task
def nest(x):
    if x == 2:
        raise signals.SKIP("two")
    if x == 3:
        raise ValueError("three")
    return [x, x]


@task
def ident(x):
    return x


class TestParentChecks:
    def test_no_successful_mapped_upstream(self):
        with Flow("f") as flow:
            m = inc.map(boom())
        s = flow.run().result[m]
        assert type(s) is st.Failed and s.message == NO_MAPPABLE_UPSTREAM

    def test_an_unmappable_result_names_the_culprit_in_the_result(self):
        with Flow("f") as flow:
            m = inc.map(ident(5))
        s = flow.run().result[m]
        assert s.message == UNMAPPABLE_RESULT
        assert isinstance(s.result, TypeError)
        assert "'ident'" in str(s.result) and "int" in str(s.result)

    def test_scheduled_for_later_stays_scheduled(self):
        with Flow("f") as flow:
            m = inc.map([1, 2])
        later = st.Scheduled(start_time=pendulum.now("UTC").add(hours=1))
        state = FlowRunner(flow).run(task_states={m: later}, return_tasks=[m])
        assert state.is_running()
        assert state.result[m] is later

    def test_state_handlers_see_the_parent_become_mapped(self):
        seen = []

        @task(state_handlers=[lambda t, old, new: seen.append(type(new).__name__)])
        def watched(x):
            return x

        with Flow("f") as flow:
            watched.map([1])
        flow.run()
        assert seen == ["Mapped", "Running", "Success"]

    def test_a_skipped_unmapped_upstream_skips_the_whole_task(self):
        from headwater import case

        with Flow("f") as flow:
            cond = ident(False)
            with case(cond, True):
                m = inc.map([1, 2])
        s = flow.run().result[m]
        assert s.is_skipped() and type(s) is not st.Mapped

    def test_an_unfinished_unmapped_upstream_leaves_it_pending(self):
        with Flow("f") as flow:
            later = ident(1)
            m = add.map([1, 2], y=unmapped(later))
        retry = st.Retrying(start_time=pendulum.now("UTC").add(hours=1))
        state = FlowRunner(flow).run(task_states={later: retry}, return_tasks=[m])
        assert state.is_running()
        assert type(state.result[m]) is st.Pending


class TestReruns:
    def test_a_rerun_without_upstream_results_keeps_the_number_of_children(self):
        with Flow("f") as flow:
            n = ident([1, 2, 3])
            x = ident.map(n)
        state = FlowRunner(flow).run(
            task_states={n: st.Success(), x: st.Mapped(map_states=[st.Pending()] * 3)},
            return_tasks=[x],
        )
        assert state.is_successful()
        assert state.result[x].result == [None, None, None]

    def test_children_with_no_prior_state_run(self):
        with Flow("f") as flow:
            m = inc.map([1, 1])
        prior = st.Mapped(map_states=[None, st.Success(result=100)])
        state = FlowRunner(flow).run(task_states={m: prior}, return_tasks=[m])
        assert state.result[m].result == [2, 100]


class TestFlatten:
    def test_flatten_over_mapped_children_keeps_failed_and_skipped_ones(self):
        with Flow("f") as flow:
            out = ident.map(flatten(nest.map([1, 2, 3, 4])))
        children = flow.run().result[out].map_states
        assert [type(c).__name__ for c in children] == [
            "Success",
            "Success",
            "Skipped",
            "TriggerFailed",
            "Success",
            "Success",
        ]
        assert [c.result for c in children if type(c) is st.Success] == [1, 1, 4, 4]

    def test_a_child_that_is_not_a_sequence_passes_unchanged_with_a_warning(self, caplog):
        @task
        def maybe_list(x):
            return x if x == 2 else [x]

        caplog.set_level(logging.WARNING)
        with Flow("f") as flow:
            out = inc.map(flatten(maybe_list.map([1, 2, 3])))
        assert flow.run().result[out].result == [2, 3, 4]
        assert "`flatten` was used on upstream task that did not return an iterable" in caplog.text

    def test_a_reduce_with_flatten(self):
        with Flow("f") as flow:
            total = ident(flatten(ident.map([[1], [2, 3]])))
        assert flow.run().result[total].result == [1, 2, 3]

    def test_flatten_of_an_unmapped_input(self):
        @task
        def pair(x, ys):
            return [x, *ys]

        with Flow("f") as flow:
            out = pair.map([1, 2], ys=unmapped(flatten(ident([[10], [20]]))))
        assert flow.run().result[out].result == [[1, 10, 20], [2, 10, 20]]

    def test_flatten_of_something_not_nested_is_left_alone(self):
        with Flow("f") as flow:
            out = inc.map(flatten([1]))
        assert flow.run().result[out].result == [2]

    def test_flatten_of_a_single_value_is_unmappable(self):
        with Flow("f") as flow:
            out = inc.map(flatten(ident(1)))
        assert flow.run().result[out].message == UNMAPPABLE_RESULT


@pytest.mark.parametrize("kind", ["local", "dask-sync", "dask-threads"])
def test_flatten_on_every_local_executor(kind):
    from headwater.executors import LocalDaskExecutor, LocalExecutor

    ex = LocalExecutor() if kind == "local" else LocalDaskExecutor(kind.removeprefix("dask-"))
    with Flow("f") as flow:
        out = ident.map(flatten(nest.map([1, 4])))
        total = ident(flatten(nest.map([1, 4])))
    state = flow.run(executor=ex)
    assert state.result[out].result == [1, 1, 4, 4]
    assert state.result[total].result == [1, 1, 4, 4]
