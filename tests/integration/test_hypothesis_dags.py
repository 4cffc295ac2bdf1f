"""Property tests: random DAGs run correctly, and final states follow the reference-task rules."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st_

from headwater import Flow, Task
from headwater.engine import state as st


@st_.composite
def dags(draw, max_nodes: int = 12):
    """``(n, edges)`` with edges ``(i, j)``, ``i < j``: acyclic by construction."""
    n = draw(st_.integers(min_value=1, max_value=max_nodes))
    pairs = [(i, j) for j in range(n) for i in range(j)]
    edges = draw(st_.lists(st_.sampled_from(pairs), unique=True, max_size=3 * n)) if pairs else []
    # shuffle the insertion order so that it does not coincide with a topological order
    order = draw(st_.permutations(range(n)))
    return n, edges, order


class Recorder(Task):
    def __init__(self, log: list[str], fail: bool = False, **kwargs):
        self.log = log
        self.fail = fail
        super().__init__(**kwargs)

    def run(self):
        self.log.append(self.name)
        if self.fail:
            raise RuntimeError(f"{self.name} fails")
        return self.name


def build(n, edges, order, failing=frozenset()):
    log: list[str] = []
    tasks = [Recorder(log, fail=i in failing, name=f"t{i}") for i in range(n)]
    flow = Flow("random")
    for i in order:
        flow.add_task(tasks[i])
    for i, j in edges:
        flow.add_edge(tasks[i], tasks[j])
    return flow, tasks, log


@settings(max_examples=60, deadline=None)
@given(dags())
def test_random_dags_run_every_task_once_in_topological_order(dag):
    n, edges, order = dag
    flow, tasks, log = build(n, edges, order)
    state = flow.run()
    assert state.is_successful()
    assert sorted(log) == sorted(t.name for t in tasks)  # each exactly once
    position = {name: k for k, name in enumerate(log)}
    for i, j in edges:
        assert position[f"t{i}"] < position[f"t{j}"]
    assert all(state.result[t].result == t.name for t in tasks)


@settings(max_examples=60, deadline=None)
@given(dags(), st_.data())
def test_final_state_follows_the_reference_task_rules(dag, data):
    n, edges, order = dag
    failing = data.draw(st_.sets(st_.integers(0, n - 1)), label="failing")
    use_custom_refs = data.draw(st_.booleans(), label="custom reference tasks")
    flow, tasks, log = build(n, edges, order, failing)
    if use_custom_refs:
        refs = data.draw(st_.sets(st_.integers(0, n - 1), min_size=1), label="reference tasks")
        flow.set_reference_tasks([tasks[i] for i in refs])
    else:
        downstream = {i for i, _ in edges}
        refs = {i for i in range(n) if i not in downstream}  # terminal tasks

    # model: a task fails when it raises, or (default trigger) when any upstream failed
    ups: dict[int, set[int]] = {j: set() for j in range(n)}
    for i, j in edges:
        ups[j].add(i)
    failed: dict[int, bool] = {}
    for j in range(n):  # edges go from lower to higher index
        failed[j] = j in failing or any(failed[i] for i in ups[j])

    state = flow.run()
    for j, t in enumerate(tasks):
        s = state.result[t]
        if j in failing and not any(failed[i] for i in ups[j]):
            assert type(s) is st.Failed
        elif failed[j]:
            assert type(s) is st.TriggerFailed
        else:
            assert type(s) is st.Success
    # a task whose upstream failed never ran
    assert sorted(log) == sorted(f"t{j}" for j in range(n) if not any(failed[i] for i in ups[j]))
    if any(failed[i] for i in refs):
        assert type(state) is st.Failed
        assert state.message == "Some reference tasks failed."
    else:
        assert type(state) is st.Success
        assert state.message == "All reference tasks succeeded."
