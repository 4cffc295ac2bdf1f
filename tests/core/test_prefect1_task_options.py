"""Task creation, copies and calls behave as in Prefect 1 (options, defaults, warnings, returns)."""

from __future__ import annotations

import datetime
import inspect
from typing import Tuple  # noqa: UP035 - the annotation Prefect 1 users write

import pytest

import headwater
from headwater import Flow, Parameter, Task, task
from headwater.engine import cache_validators
from headwater.engine.results import PrefectResult
from headwater.tasks.core.operators import GetAttr
from headwater.utilities.configuration import set_temporary_config
from headwater.utilities.tasks import defaults_from_attrs

ONE_SEC = datetime.timedelta(seconds=1)


class TestRetryOptions:
    def test_retry_delay_needs_max_retries(self):
        with pytest.raises(ValueError, match="`max_retries` argument greater than 0"):
            Task(retry_delay=ONE_SEC)
        with pytest.raises(ValueError, match="`max_retries` argument greater than 0"):
            Task(retry_delay=ONE_SEC, max_retries=False)

    def test_configured_retry_delay_only_applies_to_retrying_tasks(self):
        with set_temporary_config(
            {"tasks.defaults.max_retries": 3, "tasks.defaults.retry_delay": 3}
        ):
            assert Task(max_retries=0).retry_delay is None
            assert Task().retry_delay == datetime.timedelta(seconds=3)

    def test_retry_on_is_a_set_and_still_retries(self):
        calls = []

        @task(max_retries=1, retry_delay=datetime.timedelta(0), retry_on=KeyError)
        def flaky():
            calls.append(1)
            if len(calls) == 1:
                raise KeyError("once")
            return "ok"

        assert flaky.retry_on == {KeyError}
        with Flow("f") as flow:
            t = flaky()
        assert flow.run().result[t].result == "ok"
        with pytest.raises(TypeError, match="expected an exception type but got an instance"):
            Task(retry_on={"KeyError"}, max_retries=1, retry_delay=ONE_SEC)


class TestCacheOptions:
    def test_default_validators(self):
        assert Task().cache_validator is cache_validators.never_use
        assert Task(cache_for=ONE_SEC).cache_validator is cache_validators.duration_only

    def test_a_validator_without_cache_for_warns(self):
        with pytest.warns(UserWarning, match="this Task will not be cached"):
            Task(cache_validator=cache_validators.all_inputs)


class TestSubclassWarnings:
    def test_setting_a_reserved_attribute_warns(self):
        class Sets(Task):
            def __init__(self, **kwargs):
                self.target = "mine"
                super().__init__(**kwargs)

        with pytest.warns(UserWarning, match="`Sets` sets a `target` attribute"):
            Sets()

    def test_passing_a_task_to_the_constructor_warns(self):
        class Takes(Task):
            def __init__(self, other, **kwargs):
                self.other = other
                super().__init__(**kwargs)

        with pytest.warns(UserWarning, match="A Task was passed as an argument to Takes"):
            Takes(Task())


class TestCallsAndCopies:
    def test_dependency_setters_return_the_task(self):
        a, b = Task(name="a"), Task(name="b")
        with Flow("f") as flow:
            assert a.set_downstream(b) is a
            assert b.set_upstream(a) is b
            assert b.set_dependencies(flow, upstream_tasks=[a]) is b

    def test_setters_without_a_flow(self):
        with pytest.raises(ValueError, match="No Flow was passed"):
            Task().set_upstream(Task())

    def test_a_function_task_called_outside_a_flow_runs(self):
        # as Prefect 3 runs it; inside `with Flow(...)` the same call builds the graph
        assert inc(1) == 2
        with Flow("f") as flow:
            bound = inc(1)
        assert isinstance(bound, Task) and bound in flow.tasks

    def test_a_task_class_called_outside_a_flow_names_the_run_method(self):
        class Inc(Task):
            def run(self, x: int) -> int:
                return x + 1

        with pytest.raises(ValueError, match=r"you need to call `Inc\(\.\.\.\)\.run\(\.\.\.\)`"):
            Inc()(1)

    def test_copy_adds_new_tags_to_the_old_and_marks_user_slugs(self):
        t = Task(tags=["a"], slug="mine")
        new = t.copy(tags=["b"])
        assert new.tags == {"a", "b"} and new.slug == "mine-copy"

    def test_bind_adds_context_tags(self):
        t = Task(tags=["math"])
        with headwater.context(tags=["ctx"]), Flow("f"):
            t.bind()
        assert t.tags == {"math", "ctx"}

    def test_call_signature_of_an_instance(self):
        sig = inspect.signature(inc)
        assert list(sig.parameters)[:1] == ["x"]
        assert {"mapped", "task_args", "upstream_tasks", "flow"} <= set(sig.parameters)
        assert "name" in inspect.signature(Task).parameters  # the class keeps __init__'s

    def test_nout(self):
        @task
        def none() -> Tuple[()]:  # noqa: UP006
            return ()

        @task(nout=2)
        def pair(x):
            return x, x

        assert none.nout == 0
        with Flow("f"), pytest.raises(TypeError, match="Task is not iterable"):
            a, b = pair.map([1, 2])

    def test_builtins_cannot_be_tasks(self):
        with pytest.raises(ValueError, match="This function can not be inspected"):
            task(zip)

    def test_a_lambda_task_has_no_docstring(self):
        assert task(lambda x: x).__doc__ is None


@task
def inc(x):
    return x + 1


class TestLibraryTasks:
    def test_item_task_keeps_result_settings(self):
        result = PrefectResult()
        with Flow("f"):
            item = Task(checkpoint=False, result=result)()[0]
        assert item.checkpoint is False and item.result is result

    def test_getattr_default(self):
        with Flow("f") as flow:
            x = Parameter("x")
            a = GetAttr(default="dflt")(x, "missing")
            b = GetAttr()(x, "missing", "given")
        state = flow.run(x=object())
        assert state.result[a].result == "dflt" and state.result[b].result == "given"

    def test_defaults_from_attrs_keeps_an_explicit_none(self):
        class T(Task):
            def __init__(self, x=1, **kwargs):
                self.x = x
                super().__init__(**kwargs)

            @defaults_from_attrs("x")
            def run(self, x=None):
                return x

        assert T().run() == 1 and T().run(x=None) is None


class TestParameters:
    def test_parameter_calls_take_only_a_flow(self):
        x = Parameter("x")
        with pytest.raises(TypeError, match="unexpected keyword argument"):
            x(mapped=True)
        with Flow("f") as flow:
            assert x() is x
        assert flow.tasks == {x}

    def test_copy_needs_a_name(self):
        with pytest.raises(TypeError, match="required positional argument"):
            Parameter("x").copy()  # type: ignore[call-arg]
        assert Parameter("x").copy("y").slug == "y"

    def test_values_are_described_by_a_prefect_result(self):
        assert isinstance(Parameter("x").result, PrefectResult)
