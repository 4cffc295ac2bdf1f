"""The Task graph API: construction, validation, FunctionTask, copy/bind/map, operators."""

from __future__ import annotations

import datetime
from typing import Tuple  # noqa: UP035 - the annotation style users write

import pytest

import headwater
from headwater import Flow, Parameter, Task, tags, task
from headwater.core.edge import flatten, mapped, unmapped
from headwater.tasks.core.collections import Dict, List, Set
from headwater.tasks.core.collections import Tuple as TupleTask
from headwater.tasks.core.constants import Constant
from headwater.tasks.core.function import FunctionTask
from headwater.tasks.core.operators import GetAttr, GetItem
from headwater.utilities.configuration import set_temporary_config
from headwater.utilities.tasks import as_task, defaults_from_attrs

ONE_SEC = datetime.timedelta(seconds=1)


class AddTask(Task):
    def run(self, x, y=1):
        return x + y


@task
def inc(x):
    return x + 1


@task
def identity(x):
    return x


def result_of(state, t):
    return state.result[t].result


# -- construction -----------------------------------------------------------------------------
class TestTaskConstruction:
    def test_defaults(self):
        t = Task()
        assert t.name == "Task"
        assert t.slug is None
        assert t.tags == set()
        assert t.max_retries == 0
        assert t.retry_delay is None
        assert t.timeout is None
        assert t.skip_on_upstream_skip is True
        assert t.trigger is headwater.triggers.all_successful
        assert t.nout is None

    def test_name_defaults_to_class_name(self):
        assert AddTask().name == "AddTask"
        assert AddTask(name="adder").name == "adder"

    def test_all_options_are_stored(self):
        def handler(t, old, new):
            return new

        def on_fail(t, s):
            return None

        t = Task(
            name="n",
            slug="s",
            tags=["a", "b"],
            max_retries=2,
            retry_delay=ONE_SEC,
            retry_on=KeyError,
            timeout=5,
            trigger=headwater.triggers.all_finished,
            skip_on_upstream_skip=False,
            cache_for=ONE_SEC,
            cache_key="k",
            checkpoint=False,
            state_handlers=[handler],
            on_failure=on_fail,
            log_stdout=True,
            task_run_name="run-{x}",
            nout=2,
        )
        assert (t.name, t.slug, t.tags) == ("n", "s", {"a", "b"})
        assert (t.max_retries, t.retry_delay, t.retry_on) == (2, ONE_SEC, {KeyError})
        assert t.timeout == 5
        assert t.trigger is headwater.triggers.all_finished
        assert t.skip_on_upstream_skip is False
        assert t.cache_for == ONE_SEC and t.cache_key == "k"
        assert t.cache_validator is not None  # duration_only is the default with cache_for
        assert t.checkpoint is False
        assert t.state_handlers == [handler]
        assert t.on_failure is on_fail
        assert t.log_stdout is True
        assert t.task_run_name == "run-{x}"
        assert t.nout == 2

    def test_max_retries_without_retry_delay_is_a_value_error(self):
        with pytest.raises(ValueError, match="retry_delay"):
            Task(max_retries=1)

    def test_retry_on_without_max_retries_is_a_value_error(self):
        with pytest.raises(ValueError, match="retry_on.*max_retries"):
            Task(retry_on=KeyError)

    def test_retry_on_must_hold_exception_types(self):
        with pytest.raises(TypeError, match="retry_on"):
            Task(max_retries=1, retry_delay=ONE_SEC, retry_on=[KeyError, "ValueError"])

    def test_retry_on_accepts_a_list(self):
        # kept as a set, as in Prefect 1
        t = Task(max_retries=1, retry_delay=ONE_SEC, retry_on=[KeyError, ValueError])
        assert t.retry_on == {KeyError, ValueError}

    def test_tags_as_bare_string_is_a_type_error(self):
        with pytest.raises(TypeError, match=r"bare string 'etl'.*tags=\['etl'\]"):
            Task(tags="etl")

    def test_run_with_star_args_is_a_value_error(self):
        with pytest.raises(ValueError, match=r"\*args.*\*values"):

            class Bad(Task):
                def run(self, *values):
                    return values

    def test_function_with_star_args_is_a_value_error(self):
        with pytest.raises(ValueError, match=r"\*args"):

            @task
            def bad(*xs):
                return xs

    def test_positional_only_arguments_are_a_value_error(self):
        with pytest.raises(ValueError, match="positional-only.*'x'"):

            @task
            def bad(x, /, y):
                return x

    @pytest.mark.parametrize("reserved", ["upstream_tasks", "mapped", "task_args", "flow"])
    def test_reserved_argument_names_are_a_value_error(self, reserved):
        ns: dict = {}
        exec(f"def fn({reserved}):\n    return 1", ns)
        with pytest.raises(ValueError, match=f"'{reserved}' is reserved"):
            task(ns["fn"])

    def test_kwargs_in_run_are_allowed(self):
        @task
        def fine(x, **rest):
            return rest

        assert fine.run(1, a=2) == {"a": 2}

    @pytest.mark.parametrize("bad", ["10", [1], True])
    def test_bad_timeout_type_is_a_type_error(self, bad):
        with pytest.raises(
            TypeError, match="timeout must be a number of seconds or a datetime.timedelta"
        ):
            Task(timeout=bad)

    def test_timeout_accepts_int_and_timedelta(self):
        assert Task(timeout=3).timeout == 3
        assert Task(timeout=datetime.timedelta(seconds=4)).timeout == 4

    def test_negative_timeout_is_a_value_error(self):
        with pytest.raises(ValueError, match="timeout must not be negative"):
            Task(timeout=-1)

    def test_retry_delay_must_be_a_timedelta(self):
        with pytest.raises(TypeError, match="retry_delay must be a datetime.timedelta"):
            Task(max_retries=1, retry_delay=5)

    def test_trigger_must_be_callable(self):
        with pytest.raises(TypeError, match="trigger must be callable"):
            Task(trigger="all_successful")

    def test_state_handlers_must_be_a_list(self):
        with pytest.raises(TypeError, match="state_handlers must be a list"):
            Task(state_handlers=lambda *a: None)

    def test_defaults_come_from_config(self):
        with set_temporary_config(
            {
                "tasks.defaults.max_retries": 3,
                "tasks.defaults.retry_delay": 7,
                "tasks.defaults.timeout": 9,
            }
        ):
            t = Task()
        assert t.max_retries == 3
        assert t.retry_delay == datetime.timedelta(seconds=7)
        assert t.timeout == 9
        assert Task().max_retries == 0

    def test_tags_from_enclosing_tags_block(self):
        with tags("a", "b"):
            t = Task(tags=["c"])
            with tags("d"):
                t2 = Task()
        assert t.tags == {"a", "b", "c"}
        assert t2.tags == {"a", "b", "d"}
        assert Task().tags == set()

    def test_tags_block_rejects_non_strings(self):
        with pytest.raises(TypeError, match="tag strings"):
            with tags("a", 1):
                pass

    def test_target_with_result_sets_the_result_location(self):
        class FakeResult:
            location = None

            def copy(self):
                new = FakeResult()
                new.location = self.location
                return new

        given = FakeResult()
        t = Task(result=given, target="{task_name}.txt")
        assert t.result.location == "{task_name}.txt"
        assert given.location is None

    def test_nout_from_tuple_annotation(self):
        @task
        def pair() -> Tuple[int, int]:  # noqa: UP006
            return 1, 2

        @task
        def pair_builtin() -> tuple[int, str, float]:
            return 1, "a", 1.0

        @task
        def variadic() -> tuple[int, ...]:
            return (1,)

        assert pair.nout == 2
        assert pair_builtin.nout == 3
        assert variadic.nout is None

    def test_nout_from_tuple_annotation_on_a_subclass(self):
        class Pair(Task):
            def run(self) -> Tuple[int, int]:  # noqa: UP006
                return 1, 2

        assert Pair().nout == 2
        assert Pair(nout=3).nout == 3

    def test_hash_is_identity_and_eq_is_not_overloaded(self):
        a, b = Task(name="x"), Task(name="x")
        assert a != b
        assert (a == b) is False
        assert a == a
        assert len({a, b}) == 2

    def test_repr(self):
        assert repr(Task(name="hi")) == "<Task: hi>"


# -- @task / FunctionTask --------------------------------------------------------------------
class TestTaskDecorator:
    def test_bare_decorator(self):
        def double(x):
            """Double x."""
            return 2 * x

        t = task(double)
        assert isinstance(t, FunctionTask)
        assert t.name == "double"
        assert t.__doc__ == "Double x."
        assert t.__name__ == "double"
        assert t.__wrapped__ is double
        assert t.run(4) == 8

    def test_decorator_with_arguments(self):
        @task(name="renamed", max_retries=2, retry_delay=ONE_SEC, tags=["x"])
        def fn(a, b=2):
            """Docs."""
            return a * b

        assert isinstance(fn, FunctionTask)
        assert fn.name == "renamed"
        assert fn.__name__ == "fn"
        assert fn.__doc__ == "Docs."
        assert fn.max_retries == 2 and fn.tags == {"x"}
        assert fn.run(3) == 6

    def test_decorator_validates_options(self):
        with pytest.raises(ValueError, match="retry_delay"):

            @task(max_retries=1)
            def fn():
                return 1

    def test_decorating_a_non_callable_is_a_type_error(self):
        with pytest.raises(TypeError, match="@task decorates a function"):
            task("not a function")

    def test_inputs_and_outputs(self):
        @task
        def fn(a: int, b: str = "x") -> float:
            return 1.0

        # this module uses postponed annotations, so the types are the annotation strings
        assert fn.inputs() == {
            "a": {"type": "int", "required": True, "default": None},
            "b": {"type": "str", "required": False, "default": "x"},
        }
        assert fn.outputs() == "float"


# -- copy / bind / call / map ------------------------------------------------------------------
class TestCallAndBind:
    def test_call_outside_a_flow_runs_a_function_task_and_refuses_a_task_class(self):
        assert inc(1) == 2
        with pytest.raises(ValueError, match="no flow is active"):
            AddTask()(1, 2)

    def test_bind_outside_a_flow_is_a_value_error(self):
        with pytest.raises(ValueError, match="no flow is active"):
            AddTask().bind(x=1, y=2)

    def test_run_calls_the_function_directly(self):
        assert inc.run(1) == 2
        assert AddTask().run(1, 2) == 3

    def test_call_copies_and_binds(self):
        with Flow("f") as flow:
            a = inc(1)
            b = inc(a)
        assert a is not inc and b is not inc and a is not b
        assert inc not in flow.tasks
        assert flow.tasks == {a, b}
        assert flow.constants[a] == {"x": 1}
        [edge] = flow.edges
        assert (edge.upstream_task, edge.downstream_task, edge.key) == (a, b, "x")

    def test_constants_are_not_tasks(self):
        with Flow("f") as flow:
            t = AddTask()(x=1, y=2)
        assert flow.tasks == {t}
        assert flow.edges == set()
        assert dict(flow.constants[t]) == {"x": 1, "y": 2}
        assert result_of(flow.run(), t) == 3

    def test_positional_and_keyword_arguments(self):
        with Flow("f") as flow:
            t = AddTask()(1, y=5)
        assert dict(flow.constants[t]) == {"x": 1, "y": 5}

    def test_too_many_positional_arguments(self):
        add = AddTask()
        with Flow("f"):
            with pytest.raises(TypeError, match="takes 2 positional argument"):
                add(1, 2, 3)

    def test_unexpected_keyword(self):
        add = AddTask()
        with Flow("f"):
            with pytest.raises(TypeError, match="unexpected keyword argument 'z'"):
                add(x=1, z=2)

    def test_multiple_values(self):
        add = AddTask()
        with Flow("f"):
            with pytest.raises(TypeError, match="multiple values for argument 'x'"):
                add(1, x=2)

    def test_missing_required_argument_fails_at_the_call(self):
        # as Prefect 1's bind: the call itself is the TypeError, not a failed run later
        @task
        def add(x, y):
            return x + y

        with Flow("f") as flow:
            with pytest.raises(TypeError, match="missing a required argument: 'y'"):
                add(x=1)
        assert not flow.tasks
        with pytest.raises(TypeError, match="missing a required argument: 'y'"):
            add.bind(x=1)  # before (and whatever) the flow check

    def test_bind_does_not_copy(self):
        t = AddTask()
        with Flow("f") as flow:
            out = t.bind(x=1)
        assert out is t
        assert flow.tasks == {t}

    def test_bind_with_explicit_flow(self):
        flow = Flow("f")
        t = AddTask().bind(x=1, flow=flow)
        assert t in flow.tasks

    def test_call_with_explicit_flow(self):
        flow = Flow("f")
        t = inc(1, flow=flow)
        assert flow.tasks == {t}

    def test_upstream_tasks(self):
        with Flow("f") as flow:
            a = inc(1)
            b = inc(2, upstream_tasks=[a])
        [edge] = flow.edges
        assert (edge.upstream_task, edge.downstream_task, edge.key) == (a, b, None)

    def test_task_args_override_copy(self):
        with Flow("f") as flow:
            a = inc(1, task_args=dict(name="renamed", tags=["t"]))
        assert a.name == "renamed"
        assert a.tags == {"t"}
        assert flow.get_tasks(name="renamed") == [a]

    def test_map_copies_and_binds_mapped_edges(self):
        with Flow("f") as flow:
            m = inc.map(x=[1, 2, 3])
        assert m is not inc
        [edge] = flow.edges_to(m)
        assert edge.mapped
        assert isinstance(edge.upstream_task, Constant)
        assert result_of(flow.run(), m) == [2, 3, 4]

    def test_copy(self):
        t = AddTask(name="a", tags=["x"])
        c = t.copy(name="b")
        assert c is not t and c.name == "b" and t.name == "a"
        assert c.tags == {"x"}
        c.tags.add("y")
        assert t.tags == {"x"}

    def test_copy_of_unknown_attribute(self):
        with pytest.raises(AttributeError, match="no attribute 'nope'"):
            Task().copy(nope=1)

    def test_copy_with_bare_string_tags(self):
        with pytest.raises(TypeError, match="bare string"):
            Task().copy(tags="x")

    def test_copy_after_edges_warns(self):
        with Flow("f") as flow:
            a = inc(1)
            inc(a)
            with pytest.warns(UserWarning, match="copy"):
                flow.add_task(a.copy())

    def test_set_upstream_and_downstream(self):
        a, b, c = Task(name="a"), AddTask(name="b"), Task(name="c")
        with Flow("f") as flow:
            b.set_upstream(a, key="x")
            b.set_downstream(c)
        assert {(e.upstream_task, e.downstream_task, e.key) for e in flow.edges} == {
            (a, b, "x"),
            (b, c, None),
        }

    def test_set_upstream_mapped(self):
        a, b = Constant([1, 2]), AddTask(name="b")
        flow = Flow("f")
        b.set_upstream(a, key="x", mapped=True, flow=flow)
        [edge] = flow.edges
        assert edge.mapped and edge.key == "x"

    def test_set_dependencies(self):
        a, b, c = Task(name="a"), AddTask(name="b"), Task(name="c")
        flow = Flow("f")
        b.set_dependencies(
            flow=flow, upstream_tasks=[a], downstream_tasks=[c], keyword_tasks={"y": 3}
        )
        assert flow.upstream_tasks(b) == {a}
        assert flow.downstream_tasks(b) == {c}
        assert dict(flow.constants[b]) == {"y": 3}

    def test_pipe(self):
        with Flow("f") as flow:
            a = inc(1)
            b = a.pipe(AddTask(), y=10)
        assert result_of(flow.run(), b) == 12

    def test_pipe_through_edge_annotations_and_refusing_self(self):
        from headwater.core.edge import flatten, mapped, unmapped

        @task
        def total(xs):
            return sum(xs)

        with Flow("f") as flow:
            s = inc.map([0, 1, 2]).pipe(flatten).pipe(mapped).pipe(unmapped).pipe(total)
            with pytest.raises(ValueError, match='keyword argument "self"'):
                s.pipe(inc, self=2)
        assert result_of(flow.run(), s) == 6

    def test_iter_with_nout(self):
        @task(nout=2)
        def pair():
            return 1, 2

        with Flow("f") as flow:
            a, b = pair()
        assert isinstance(a, GetItem)
        assert a.name == "pair[0]" and b.name == "pair[1]"
        state = flow.run()
        assert (result_of(state, a), result_of(state, b)) == (1, 2)

    def test_iter_with_inferred_nout(self):
        @task
        def pair() -> Tuple[int, int]:  # noqa: UP006
            return 3, 4

        with Flow("f") as flow:
            a, b = pair()
        state = flow.run()
        assert (result_of(state, a), result_of(state, b)) == (3, 4)

    def test_iter_without_nout_is_a_type_error(self):
        with Flow("f"):
            t = inc(1)
            with pytest.raises(TypeError, match="not iterable.*nout"):
                iter(t)


# -- operators ----------------------------------------------------------------------------------
class TestOperators:
    def test_getitem(self):
        @task
        def data():
            return {"k": 5, 1: "one"}

        with Flow("f") as flow:
            d = data()
            k = d["k"]
            one = d[1]
        assert isinstance(k, GetItem)
        assert k.name == "data['k']"
        assert one.name == "data[1]"
        state = flow.run()
        assert result_of(state, k) == 5
        assert result_of(state, one) == "one"

    def test_getitem_with_a_task_key(self):
        @task
        def data():
            return {"a": 1}

        @task
        def key():
            return "a"

        with Flow("f") as flow:
            item = data()[key()]
        assert item.name == "data[key]"
        assert result_of(flow.run(), item) == 1

    @pytest.mark.parametrize(
        "build, expected",
        [
            (lambda a: a + 3, 13),
            (lambda a: 3 + a, 13),
            (lambda a: a - 3, 7),
            (lambda a: 3 - a, -7),
            (lambda a: a * 3, 30),
            (lambda a: 3 * a, 30),
            (lambda a: a / 4, 2.5),
            (lambda a: 20 / a, 2.0),
            (lambda a: a // 3, 3),
            (lambda a: 25 // a, 2),
            (lambda a: a % 3, 1),
            (lambda a: 25 % a, 5),
            (lambda a: a**2, 100),
            (lambda a: 2**a, 1024),
            (lambda a: a > 3, True),
            (lambda a: a >= 10, True),
            (lambda a: a < 3, False),
            (lambda a: a <= 10, True),
            (lambda a: a & 0, 0),
            (lambda a: 0 & a, 0),
            (lambda a: a.is_equal(10), True),
            (lambda a: a.is_not_equal(10), False),
            (lambda a: a.not_(), False),
            (lambda a: a.or_(0), 10),
        ],
    )
    def test_operator_tasks(self, build, expected):
        @task
        def ten():
            return 10

        with Flow("f") as flow:
            out = build(ten())
        assert isinstance(out, Task)
        res = result_of(flow.run(), out)
        assert res == expected and type(res) is type(expected)

    def test_operators_between_two_tasks(self):
        with Flow("f") as flow:
            a = inc(1)
            b = inc(2)
            total = a + b
        assert flow.upstream_tasks(total) == {a, b}
        assert result_of(flow.run(), total) == 5

    def test_eq_is_not_overloaded(self):
        with Flow("f") as flow:
            a = inc(1)
            assert (a == 2) is False
        assert flow.tasks == {a}

    def test_or_sets_a_dependency_and_returns_the_right_task(self):
        a, b = Task(name="a"), Task(name="b")
        with Flow("f") as flow:
            out = a | b
        assert out is b
        [edge] = flow.edges
        assert (edge.upstream_task, edge.downstream_task, edge.key) == (a, b, None)


# -- task library, as_task, defaults_from_attrs -----------------------------------------------
class TestTaskLibrary:
    def test_constant(self):
        c = Constant(5)
        assert c.run() == 5
        assert c.name == "5"
        # as in Prefect 1: the repr when at most 8 characters, else the type
        assert Constant("x" * 50).name == "Constant[str]"
        assert Constant([1, 2]).name == "[1, 2]" and Constant([1, 2, 3]).name == "Constant[list]"

    def test_collections(self):
        with Flow("f") as flow:
            a = inc(1)
            lst = as_task([a, 10])
            tup = as_task((a, 10))
            st = as_task({a, 10})
            dct = as_task({"a": a, "b": 10})
        assert isinstance(lst, List) and isinstance(tup, TupleTask)
        assert isinstance(st, Set) and isinstance(dct, Dict)
        state = flow.run()
        assert result_of(state, lst) == [2, 10]
        assert result_of(state, tup) == (2, 10)
        assert result_of(state, st) == {2, 10}
        assert result_of(state, dct) == {"a": 2, "b": 10}

    def test_collections_as_task_arguments(self):
        with Flow("f") as flow:
            a = inc(1)
            out = identity([a, [a, 3]])
        assert result_of(flow.run(), out) == [2, [2, 3]]

    def test_dict_with_mismatched_lengths(self):
        with pytest.raises(ValueError, match="2 keys but 1 values"):
            Dict().run(keys=["a", "b"], values=[1])

    def test_getattr(self):
        assert GetAttr().run(task_result=datetime.date(2020, 1, 2), attr="year") == 2020

    def test_getattr_dotted(self):
        class A:
            class B:
                c = 3

        assert GetAttr().run(task_result=A, attr="B.c") == 3

    def test_as_task(self):
        t = Task()
        assert as_task(t) is t
        c = as_task(5)
        assert isinstance(c, Constant) and c.value == 5
        assert isinstance(as_task([1, 2]), Constant)

    def test_as_task_of_annotation_is_its_task(self):
        t = Task()
        assert as_task(unmapped(t)) is t
        assert as_task(unmapped(3)).auto_generated is True

    def test_as_task_collection_outside_flow(self):
        with pytest.raises(ValueError, match="inside a flow"):
            as_task([Task()])

    def test_defaults_from_attrs(self):
        class Greet(Task):
            def __init__(self, greeting="hello", punctuation="!", **kw):
                self.greeting = greeting
                self.punctuation = punctuation
                super().__init__(**kw)

            @defaults_from_attrs("greeting", "punctuation")
            def run(self, name, greeting=None, punctuation=None):
                return f"{greeting} {name}{punctuation}"

        g = Greet(greeting="hi")
        assert g.run(name="bob") == "hi bob!"
        assert g.run(name="bob", greeting="yo") == "yo bob!"
        with Flow("f") as flow:
            out = g(name="ann")
        assert result_of(flow.run(), out) == "hi ann!"


class TestEdgeAnnotations:
    def test_unmapped(self):
        with Flow("f") as flow:
            out = AddTask().map(x=[1, 2, 3], y=unmapped(10))
        assert result_of(flow.run(), out) == [11, 12, 13]
        assert dict(flow.constants[out]) == {"y": 10}

    def test_unmapped_task(self):
        with Flow("f") as flow:
            ten = inc(9)
            out = AddTask().map(x=[1, 2], y=unmapped(ten))
        edges = {e.key: e for e in flow.edges_to(out)}
        assert edges["x"].mapped and not edges["y"].mapped
        assert result_of(flow.run(), out) == [11, 12]

    def test_mapped_in_a_plain_call(self):
        with Flow("f") as flow:
            out = AddTask()(x=mapped([1, 2]), y=5)
        assert result_of(flow.run(), out) == [6, 7]

    def test_flatten(self):
        @task
        def nested():
            return [[1, 2], [3]]

        with Flow("f") as flow:
            out = inc.map(flatten(nested()))
        [edge] = flow.edges_to(out)
        assert edge.flattened and edge.mapped
        assert result_of(flow.run(), out) == [2, 3, 4]

    def test_flatten_a_mapped_result(self):
        @task
        def repeat(x):
            return [x] * x

        with Flow("f") as flow:
            r = repeat.map([1, 2, 3])
            out = inc.map(flatten(r))
        assert result_of(flow.run(), out) == [2, 3, 3, 4, 4, 4]

    def test_annotation_repr(self):
        assert repr(unmapped(1)) == "unmapped(1)"


class TestParameterTask:
    def test_parameter_basics(self):
        p = Parameter("x", default=1)
        assert p.slug == "x" and p.name == "x"
        assert p.required is False and p.default == 1
        assert Parameter("y").required is True
        assert Parameter("z", default=None, required=True).required is True

    def test_parameter_needs_a_name(self):
        with pytest.raises(ValueError, match="non-empty string name"):
            Parameter("")

    def test_parameter_run_outside_flow_returns_default(self):
        assert Parameter("x", default=3).run() == 3
        with pytest.raises(ValueError, match="required parameter 'y'"):
            Parameter("y").run()

    def test_parameter_in_context(self):
        with headwater.context(parameters={"x": 9}):
            assert Parameter("x", default=3).run() == 9

    def test_duplicate_parameter_names(self):
        flow = Flow("f")
        flow.add_task(Parameter("x"))
        with pytest.raises(ValueError, match="parameter named 'x' already exists"):
            flow.add_task(Parameter("x", default=2))
        assert len(flow.parameters()) == 1
