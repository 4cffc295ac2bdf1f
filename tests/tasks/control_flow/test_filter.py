"""``FilterTask``: dropping unwanted results."""

from __future__ import annotations

import logging

import pytest

from headwater import Flow, task, triggers
from headwater.engine import signals
from headwater.tasks.control_flow import FilterTask


@task
def invert(x):
    if x is None:
        raise signals.SKIP("nothing to invert")
    return 1 / x


@task
def maybe(x):
    return x if x % 2 else None


@task
def identity(x):
    return x


def test_default_filter_drops_failures_skips_and_none(executor):
    with Flow("filter") as flow:
        inverted = invert.map([1, 0, None, 4])  # 0 fails, None skips
        kept = FilterTask()(inverted)
    state = flow.run(executor=executor)
    children = state.result[inverted].map_states
    assert [c.is_failed() for c in children] == [False, True, False, False]
    assert children[2].is_skipped()
    assert state.result[kept].result == [1.0, 0.25]


def test_default_filter_drops_none_results(executor):
    with Flow("filter") as flow:
        values = maybe.map([1, 2, 3, 4])
        kept = FilterTask()(values)
    assert flow.run(executor=executor).result[kept].result == [1, 3]


def test_custom_filter_function(executor):
    with Flow("filter") as flow:
        kept = FilterTask(filter_func=lambda x: x > 2)(identity([5, 1, 3, 2]))
    assert flow.run(executor=executor).result[kept].result == [5, 3]


def test_filter_keeps_falsy_values_that_are_not_none(executor):
    with Flow("filter") as flow:
        kept = FilterTask()(identity([0, "", None, False, []]))
    assert flow.run(executor=executor).result[kept].result == [0, "", False, []]


def test_filter_runs_after_a_failed_mapped_upstream_and_the_flow_succeeds(executor):
    with Flow("filter") as flow:
        kept = FilterTask()(invert.map([0, 0]))
    state = flow.run(executor=executor)
    assert state.result[kept].result == []
    assert state.is_successful()


def test_defaults_are_all_finished_and_no_skip_on_upstream_skip():
    ft = FilterTask()
    assert ft.trigger is triggers.all_finished
    assert ft.skip_on_upstream_skip is False
    custom = FilterTask(trigger=triggers.all_successful, skip_on_upstream_skip=True)
    assert custom.trigger is triggers.all_successful
    assert custom.skip_on_upstream_skip is True


def test_log_func_message_is_logged():
    records: list[logging.LogRecord] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler = Collect(level=logging.INFO)
    logger = logging.getLogger("headwater")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        result = FilterTask(log_func=lambda kept: f"kept {len(kept)} items").run([1, None, 2])
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)
    assert result == [1, 2]
    assert "kept 2 items" in [r.getMessage() for r in records]


def test_default_filter_drops_exception_values_and_none_in_order():
    items = [3, ValueError("bad"), None, signals.SKIP("skipped"), "", 1]
    assert FilterTask().run(items) == [3, "", 1]


def test_custom_filter_function_replaces_the_default():
    kept = FilterTask(filter_func=lambda x: not isinstance(x, int)).run([1, None, "a"])
    assert kept == [None, "a"]


def test_non_iterable_input_is_a_clear_type_error():
    with pytest.raises(TypeError, match="expected a list of results to filter, got int"):
        FilterTask(name="only-lists").run(5)


def test_non_iterable_upstream_fails_the_filter_task(executor):
    with Flow("filter") as flow:
        kept = FilterTask()(identity(5))
    state = flow.run(executor=executor)
    assert state.result[kept].is_failed()
    assert "expected a list of results" in state.result[kept].message


@pytest.mark.parametrize("arg", ["filter_func", "log_func"])
def test_non_callable_functions_are_rejected(arg):
    with pytest.raises(TypeError, match=f"{arg} must be callable"):
        FilterTask(**{arg: "not a function"})
