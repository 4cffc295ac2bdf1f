"""States: the Result holding the value, context and inputs, meta states, loading, pickling."""

from __future__ import annotations

import pickle
import sys
import threading

import cloudpickle
import pendulum
import pytest

import headwater
from headwater.engine import state as st
from headwater.engine._state_pickle import restore_fields
from headwater.engine.result import NoResult, Result


class Located(Result):
    """Reads whatever it is asked for as the text ``read <location>``."""

    reads: list = []

    def read(self, location: str) -> Result:
        Located.reads.append(location)
        new = self.copy()
        new.location = location
        new.value = f"read {location}"
        return new


class TestTheResultHoldingTheValue:
    def test_a_state_without_a_result_holds_no_result(self):
        s = st.Success()
        assert s.result is None
        assert s._result is NoResult

    def test_a_plain_value_is_held_in_a_result(self):
        s = st.Success(result=3)
        assert s.result == 3
        assert type(s._result) is Result and s._result.value == 3
        assert s._result is s._result  # made once

    def test_a_result_given_is_the_holder(self):
        held = Result(value=[1], location="there")
        s = st.Failed(result=held)
        assert s._result is held and s.result == [1]

    def test_assigning_a_result_replaces_the_holder_and_a_value_the_value(self):
        s = st.Success(result=Result(value=1, location="there"))
        s.result = Result(value=2)
        assert s.result == 2 and s._result.location is None
        s.result = None
        assert s.result is None and s._result == Result(value=None)

    def test_falsy_values_are_kept(self):
        assert st.Success(result={}).result == {}
        assert st.Success(result=0)._result.value == 0


class TestContextAndInputs:
    @pytest.mark.parametrize("cls", [st.State, st.Pending, st.Success, st.Failed, st.Mapped])
    def test_they_default_to_empty_dicts(self, cls):
        s = cls()
        assert s.context == {} and s.cached_inputs == {}
        s.cached_inputs["x"] = 1
        assert s.cached_inputs == {"x": 1}

    def test_a_state_made_in_a_task_run_carries_the_task_tags(self):
        with headwater.context(task_tags={"db"}):
            made = st.Success()
            given = st.Success(context={"tags": ["mine"]})
            other = st.Success(context={"k": 1})
        assert made.context == {"tags": ["db"]}
        assert given.context == {"tags": ["mine"]}
        assert other.context == {"k": 1, "tags": ["db"]}
        assert st.Success().context == {}

    def test_only_scheduled_states_keep_the_run_count(self):
        with headwater.context(task_run_count=4):
            retrying, done = st.Retrying(), st.Success()
        assert retrying.context["task_run_count"] == 4 and retrying.run_count == 4
        assert "task_run_count" not in done.context

    def test_looped_counts_from_the_context(self):
        assert st.Looped().loop_count == 1
        with headwater.context(task_loop_count=5):
            assert st.Looped().loop_count == 5

    def test_handlers_can_set_their_own_attributes(self):
        s = st.Success(result=1)
        s.note = "checked"
        back = pickle.loads(pickle.dumps(s))
        assert back.note == "checked" and back == s
        assert back != st.Success(result=1)


class TestStartTimes:
    def test_scheduled_and_retrying_default_to_now(self):
        before = pendulum.now("UTC")
        assert st.Scheduled().start_time >= before
        assert st.Retrying().start_time >= before

    def test_paused_has_none_unless_given(self):
        assert st.Paused().start_time is None
        assert not hasattr(st.Success(), "start_time")


class TestMetaStates:
    def test_meta_states_do_not_nest(self):
        s = st.Queued(state=st.Submitted(state=st.Queued(state=st.Retrying())))
        assert type(s.state) is st.Retrying

    def test_client_failed_is_a_meta_state(self):
        s = st.ClientFailed(state=st.Success())
        assert s.is_meta_state() and not s.is_failed()
        assert st.MetaState is st._MetaState

    def test_queued_is_scheduled(self):
        assert st.Queued().is_scheduled()
        assert not hasattr(st.State(), "is_timed_out")

    def test_private_classes_are_hidden_from_children_and_parents(self):
        assert "_MetaState" not in st.State.children(names_only=True)
        assert st.State.parents(include_self=True) == [st.State]
        assert st.TriggerFailed.children(include_self=True, names_only=True) == ["TriggerFailed"]


class TestEquality:
    def test_extra_data_counts_but_message_and_context_do_not(self):
        assert st.Pending(cached_inputs={"x": 1}) != st.Pending(cached_inputs={"x": 2})
        assert st.Retrying(run_count=1, start_time=pendulum.datetime(2030, 1, 1)) != st.Retrying(
            run_count=2, start_time=pendulum.datetime(2030, 1, 1)
        )
        a, b = st.Success(result=1, message="a"), st.Success(result=1, message="b")
        a.context["k"] = 1
        assert a == b

    def test_mapped_counts_its_children(self):
        assert st.Mapped(n_map_states=3).n_map_states == 3
        assert st.Mapped(map_states=[1, 2]).n_map_states == 2


class TestLoadResult:
    def test_a_location_is_read_with_the_given_result(self):
        s = st.Success(result=Result(location="where"))
        assert s.load_result(Located()) is s
        assert s.result == "read where" and s._result.location == "where"

    def test_a_held_value_is_not_read_again(self):
        Located.reads = []
        s = st.Success(result=Located(value=1, location="where"))
        assert s.load_result().result == 1
        assert st.Success(result=Result()).load_result(Located()).result is None
        assert Located.reads == []

    def test_mapped_states_load_their_children(self):
        m = st.Mapped(
            result=None,
            map_states=[st.Success(result=Located(location="a")), st.Success(result=2)],
        )
        assert m.load_result().result == ["read a", 2]

    def test_cached_inputs_are_read_from_their_locations(self):
        s = st.Pending(cached_inputs={"x": Result(location="x.pkl"), "y": Result(5), "z": 7})
        s.load_cached_results({"x": Located()})
        assert s.cached_inputs["x"].value == "read x.pkl"
        assert s.cached_inputs["y"].value == 5 and s.cached_inputs["z"] == 7
        t = st.Pending(cached_inputs={"x": Result()})
        t.load_cached_results({"x": Located(location="given")})
        assert t.cached_inputs["x"].value == "read given"


class Unpicklable(Exception):
    def __init__(self, msg):
        super().__init__(msg)
        self.lock = threading.Lock()


class TestPickling:
    def test_an_unpicklable_exception_result_becomes_a_text(self):
        exc = Unpicklable("boom")
        back = cloudpickle.loads(cloudpickle.dumps(st.Failed(result=exc)))
        assert isinstance(back.result, str)
        assert "The following exception could not be pickled" in back.result
        assert repr(exc) in back.result

    def test_another_unpicklable_value_raises(self):
        with pytest.raises(TypeError, match="pickle"):
            cloudpickle.dumps(st.Success(result=threading.Lock()))

    def test_the_value_is_pickled_once(self):
        value = b"x" * 100_000
        s = st.Success(result=value)
        s._result  # noqa: B018 - the Result around the value is made
        assert len(pickle.dumps(s)) < 150_000

    def test_sizeof_counts_the_value(self):
        s = st.Success(result="x" * 10_000)
        assert s.__sizeof__() >= sys.getsizeof("x" * 10_000)

    def test_states_pickled_by_earlier_versions_load(self):
        s = st.Success.__new__(st.Success)
        restore_fields(
            s,
            {
                "message": "m",
                "result": 3,
                "_result": None,
                "_context": None,
                "cached_inputs": {"x": 1},
                "released": False,
                "secret": False,
            },
        )
        assert s.result == 3 and s.cached_inputs == {"x": 1} and s.context == {}
        q = st.Queued.__new__(st.Queued)
        held = Result(value=1, location="l")
        restore_fields(q, {"message": None, "result": 1, "_result": held, "state": st.Pending()})
        assert q._result is held and q.state == st.Pending()
