"""Flows written the way Prefect Core 1.x users write them, with only the package name changed.

Each test is a small, realistic program: class-based tasks with ``defaults_from_attrs``, the
functional API mixed with ``set_dependencies``, parameters, mapping with ``unmapped`` and
``flatten``, ``case``/``merge``, signals, triggers, state handlers, retries, results and the
``headwater.context`` keys users read inside tasks.
"""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import headwater
from headwater import Flow, Parameter, Task, case, flatten, task, unmapped
from headwater.engine import signals
from headwater.engine.results import LocalResult
from headwater.engine.state import Failed, Skipped, Success, TriggerFailed
from headwater.tasks.control_flow import merge
from headwater.triggers import all_finished, any_failed
from headwater.utilities.edges import mapped
from headwater.utilities.tasks import defaults_from_attrs


class Multiply(Task):
    def __init__(self, factor: int = 2, **kwargs):
        self.factor = factor
        super().__init__(**kwargs)

    @defaults_from_attrs("factor")
    def run(self, x, factor=None):
        return x * factor


@task
def extract(n):
    return list(range(1, n + 1))


@task
def chunk(xs, size):
    return [xs[i : i + size] for i in range(0, len(xs), size)]


@task
def add(x, y):
    return x + y


@task
def total(xs):
    return sum(xs)


def test_class_task_parameters_map_unmapped_flatten_and_reduce():
    triple = Multiply(factor=3, name="triple")
    with Flow("numbers") as flow:
        n = Parameter("n", default=4)
        offset = Parameter("offset", default=10)
        xs = extract(n)
        chunks = chunk(xs, 2)
        tripled = triple.map(flatten(chunks))
        shifted = add.map(tripled, unmapped(offset))
        result = total(shifted)

    state = flow.run()
    assert state.is_successful()
    assert state.result[result].result == sum(3 * x + 10 for x in range(1, 5))
    assert [s.result for s in state.result[shifted].map_states] == [13, 16, 19, 22]

    state = flow.run(parameters={"n": 2, "offset": 0})
    assert state.result[result].result == 9
    assert flow.get_tasks(name="triple") == [tripled]


def test_imperative_api_with_keyword_edges():
    flow = Flow("imperative")
    a = Parameter("a")
    b = Parameter("b", default=5)
    plus = add.copy()
    flow.set_dependencies(plus, keyword_tasks={"x": a, "y": b})
    double = Multiply()
    flow.add_edge(plus, double, key="x")

    state = flow.run(a=1)
    assert state.result[double].result == 12
    assert flow.terminal_tasks() == {double}
    assert set(flow.parameters()) == {a, b}


def test_case_merge_and_skip_signal():
    @task
    def classify(x):
        return "big" if x > 10 else "small"

    @task
    def shout(x):
        return f"{x}!"

    @task
    def whisper(x):
        return f"...{x}"

    @task
    def maybe_skip(x):
        if x is None:
            raise signals.SKIP("nothing to do")
        return x

    with Flow("branches") as flow:
        x = Parameter("x")
        kind = classify(x)
        with case(kind, "big"):
            loud = shout(x)
        with case(kind, "small"):
            quiet = whisper(x)
        said = merge(loud, quiet)
        checked = maybe_skip(said)

    big = flow.run(x=20)
    assert big.result[said].result == "20!"
    assert isinstance(big.result[quiet], Skipped)
    assert big.result[checked].result == "20!"

    small = flow.run(x=3)
    assert small.result[said].result == "...3"
    assert isinstance(small.result[loud], Skipped)
    assert small.is_successful()


def test_triggers_state_handlers_and_reference_tasks():
    seen = []

    def record(obj, old, new):
        seen.append((obj.name, type(new).__name__))
        return new

    @task(state_handlers=[record])
    def boom():
        raise ValueError("bad data")

    @task(trigger=any_failed)
    def alert():
        return "alerted"

    @task(trigger=all_finished)
    def cleanup():
        return "cleaned"

    @task
    def never():
        return "unreachable"

    with Flow("handlers", state_handlers=[record]) as flow:
        b = boom()
        a = alert(upstream_tasks=[b])
        c = cleanup(upstream_tasks=[b])
        n = never(upstream_tasks=[b])

    state = flow.run()
    assert isinstance(state, Failed)
    assert isinstance(state.result[n], TriggerFailed)
    assert state.result[a].result == "alerted"
    assert state.result[c].result == "cleaned"
    assert ("boom", "Failed") in seen and ("handlers", "Failed") in seen

    flow.set_reference_tasks([c])
    assert flow.run().is_successful()


def test_retries_context_and_results_on_disk(tmp_path: Path):
    attempts = tmp_path / "attempts.txt"

    @task(max_retries=2, retry_delay=datetime.timedelta(seconds=0))
    def flaky():
        count = int(attempts.read_text()) if attempts.exists() else 0
        attempts.write_text(str(count + 1))
        if count < 2:
            raise ConnectionError("try again")
        return headwater.context.get("task_run_count")

    @task(
        checkpoint=True, result=LocalResult(dir=str(tmp_path), location="{task_name}-{today}.json")
    )
    def report(run_count):
        ctx = headwater.context
        return {"flow": ctx.flow_name, "task": ctx.task_name, "run_count": run_count}

    with Flow("retrying") as flow:
        r = report(flaky())

    state = flow.run(context={"checkpointing": True})
    assert state.is_successful()
    assert state.result[r].result == {"flow": "retrying", "task": "report", "run_count": 3}
    (stored,) = tmp_path.glob("report-*.json")
    assert re.fullmatch(r"report-\d{4}-\d{2}-\d{2}\.json", stored.name)
    assert state.result[r].load_result().result == state.result[r].result


def test_mapped_marker_and_map_index_in_context():
    @task
    def label(item, prefix):
        return f"{prefix}{headwater.context.map_index}:{item}"

    with Flow("labels") as flow:
        out = label(mapped(["a", "b", "c"]), prefix="#")

    state = flow.run()
    assert [s.result for s in state.result[out].map_states] == ["#0:a", "#1:b", "#2:c"]
    assert isinstance(state.result[out].map_states[0], Success)
