"""In-process caching: ``cache_for``, ``cache_validator`` and ``cache_key`` at run level."""

from __future__ import annotations

import datetime

import pendulum
import pytest

from headwater import Flow, Parameter, task
from headwater.engine import cache_validators as cv
from headwater.engine.state import Cached

HOUR = datetime.timedelta(hours=1)


def make_flow(calls: list, validator=None, cache_key=None, name="cached_add"):
    @task(name=name, cache_for=HOUR, cache_validator=validator, cache_key=cache_key)
    def add(x, y):
        calls.append((x, y))
        return x + y

    with Flow("cache-test") as flow:
        x = Parameter("x", default=1)
        y = Parameter("y", default=2)
        total = add(x, y)
    return flow, total


def run(flow, caches, **params):
    return flow.run(parameters=params, context={"caches": caches})


class TestCacheFor:
    def test_second_run_reuses_the_cached_state(self):
        calls: list = []
        flow, total = make_flow(calls)
        caches: dict = {}
        first = run(flow, caches)
        second = run(flow, caches)
        assert type(first.result[total]) is Cached
        assert type(second.result[total]) is Cached
        assert second.result[total].result == 3
        assert calls == [(1, 2)]

    def test_cached_state_is_stored_under_the_task_name(self):
        calls: list = []
        flow, total = make_flow(calls)
        caches: dict = {}
        run(flow, caches)
        assert list(caches) == ["cached_add"]
        [state] = caches["cached_add"]
        assert isinstance(state, Cached)
        assert state.cached_inputs == {"x": 1, "y": 2}
        assert state.cached_parameters == {"x": 1, "y": 2}
        assert state.cached_result_expiration > pendulum.now("UTC")

    def test_expired_entry_is_not_used(self):
        calls: list = []
        flow, total = make_flow(calls)
        past = pendulum.now("UTC").subtract(minutes=1)
        caches = {"cached_add": [Cached(result=99, cached_result_expiration=past)]}
        state = run(flow, caches)
        assert type(state.result[total]) is Cached
        assert state.result[total].result == 3
        assert calls == [(1, 2)]

    def test_unexpired_entry_is_used_without_running(self):
        calls: list = []
        flow, total = make_flow(calls)
        future = pendulum.now("UTC").add(minutes=10)
        caches = {"cached_add": [Cached(result=99, cached_result_expiration=future)]}
        state = run(flow, caches)
        assert state.result[total].result == 99
        assert calls == []

    def test_default_process_cache_survives_between_runs(self):
        calls: list = []
        flow, total = make_flow(calls, name="cached_add_process_wide_7f3a")
        flow.run()
        state = flow.run()
        assert type(state.result[total]) is Cached
        assert calls == [(1, 2)]

    def test_failed_runs_are_not_cached(self):
        calls: list = []

        @task(cache_for=HOUR)
        def flaky():
            calls.append(1)
            raise ValueError("boom")

        with Flow("f") as flow:
            t = flaky()
        caches: dict = {}
        assert run(flow, caches).result[t].is_failed()
        assert run(flow, caches).result[t].is_failed()
        assert len(calls) == 2
        assert caches == {}


class TestValidators:
    def test_never_use(self):
        calls: list = []
        flow, total = make_flow(calls, validator=cv.never_use)
        caches: dict = {}
        run(flow, caches)
        state = run(flow, caches)
        assert type(state.result[total]) is Cached
        assert len(calls) == 2

    def test_duration_only_ignores_inputs(self):
        calls: list = []
        flow, total = make_flow(calls, validator=cv.duration_only)
        caches: dict = {}
        run(flow, caches, x=1)
        state = run(flow, caches, x=10)
        assert type(state.result[total]) is Cached
        assert state.result[total].result == 3
        assert calls == [(1, 2)]

    def test_duration_only_is_the_default_with_cache_for(self):
        @task(cache_for=HOUR)
        def f():
            return 1

        assert f.cache_validator is cv.duration_only

    def test_all_inputs(self):
        calls: list = []
        flow, total = make_flow(calls, validator=cv.all_inputs)
        caches: dict = {}
        run(flow, caches, x=1)
        same = run(flow, caches, x=1)
        other = run(flow, caches, x=5)
        assert type(same.result[total]) is Cached
        assert type(other.result[total]) is Cached
        assert other.result[total].result == 7
        assert calls == [(1, 2), (5, 2)]

    def test_all_inputs_finds_the_matching_entry_among_several(self):
        calls: list = []
        flow, total = make_flow(calls, validator=cv.all_inputs)
        caches: dict = {}
        run(flow, caches, x=1)
        run(flow, caches, x=5)
        again = run(flow, caches, x=1)
        assert type(again.result[total]) is Cached
        assert again.result[total].result == 3
        assert calls == [(1, 2), (5, 2)]

    def test_all_parameters(self):
        calls: list = []

        @task(cache_for=HOUR, cache_validator=cv.all_parameters)
        def constant_input(y):
            calls.append(y)
            return y

        with Flow("p") as flow:
            flow.add_task(Parameter("mode", default="a"))
            t = constant_input(1)
        caches: dict = {}
        run(flow, caches, mode="a")
        same = run(flow, caches, mode="a")
        other = run(flow, caches, mode="b")
        assert type(same.result[t]) is Cached
        assert type(other.result[t]) is Cached
        assert calls == [1, 1]

    def test_partial_inputs_only(self):
        calls: list = []
        flow, total = make_flow(calls, validator=cv.partial_inputs_only(validate_on=["x"]))
        caches: dict = {}
        run(flow, caches, x=1, y=2)
        y_changed = run(flow, caches, x=1, y=50)
        x_changed = run(flow, caches, x=2, y=2)
        assert type(y_changed.result[total]) is Cached
        assert y_changed.result[total].result == 3
        assert type(x_changed.result[total]) is Cached
        assert calls == [(1, 2), (2, 2)]

    def test_partial_parameters_only(self):
        calls: list = []

        @task(cache_for=HOUR, cache_validator=cv.partial_parameters_only(validate_on=["a"]))
        def f():
            calls.append(1)
            return len(calls)

        with Flow("pp") as flow:
            flow.add_task(Parameter("a", default=1))
            flow.add_task(Parameter("b", default=1))
            t = f()
        caches: dict = {}
        run(flow, caches, a=1, b=1)
        b_changed = run(flow, caches, a=1, b=2)
        a_changed = run(flow, caches, a=2, b=1)
        assert type(b_changed.result[t]) is Cached
        assert type(a_changed.result[t]) is Cached
        assert len(calls) == 2

    def test_validators_reject_expired_states(self):
        past = pendulum.now("UTC").subtract(seconds=1)
        state = Cached(
            result=1, cached_inputs={"x": 1}, cached_parameters={}, cached_result_expiration=past
        )
        for validator in (
            cv.duration_only,
            cv.all_inputs,
            cv.all_parameters,
            cv.partial_inputs_only(["x"]),
            cv.partial_parameters_only([]),
        ):
            assert validator(state, {"x": 1}, {}) is False, validator.__name__


class TestCacheKey:
    def test_two_tasks_share_a_cache_key(self):
        calls: list = []

        @task(cache_for=HOUR, cache_key="shared-answer")
        def first():
            calls.append("first")
            return 42

        @task(cache_for=HOUR, cache_key="shared-answer")
        def second():
            calls.append("second")
            return 0

        with Flow("a") as flow_a:
            a = first()
        with Flow("b") as flow_b:
            b = second()
        caches: dict = {}
        run(flow_a, caches)
        state = run(flow_b, caches)
        assert list(caches) == ["shared-answer"]
        assert type(state.result[b]) is Cached
        assert state.result[b].result == 42
        assert calls == ["first"]
        assert a is not b


def test_cache_validator_without_cache_for_warns_that_nothing_is_cached():
    with pytest.warns(UserWarning, match="will not be cached"):

        @task(cache_validator=cv.all_inputs)
        def f():
            return 1


class TestExpiredEntriesAreDropped:
    """Runs with ever new inputs and a short ``cache_for`` do not grow the cache without bound."""

    RUNS = 400

    def test_the_entries_of_a_key_stay_bounded(self):
        @task(cache_for=datetime.timedelta(milliseconds=1), cache_validator=cv.all_inputs)
        def short_lived(x):
            return x

        with Flow("short-lived") as flow:
            x = Parameter("x")
            short_lived(x)
        caches: dict = {}
        longest = 0
        for i in range(self.RUNS):
            run(flow, caches, x=i)
            longest = max(longest, len(caches["short_lived"]))
        assert len(caches["short_lived"]) < self.RUNS // 4

        from headwater.engine.caching.in_process import FULL_PASS_AT

        assert longest <= FULL_PASS_AT

    def test_a_still_valid_entry_is_kept_among_expiring_ones(self):
        calls: list = []

        @task(cache_for=HOUR, cache_key="shared", cache_validator=cv.all_inputs)
        def long_lived(x):
            calls.append(x)
            return "kept"

        @task(
            cache_for=datetime.timedelta(milliseconds=1),
            cache_key="shared",
            cache_validator=cv.all_inputs,
        )
        def short_lived(x):
            return x

        with Flow("long") as long_flow:
            kept = long_lived(-1)
        with Flow("short") as short_flow:
            x = Parameter("x")
            short_lived(x)
        caches: dict = {}
        run(long_flow, caches)
        [valid] = caches["shared"]
        for i in range(self.RUNS):
            run(short_flow, caches, x=i)
        assert valid in caches["shared"]
        assert len(caches["shared"]) < self.RUNS // 4
        state = run(long_flow, caches)
        assert type(state.result[kept]) is Cached and state.result[kept].result == "kept"
        assert calls == [-1]

    def test_unexpired_entries_with_distinct_inputs_are_all_kept(self):
        @task(cache_for=HOUR, cache_validator=cv.all_inputs)
        def long_lived(x):
            return x

        with Flow("long-lived") as flow:
            x = Parameter("x")
            long_lived(x)
        caches: dict = {}
        for i in range(100):
            run(flow, caches, x=i)
        assert sorted(s.cached_inputs["x"] for s in caches["long_lived"]) == list(range(100))
