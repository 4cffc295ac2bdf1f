"""Bad input fails at the call that takes it, with the documented exception and a message
naming the culprit.

``BAD_INPUTS`` lists every mistake checked when it is made (building a task or flow, calling a
task, entering ``flow.run``): each case gives the exception type and the words its message must
contain (the argument, the task/parameter/flow and the value given, and the fix). A user config
file that is not UTF-8 has a test of its own. ``RUN_FAILURES`` lists the mistakes that can only
show while a flow runs (a callback that raises, a checkpoint that cannot be written, a full
temporary directory...): the run's ``Failed`` state must name them. Together they are the list
of bad inputs covered: ``len(BAD_INPUTS) + 1 + len(RUN_FAILURES)``.
"""

from __future__ import annotations

import datetime
import errno
import os
from collections.abc import Callable
from typing import Any

import pytest

from headwater import Flow, Parameter, Task, apply_map, task
from headwater.engine.flow_runner import FlowRunner
from headwater.engine.results import LocalResult
from headwater.engine.state import Failed, Success
from headwater.exceptions import ConfigurationError
from headwater.executors import LocalExecutor
from headwater.executors.dask import DaskExecutor, LocalDaskExecutor
from headwater.schedules import Schedule, clocks


@task
def f(x=1):
    return x


def in_flow(build: Callable[[], Any]) -> Callable[[], Any]:
    def call() -> Any:
        with Flow("building"):
            return build()

    return call


def small_flow() -> tuple[Flow, Task]:
    with Flow("etl") as flow:
        t = f(Parameter("p", default=1))
    return flow, t


def run_with(**kwargs: Any) -> Callable[[], Any]:
    def call() -> Any:
        flow, t = small_flow()
        resolved = {
            k: (v(t, flow) if callable(v) and getattr(v, "lazy", False) else v)
            for k, v in kwargs.items()
        }
        return flow.run(**resolved)

    return call


def lazy(fn: Callable[[Task, Flow], Any]) -> Callable[[Task, Flow], Any]:
    """A flow.run argument that needs the flow's task (made when the flow is)."""
    fn.lazy = True  # type: ignore[attr-defined]
    return fn


class Unvalidatable:
    """A class pydantic has no schema for."""


def nested_apply_map() -> Any:
    def per_element(y):
        return f(y)

    def per_group(group):
        return apply_map(per_element, group)

    return apply_map(per_group, [[1, 2], [3]])


def ended_schedule_run() -> Any:
    schedule = Schedule(
        [
            clocks.IntervalClock(
                datetime.timedelta(hours=1),
                start_date=datetime.datetime(2024, 1, 1, tzinfo=datetime.UTC),
                end_date=datetime.datetime(2024, 1, 2, tzinfo=datetime.UTC),
            )
        ]
    )
    with Flow("nightly", schedule=schedule) as flow:
        f()
    return flow.run()


def cluster_kwargs_typo() -> Any:
    from distributed import LocalCluster

    return DaskExecutor(cluster_class=LocalCluster, cluster_kwargs={"n_worker": 2})


def set_dependencies_of(upstream: Any) -> Callable[[], Any]:
    def call() -> Any:
        flow = Flow("imperative")
        flow.set_dependencies(Task(name="load"), upstream_tasks=upstream)

    return call


class Case:
    def __init__(
        self, id: str, call: Callable[[], Any], exc: type[BaseException], *words: str
    ) -> None:
        self.id, self.call, self.exc, self.words = id, call, exc, words


TD = datetime.timedelta(hours=1)

#: Every bad input checked when it is given (the parametrization of the first test).
BAD_INPUTS = [
    # -- Task(...) options
    Case("Task(tags=5)", lambda: Task(name="t", tags=5), TypeError, "'t'", "tags", "int 5"),
    Case("Task(tags='etl')", lambda: Task(name="t", tags="etl"), TypeError, "tags=['etl']"),
    Case("Task(tags=[1])", lambda: Task(name="t", tags=[1]), TypeError, "tag", "int 1"),
    Case(
        "Task(result='x.pkl')",
        lambda: Task(name="t", result="x.pkl"),
        TypeError,
        "'t'",
        "result",
        "'x.pkl'",
        "LocalResult(location='x.pkl')",
    ),
    Case(
        "Task(result='out/')",
        lambda: Task(name="t", result="out/"),
        TypeError,
        "LocalResult(dir='out/')",
    ),
    Case(
        "Task(result=LocalResult)",
        lambda: Task(name="t", result=LocalResult),
        TypeError,
        "result",
        "LocalResult(...)",
        "not the class",
    ),
    Case("Task(result=5)", lambda: Task(name="t", result=5), TypeError, "result", "int 5"),
    Case("Task(target=5)", lambda: Task(name="t", target=5), TypeError, "'t'", "target", "int 5"),
    Case(
        "Task(cache_key=5)",
        lambda: Task(name="t", cache_key=5),
        TypeError,
        "'t'",
        "cache_key",
        "int 5",
        "cache_key='5'",
    ),
    Case(
        "Task(state_handlers=[5])",
        lambda: Task(name="t", state_handlers=[5]),
        TypeError,
        "'t'",
        "state_handlers[0]",
        "int 5",
    ),
    Case(
        "Task(state_handlers=print)",
        lambda: Task(name="t", state_handlers=print),
        TypeError,
        "state_handlers",
        "list",
    ),
    Case(
        "Task(task_run_name=5)",
        lambda: Task(name="t", task_run_name=5),
        TypeError,
        "task_run_name",
        "int 5",
    ),
    Case(
        "Task(trigger='all_successful')",
        lambda: Task(name="t", trigger="all_successful"),
        TypeError,
        "trigger",
        "'all_successful'",
    ),
    Case(
        "Task(cache_validator=5)",
        lambda: Task(name="t", cache_for=TD, cache_validator=5),
        TypeError,
        "cache_validator",
        "int 5",
    ),
    Case("Task(on_failure=5)", lambda: Task(name="t", on_failure=5), TypeError, "on_failure"),
    # -- task calls
    Case(
        "f(upstream_tasks=5)",
        in_flow(lambda: f(upstream_tasks=5)),
        TypeError,
        "Task 'f'",
        "upstream_tasks",
        "int 5",
    ),
    Case(
        "f(upstream_tasks=<a task>)",
        in_flow(lambda: f(upstream_tasks=f())),
        TypeError,
        "upstream_tasks",
        "single task",
        "upstream_tasks=[f]",
    ),
    Case(
        "f.map(upstream_tasks='abc')",
        in_flow(lambda: f.map([1], upstream_tasks="abc")),
        TypeError,
        "upstream_tasks",
        "'abc'",
    ),
    Case(
        "flow.set_dependencies(upstream_tasks=5)",
        set_dependencies_of(5),
        TypeError,
        "Task 'load'",
        "upstream_tasks",
    ),
    Case(
        "f(task_args={'tags': 5})",
        in_flow(lambda: f(task_args={"tags": 5})),
        TypeError,
        "'f'",
        "tags",
        "int 5",
    ),
    Case(
        "f(task_args={'target': 5})",
        in_flow(lambda: f(task_args={"target": 5})),
        TypeError,
        "target",
        "int 5",
    ),
    Case(
        "f.map(<dict>)",
        in_flow(lambda: f.map({"a": 1})),
        TypeError,
        "Task 'f'",
        "'x'",
        "dict",
        "list(d.keys())",
        "list(d.values())",
        "list(d.items())",
    ),
    Case("f.map(5)", in_flow(lambda: f.map(5)), TypeError, "Task 'f'", "'x'", "int 5", "unmapped"),
    Case("f.map(<set>)", in_flow(lambda: f.map({1, 2})), TypeError, "'x'", "set", "list("),
    # -- Flow(...) options
    Case(
        "Flow(executor='dask')",
        lambda: Flow("etl", executor="dask"),
        TypeError,
        "Flow 'etl'",
        "executor",
        "'dask'",
        "DaskExecutor()",
    ),
    Case(
        "Flow(executor=LocalExecutor)",
        lambda: Flow("etl", executor=LocalExecutor),
        TypeError,
        "executor",
        "executor=LocalExecutor()",
    ),
    Case(
        "Flow(schedule='0 * * * *')",
        lambda: Flow("etl", schedule="0 * * * *"),
        TypeError,
        "Flow 'etl'",
        "schedule",
        "CronSchedule('0 * * * *')",
    ),
    Case(
        "Flow(schedule=timedelta)",
        lambda: Flow("etl", schedule=TD),
        TypeError,
        "schedule",
        "IntervalSchedule",
    ),
    Case(
        "Flow(schedule=<a clock>)",
        lambda: Flow("etl", schedule=clocks.CronClock("0 * * * *")),
        TypeError,
        "schedule",
        "CronClock",
        "Schedule(clocks=[clock])",
    ),
    Case(
        "Flow(result='dir')",
        lambda: Flow("etl", result="dir"),
        TypeError,
        "Flow 'etl'",
        "result",
        "LocalResult(dir='dir')",
    ),
    Case(
        "Flow(state_handlers=[5])",
        lambda: Flow("etl", state_handlers=[5]),
        TypeError,
        "Flow 'etl'",
        "state_handlers[0]",
    ),
    Case("Flow(on_failure=5)", lambda: Flow("etl", on_failure=5), TypeError, "on_failure"),
    # -- flow.run(...) keywords
    Case(
        "run(executor='dask')",
        run_with(executor="dask"),
        TypeError,
        "Flow 'etl'.run()",
        "executor",
        "'dask'",
    ),
    Case(
        "run(executor=LocalDaskExecutor)",
        run_with(executor=LocalDaskExecutor),
        TypeError,
        "executor=LocalDaskExecutor()",
    ),
    Case("run(context=5)", run_with(context=5), TypeError, "Flow 'etl'", "context", "int 5"),
    Case("run(context={1: 2})", run_with(context={1: 2}), TypeError, "context keys", "int 1"),
    Case("run(task_states=5)", run_with(task_states=5), TypeError, "task_states", "int 5"),
    Case(
        "run(task_states={'f': Success()})",
        run_with(task_states={"f": Success()}),
        TypeError,
        "task_states",
        "'f'",
        "task objects",
    ),
    Case(
        "run(task_states={task: 'Success'})",
        run_with(task_states=lazy(lambda t, fl: {t: "Success"})),
        TypeError,
        "task_states[<Task: f>]",
        "'Success'",
        "State",
    ),
    Case("run(return_tasks=5)", run_with(return_tasks=5), TypeError, "return_tasks", "int 5"),
    Case(
        "run(return_tasks=<a task>)",
        run_with(return_tasks=lazy(lambda t, fl: t)),
        TypeError,
        "return_tasks",
        "single task",
    ),
    Case(
        "run(return_tasks=['f'])",
        run_with(return_tasks=["f"]),
        TypeError,
        "return_tasks",
        "str 'f'",
    ),
    Case("run(runner_cls=5)", run_with(runner_cls=5), TypeError, "runner_cls", "int 5"),
    Case(
        "run(runner_cls=<a runner>)",
        run_with(runner_cls=lazy(lambda t, fl: FlowRunner(flow=fl))),
        TypeError,
        "runner_cls",
        "runner_cls=FlowRunner",
    ),
    Case("run(task_contexts=5)", run_with(task_contexts=5), TypeError, "task_contexts", "int 5"),
    Case(
        "run(task_contexts={task: 5})",
        run_with(task_contexts=lazy(lambda t, fl: {t: 5})),
        TypeError,
        "task_contexts[<Task: f>]",
        "int 5",
    ),
    Case(
        "run(task_contexts={'f': {}})",
        run_with(task_contexts={"f": {}}),
        TypeError,
        "task_contexts",
        "'f'",
    ),
    Case("run(parameters=5)", run_with(parameters=5), TypeError, "parameters", "int 5"),
    Case(
        "run(parameters={1: 2})",
        run_with(parameters={1: 2}),
        TypeError,
        "parameter names",
        "int 1",
    ),
    Case(
        "run(task_runner_state_handlers=5)",
        run_with(task_runner_state_handlers=5),
        TypeError,
        "task_runner_state_handlers",
        "int 5",
    ),
    Case(
        "run(task_runner_state_handlers=[5])",
        run_with(task_runner_state_handlers=[5]),
        TypeError,
        "task_runner_state_handlers[0]",
    ),
    Case(
        "run() on a schedule that is over",
        ended_schedule_run,
        ValueError,
        "Flow 'nightly'",
        "no runs after",
        "ended at 2024-01-02T00:00:00+00:00",
        "run_on_schedule=False",
    ),
    # -- parameters
    Case(
        "Parameter(type=<unknown class>)",
        lambda: Parameter("when", type=Unvalidatable),
        TypeError,
        "Parameter 'when'",
        "Unvalidatable",
        "pydantic",
    ),
    # -- executors
    Case(
        "LocalDaskExecutor(num_workers=0)",
        lambda: LocalDaskExecutor(num_workers=0),
        ValueError,
        "num_workers",
        "got 0",
    ),
    Case(
        "LocalDaskExecutor(num_workers=-2)",
        lambda: LocalDaskExecutor(num_workers=-2),
        ValueError,
        "num_workers",
        "got -2",
    ),
    Case(
        "LocalDaskExecutor(num_workers='two')",
        lambda: LocalDaskExecutor(num_workers="two"),
        TypeError,
        "num_workers",
        "str 'two'",
    ),
    Case(
        "LocalDaskExecutor(num_workers=2.5)",
        lambda: LocalDaskExecutor(scheduler="processes", num_workers=2.5),
        TypeError,
        "num_workers",
        "float 2.5",
    ),
    Case(
        "DaskExecutor(cluster_kwargs={'n_worker': 2})",
        cluster_kwargs_typo,
        TypeError,
        "cluster_kwargs",
        "'n_worker'",
        "distributed.LocalCluster",
        "did you mean 'n_workers'",
    ),
    # -- building graphs
    Case(
        "nested apply_map",
        in_flow(nested_apply_map),
        ValueError,
        "per_element",
        "per_group",
        "Nested mapping is not supported",
        "flatten(",
    ),
]


@pytest.mark.parametrize("case", BAD_INPUTS, ids=[c.id for c in BAD_INPUTS])
def test_bad_input_fails_at_the_call_naming_the_culprit(case: Case) -> None:
    with pytest.raises(case.exc) as info:
        case.call()
    message = str(info.value)
    for word in case.words:
        assert word in message, f"{word!r} not in {message!r}"


def test_a_user_config_file_that_is_not_utf8_is_named(tmp_path):
    from headwater.configuration import load_configuration

    bad = tmp_path / "config.toml"
    bad.write_bytes(b'[flows]\ncheckpointing = true\nname = "caf\xe9"\n')
    with pytest.raises(ConfigurationError) as info:
        load_configuration(user_config_path=bad, env={})
    assert isinstance(info.value, ValueError)
    message = str(info.value)
    for word in (str(bad), "not UTF-8", "line 3, column 12", "b'\\xe9'", "save the file"):
        assert word in message, message


# -- mistakes that show while the flow runs ---------------------------------------------------


def my_validator(state, inputs, parameters):
    raise ValueError("validator exploded")


def my_target(**kwargs):
    raise ValueError("target exploded")


def my_run_name(**kwargs):
    raise ValueError("name exploded")


def my_trigger(upstream_states):
    raise ValueError("trigger exploded")


def run_task(**options: Any) -> Callable[[Any], str]:
    """Run a one-task flow (twice for a cache validator, so that a cached state exists)."""

    def call(tmp_path: Any) -> str:
        opts = {
            k: (v(tmp_path) if callable(v) and getattr(v, "lazy", False) else v)
            for k, v in options.items()
        }
        runs = 2 if "cache_validator" in opts else 1

        @task(name="load", **opts)
        def load():
            return {"rows": 3}

        with Flow("runtime") as flow:
            t = load()
        caches: dict[str, Any] = {}  # shared by the runs, and by nothing else
        for _ in range(runs):
            state = flow.run(context={"checkpointing": True, "caches": caches})
        child = state.result[t]
        assert isinstance(child, Failed), child
        return child.message

    return call


def at(fn: Callable[[Any], Any]) -> Callable[[Any], Any]:
    fn.lazy = True  # type: ignore[attr-defined]
    return fn


def blocked_dir(tmp_path: Any) -> LocalResult:
    (tmp_path / "blocker").write_text("a file where a directory should be")
    return LocalResult(dir=tmp_path, location="blocker/{task_name}.pkl")


def map_over_a_dict(tmp_path: Any) -> str:
    @task
    def lookup():
        return {"a": 1, "b": 2}

    with Flow("runtime") as flow:
        t = f.map(lookup())
    return flow.run().result[t].message


def full_tmpdir_on_submit(tmp_path: Any, monkeypatch: Any) -> str:
    import headwater.executors._spill as spill

    def full(*args: Any, **kwargs: Any) -> Any:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(spill, "open", full, raising=False)
    executor = LocalDaskExecutor(scheduler="processes", num_workers=1)
    executor.shared_file_threshold = 0  # every shared argument goes through a file
    flow, _ = small_flow()
    state = flow.run(executor=executor)
    assert state.is_failed()
    return str(state.message)


def full_tmpdir_in_the_worker(tmp_path: Any, monkeypatch: Any) -> str:
    """A worker process spilling a large result to a full disk (run here, in-process)."""
    import headwater.executors._dask_support as support
    import headwater.executors._spill as spill

    def full(*args: Any, **kwargs: Any) -> Any:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(spill, "open", full, raising=False)
    monkeypatch.setattr(support, "SPILL_THRESHOLD", 1)
    payload = support.dumps((bytes, (1000,), {}, None, (), str(tmp_path)))
    outcome = support.run_node(payload)
    assert type(outcome) is support.Failure
    return str(outcome.exc)


def cluster_kwargs_typo_at_start(tmp_path: Any, monkeypatch: Any) -> str:
    flow, _ = small_flow()
    state = flow.run(executor=DaskExecutor(cluster_kwargs={"memory_limt": "1GB"}))
    assert state.is_failed()
    return str(state.message)


class RunCase:
    def __init__(self, id: str, call: Callable[..., str], *words: str) -> None:
        self.id, self.call, self.words = id, call, words


#: Every mistake that can only show while the flow runs (the parametrization of the second test).
RUN_FAILURES = [
    RunCase(
        "cache validator raises",
        run_task(cache_for=TD, cache_validator=my_validator),
        "Task 'load'",
        "cache validator my_validator raised ValueError: validator exploded",
    ),
    RunCase(
        "target callable raises",
        run_task(target=my_target, result=at(lambda p: LocalResult(dir=p))),
        "Task 'load'",
        "target callable my_target raised ValueError: target exploded",
    ),
    RunCase(
        "task_run_name callable raises",
        run_task(task_run_name=my_run_name),
        "task_run_name callable my_run_name raised ValueError: name exploded",
    ),
    RunCase(
        "task_run_name template names a missing key",
        run_task(task_run_name="load-{region}"),
        "task_run_name template 'load-{region}'",
        "{region}",
    ),
    RunCase(
        "trigger raises",
        run_task(trigger=my_trigger),
        "Task 'load'",
        "trigger my_trigger raised ValueError: trigger exploded",
    ),
    RunCase(
        "checkpoint cannot be written",
        run_task(result=at(blocked_dir)),
        "Could not checkpoint the result of 'load' to",
        os.path.join("blocker", "load.pkl"),
    ),
    RunCase(
        "mapping over an upstream dict result",
        map_over_a_dict,
        "Task 'f'",
        "'lookup'",
        "dict",
        "list(d.keys())",
        "list(d.items())",
    ),
    RunCase(
        "full TMPDIR when the processes executor writes a shared argument",
        full_tmpdir_on_submit,
        "no space left in TMPDIR=",
        "while writing",
    ),
    RunCase(
        "full TMPDIR when a worker process spills a result",
        full_tmpdir_in_the_worker,
        "no space left in TMPDIR=",
        "in a worker process",
    ),
    RunCase(
        "DaskExecutor cluster_kwargs typo, checked when it starts",
        cluster_kwargs_typo_at_start,
        "cluster_kwargs",
        "'memory_limt'",
        "did you mean 'memory_limit'",
    ),
]


@pytest.mark.parametrize("case", RUN_FAILURES, ids=[c.id for c in RUN_FAILURES])
def test_run_time_mistakes_fail_the_run_naming_the_culprit(case, tmp_path, monkeypatch):
    import inspect

    wants_monkeypatch = "monkeypatch" in inspect.signature(case.call).parameters
    message = case.call(tmp_path, monkeypatch) if wants_monkeypatch else case.call(tmp_path)
    assert "cannot be pickled" not in message
    for word in case.words:
        assert word in message, f"{word!r} not in {message!r}"
