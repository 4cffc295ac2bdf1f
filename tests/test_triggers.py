"""Triggers: unit behaviour on upstream-state dicts, and their effect inside flow runs."""

from __future__ import annotations

import pytest

from headwater import Flow, Task, task, triggers
from headwater.core.edge import Edge
from headwater.engine import signals
from headwater.engine import state as st


def ups(*states):
    """``{edge: state}`` for a fresh edge per state."""
    down = Task(name="down")
    return {Edge(Task(name=f"u{i}"), down): s for i, s in enumerate(states)}


S, F, SK = st.Success, st.Failed, st.Skipped


def passes(trigger, upstream):
    try:
        return trigger(upstream)
    except signals.TRIGGERFAIL:
        return False


class TestAllSuccessful:
    def test_all_success(self):
        assert triggers.all_successful(ups(S(), S(), SK())) is True

    def test_no_upstream(self):
        assert triggers.all_successful({}) is True

    def test_one_failure(self):
        with pytest.raises(signals.TRIGGERFAIL, match="all_successful"):
            triggers.all_successful(ups(S(), F()))

    def test_mapped_children_count(self):
        assert passes(triggers.all_successful, ups(st.Mapped(map_states=[S(), S()])))
        assert not passes(triggers.all_successful, ups(st.Mapped(map_states=[S(), F()])))

    def test_unfinished_upstream(self):
        assert not passes(triggers.all_successful, ups(st.Pending()))


class TestAllFailed:
    def test_all_failed(self):
        assert triggers.all_failed(ups(F(), st.TimedOut())) is True

    def test_some_success(self):
        with pytest.raises(signals.TRIGGERFAIL, match="all_failed"):
            triggers.all_failed(ups(F(), S()))

    def test_mapped(self):
        assert passes(triggers.all_failed, ups(st.Mapped(map_states=[F(), F()])))
        assert not passes(triggers.all_failed, ups(st.Mapped(map_states=[F(), S()])))


class TestAnySuccessful:
    def test_one_success(self):
        assert triggers.any_successful(ups(F(), S())) is True

    def test_none(self):
        with pytest.raises(signals.TRIGGERFAIL, match="any_successful"):
            triggers.any_successful(ups(F(), F()))

    def test_skipped_counts_as_success(self):
        assert triggers.any_successful(ups(F(), SK())) is True

    def test_empty(self):
        assert triggers.any_successful({}) is True

    def test_mapped_children(self):
        assert passes(triggers.any_successful, ups(st.Mapped(map_states=[F(), S()])))
        assert not passes(triggers.any_successful, ups(st.Mapped(map_states=[F(), F()])))


class TestAnyFailed:
    def test_one_failure(self):
        assert triggers.any_failed(ups(F(), S())) is True

    def test_none(self):
        with pytest.raises(signals.TRIGGERFAIL, match="any_failed"):
            triggers.any_failed(ups(S(), SK()))

    def test_mapped_children(self):
        assert passes(triggers.any_failed, ups(st.Mapped(map_states=[S(), F()])))


class TestAllFinished:
    def test_finished(self):
        assert triggers.all_finished(ups(S(), F(), SK(), st.TimedOut())) is True

    def test_always_run_alias(self):
        assert triggers.always_run is triggers.all_finished

    def test_unfinished(self):
        with pytest.raises(signals.TRIGGERFAIL, match="all_finished"):
            triggers.all_finished(ups(S(), st.Running()))


class TestManualOnly:
    def test_pauses(self):
        with pytest.raises(signals.PAUSE, match="manual_only"):
            triggers.manual_only(ups(S()))

    def test_resume(self):
        import headwater

        with headwater.context(resume=True):
            assert triggers.manual_only(ups(S())) is True


class TestNotAllSkipped:
    def test_some_skipped(self):
        assert triggers.not_all_skipped(ups(S(), SK())) is True

    def test_all_skipped(self):
        with pytest.raises(signals.SKIP):
            triggers.not_all_skipped(ups(SK(), SK()))

    def test_failure(self):
        with pytest.raises(signals.TRIGGERFAIL, match="not_all_skipped"):
            triggers.not_all_skipped(ups(SK(), F()))


class TestSomeSuccessful:
    @pytest.mark.parametrize(
        "at_least, at_most, n_success, n_fail, ok",
        [
            (1, None, 1, 3, True),
            (2, None, 1, 3, False),
            (None, 1, 1, 3, True),
            (None, 1, 2, 2, False),
            (2, 3, 2, 2, True),
            (2, 3, 4, 0, False),
            (0.5, None, 2, 2, True),
            (0.5, None, 1, 3, False),
            (0.75, None, 3, 1, True),
            (None, 0.25, 1, 3, True),
            (None, 0.25, 2, 2, False),
            (0, 0, 0, 3, True),
        ],
    )
    def test_bounds_and_fractions(self, at_least, at_most, n_success, n_fail, ok):
        trig = triggers.some_successful(at_least=at_least, at_most=at_most)
        states = [S() for _ in range(n_success)] + [F() for _ in range(n_fail)]
        assert passes(trig, ups(*states)) is ok

    def test_counts_mapped_children(self):
        trig = triggers.some_successful(at_least=0.5)
        assert passes(trig, ups(st.Mapped(map_states=[S(), S(), F(), F()])))
        assert not passes(trig, ups(st.Mapped(map_states=[S(), F(), F(), F()])))

    def test_message_names_the_trigger(self):
        with pytest.raises(signals.TRIGGERFAIL, match='"some_successful".*at least 2'):
            triggers.some_successful(at_least=2)(ups(S(), F()))

    def test_negative_bound_is_a_value_error(self):
        with pytest.raises(ValueError, match="negative"):
            triggers.some_successful(at_least=-1)


class TestSomeFailed:
    @pytest.mark.parametrize(
        "at_least, at_most, n_fail, n_success, ok",
        [
            (1, None, 1, 3, True),
            (2, None, 1, 3, False),
            (None, 1, 2, 2, False),
            (0.5, None, 2, 2, True),
            (0.5, None, 1, 3, False),
            (None, 0.5, 2, 2, True),
            (None, 0.5, 3, 1, False),
        ],
    )
    def test_bounds_and_fractions(self, at_least, at_most, n_fail, n_success, ok):
        trig = triggers.some_failed(at_least=at_least, at_most=at_most)
        states = [F() for _ in range(n_fail)] + [S() for _ in range(n_success)]
        assert passes(trig, ups(*states)) is ok

    def test_message_names_the_trigger(self):
        with pytest.raises(signals.TRIGGERFAIL, match='"some_failed".*at most 0'):
            triggers.some_failed(at_most=0)(ups(F()))


@pytest.mark.parametrize("make", [triggers.some_successful, triggers.some_failed])
def test_some_triggers_pass_without_upstream_tasks(make):
    assert make()({}) is True
    assert make(at_least=2, at_most=4)(set()) is True
    assert make(at_least=0.1, at_most=0.5)({}) is True


# -- in flow runs ----------------------------------------------------------------------------------
@task
def ok():
    return 1


@task
def boom():
    raise ValueError("boom")


@task
def skipper():
    raise signals.SKIP("skipping")


def run_downstream(trigger, *upstream_fns, skip_on_upstream_skip=True):
    @task(trigger=trigger, skip_on_upstream_skip=skip_on_upstream_skip)
    def down():
        return "ran"

    with Flow("f") as flow:
        ups_ = [fn() for fn in upstream_fns]
        d = down(upstream_tasks=ups_)
    return flow.run().result[d]


class TestTriggersInFlows:
    def test_default_trigger_fails_after_an_upstream_failure(self):
        s = run_downstream(triggers.all_successful, ok, boom)
        assert type(s) is st.TriggerFailed
        assert "all_successful" in s.message

    def test_all_failed_runs_after_failures(self):
        assert run_downstream(triggers.all_failed, boom, boom).result == "ran"

    def test_any_failed(self):
        assert run_downstream(triggers.any_failed, ok, boom).result == "ran"
        assert type(run_downstream(triggers.any_failed, ok, ok)) is st.TriggerFailed

    def test_any_successful(self):
        assert run_downstream(triggers.any_successful, ok, boom).result == "ran"

    def test_all_finished_always_runs(self):
        assert run_downstream(triggers.all_finished, ok, boom).result == "ran"

    def test_some_successful_with_a_fraction(self):
        assert run_downstream(triggers.some_successful(at_least=0.5), ok, boom).result == "ran"
        s = run_downstream(triggers.some_successful(at_least=0.6), ok, boom)
        assert type(s) is st.TriggerFailed

    def test_manual_only_pauses_and_the_flow_stays_running(self):
        @task(trigger=triggers.manual_only)
        def approve():
            return "approved"

        with Flow("f") as flow:
            a = approve(upstream_tasks=[ok()])
        state = flow.run()
        assert type(state.result[a]) is st.Paused
        assert state.is_running()

    def test_skip_propagates_before_the_trigger_runs(self):
        s = run_downstream(triggers.all_failed, skipper)
        assert type(s) is st.Skipped

    def test_skip_propagates_through_a_chain(self):
        @task
        def after(x):
            return x

        with Flow("f") as flow:
            a = after(skipper())
            b = after(a)
        state = flow.run()
        assert type(state.result[a]) is st.Skipped
        assert type(state.result[b]) is st.Skipped

    def test_no_skip_propagation_when_disabled(self):
        s = run_downstream(triggers.all_successful, skipper, skip_on_upstream_skip=False)
        assert s.result == "ran"

    def test_not_all_skipped(self):
        s = run_downstream(triggers.not_all_skipped, skipper, skipper, skip_on_upstream_skip=False)
        assert type(s) is st.Skipped
        s = run_downstream(triggers.not_all_skipped, skipper, ok, skip_on_upstream_skip=False)
        assert s.result == "ran"

    def test_custom_trigger_returning_false_names_the_trigger(self):
        def never(upstream_states):
            return False

        s = run_downstream(never, ok)
        assert type(s) is st.TriggerFailed
        assert s.message == 'Trigger was "never" and it returned False.'

    def test_trigger_failures_are_not_retried(self):
        import datetime

        calls = []

        @task(max_retries=2, retry_delay=datetime.timedelta(0))
        def down():
            calls.append(1)

        with Flow("f") as flow:
            d = down(upstream_tasks=[boom()])
        state = flow.run()
        assert type(state.result[d]) is st.TriggerFailed
        assert calls == []

    def test_trigger_sees_mapped_children(self):
        @task
        def maybe(x):
            if x == 2:
                raise ValueError("two")
            return x

        @task(trigger=triggers.some_successful(at_least=2, at_most=2))
        def summary(xs):
            return "ran"

        with Flow("f") as flow:
            m = maybe.map([1, 2, 3])
            s = summary(m)
        state = flow.run()
        assert state.result[s].result == "ran"
