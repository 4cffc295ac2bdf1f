"""Cache validators on Cached states: expiry, inputs (values, Results or dask tokens), parameters."""

from __future__ import annotations

import pendulum
from dask.base import tokenize

from headwater.engine import cache_validators as cv
from headwater.engine.result import Result
from headwater.engine.state import Cached


def test_all_inputs_compares_values_held_in_results():
    state = Cached(cached_inputs={"x": Result(1), "s": Result("str")})
    assert cv.all_inputs(state, {"x": 1, "s": "str"}, None) is True
    assert cv.all_inputs(state, {"x": 1, "s": "other"}, None) is False
    assert cv.all_inputs(Cached(cached_inputs={"x": 1}), {"x": 1}, None) is True


def test_all_inputs_compares_tokens_when_only_hashes_are_kept():
    state = Cached(hashed_inputs={"x": tokenize(1), "s": tokenize("str")})
    assert cv.all_inputs(state, {"x": 1, "s": "str"}, None) is True
    assert cv.all_inputs(state, {"x": 2, "s": "str"}, None) is False


def test_expired_states_are_never_used():
    old = Cached(cached_inputs={"x": 1}, cached_result_expiration=pendulum.now("UTC").add(days=-1))
    assert cv.all_inputs(old, {"x": 1}, None) is False
    assert cv.partial_inputs_only(["x"])(old, {"x": 1}, None) is False


def test_partial_inputs_only_compares_the_named_inputs():
    state = Cached(cached_inputs={"x": Result(1), "s": Result("str")})
    only_x = cv.partial_inputs_only(validate_on=["x"])
    assert only_x(state, {"x": 1}, None) is True
    assert only_x(state, {"x": 2, "s": "str"}, None) is False
    assert cv.partial_inputs_only(["y"])(state, {"x": 1}, None) is True  # absent from both
    assert cv.partial_inputs_only(["x"])(Cached(), {"x": 1}, None) is False
    assert cv.partial_inputs_only(None)(state, {"x": 5}, None) is True
    hashed = Cached(hashed_inputs={"x": tokenize(1)})
    assert only_x(hashed, {"x": 1, "s": "anything"}, None) is True


def test_partial_parameters_only_compares_the_named_parameters():
    state = Cached(cached_parameters={"x": 1, "s": "str"})
    assert cv.partial_parameters_only(["x"])(state, None, {"x": 1, "s": "other"}) is True
    assert cv.partial_parameters_only(["s"])(state, None, {"x": 1, "s": "other"}) is False
    assert cv.partial_parameters_only(["x"])(state, None, None) is False
