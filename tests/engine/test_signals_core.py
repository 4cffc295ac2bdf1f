"""Signals: each maps to its state, inside and outside a flow run."""

from __future__ import annotations

import datetime
import pickle

import pytest

import headwater
from headwater import Flow, task
from headwater.engine import signals
from headwater.engine import state as st
from headwater.engine.signals import ENDRUN, signal_from_state

SIGNAL_STATES = [
    (signals.SUCCESS, st.Success),
    (signals.FAIL, st.Failed),
    (signals.TRIGGERFAIL, st.TriggerFailed),
    (signals.VALIDATIONFAIL, st.ValidationFailed),
    (signals.SKIP, st.Skipped),
    (signals.RETRY, st.Retrying),
    (signals.PAUSE, st.Paused),
    (signals.LOOP, st.Looped),
]


def test_signals_are_base_exceptions_not_exceptions():
    assert issubclass(signals.HeadwaterSignal, BaseException)
    assert not issubclass(signals.HeadwaterSignal, Exception)
    assert issubclass(signals.HeadwaterStateSignal, signals.HeadwaterSignal)
    assert signals.PrefectSignal is signals.HeadwaterSignal
    assert signals.PrefectStateSignal is signals.HeadwaterStateSignal


def test_fail_subclasses():
    assert issubclass(signals.TRIGGERFAIL, signals.FAIL)
    assert issubclass(signals.VALIDATIONFAIL, signals.FAIL)


@pytest.mark.parametrize("sig, state_cls", SIGNAL_STATES, ids=lambda x: getattr(x, "__name__", ""))
def test_signal_carries_its_state(sig, state_cls):
    s = sig("a message", result=7)
    assert type(s.state) is state_cls
    assert s.state.message == "a message"
    assert s.state.result == 7
    assert s.message == "a message"
    assert str(s) == "a message"


def test_signal_result_defaults_to_the_signal_itself():
    s = signals.FAIL("boom")
    assert s.state.result is s


def test_loop_result_defaults_to_the_signal_repr():
    s = signals.LOOP("again")
    assert s.state.result == "LOOP('again')" == repr(s)
    assert signals.LOOP(result=3).state.result == 3


@pytest.mark.parametrize("sig, state_cls", SIGNAL_STATES, ids=lambda x: getattr(x, "__name__", ""))
def test_signal_from_state(sig, state_cls):
    assert signal_from_state(state_cls()) is sig


def test_signal_from_state_uses_the_nearest_parent():
    assert signal_from_state(st.TimedOut()) is signals.FAIL
    assert signal_from_state(st.Cached()) is signals.SUCCESS
    assert signal_from_state(st.Mapped()) is signals.SUCCESS


def test_signal_from_state_without_a_match():
    with pytest.raises(ValueError, match="No signal matches"):
        signal_from_state(st.Running())


@pytest.mark.parametrize("sig, state_cls", SIGNAL_STATES, ids=lambda x: getattr(x, "__name__", ""))
def test_signals_pickle(sig, state_cls):
    back = pickle.loads(pickle.dumps(sig("msg", result=1)))
    assert type(back) is sig
    assert type(back.state) is state_cls
    assert back.state.result == 1


def test_endrun_carries_a_state():
    s = st.Success(result=1)
    assert ENDRUN(s).state is s


def test_except_exception_in_user_code_does_not_swallow_signals():
    @task
    def stubborn():
        try:
            raise signals.SKIP("skip me")
        except Exception:
            return "swallowed"

    with Flow("f") as flow:
        t = stubborn()
    state = flow.run()
    assert type(state.result[t]) is st.Skipped
    assert state.result[t].message == "skip me"


@pytest.mark.parametrize(
    "sig, state_cls",
    [
        (signals.SUCCESS, st.Success),
        (signals.FAIL, st.Failed),
        (signals.TRIGGERFAIL, st.TriggerFailed),
        (signals.VALIDATIONFAIL, st.ValidationFailed),
        (signals.SKIP, st.Skipped),
        (signals.PAUSE, st.Paused),
    ],
    ids=lambda x: getattr(x, "__name__", ""),
)
def test_raised_in_a_task_sets_the_state(sig, state_cls):
    @task
    def raiser():
        raise sig("from the task", result=42)

    with Flow("f") as flow:
        t = raiser()
    state = flow.run()
    task_state = state.result[t]
    assert type(task_state) is state_cls
    assert task_state.message == "from the task"
    assert task_state.result == 42


def test_retry_signal_retries_even_past_max_retries():
    calls = []

    @task
    def again():
        calls.append(headwater.context.task_run_count)
        if len(calls) < 3:
            raise signals.RETRY("once more")
        return "done"

    assert again.max_retries == 0
    with Flow("f") as flow:
        t = again()
    state = flow.run()
    assert state.result[t].result == "done"
    assert calls == [1, 2, 3]


def test_retry_signal_state_has_a_start_time():
    @task(max_retries=1, retry_delay=datetime.timedelta(days=1))
    def later():
        raise signals.RETRY("later")

    from headwater.engine.task_runner import TaskRunner

    new = TaskRunner(later).run()
    assert type(new) is st.Retrying
    assert new.start_time is not None


def test_skip_signal_skips_downstream():
    @task
    def skipper():
        raise signals.SKIP("nothing")

    @task
    def after(x):
        return x

    with Flow("f") as flow:
        s = skipper()
        a = after(s)
    state = flow.run()
    assert type(state.result[a]) is st.Skipped
    assert state.is_successful()
