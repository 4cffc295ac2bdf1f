"""Tasks raising a ``BaseException`` that is not ``KeyboardInterrupt`` fail only themselves.

``SystemExit``, ``GeneratorExit``, ``asyncio.CancelledError`` or a user's own ``BaseException``
subclass raised by a task (sync, async or with a ``timeout``) gives that task a ``Failed`` state
carrying the exception; the other tasks keep their states, on every executor. Only
``KeyboardInterrupt`` stops the run. Task functions live at module level so that process and
distributed workers can unpickle them.
"""

from __future__ import annotations

import asyncio
import datetime
import threading
from collections.abc import Callable
from typing import Any

import pytest

from headwater import Flow, Task, task
from headwater.engine import signals
from headwater.engine import state as st
from headwater.engine.task_runner import TaskRunner
from headwater.executors import LocalExecutor
from headwater.triggers import always_run
from headwater.utilities.debug import raise_on_exception


class Boom(BaseException):
    """A user's own exception that is not an ``Exception``."""


@task
def boom() -> None:
    raise Boom("boom")


@task
def generator_exit() -> None:
    raise GeneratorExit


@task
def system_exit() -> None:
    raise SystemExit(3)


@task
def cancelled() -> None:
    raise asyncio.CancelledError


@task
async def async_boom() -> None:
    raise Boom("async boom")


@task
async def async_system_exit() -> None:
    raise SystemExit(4)


@task(timeout=60)
def boom_with_timeout() -> None:
    raise Boom("boom in the timeout thread")


@task(timeout=60)
async def async_boom_with_timeout() -> None:
    raise Boom("async boom with timeout")


@task
def fine() -> int:
    return 1


@task
def after(x: Any) -> Any:
    return x


@task
async def async_fine() -> int:
    return 2


BAD = {
    boom: Boom,
    generator_exit: GeneratorExit,
    system_exit: SystemExit,
    cancelled: asyncio.CancelledError,
    async_boom: Boom,
    async_system_exit: SystemExit,
    boom_with_timeout: Boom,
    async_boom_with_timeout: Boom,
}


def _run_within(seconds: float, fn: Callable[[], Any]) -> Any:
    """``fn()`` in a thread; fails the test (instead of hanging it) if it does not return."""
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as exc:
            box["error"] = exc

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(seconds)
    assert not worker.is_alive(), f"did not return within {seconds} s"
    if "error" in box:
        raise box["error"]
    return box["value"]


def test_base_exceptions_fail_only_their_task_on_every_executor(executor: Any) -> None:
    with Flow("base-exceptions") as flow:
        bad = {t: t() for t in BAD}
        ok = fine()
        downstream = {
            t: after(out, task_args={"name": f"after-{t.name}"}) for t, out in bad.items()
        }
        ok_after = after(ok, task_args={"name": "after-fine"})

    state = flow.run(executor=executor)

    assert type(state) is st.Failed
    assert set(state.result) == flow.tasks
    for t, exc_type in BAD.items():
        s = state.result[bad[t]]
        assert type(s) is st.Failed, (t.name, s)
        assert isinstance(s.result, exc_type), (t.name, s.result)
        assert exc_type.__name__ in s.message
        assert type(state.result[downstream[t]]) is st.TriggerFailed
    assert state.result[ok].result == 1
    assert state.result[ok_after].result == 1


def test_the_engine_loop_survives_a_coroutine_raising_system_exit() -> None:
    with Flow("async") as flow:
        first = async_system_exit()
        second = async_fine(upstream_tasks=[first], task_args={"trigger": always_run})

    state = _run_within(30, lambda: flow.run(executor=LocalExecutor()))
    assert isinstance(state.result[first].result, SystemExit)
    assert state.result[second].result == 2


class TestKeyboardInterruptStillStopsTheRun:
    def test_sync(self) -> None:
        @task
        def interrupted() -> None:
            raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            Flow("ki", tasks=[interrupted]).run()

    def test_async(self) -> None:
        @task
        async def interrupted() -> None:
            raise KeyboardInterrupt

        flow = Flow("ki", tasks=[interrupted])
        with pytest.raises(KeyboardInterrupt):
            _run_within(30, flow.run)

    def test_with_timeout(self) -> None:
        @task(timeout=60)
        def interrupted() -> None:
            raise KeyboardInterrupt

        with pytest.raises(KeyboardInterrupt):
            Flow("ki", tasks=[interrupted]).run()


class TestTaskRunnerSteps:
    @pytest.mark.parametrize("t", list(BAD), ids=lambda t: t.name)
    def test_get_task_run_state(self, t: Task) -> None:
        ctx = {"task_full_name": t.name, "task_run_count": 1}
        out = _run_within(30, lambda: TaskRunner(t).get_task_run_state(st.Running(), {}, ctx))
        assert type(out) is st.Failed
        assert isinstance(out.result, BAD[t])
        assert out.message.startswith("Error during execution of task: ")

    def test_a_trigger_raising_fails_the_task(self) -> None:
        def trigger(upstream_states: Any) -> bool:
            raise Boom("trigger")

        out = TaskRunner(Task(trigger=trigger)).run()
        assert type(out) is st.TriggerFailed
        assert isinstance(out.result, Boom)

    def test_a_cache_validator_raising_fails_the_task(self) -> None:
        def validator(state: Any, inputs: Any, parameters: Any) -> bool:
            raise SystemExit(5)

        t = Task(cache_for=datetime.timedelta(hours=1), cache_validator=validator)
        out = TaskRunner(t).run(context={"caches": {t.name: [st.Cached(result=1)]}})
        assert type(out) is st.Failed
        assert "SystemExit" in out.message

    def test_a_state_handler_raising_a_base_exception_fails_the_task(self) -> None:
        def handler(t: Any, old: st.State, new: st.State) -> None:
            raise GeneratorExit

        out = TaskRunner(Task(state_handlers=[handler])).run()
        assert type(out) is st.Failed
        assert "GeneratorExit" in out.message

    def test_signals_keep_their_meaning(self) -> None:
        @task
        def skipper() -> None:
            raise signals.SKIP("not today")

        out = TaskRunner(skipper).run()
        assert type(out) is st.Skipped and out.message == "not today"

    def test_raise_on_exception_lets_them_propagate(self) -> None:
        with raise_on_exception(), pytest.raises(Boom):
            TaskRunner(boom).run()
