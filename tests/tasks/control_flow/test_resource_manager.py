"""``resource_manager``: setup, body and cleanup of a resource inside a flow."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest

from headwater import Flow, Parameter, apply_map, case, resource_manager, task
from headwater.engine import state as st
from headwater.tasks.core import ResourceManager
from headwater.tasks.core import resource_manager as resource_manager_from_core


def events(log: Path) -> list[str]:
    return log.read_text().split() if log.exists() else []


def record(log: str, event: str) -> None:
    with open(log, "a") as f:
        f.write(event + "\n")


@resource_manager
class Scratch:
    """A resource that records what happens to it in a file."""

    def __init__(self, log, label="r", fail_setup=False, fail_cleanup=False):
        self.log = log
        self.label = label
        self.fail_setup = fail_setup
        self.fail_cleanup = fail_cleanup
        record(log, f"init:{label}")

    def setup(self):
        record(self.log, f"setup:{self.label}")
        if self.fail_setup:
            raise RuntimeError("cannot set up")
        return f"{self.label}-handle"

    def cleanup(self, handle):
        record(self.log, f"cleanup:{handle}")
        if self.fail_cleanup:
            raise RuntimeError("cannot clean up")


@task
def use(log, handle, name="body"):
    record(log, f"{name}:{handle}")
    return f"used-{handle}"


@task
def use_item(log, handle, item):
    record(log, f"item{item}:{handle}")
    return item * 10


@task
def broken(log, handle):
    record(log, "broken")
    raise ValueError("body failed")


@task
def identity(x):
    return x


def test_init_setup_body_cleanup_in_order(executor, tmp_path):
    log = str(tmp_path / "log")
    with Flow("resource") as flow:
        with Scratch(log) as handle:
            result = use(log, handle)
    state = flow.run(executor=executor)
    assert state.is_successful()
    assert state.result[result].result == "used-r-handle"
    assert events(tmp_path / "log") == ["init:r", "setup:r", "body:r-handle", "cleanup:r-handle"]


def test_cleanup_waits_for_every_task_in_the_block(executor, tmp_path):
    log = str(tmp_path / "log")
    with Flow("resource") as flow:
        with Scratch(log) as handle:
            first = use(log, handle, name="first")
            use(log, first, name="second")
            items = use_item.map(log=[log] * 3, handle=[handle] * 3, item=[1, 2, 3])
    state = flow.run(executor=executor)
    assert state.is_successful()
    seen = events(tmp_path / "log")
    assert seen[:2] == ["init:r", "setup:r"]
    assert seen[-1] == "cleanup:r-handle"
    assert sorted(seen[2:-1]) == sorted(
        [
            "first:r-handle",
            "second:used-r-handle",
            "item1:r-handle",
            "item2:r-handle",
            "item3:r-handle",
        ]
    )
    assert [c.result for c in state.result[items].map_states] == [10, 20, 30]


def test_cleanup_runs_when_the_body_fails_and_the_flow_fails(executor, tmp_path):
    log = str(tmp_path / "log")
    with Flow("resource") as flow:
        resource = Scratch(log)
        with resource as handle:
            bad = broken(log, handle)
    state = flow.run(executor=executor)
    assert state.is_failed()
    assert state.result[bad].is_failed()
    assert type(state.result[resource.cleanup_task]) is st.Success
    assert events(tmp_path / "log")[-1] == "cleanup:r-handle"


def test_cleanup_is_skipped_when_setup_fails(executor, tmp_path):
    log = str(tmp_path / "log")
    with Flow("resource") as flow:
        resource = Scratch(log, fail_setup=True)
        with resource as handle:
            body = use(log, handle)
    state = flow.run(executor=executor)
    assert state.is_failed()
    assert state.result[resource.setup_task].is_failed()
    assert isinstance(state.result[body], st.TriggerFailed)
    assert state.result[resource.cleanup_task].is_skipped()
    assert "setup failed" in state.result[resource.cleanup_task].message
    assert events(tmp_path / "log") == ["init:r", "setup:r"]


def test_a_failing_cleanup_does_not_decide_the_flow_state(executor, tmp_path):
    log = str(tmp_path / "log")
    with Flow("resource") as flow:
        resource = Scratch(log, fail_cleanup=True)
        with resource as handle:
            use(log, handle)
    state = flow.run(executor=executor)
    assert state.result[resource.cleanup_task].is_failed()
    assert state.is_successful()


def test_init_and_cleanup_are_not_reference_tasks(executor, tmp_path):
    log = str(tmp_path / "log")
    with Flow("resource") as flow:
        resource = Scratch(log, fail_cleanup=True)
        with resource as handle:
            body = use(log, handle)
        after = identity(body)
    assert resource.cleanup_task in flow.terminal_tasks()
    assert flow.reference_tasks() == {after}
    state = flow.run(executor=executor)
    # the failed cleanup is a terminal task, but the flow's state follows the body
    assert state.result[resource.cleanup_task].is_failed()
    assert state.result[after].result == "used-r-handle"
    assert state.is_successful()


def test_explicit_reference_tasks_still_win(tmp_path):
    log = str(tmp_path / "log")
    with Flow("resource") as flow:
        resource = Scratch(log)
        with resource as handle:
            use(log, handle)
    flow.set_reference_tasks([resource.cleanup_task])
    assert flow.reference_tasks() == {resource.cleanup_task}


def test_empty_block_sets_up_and_cleans_up(executor, tmp_path):
    log = str(tmp_path / "log")
    with Flow("resource") as flow:
        with Scratch(log):
            pass
    state = flow.run(executor=executor)
    assert state.is_successful()
    assert events(tmp_path / "log") == ["init:r", "setup:r", "cleanup:r-handle"]


def test_arguments_may_be_tasks_and_positional(executor, tmp_path):
    log = str(tmp_path / "log")
    with Flow("resource") as flow:
        label = Parameter("label")
        with Scratch(log, label) as handle:
            body = use(log, handle)
    state = flow.run(label="db", executor=executor)
    assert state.result[body].result == "used-db-handle"


def test_nested_resources_clean_up_inner_first(executor, tmp_path):
    log = str(tmp_path / "log")
    with Flow("nested") as flow:
        with Scratch(log, label="outer") as outer:
            with Scratch(log, label="inner") as inner:
                use(log, inner, name="body")
            use(log, outer, name="side")
    state = flow.run(executor=executor)
    assert state.is_successful()
    seen = events(tmp_path / "log")
    assert seen.index("setup:outer") < seen.index("init:inner")
    assert seen.index("body:inner-handle") < seen.index("cleanup:inner-handle")
    assert seen.index("cleanup:inner-handle") < seen.index("cleanup:outer-handle")
    assert seen.index("side:outer-handle") < seen.index("cleanup:outer-handle")
    assert seen[-1] == "cleanup:outer-handle"


def test_resource_in_a_non_matching_case_block_is_skipped_entirely(executor, tmp_path):
    log = str(tmp_path / "log")
    with Flow("resource in case") as flow:
        go = Parameter("go")
        with case(go, True):
            resource = Scratch(log)
            with resource as handle:
                body = use(log, handle)
    state = flow.run(go=False, executor=executor)
    assert state.is_successful()
    for t in (resource.init_task, resource.setup_task, body, resource.cleanup_task):
        assert state.result[t].is_skipped(), t
    assert events(tmp_path / "log") == []


def test_skipped_body_tasks_still_get_cleaned_up(executor, tmp_path):
    log = str(tmp_path / "log")
    with Flow("case in resource") as flow:
        go = Parameter("go")
        with Scratch(log) as handle:
            with case(go, True):
                body = use(log, handle)
    state = flow.run(go=False, executor=executor)
    assert state.result[body].is_skipped()
    assert events(tmp_path / "log") == ["init:r", "setup:r", "cleanup:r-handle"]


def test_apply_map_inside_a_resource_block(executor, tmp_path):
    log = str(tmp_path / "log")
    with Flow("apply_map in resource") as flow:
        with Scratch(log) as handle:
            results = apply_map(lambda i: use_item(log, handle, i), [1, 2])
    state = flow.run(executor=executor)
    assert [c.result for c in state.result[results].map_states] == [10, 20]
    assert events(tmp_path / "log")[-1] == "cleanup:r-handle"


def test_decorator_with_options_names_and_configures_the_tasks(executor, tmp_path):
    @resource_manager(
        name="db",
        setup_task_kwargs={"max_retries": 1, "retry_delay": datetime.timedelta(0)},
    )
    class Flaky:
        def __init__(self, marker):
            self.marker = marker

        def setup(self):
            if not Path(self.marker).exists():
                Path(self.marker).write_text("tried")
                raise ConnectionError("first attempt fails")
            return "connected"

        def cleanup(self, conn):
            pass

    assert isinstance(Flaky, ResourceManager)
    with Flow("options") as flow:
        resource = Flaky(str(tmp_path / "marker"))
        with resource as conn:
            body = identity(conn)
    assert (resource.init_task.name, resource.setup_task.name, resource.cleanup_task.name) == (
        "db",
        "db.setup",
        "db.cleanup",
    )
    state = flow.run(executor=executor)
    assert state.result[body].result == "connected"


def test_resource_class_without_init_or_cleanup(executor):
    @resource_manager
    class Plain:
        def setup(self):
            return 42

    with Flow("plain") as flow:
        with Plain() as value:
            body = identity(value)
    state = flow.run(executor=executor)
    assert state.is_successful()
    assert state.result[body].result == 42


def test_resource_manager_is_exported_from_the_core_task_library():
    assert resource_manager_from_core is resource_manager


def test_calling_outside_a_flow_is_a_value_error(tmp_path):
    with pytest.raises(ValueError, match="no flow is active"):
        Scratch(str(tmp_path / "log"))


def test_wrong_arguments_are_a_type_error(tmp_path):
    with Flow("args"), pytest.raises(TypeError, match="unexpected keyword argument 'colour'"):
        Scratch(str(tmp_path / "log"), colour="red")


def test_decorating_a_function_is_a_type_error():
    with pytest.raises(TypeError, match="decorates a class"):

        @resource_manager
        def not_a_class():
            pass


def test_class_without_setup_has_no_setup_task():
    # as in Prefect 1: setup is optional; the block's tasks then follow the init task only
    calls = []

    @resource_manager(name="x")
    class NoSetup:
        def cleanup(self, r):
            calls.append(r)

    @task
    def one():
        return 1

    with Flow("no-setup") as flow:
        with NoSetup() as resource:
            work = one()
    assert resource is None
    state = flow.run()
    assert state.is_successful() and state.result[work].result == 1
    assert calls == [None]


def test_block_sets_and_restores_context_resource(tmp_path):
    import headwater

    with Flow("context"):
        resource = Scratch(str(tmp_path / "log"))
        assert headwater.context.get("resource") is None
        with resource as handle:
            assert headwater.context.resource is resource
            assert handle is resource.setup_task
        assert headwater.context.get("resource") is None


def test_an_error_in_the_block_adds_no_edges(tmp_path):
    with Flow("error") as flow:
        resource = Scratch(str(tmp_path / "log"))
        with pytest.raises(RuntimeError, match="while building"), resource as handle:
            body = identity(handle)
            raise RuntimeError("while building")
    assert flow.upstream_tasks(body) == {resource.setup_task}
    assert flow.upstream_tasks(resource.cleanup_task) == {resource.init_task, resource.setup_task}
