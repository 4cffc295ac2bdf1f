"""The tokens of task inputs kept in ``Cached.hashed_inputs``: the same in every process,
made without dask, and used by the input-comparing cache validators."""

from __future__ import annotations

import json
import subprocess
import sys

from headwater.engine import cache_validators as cv
from headwater.engine.caching.hashing import dask_token, input_token, stable_hash
from headwater.engine.caching.in_process import input_tokens
from headwater.engine.state import Cached

INPUTS = {"n": 1, "s": "text", "xs": [1, 2.5, None], "d": {"b": (1, 2), "a": {3}}}

# run with dask unimportable: the tokens must not depend on it
CHILD = """
import json, sys
sys.modules["dask"] = None
from headwater.engine.caching.in_process import input_tokens
inputs = {"n": 1, "s": "text", "xs": [1, 2.5, None], "d": {"b": (1, 2), "a": {3}}}
print(json.dumps(input_tokens(inputs)))
"""


def test_tokens_are_the_same_in_another_process_without_dask() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=120, check=True
    )
    assert json.loads(proc.stdout) == input_tokens(INPUTS)
    assert input_tokens(INPUTS)["n"] == stable_hash(1)


def test_a_value_without_a_stable_hash_gets_the_dask_token() -> None:
    class Opaque:
        def __dask_tokenize__(self) -> str:
            return "opaque"

    value = Opaque()
    assert input_token(value) == dask_token(value) is not None
    assert input_token(2) != input_token("2")


def test_validators_compare_the_tokens() -> None:
    state = Cached(hashed_inputs=input_tokens(INPUTS))
    assert cv.all_inputs(state, dict(INPUTS), None) is True
    assert cv.all_inputs(state, {**INPUTS, "n": 2}, None) is False
    only_n = cv.partial_inputs_only(["n"])
    assert only_n(state, {"n": 1, "s": "other"}, None) is True
    assert only_n(state, {"n": 3}, None) is False
