"""States pickle their value once: the size of a pickled state is about that of its value.

A state holds either a plain value or the ``Result`` around it, and an exception result is
pickled a single time (to learn whether it can be, and those bytes are what travels).
"""

from __future__ import annotations

import copy
import pickle
import threading
from typing import Any

import cloudpickle
import pytest

from headwater.engine import state as st
from headwater.engine.result import Result
from headwater.engine.results import LocalResult
from headwater.engine.results.secret_result import SecretResult

BIG = [list(range(100)) for _ in range(2_000)]  # about 400 kB pickled


def one_copy(value: Any) -> int:
    """1.5 times the size of ``value`` pickled on its own: a state must stay under it."""
    return int(1.5 * len(pickle.dumps(value)))


class CountedError(Exception):
    """An exception that counts how many times it is pickled."""

    pickled = 0

    def __init__(self, payload: Any) -> None:
        super().__init__(payload)
        self.payload = payload

    def __reduce__(self) -> tuple[Any, ...]:
        CountedError.pickled += 1
        return (CountedError, (self.payload,))


class Unpicklable(Exception):
    def __init__(self, msg: str) -> None:
        super().__init__(msg)
        self.lock = threading.Lock()


@pytest.mark.parametrize("dumps", [pickle.dumps, cloudpickle.dumps], ids=["pickle", "cloudpickle"])
class TestOneCopy:
    def test_a_plain_value(self, dumps: Any) -> None:
        assert len(dumps(st.Success(result=BIG))) < one_copy(BIG)

    def test_a_value_whose_result_was_read(self, dumps: Any) -> None:
        s = st.Success(result=BIG)
        assert s.result_holder.value is BIG  # the Result around the value now exists too
        assert len(dumps(s)) < one_copy(BIG)

    def test_a_value_held_in_a_result(self, dumps: Any, tmp_path: Any) -> None:
        for holder in (Result(BIG), LocalResult(dir=str(tmp_path), value=BIG)):
            s = st.Success(result=holder)
            assert len(dumps(s)) < one_copy(BIG)
            assert pickle.loads(dumps(s)).result == BIG

    def test_a_cached_state_with_its_inputs(self, dumps: Any) -> None:
        s = st.Cached(result=BIG, cached_inputs={"x": BIG})  # the same object, once
        assert len(dumps(s)) < one_copy(BIG)

    def test_a_secret_value_travelling_to_a_worker(self, dumps: Any) -> None:
        s = st.Success(result=SecretResult(secret_task=None, value=BIG))
        assert len(dumps(s)) < one_copy(BIG)
        assert pickle.loads(dumps(s)).result == BIG

    def test_a_large_exception_result(self, dumps: Any) -> None:
        exc = ValueError(BIG)
        assert len(dumps(st.Failed(result=exc))) < one_copy(exc)


class TestExceptions:
    def test_an_exception_result_is_pickled_once(self) -> None:
        for dumps in (pickle.dumps, cloudpickle.dumps):
            CountedError.pickled = 0
            back = pickle.loads(dumps(st.Failed("boom", result=CountedError([1, 2]))))
            assert CountedError.pickled == 1
            assert isinstance(back.result, CountedError) and back.result.payload == [1, 2]

    def test_an_exception_in_a_result_and_as_message(self) -> None:
        exc = KeyError("k")
        back = pickle.loads(pickle.dumps(st.Failed(message=exc, result=Result(exc))))
        assert isinstance(back.result, KeyError) and back.result.args == ("k",)
        assert isinstance(back.message, KeyError)
        assert isinstance(back.result_holder, Result)

    def test_an_unpicklable_exception_still_becomes_a_text(self) -> None:
        back = pickle.loads(pickle.dumps(st.Failed(result=Unpicklable("lost"))))
        assert isinstance(back.result, str) and "lost" in back.result

    def test_a_copy_keeps_the_exception(self) -> None:
        exc = ValueError("kept")
        for s in (st.Failed(message=exc, result=exc), st.Failed(result=Result(exc))):
            shallow = copy.copy(s)
            assert shallow.result is exc
            assert copy.deepcopy(s).result.args == ("kept",)
        assert copy.copy(st.Failed(message=exc)).message is exc

    def test_the_exception_kept_in_the_context_stays_the_same_one(self) -> None:
        exc = ValueError("handler broke")
        s = st.Failed("handler failed", result=exc)
        s.context["state_handler_error"] = exc
        for back in (pickle.loads(pickle.dumps(s)), cloudpickle.loads(cloudpickle.dumps(s))):
            assert back.context["state_handler_error"] is back.result
        assert copy.copy(s).context["state_handler_error"] is exc
        assert s.context["state_handler_error"] is exc  # the state itself is untouched
