"""Cache policies: keys from inputs, source, flow parameters and run ids, and their sums."""

from __future__ import annotations

import threading
import warnings

import pytest

from headwater.cache_policies import (
    DEFAULT,
    FLOW_PARAMETERS,
    INPUTS,
    NO_CACHE,
    RUN_ID,
    TASK_SOURCE,
    CacheKeyContext,
    CacheKeyFnPolicy,
    CachePolicy,
    CachePolicyWarning,
    CompoundCachePolicy,
    HashError,
    Inputs,
    TaskRunView,
    TaskView,
    hash_objects,
    task_input_hash,
    task_key_of,
)


def add(x, y=1):
    return x + y


def add_changed(x, y=1):
    return x + y + 0


def ctx(fn=add, run="flow-1", task_run="task-1", **parameters):
    return CacheKeyContext(
        TaskView(fn, fn.__name__, task_key_of(fn, fn.__name__)),
        TaskRunView(task_run, run),
        parameters,
    )


def key(policy, inputs=None, flow_parameters=None, **kw):
    return policy.compute_key(ctx(**kw), inputs or {}, flow_parameters or {})


class TestHashObjects:
    def test_equal_values_hash_equal_and_types_apart(self):
        assert hash_objects({"a": [1, 2]}) == hash_objects({"a": [1, 2]})
        assert hash_objects(1) != hash_objects("1") != hash_objects(1.0)

    def test_pickle_fallback_for_plain_objects(self):
        class Point:
            def __init__(self, x):
                self.x = x

        assert hash_objects(Point(1)) == hash_objects(Point(1))
        assert hash_objects(Point(1)) != hash_objects(Point(2))

    def test_unhashable_gives_none_or_error(self):
        lock = threading.Lock()
        assert hash_objects(lock) is None
        with pytest.raises(HashError, match="could not be serialized"):
            hash_objects(lock, raise_on_failure=True)


class TestPolicies:
    def test_inputs_key_follows_inputs(self):
        assert key(INPUTS, {"x": 1}) == key(INPUTS, {"x": 1})
        assert key(INPUTS, {"x": 1}) != key(INPUTS, {"x": 2})
        assert key(INPUTS, {}) is None

    def test_inputs_minus_name_ignores_that_input(self):
        policy = INPUTS - "debug"
        assert policy.exclude == ["debug"]
        assert key(policy, {"x": 1, "debug": True}) == key(policy, {"x": 1, "debug": False})
        assert key(INPUTS, {"x": 1, "debug": True}) != key(INPUTS, {"x": 1, "debug": False})

    def test_subtracting_a_non_string_is_a_type_error(self):
        with pytest.raises(TypeError, match="INPUTS - 'debug'"):
            INPUTS - 3  # type: ignore[operator]

    def test_task_source_changes_with_the_code(self):
        assert key(TASK_SOURCE, fn=add) == key(TASK_SOURCE, fn=add)
        assert key(TASK_SOURCE, fn=add) != key(TASK_SOURCE, fn=add_changed)

    def test_flow_parameters_and_run_id(self):
        assert key(FLOW_PARAMETERS, flow_parameters={}) is None
        assert key(FLOW_PARAMETERS, flow_parameters={"n": 1}) != key(
            FLOW_PARAMETERS, flow_parameters={"n": 2}
        )
        assert key(RUN_ID, run="flow-9") == "flow-9"
        assert key(RUN_ID, run=None, task_run="task-7") == "task-7"

    def test_no_cache_gives_no_key_and_adds_nothing(self):
        assert key(NO_CACHE, {"x": 1}) is None
        assert INPUTS + NO_CACHE is INPUTS
        assert NO_CACHE + INPUTS is INPUTS

    def test_default_is_inputs_source_and_run_id(self):
        assert DEFAULT == INPUTS + TASK_SOURCE + RUN_ID
        one = key(DEFAULT, {"x": 1}, run="a")
        assert one == key(DEFAULT, {"x": 1}, run="a")
        assert one != key(DEFAULT, {"x": 1}, run="b")
        assert one != key(DEFAULT, {"x": 2}, run="a")
        assert one != key(DEFAULT, {"x": 1}, run="a", fn=add_changed)

    def test_compound_flattens_and_merges_inputs(self):
        policy = (INPUTS - "a") + TASK_SOURCE + (INPUTS - "b")
        assert isinstance(policy, CompoundCachePolicy)
        inputs = [p for p in policy.policies if isinstance(p, Inputs)]
        assert len(inputs) == 1 and inputs[0].exclude == ["a", "b"]
        assert (DEFAULT - "x").compute_key(ctx(), {"x": 1, "y": 2}, {}) == (
            DEFAULT - "x"
        ).compute_key(ctx(), {"x": 5, "y": 2}, {})

    def test_compound_of_only_none_keys_is_none(self):
        assert key(INPUTS + FLOW_PARAMETERS, {}) is None

    def test_cache_key_fn_policy(self):
        policy = CachePolicy.from_cache_key_fn(lambda c, args: f"k-{args['x']}")
        assert isinstance(policy, CacheKeyFnPolicy)
        assert key(policy, {"x": 3}) == "k-3"
        bad = CacheKeyFnPolicy(cache_key_fn=lambda c, args: 5)
        with pytest.raises(TypeError, match="must return a string or None"):
            key(bad, {"x": 1})

    def test_unhashable_inputs_raise_with_the_fix(self):
        with pytest.raises(HashError, match="NO_CACHE"):
            key(INPUTS, {"lock": threading.Lock()})

    def test_a_user_policy(self):
        class Always(CachePolicy):
            def compute_key(self, task_ctx, inputs, flow_parameters, **kwargs):
                return "always"

        assert key(Always() + INPUTS, {"x": 1}) == key(Always() + INPUTS, {"x": 1})


class TestTaskInputHash:
    def test_same_inputs_same_key_and_code_matters(self):
        first = task_input_hash(ctx(), {"x": 1})
        assert first == task_input_hash(ctx(), {"x": 1})
        assert first != task_input_hash(ctx(), {"x": 2})
        assert first != task_input_hash(ctx(fn=add_changed), {"x": 1})

    def test_unhashable_input_warns_and_gives_none(self):
        with pytest.warns(CachePolicyWarning, match="computing the cache key"):
            assert task_input_hash(ctx(), {"lock": threading.Lock()}) is None

    def test_exported_from_headwater_tasks(self):
        from headwater.tasks import task_input_hash as exported

        assert exported is task_input_hash
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert exported(ctx(), {"x": 1}) == task_input_hash(ctx(), {"x": 1})
