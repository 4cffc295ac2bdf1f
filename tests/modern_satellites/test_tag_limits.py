"""Tag-based task concurrency limits (``[tasks.concurrency]``) of @flow tasks."""

from __future__ import annotations

import threading
import time

import pytest

from headwater.concurrency import ConcurrencySlotAcquisitionError
from headwater.modern.limits import task_slots
from headwater.testing._isolation import temporary_settings
from headwater.utilities.configuration import set_temporary_config


@pytest.fixture(autouse=True)
def _home(headwater_home):
    return headwater_home


def test_no_limited_tag_is_a_shared_no_op():
    assert task_slots(frozenset()) is task_slots(frozenset({"untagged"}))
    with task_slots(frozenset({"x"})):
        pass


def test_a_tag_limit_blocks_a_second_holder():
    with temporary_settings({"tasks.concurrency.database": 1}):  # seen by other threads too
        held = task_slots(frozenset({"database", "other"}))
        entered = threading.Event()

        def second():
            with task_slots(frozenset({"database"})):
                entered.set()

        with held:
            t = threading.Thread(target=second)
            t.start()
            assert not entered.wait(0.05)
        t.join(30)
        assert entered.is_set()


def test_tag_limits_and_named_limits_are_apart():
    from headwater.concurrency import clear_limits, set_concurrency_limit
    from headwater.modern import limits

    set_concurrency_limit("database", 1)  # a named limit for concurrency("database")
    try:
        with set_temporary_config({"tasks.concurrency.database": 2}):
            assert limits._limits_of(frozenset({"database"})) == [("database", 2)]
    finally:
        clear_limits()


def test_zero_means_cannot_run():
    with set_temporary_config({"tasks.concurrency.frozen": 0}):
        with pytest.raises(ConcurrencySlotAcquisitionError, match="limit of 0"):
            task_slots(frozenset({"frozen"}))


def test_tag_limit_bounds_parallel_tasks_of_a_flow():
    from headwater import flow, task
    from headwater.task_runners import ThreadPoolTaskRunner

    active, peak, lock = [0], [0], threading.Lock()

    @task(tags=["database"])
    def query(i):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.01)  # the query
        with lock:
            active[0] -= 1
        return i

    @flow(task_runner=ThreadPoolTaskRunner(max_workers=6))
    def queries():
        return [f.result() for f in [query.submit(i) for i in range(12)]]

    with temporary_settings({"tasks.concurrency.database": 2}):
        assert queries() == list(range(12))
    assert 1 <= peak[0] <= 2
