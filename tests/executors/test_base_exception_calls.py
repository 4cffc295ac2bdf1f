"""A call raising a ``BaseException`` that is not ``KeyboardInterrupt`` fails only that call.

``SystemExit``, ``GeneratorExit``, ``asyncio.CancelledError`` and a user's own ``BaseException``
subclass raised by a submitted call come back from ``wait`` as they are, on every executor: no
hang (``distributed`` used to re-raise them in its event loop, where nobody waited), no dead pool
thread (``UnboundLocalError`` in the thread pool), no dead worker process, and the executor keeps
running other calls. A flow whose task raises one fails that task only.

The functions live at module level so that worker processes can unpickle them.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from headwater import Flow, task
from headwater.engine.state import Failed, Success, TriggerFailed
from headwater.exceptions import SerializationError
from headwater.executors._thread_pool import DaemonThreadPool


class Boom(BaseException):
    """A user's own exception that is not an ``Exception``."""


EXCEPTIONS: dict[str, type[BaseException]] = {
    "custom": Boom,
    "generator-exit": GeneratorExit,
    "system-exit": SystemExit,
    "cancelled": asyncio.CancelledError,
}


def raise_base(kind: str, *upstream: Any) -> None:
    """Raise the ``BaseException`` named by ``kind``."""
    raise EXCEPTIONS[kind](f"raised by the call ({kind})")


def inc(x: int) -> int:
    return x + 1


class RaisesWhenPickled:
    """An argument whose pickling raises a ``BaseException``."""

    def __reduce__(self) -> Any:
        raise Boom("cannot be pickled")


@pytest.mark.timeout(120)
@pytest.mark.parametrize("kind", list(EXCEPTIONS))
def test_the_call_fails_with_its_exception_and_the_executor_goes_on(
    executor: Any, kind: str
) -> None:
    expected = EXCEPTIONS[kind]
    with executor.start():
        good = executor.submit(inc, 1)
        # more failing calls than the pool has threads or processes: none of them may be lost
        for _ in range(3):
            with pytest.raises(expected, match=f"raised by the call \\({kind}\\)"):
                executor.wait(executor.submit(raise_base, kind))
        with pytest.raises(expected):  # a dependent call fails with its upstream's exception
            executor.wait(executor.submit(inc, executor.submit(raise_base, kind)))
        assert executor.wait([executor.submit(inc, i) for i in range(6)]) == list(range(1, 7))
        assert executor.wait(good) == 2


@pytest.mark.timeout(120)
def test_base_exception_while_pickling_a_call_fails_that_call(executor: Any) -> None:
    if not executor.pickles_calls:
        pytest.skip("only process-based executors pickle calls")
    with executor.start():
        with pytest.raises(SerializationError, match="cannot be pickled"):
            executor.wait(executor.submit(inc, RaisesWhenPickled()))
        assert executor.wait(executor.submit(inc, 1)) == 2


def test_the_thread_of_a_one_thread_pool_survives_base_exceptions() -> None:
    pool = DaemonThreadPool(1)
    try:
        for kind, exc_type in EXCEPTIONS.items():
            fut = pool.submit(raise_base, kind)
            assert isinstance(fut.exception(timeout=10), exc_type)
        # the one thread is still there to run this
        assert pool.submit(inc, 1).result(timeout=10) == 2
    finally:
        pool.shutdown()


# -- in a flow -------------------------------------------------------------------------------------
@task
def base_exception_task(kind: str) -> None:
    raise_base(kind)


@task
def fine(i: int) -> int:
    return i


@task
def after(x: Any) -> Any:
    return x


@pytest.mark.timeout(180)
@pytest.mark.parametrize("kind", list(EXCEPTIONS))
def test_flow_task_raising_a_base_exception_fails_only_that_task(executor: Any, kind: str) -> None:
    with Flow(f"base-exception-{kind}") as flow:
        bad = base_exception_task(kind)
        others = [fine(i) for i in range(4)]
        downstream = after(bad)
    state = flow.run(executor=executor)
    failed = state.result[bad]
    assert type(failed) is Failed, failed
    assert isinstance(failed.result, EXCEPTIONS[kind])
    assert "raised by the call" in failed.message
    for i, t in enumerate(others):
        assert type(state.result[t]) is Success
        assert state.result[t].result == i
    assert isinstance(state.result[downstream], TriggerFailed)
    assert state.is_failed()
