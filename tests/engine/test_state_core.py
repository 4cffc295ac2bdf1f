"""States: hierarchy, predicates, equality, pickling, Scheduled times."""

from __future__ import annotations

import datetime
import pickle
import threading

import cloudpickle
import pendulum
import pytest

from headwater.engine import state as st

ALL_STATES = [
    st.Pending,
    st.Paused,
    st.Scheduled,
    st.Resume,
    st.Retrying,
    st.Running,
    st.Cancelling,
    st.Finished,
    st.Success,
    st.Cached,
    st.Mapped,
    st.Skipped,
    st.Failed,
    st.TimedOut,
    st.TriggerFailed,
    st.ValidationFailed,
    st.Looped,
    st.Cancelled,
    st.Submitted,
    st.Queued,
]

PARENTS = {
    st.Pending: st.State,
    st.Scheduled: st.Pending,
    st.Paused: st.Scheduled,  # SPEC §5: Pending -> Scheduled -> Paused
    st.Resume: st.Scheduled,
    st.Retrying: st.Scheduled,
    st.Running: st.State,
    st.Cancelling: st.Running,
    st.Finished: st.State,
    st.Success: st.Finished,
    st.Cached: st.Success,
    st.Mapped: st.Success,
    st.Skipped: st.Success,
    st.Failed: st.Finished,
    st.TimedOut: st.Failed,
    st.TriggerFailed: st.Failed,
    st.ValidationFailed: st.Failed,
    st.Looped: st.Finished,
    st.Cancelled: st.Finished,
    st.Submitted: st.MetaState,
    st.Queued: st.MetaState,
}

# predicate -> the class whose instances (and subclasses' instances) answer True
PREDICATES = {
    "is_pending": st.Pending,
    "is_running": st.Running,
    "is_finished": st.Finished,
    "is_successful": st.Success,
    "is_failed": st.Failed,
    "is_skipped": st.Skipped,
    "is_mapped": st.Mapped,
    "is_cached": st.Cached,
    "is_scheduled": (st.Scheduled, st.Queued),
    "is_retrying": st.Retrying,
    "is_looped": st.Looped,
    "is_queued": st.Queued,
    "is_submitted": st.Submitted,
    "is_meta_state": st.MetaState,
}


class Unpicklable(Exception):
    def __init__(self, msg):
        super().__init__(msg)
        self.lock = threading.Lock()


@pytest.mark.parametrize(
    "cls, parent", list(PARENTS.items()), ids=lambda c: getattr(c, "__name__", "")
)
def test_hierarchy(cls, parent):
    assert cls.__mro__[1] is parent


@pytest.mark.parametrize("cls", ALL_STATES, ids=lambda c: c.__name__)
@pytest.mark.parametrize("predicate", sorted(PREDICATES))
def test_predicates_follow_the_hierarchy(cls, predicate):
    s = cls()
    assert getattr(s, predicate)() is issubclass(cls, PREDICATES[predicate])


@pytest.mark.parametrize("cls", ALL_STATES, ids=lambda c: c.__name__)
def test_every_state_has_a_color_message_result_and_context(cls):
    s = cls(message="m", result=3)
    assert s.message == "m"
    assert s.result == 3
    assert isinstance(s.color, str) and s.color.startswith("#")
    assert s.context == {}
    s.context["k"] = 1
    assert s.context == {"k": 1}
    assert repr(s) == f'<{cls.__name__}: "m">'


def test_colors_differ_between_outcomes():
    assert st.Success.color != st.Failed.color


def test_repr_without_message():
    assert repr(st.Success()) == "<Success>"


class TestEquality:
    def test_same_type_and_result(self):
        assert st.Success(result=1) == st.Success(result=1, message="different")

    def test_different_result(self):
        assert st.Success(result=1) != st.Success(result=2)

    def test_different_type(self):
        assert st.Success(result=1) != st.Cached(result=1)
        assert st.Failed() != st.TimedOut()

    def test_not_equal_to_non_states(self):
        assert st.Success(result=1) != 1

    def test_uncomparable_results(self):
        class Weird:
            def __eq__(self, other):
                raise RuntimeError("no")

        w = Weird()
        assert st.Success(result=w) == st.Success(result=w)
        assert st.Success(result=w) != st.Success(result=Weird())

    def test_states_are_hashable_by_identity(self):
        a, b = st.Success(result=1), st.Success(result=1)
        assert len({a, b}) == 2


class TestPickling:
    @pytest.mark.parametrize("cls", ALL_STATES, ids=lambda c: c.__name__)
    def test_round_trip(self, cls):
        s = cls(message="hi", result={"a": [1, 2]}, context={"c": 1}, cached_inputs={"x": 1})
        back = pickle.loads(pickle.dumps(s))
        assert type(back) is cls
        assert back == s
        assert back.message == "hi"
        assert back.context == {"c": 1}
        assert back.cached_inputs == {"x": 1}

    def test_extra_fields_survive(self):
        start = pendulum.datetime(2030, 1, 1, tz="UTC")
        r = pickle.loads(pickle.dumps(st.Retrying(start_time=start, run_count=3)))
        assert r.start_time == start and r.run_count == 3
        m = pickle.loads(pickle.dumps(st.Mapped(map_states=[st.Success(result=1), st.Failed()])))
        assert [type(c) for c in m.map_states] == [st.Success, st.Failed]
        lp = pickle.loads(pickle.dumps(st.Looped(loop_count=4)))
        assert lp.loop_count == 4

    def test_unpicklable_exception_result(self):
        exc = Unpicklable("broken pipe")
        s = st.Failed(message="Error during execution of task: boom", result=exc)
        with pytest.raises(TypeError):
            pickle.dumps(exc)
        back = pickle.loads(pickle.dumps(s))
        assert type(back) is st.Failed
        assert back.message == "Error during execution of task: boom"
        assert "broken pipe" in repr(back.result)
        assert "Unpicklable" in repr(back.result)
        # the original state is untouched
        assert s.result is exc

    def test_unpicklable_exception_message(self):
        exc = Unpicklable("in message")
        back = pickle.loads(pickle.dumps(st.Failed(message=exc)))
        assert "in message" in str(back.message)

    def test_cloudpickle_round_trip_of_unpicklable_result(self):
        back = cloudpickle.loads(cloudpickle.dumps(st.Failed(result=Unpicklable("x"))))
        assert back.is_failed()


class TestScheduled:
    def test_start_time_is_utc_pendulum(self):
        naive = datetime.datetime(2030, 5, 1, 12, 0)
        s = st.Scheduled(start_time=naive)
        assert isinstance(s.start_time, pendulum.DateTime)
        assert s.start_time.timezone_name == "UTC"
        assert s.start_time == pendulum.datetime(2030, 5, 1, 12, tz="UTC")

    def test_aware_start_time_is_converted_to_utc(self):
        local = pendulum.datetime(2030, 5, 1, 14, tz="Europe/Paris")
        s = st.Retrying(start_time=local)
        assert s.start_time.timezone_name == "UTC"
        assert s.start_time.hour == 12
        assert s.start_time == local

    def test_retrying_run_count_defaults_from_context(self):
        import headwater

        with headwater.context(task_run_count=3):
            assert st.Retrying().run_count == 3

    def test_queued_start_time_defaults_to_now(self):
        before = pendulum.now("UTC")
        q = st.Queued(state=st.Pending())
        assert q.start_time >= before
        assert q.state == st.Pending()

    def test_paused_start_time(self):
        assert st.Paused().start_time is None
        assert st.Paused(start_time=pendulum.datetime(2030, 1, 1)).start_time.year == 2030


class TestMappedAndCached:
    def test_mapped_result_collects_children(self):
        m = st.Mapped(map_states=[st.Success(result=1), st.Success(result=2)])
        assert m.result == [1, 2]
        assert m.n_map_states == 2

    def test_empty_mapped(self):
        m = st.Mapped(map_states=[])
        assert m.map_states == [] and m.n_map_states == 0
        assert m.is_successful()

    def test_cached_fields(self):
        exp = datetime.datetime(2030, 1, 1)
        c = st.Cached(
            result=1,
            cached_inputs={"x": 1},
            cached_parameters={"p": 2},
            cached_result_expiration=exp,
        )
        assert c.cached_inputs == {"x": 1}
        assert c.cached_parameters == {"p": 2}
        assert c.cached_result_expiration.timezone_name == "UTC"


def test_parents():
    assert st.Cached.parents() == [st.Success, st.Finished, st.State]
    assert st.Cached.parents(include_self=True)[-1] is st.Cached


def test_load_result_without_location_returns_the_state():
    s = st.Success(result=5)
    assert s.load_result() is s
    assert s.result == 5
