"""Run-level behaviour, checked on every executor (``executor`` fixture in tests/conftest.py).

Mapping, depth-first mapped chains, retries, triggers, timeouts, looping, state handlers, the
context a task sees, checkpointing and targets must not depend on where tasks run. The task
functions live at module level so process and distributed workers can unpickle them; tasks
that must leave a trace write files under ``tmp_path``, which every worker can see.
"""

from __future__ import annotations

import functools
import os
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import headwater
from headwater import Flow, Parameter, flatten, task, unmapped
from headwater.engine import signals
from headwater.engine.results import LocalResult
from headwater.engine.state import (
    Cached,
    Failed,
    Looped,
    Mapped,
    Retrying,
    State,
    Success,
    TimedOut,
    TriggerFailed,
)
from headwater.executors import LocalExecutor
from headwater.triggers import all_failed, always_run, any_failed
from headwater.utilities.configuration import set_temporary_config


# -- tasks ----------------------------------------------------------------------------------------
@task
def numbers(n: int) -> list[int]:
    return list(range(n))


@task
def inc(x: int) -> int:
    return x + 1


@task
def plus(x: int, y: int) -> int:
    return x + y


@task
def total(xs: list[int]) -> int:
    return sum(xs)


@task
def whoami(x: Any) -> tuple[Any, Any, Any]:
    ctx = headwater.context
    return ctx.task_full_name, ctx.map_index, x


@task
def nested() -> list[list[int]]:
    return [[1, 2], [], [3]]


def _wait_for_file(path: Path, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not path.exists():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def _start_rank(events: str, n: int) -> int:
    """Claim the next start rank (0 = first child to start) atomically, across processes."""
    for rank in range(n):
        try:
            os.close(os.open(os.path.join(events, f"rank-{rank}"), os.O_CREAT | os.O_EXCL))
        except FileExistsError:
            continue
        return rank
    raise AssertionError("more children started than were mapped")


@task
def first_step(x: int, n: int, events: str) -> dict[str, Any]:
    """The last child of step 1 to start waits until some child of step 2 has started.

    Depth-first, some child of step 2 starts while step 1 is still running, so the wait ends at
    once (sequential executors) or as soon as another worker gets to it (parallel ones).
    Breadth-first, no child of step 2 can start before this one ends: it gives up after 60 s.
    """
    saw_second = None
    if _start_rank(events, n) == n - 1:
        deadline = time.monotonic() + 60
        saw_second = False
        while time.monotonic() < deadline:
            if any(name.startswith("second-") for name in os.listdir(events)):
                saw_second = True
                break
            time.sleep(0.01)
    return {"x": x, "saw_second_step_start": saw_second}


@task
def second_step(item: dict[str, Any], events: str) -> int:
    Path(events, f"second-{item['x']}-started").touch()
    return item["x"] * 10


@task(max_retries=1, retry_delay=timedelta(milliseconds=200))
def flaky(marker: str, other_done: str) -> dict[str, Any]:
    """Fails on its first run; the retry reports the run count and what else had run."""
    if not os.path.exists(marker):
        Path(marker).touch()
        raise ValueError("first attempt fails")
    return {
        "run_count": headwater.context.task_run_count,
        "other_task_ran_before_retry": os.path.exists(other_done),
    }


@task
def independent(path: str) -> str:
    Path(path).touch()
    return "done"


@task
def boom() -> None:
    raise ValueError("boom")


@task
def constant_one() -> int:
    return 1


@task
def report(x: Any = None) -> str:
    return "ran"


@task(timeout=timedelta(milliseconds=300))
def too_slow() -> str:
    for _ in range(600):  # short sleeps, so the timeout's interrupt lands promptly
        time.sleep(0.05)
    return "finished"


@task(timeout=5)
def fast_enough() -> str:
    return "finished"


@task
def countdown(start: int) -> int:
    value = headwater.context.get("task_loop_result") or start
    if value > 1:
        raise signals.LOOP(message=f"value {value}", result=value - 1)
    return headwater.context.task_loop_count


def record_transition(path: str, obj: Any, old: State, new: State) -> State | None:
    with open(path, "a") as fh:
        fh.write(f"{type(old).__name__}->{type(new).__name__}\n")
    return None


def rescue_failure(obj: Any, old: State, new: State) -> State | None:
    if isinstance(new, Failed):
        return Success(message="rescued by a state handler", result="rescued")
    return None


@task
def context_keys() -> list[str]:
    return sorted(k for k in headwater.context.to_dict() if not k.startswith("_"))  # public keys


@task
def context_values(x: int) -> dict[str, Any]:
    ctx = headwater.context
    return {
        "flow_name": ctx.flow_name,
        "task_name": ctx.task_name,
        "task_full_name": ctx.task_full_name,
        "map_index": ctx.map_index,
        "parameters": dict(ctx.parameters),
        "task_tags": set(ctx.task_tags),
        "checkpointing": ctx.checkpointing,
        "flow_run_id_set": bool(ctx.flow_run_id),
        "today": ctx.today,
    }


@task
def produce(value: int, log: str) -> int:
    with open(log, "a") as fh:
        fh.write("ran\n")
    return value


# -- mapping ---------------------------------------------------------------------------------------
def test_mapping_reduce_and_child_names(executor: Any) -> None:
    with Flow("mapping") as flow:
        n = Parameter("n", default=3)
        xs = numbers(n)
        ys = inc.map(xs)
        names = whoami.map(ys)
        s = total(ys)
    state = flow.run(executor=executor)
    assert state.is_successful()
    mapped = state.result[ys]
    assert isinstance(mapped, Mapped)
    assert [c.result for c in mapped.map_states] == [1, 2, 3]
    assert all(type(c) is Success for c in mapped.map_states)
    assert [c.result for c in state.result[names].map_states] == [
        ("whoami[0]", 0, 1),
        ("whoami[1]", 1, 2),
        ("whoami[2]", 2, 3),
    ]
    assert state.result[s].result == 6


def test_empty_map_gives_empty_mapped_and_an_empty_reduce(executor: Any) -> None:
    with Flow("empty") as flow:
        ys = inc.map(numbers(0))
        s = total(ys)
    state = flow.run(executor=executor)
    assert state.is_successful()
    assert isinstance(state.result[ys], Mapped)
    assert state.result[ys].map_states == []
    assert state.result[s].result == 0


def test_flatten_and_unmapped(executor: Any) -> None:
    with Flow("flatten") as flow:
        ys = plus.map(flatten(nested()), unmapped(10))
        pairs = whoami.map(ys)
    state = flow.run(executor=executor, return_tasks=[ys, pairs])
    assert [c.result for c in state.result[ys].map_states] == [11, 12, 13]
    assert [c.result[0] for c in state.result[pairs].map_states] == [
        "whoami[0]",
        "whoami[1]",
        "whoami[2]",
    ]


def test_mapped_chains_run_depth_first(executor: Any, tmp_path: Path) -> None:
    """Some child of step 2 starts while a child of step 1 is still running.

    The child of step 1 that starts last blocks until it sees a child of step 2 start, so a
    breadth-first executor (step 2 only after all of step 1) makes it give up after 60 s and
    report ``saw_second_step_start=False`` — on parallel executors as on sequential ones.
    """
    n = 4
    with Flow("depth-first") as flow:
        firsts = first_step.map(numbers(n), n=unmapped(n), events=unmapped(str(tmp_path)))
        seconds = second_step.map(firsts, events=unmapped(str(tmp_path)))
    state = flow.run(executor=executor)
    assert state.is_successful(), state.result
    saw = [c.result["saw_second_step_start"] for c in state.result[firsts].map_states]
    assert sorted(saw, key=str) == [None, None, None, True]
    assert [c.result for c in state.result[seconds].map_states] == [0, 10, 20, 30]


# -- retries, triggers, timeouts, looping ------------------------------------------------------
def test_retry_waits_and_reruns_while_other_tasks_proceed(executor: Any, tmp_path: Path) -> None:
    marker, other = str(tmp_path / "attempted"), str(tmp_path / "other-done")
    with Flow("retry") as flow:
        r = flaky(marker, other)
        i = independent(other)
        downstream = inc(constant_one(upstream_tasks=[r]))
    state = flow.run(executor=executor)
    assert state.is_successful(), state.result
    assert state.result[r].result == {"run_count": 2, "other_task_ran_before_retry": True}
    assert state.result[i].result == "done"
    assert state.result[downstream].result == 2


def test_retrying_state_without_waiting_through_runner(executor: Any, tmp_path: Path) -> None:
    """FlowRunner.run makes one pass: the failed attempt is left Retrying with a start time."""
    from headwater.engine.flow_runner import FlowRunner

    with Flow("one-pass") as flow:
        r = flaky(str(tmp_path / "attempted"), str(tmp_path / "other"))
    state = FlowRunner(flow).run(executor=executor, return_tasks=[r])
    assert state.is_running()
    retrying = state.result[r]
    assert isinstance(retrying, Retrying)
    assert retrying.run_count == 1
    assert retrying.start_time is not None


def test_triggers(executor: Any) -> None:
    with Flow("triggers") as flow:
        bad = boom()
        good = constant_one()
        default = report(upstream_tasks=[bad, good])
        on_all_failed = report(task_args={"trigger": all_failed}, upstream_tasks=[bad])
        on_any_failed = report(task_args={"trigger": any_failed}, upstream_tasks=[bad, good])
        finally_ = report(task_args={"trigger": always_run}, upstream_tasks=[bad, default])
        not_all_failed = report(task_args={"trigger": all_failed}, upstream_tasks=[good])
    state = flow.run(executor=executor)
    results = state.result
    assert isinstance(results[bad], Failed)
    assert "boom" in results[bad].message
    assert isinstance(results[default], TriggerFailed)
    assert results[on_all_failed].result == "ran"
    assert results[on_any_failed].result == "ran"
    assert results[finally_].result == "ran"
    assert isinstance(results[not_all_failed], TriggerFailed)
    assert "all_failed" in results[not_all_failed].message
    assert state.is_failed()


def test_timeout_gives_timed_out(executor: Any) -> None:
    with Flow("timeouts") as flow:
        slow = too_slow()
        fast = fast_enough()
        after_slow = report(slow)
    state = flow.run(executor=executor)
    assert type(state.result[slow]) is TimedOut
    assert state.result[slow].message == "Task timed out during execution."
    assert state.result[fast].result == "finished"
    assert isinstance(state.result[after_slow], TriggerFailed)


def test_loop_reruns_the_task_with_loop_context(executor: Any) -> None:
    with Flow("loop") as flow:
        looped = countdown(4)
        mapped = countdown.map([1, 3])
    state = flow.run(executor=executor)
    assert state.is_successful()
    assert type(state.result[looped]) is Success
    assert state.result[looped].result == 4  # loops 1, 2, 3 gave LOOP; loop 4 returned
    assert [c.result for c in state.result[mapped].map_states] == [1, 3]
    assert not isinstance(state.result[looped], Looped)


# -- state handlers ------------------------------------------------------------------------------
def test_state_handlers_run_and_can_replace_states(executor: Any, tmp_path: Path) -> None:
    log = tmp_path / "transitions.txt"
    seen_by_flow: list[tuple[str, str]] = []

    def flow_handler(flow: Flow, old: State, new: State) -> None:
        seen_by_flow.append((type(old).__name__, type(new).__name__))

    recorded = constant_one.copy(state_handlers=[functools.partial(record_transition, str(log))])
    rescued = boom.copy(state_handlers=[rescue_failure])
    with Flow("handlers", state_handlers=[flow_handler]) as flow:
        a = recorded()
        b = rescued()
        c = report(b)
    state = flow.run(executor=executor)
    assert log.read_text().splitlines() == ["Pending->Running", "Running->Success"]
    assert state.result[a].result == 1
    assert state.result[b].message == "rescued by a state handler"
    assert state.result[c].result == "ran"
    # flow.run starts a run from Scheduled (now), as Prefect Core 1.x does
    assert seen_by_flow == [("Scheduled", "Running"), ("Running", "Success")]


# -- context ----------------------------------------------------------------------------------
def _keys_and_values(executor: Any) -> tuple[list[str], list[dict[str, Any]]]:
    tagged = context_values.copy(tags=["tag-a"])
    with Flow("context") as flow:
        p = Parameter("p", default=7)
        keys = context_keys()
        values = tagged.map([p, p])
    state = flow.run(executor=executor, p=8)
    assert state.is_successful(), state.result
    return state.result[keys].result, [c.result for c in state.result[values].map_states]


def test_tasks_see_the_same_context_as_on_local_executor(executor: Any) -> None:
    local_keys, local_values = _keys_and_values(LocalExecutor())
    keys, values = _keys_and_values(executor)
    assert keys == local_keys
    assert values == local_values
    assert values[1]["task_full_name"] == "context_values[1]"
    assert values[1]["map_index"] == 1
    assert values[1]["parameters"] == {"p": 8}
    assert values[1]["task_tags"] == {"tag-a"}
    for key in ("flow_name", "task_name", "map_index", "parameters", "task_run_count"):
        assert key in keys


# -- checkpointing and targets -----------------------------------------------------------------
def test_checkpointing_through_context_writes_on_every_executor(
    executor: Any, tmp_path: Path
) -> None:
    result = LocalResult(dir=str(tmp_path), location="{task_name}-{map_index}.pkl")
    saved = inc.copy(result=result)
    with Flow("checkpoint") as flow:
        ys = saved.map([1, 2])
    state = flow.run(executor=executor, context={"checkpointing": True})
    assert state.is_successful()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["inc-0.pkl", "inc-1.pkl"]
    assert [result.read(f"inc-{i}.pkl").value for i in (0, 1)] == [2, 3]
    child = state.result[ys].map_states[1]
    assert child._result.location.endswith("inc-1.pkl")


def test_checkpointing_through_config(executor: Any, tmp_path: Path) -> None:
    result = LocalResult(dir=str(tmp_path), location="{task_name}.pkl")
    saved = total.copy(result=result)
    with Flow("checkpoint-config") as flow:
        saved([1, 2, 3])
    flow.run(executor=executor)
    assert list(tmp_path.iterdir()) == []  # off by default
    with set_temporary_config({"flows.checkpointing": True}):
        state = flow.run(executor=executor)
    assert state.is_successful()
    assert result.read("total.pkl").value == 6


def test_target_second_run_is_cached_and_reads_the_value_back(
    executor: Any, tmp_path: Path
) -> None:
    log = tmp_path / "runs.log"
    targeted = produce.copy(
        result=LocalResult(dir=str(tmp_path / "results")), target="{flow_name}-{task_name}.pkl"
    )
    with Flow("targets") as flow:
        value = targeted(41, str(log))
        out = inc(value)
    first = flow.run(executor=executor, context={"checkpointing": True})
    second = flow.run(executor=executor, context={"checkpointing": True})
    assert type(first.result[value]) is Success
    assert (tmp_path / "results" / "targets-produce.pkl").exists()
    assert type(second.result[value]) is Cached
    assert second.result[value].result == 41
    assert second.result[out].result == 42
    assert log.read_text() == "ran\n"
