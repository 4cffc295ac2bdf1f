"""LocalExecutor passes the executor contract; so does a subclass, which runs on the same path."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from headwater import Flow, task
from headwater.engine.submission import is_inline, run_task_call, submitter_for
from headwater.executors import LocalExecutor
from headwater.testing import ExecutorContract


class CountingLocalExecutor(LocalExecutor):
    """A user's LocalExecutor that counts what it is given to run."""

    def __init__(self) -> None:
        super().__init__()
        self.submitted: list[Callable[..., Any]] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        self.submitted.append(fn)
        return super().submit(fn, *args, **kwargs)


class TestLocalExecutor(ExecutorContract):
    expected_capabilities = {"runs_inline": True}

    def make_executor(self) -> LocalExecutor:
        return LocalExecutor()


class TestLocalExecutorSubclass(ExecutorContract):
    expected_capabilities = {"runs_inline": True}

    def make_executor(self) -> LocalExecutor:
        return CountingLocalExecutor()


@task
def inc(x: int) -> int:
    return x + 1


@task
def thread_id(x: Any) -> int:
    return threading.get_ident()


@task
def total(xs: list[int]) -> int:
    return sum(xs)


def _flow() -> tuple[Flow, Any, Any, Any]:
    with Flow("inline") as flow:
        a = inc.map(list(range(5)))
        b = inc.map(a)
        where = thread_id(b)
        out = total(b)
    return flow, b, where, out


def test_a_subclass_is_run_inline_like_local_executor() -> None:
    sub = CountingLocalExecutor()
    assert is_inline(sub) and is_inline(LocalExecutor())
    # the flow runner submits to the executor itself: no wrapper that ships calls elsewhere
    assert submitter_for(sub) == sub.submit


def test_a_subclass_takes_the_fast_path_and_gives_the_same_results() -> None:
    flow, mapped, where, out = _flow()
    sub = CountingLocalExecutor()
    on_sub = flow.run(executor=sub)
    on_local = flow.run(executor=LocalExecutor())
    assert on_sub.is_successful() and on_local.is_successful()
    for t in flow.tasks:
        if t is where:
            continue
        got, want = on_sub.result[t], on_local.result[t]
        assert type(got) is type(want), t
        assert got.result == want.result, t
    assert [c.result for c in on_sub.result[mapped].map_states] == [2, 3, 4, 5, 6]
    assert on_sub.result[out].result == 20
    # every task run reached the subclass's submit as the task-run call itself, and ran in
    # this thread
    assert sub.submitted and set(sub.submitted) == {run_task_call}
    assert on_sub.result[where].result == threading.get_ident()


def test_the_old_import_path_runs_inline_too() -> None:
    from headwater.engine.executors import LocalExecutor as OldLocalExecutor

    with pytest.warns(UserWarning, match="has moved"):
        old = OldLocalExecutor()
    assert is_inline(old)
