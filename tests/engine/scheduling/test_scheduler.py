"""The scheduler's jobs, one by one: ready work, waiting counts, maps, children, completion."""

from __future__ import annotations

from typing import Any

from headwater import Flow, task
from headwater.engine.scheduling.plan import make_plan
from headwater.engine.scheduling.scheduler import Scheduler, run_graph
from headwater.engine.scheduling.slots import NOT_YET
from headwater.engine.state import Mapped, Success
from headwater.engine.task_runner import TaskRunner
from headwater.executors import LocalExecutor


@task
def inc(x: int) -> int:
    return x + 1


@task
def total(xs: list[int]) -> int:
    return sum(xs)


class RecordingRunner(TaskRunner):
    """A task runner that records the calls it gets, in the order they run."""

    calls: list[tuple[str, int | None]] = []

    def run_unit(self, state: Any, upstream: Any, ctx: Any, map_index: int | None) -> Any:
        RecordingRunner.calls.append((self.task.name, map_index))
        return super().run_unit(state, upstream, ctx, map_index)


def scheduler_for(flow: Flow, runner_cls: Any = TaskRunner, **kwargs: Any) -> Scheduler:
    return Scheduler(
        flow,
        runner_cls,
        kwargs.get("task_states", {}),
        {},
        set(flow.tasks),
        None,
        LocalExecutor(),
        {},
    )


def chain_flow(n: int) -> tuple[Flow, list[Any]]:
    with Flow("chain") as flow:
        x: Any = 0
        made = []
        for _ in range(n):
            x = inc(x)
            made.append(x)
    return flow, made


class TestNextReady:
    def test_roots_come_in_topological_order_when_nothing_else_is_ready(self) -> None:
        with Flow("roots") as flow:
            a, b, c = inc(1), inc(2), inc(3)
        s = scheduler_for(flow)
        assert [s.next_ready(), s.next_ready(), s.next_ready()] == [(a, -1), (b, -1), (c, -1)]
        assert s.next_ready() is None

    def test_ready_work_comes_before_the_next_root(self) -> None:
        with Flow("roots") as flow:
            a, b = inc(1), inc(2)
        s = scheduler_for(flow)
        assert s.next_ready() == (a, -1)
        s.rs.ready.append((b, 7))
        assert s.next_ready() == (b, 7)
        assert s.next_ready() == (b, -1)


class TestCountDown:
    def test_a_task_is_ready_when_its_last_condition_is_met(self) -> None:
        with Flow("join") as flow:
            a, b = inc(1), inc(2)
            c = total([a, b])
        s = scheduler_for(flow)
        assert s.rs.need[c] == 1  # waits for the list task that gathers a and b
        gather = next(e.upstream_task for e in s.up[c])
        assert s.rs.need[gather] == 2
        s.count_down(gather)
        assert s.rs.need[gather] == 1 and s.rs.ready == []
        s.count_down([gather])
        assert s.rs.need[gather] == 0 and s.rs.ready == [(gather, -1)]

    def test_none_counts_nothing_down(self) -> None:
        flow, _ = chain_flow(2)
        s = scheduler_for(flow)
        before = dict(s.rs.need)
        s.count_down(None)
        assert s.rs.need == before


class TestSubmitTask:
    def test_submitting_a_task_wakes_its_downstream_task(self) -> None:
        flow, (a, b) = chain_flow(2)
        s = scheduler_for(flow)
        s.submit_task(a, None)
        assert s.rs.handles[a].is_successful() and s.rs.handles[a].result == 1
        assert s.rs.ready == [(b, -1)]


class TestMaps:
    def test_expanding_a_map_pushes_its_children_first_to_last(self) -> None:
        with Flow("map") as flow:
            m = inc.map([1, 2, 3])
        s = scheduler_for(flow)
        for t in flow.sorted_tasks():
            if t is not m:
                s.submit_task(t, None)
        s.rs.ready.clear()
        s.expand_map(m, None)
        assert s.rs.handles[m] == [NOT_YET] * 3
        assert s.rs.ready == [(m, 2), (m, 1), (m, 0)]

    def test_a_child_of_a_map_over_a_map_is_ready_when_its_upstream_child_is_submitted(
        self,
    ) -> None:
        with Flow("map of map") as flow:
            m = inc.map([1, 2])
            mm = inc.map(m)
        s = scheduler_for(flow)
        for t in flow.sorted_tasks():
            if t not in (m, mm):
                s.submit_task(t, None)
        s.rs.ready.clear()
        s.expand_map(m, None)
        assert s.rs.ready == [(m, 1), (m, 0), (mm, -1)]  # mm expands before m's children run
        s.next_ready()
        s.expand_map(mm, None)
        assert s.rs.handles[mm] == [NOT_YET, NOT_YET] and not s.child_ready(mm, 0)
        s.rs.ready.clear()
        s.submit_child(m, 0)
        assert s.rs.ready == [(mm, 0)]
        assert s.child_ready(mm, 0) and not s.child_ready(mm, 1)

    def test_a_map_is_complete_when_its_last_child_is_submitted(self) -> None:
        with Flow("reduce") as flow:
            m = inc.map([1, 2])
            r = total(m)
        s = scheduler_for(flow)
        for t in flow.sorted_tasks():
            if t not in (m, r):
                s.submit_task(t, None)
        s.rs.ready.clear()
        s.expand_map(m, None)
        s.rs.ready.clear()
        s.submit_child(m, 1)
        assert s.rs.need[r] == 1
        s.submit_child(m, 0)
        assert s.rs.need[r] == 0 and s.rs.ready == [(r, -1)]

    def test_chains_of_maps_run_index_by_index(self) -> None:
        with Flow("chained maps") as flow:
            a = inc.map([10, 20, 30])
            b = inc.map(a)
            inc.map(b)
        RecordingRunner.calls = []
        states = run_graph(
            flow, RecordingRunner, {}, {}, set(flow.tasks), None, LocalExecutor(), {}
        )
        children = [c for c in RecordingRunner.calls if c[1] is not None]
        assert [i for _, i in children] == [0, 0, 0, 1, 1, 1, 2, 2, 2]
        assert all(s.is_successful() for s in states.values())


class TestKnownStates:
    def test_a_task_given_a_finished_state_keeps_it_and_is_not_called(self) -> None:
        flow, (a, b) = chain_flow(2)
        given = Success(result=41)
        RecordingRunner.calls = []
        states = run_graph(
            flow, RecordingRunner, {a: given}, {}, set(flow.tasks), None, LocalExecutor(), {}
        )
        assert states[a] is given
        assert RecordingRunner.calls == [(b.name, None)]

    def test_a_mapped_state_reruns_its_children(self) -> None:
        with Flow("map") as flow:
            m = inc.map([1, 2])
        states = run_graph(
            flow,
            TaskRunner,
            {m: Mapped(map_states=[Success(result=5), Success(result=6)])},
            {},
            set(flow.tasks),
            None,
            LocalExecutor(),
            {},
        )
        assert type(states[m]) is Mapped
        assert [c.result for c in states[m].map_states] == [5, 6]


def test_the_plan_counts_one_condition_per_upstream_task() -> None:
    with Flow("diamond") as flow:
        a = inc(1)
        b, c = inc(a), inc(a)
        d = total([b, c])
    up = {t: list(es) for t, es in flow.all_upstream_edges().items()}
    plan = make_plan(flow.sorted_tasks(), up)
    gather = next(iter(flow.upstream_tasks(d)))
    assert (plan.need[b], plan.need[c], plan.need[gather], plan.need[d]) == (1, 1, 2, 1)
    assert set(plan.wait_complete[a]) == {b, c}
    assert plan.roots[0] is a
    assert not plan.mapped_tasks and not plan.childwise


def test_the_plan_is_made_once_per_graph_version() -> None:
    from headwater.engine.scheduling.plan import plan_for

    flow, (a, b) = chain_flow(2)
    first = plan_for(flow)
    assert plan_for(flow) is first
    with flow:
        c = inc(b)
    again = plan_for(flow)
    assert again is not first and again.need[c] == 1
    assert plan_for(flow.copy()) is not again  # a copy has a graph of its own
