"""``ExecutorContract``: the behaviour every headwater executor must have, as a pytest mixin.

Subclass it in a test module, implement :meth:`ExecutorContract.make_executor`, and pytest runs
every check below against your executor::

    from headwater.executors import LocalExecutor
    from headwater.testing import ExecutorContract


    class TestLocalExecutor(ExecutorContract):
        def make_executor(self):
            return LocalExecutor()

The checks read the capabilities the executor declares (``runs_inline``, ``pickles_calls``,
``reports_completion``: see :class:`~headwater.executors.base.Executor`) and check that it
behaves as declared: an inline executor has run the call when ``submit`` returns, in the
calling thread; one that pickles calls hands them copies of their arguments, and explains what
cannot be pickled; one that reports completion calls its futures' done callbacks in this
process. Pin what your executor must declare with ``expected_capabilities``, e.g.
``expected_capabilities = {"pickles_calls": True}`` (capabilities left out must be false).

The helper functions the checks submit live at module level here, so that they pickle by
reference and any worker process that can import headwater can run them.
"""

from __future__ import annotations

import os
import pickle
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

import headwater
from headwater.context import context as _context
from headwater.executors.base import Executor

__all__ = ["ExecutorContract"]


# -- functions submitted by the checks ---------------------------------------------------------
def add(x: Any, y: Any = 0) -> Any:
    """Return ``x + y``."""
    return x + y


def inc(x: int) -> int:
    """Return ``x + 1``."""
    return x + 1


def echo(*args: Any, **kwargs: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    """Return the arguments as they arrived."""
    return args, kwargs


def total(values: Any) -> int:
    """Sum a list of numbers."""
    return sum(values)


def fail(message: str, *upstream: Any) -> Any:
    """Raise ``ValueError(message)``."""
    raise ValueError(message)


def read_context(*keys: str) -> dict[str, Any]:
    """Return the current headwater context's values for ``keys`` (missing keys left out)."""
    return {k: headwater.context[k] for k in keys if k in headwater.context}


def record_call(path: str, value: Any) -> Any:
    """Append a line to the file at ``path`` (to count how often a call ran) and return ``value``."""
    with open(path, "a") as f:
        f.write(f"{os.getpid()}\n")
    return value


def current_pid() -> int:
    """Return the id of the process running the call."""
    return os.getpid()


def append_and_return(items: list[Any], value: Any) -> list[Any]:
    """Append ``value`` to ``items`` (the list the call received) and return that list."""
    items.append(value)
    return items


def note_thread(calls: list[int], value: Any) -> Any:
    """Append the running thread's id to ``calls`` and return ``value``."""
    calls.append(threading.get_ident())
    return value


#: the capabilities an executor declares (see headwater.executors.base.Executor)
CAPABILITIES = ("runs_inline", "pickles_calls", "reports_completion")


def _wait_until(predicate: Any, timeout: float) -> bool:
    """Poll ``predicate()`` until it is true or ``timeout`` seconds have passed."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


class ExecutorContract:
    """Conformance checks for :class:`~headwater.executors.base.Executor` implementations."""

    #: The capabilities the executor must declare, e.g. ``{"pickles_calls": True}``; those left
    #: out must be false. ``None``: not pinned (the executor's declarations are still checked
    #: against its behaviour).
    expected_capabilities: Mapping[str, bool] | None = None

    #: How long (seconds) a reporting executor may take to call a done callback.
    callback_timeout: float = 30.0

    def make_executor(self) -> Executor:
        """Return a new, unstarted executor to check."""
        raise NotImplementedError("ExecutorContract subclasses must implement make_executor()")

    # -- basics -------------------------------------------------------------------------------
    def test_is_an_executor(self) -> None:
        ex = self.make_executor()
        assert isinstance(ex, Executor)

    def test_declares_its_capabilities(self) -> None:
        ex = self.make_executor()
        declared = {name: getattr(ex, name) for name in CAPABILITIES}
        for name, value in declared.items():
            assert type(value) is bool, f"{name} must be a bool, got {value!r}"
        if self.expected_capabilities is not None:
            unknown = set(self.expected_capabilities) - set(CAPABILITIES)
            assert not unknown, f"unknown capabilities {sorted(unknown)}"
            expected = {name: bool(self.expected_capabilities.get(name)) for name in CAPABILITIES}
            assert declared == expected

    def test_submit_and_wait(self) -> None:
        ex = self.make_executor()
        with ex.start():
            fut = ex.submit(add, 1, 2)
            assert ex.wait(fut) == 3

    def test_keyword_arguments(self) -> None:
        ex = self.make_executor()
        with ex.start():
            fut = ex.submit(add, x=1, y=41)
            assert ex.wait(fut) == 42

    def test_keyword_arguments_named_like_executor_options(self) -> None:
        ex = self.make_executor()
        with ex.start():
            fut = ex.submit(echo, key="k", pure=True, resources=None, workers=1, args=2)
            assert ex.wait(fut) == (
                (),
                {"key": "k", "pure": True, "resources": None, "workers": 1, "args": 2},
            )

    def test_many_independent_calls(self) -> None:
        ex = self.make_executor()
        with ex.start():
            futs = [ex.submit(inc, i) for i in range(50)]
            assert ex.wait(futs) == list(range(1, 51))

    # -- futures as arguments -----------------------------------------------------------------
    def test_futures_nested_in_arguments(self) -> None:
        ex = self.make_executor()
        with ex.start():
            a = ex.submit(inc, 0)
            b = ex.submit(inc, 1)
            fut = ex.submit(
                echo,
                a,
                [a, (b, {"deep": [b]})],
                {"k": a},
                frozen={a, b},
                mapping={"x": (a, b), "y": [{"z": b}]},
                plain=[1, "two", None],
            )
            args, kwargs = ex.wait(fut)
        assert args == (1, [1, (2, {"deep": [2]})], {"k": 1})
        assert kwargs == {
            "frozen": {1, 2},
            "mapping": {"x": (1, 2), "y": [{"z": 2}]},
            "plain": [1, "two", None],
        }

    def test_chain_of_futures(self) -> None:
        ex = self.make_executor()
        with ex.start():
            fut = ex.submit(inc, 0)
            for _ in range(19):
                fut = ex.submit(inc, fut)
            assert ex.wait(fut) == 20

    def test_fan_out_and_in(self) -> None:
        ex = self.make_executor()
        with ex.start():
            root = ex.submit(inc, 0)
            mids = [ex.submit(add, root, i) for i in range(10)]
            fut = ex.submit(total, mids)
            assert ex.wait(fut) == sum(1 + i for i in range(10))

    def test_same_future_used_many_times(self) -> None:
        ex = self.make_executor()
        with ex.start():
            a = ex.submit(inc, 1)
            fut = ex.submit(echo, a, a, a=a, b=[a, a])
            assert ex.wait(fut) == ((2, 2), {"a": 2, "b": [2, 2]})

    # -- wait ---------------------------------------------------------------------------------
    def test_wait_keeps_the_shape(self) -> None:
        ex = self.make_executor()
        with ex.start():
            a, b, c = (ex.submit(inc, i) for i in range(3))
            out = ex.wait({"a": [a, (b, c)], "b": {"c": c}, "plain": 7, "t": (a,)})
        assert out == {"a": [1, (2, 3)], "b": {"c": 3}, "plain": 7, "t": (1,)}

    def test_wait_on_plain_values(self) -> None:
        ex = self.make_executor()
        with ex.start():
            assert ex.wait([1, {"a": "b"}, (None,)]) == [1, {"a": "b"}, (None,)]

    def test_wait_mid_run_then_continue(self) -> None:
        ex = self.make_executor()
        with ex.start():
            a = ex.submit(inc, 1)
            assert ex.wait(a) == 2
            b = ex.submit(add, a, 10)
            c = ex.submit(add, b, a)
            assert ex.wait([c, b, a]) == [14, 12, 2]

    def test_nothing_runs_twice(self, tmp_path: Path) -> None:
        log = str(tmp_path / "calls.log")
        ex = self.make_executor()
        with ex.start():
            a = ex.submit(record_call, log, 1)
            b = ex.submit(record_call, log, a)
            assert ex.wait(b) == 1
            c = ex.submit(record_call, log, b)
            assert ex.wait([a, b, c]) == [1, 1, 1]
            assert ex.wait(a) == 1
        assert len(Path(log).read_text().splitlines()) == 3

    # -- errors -------------------------------------------------------------------------------
    def test_exception_comes_back_from_wait(self) -> None:
        ex = self.make_executor()
        with ex.start():
            with pytest.raises(ValueError, match="deliberate failure"):
                fut = ex.submit(fail, "deliberate failure")
                ex.wait(fut)

    def test_exception_reaches_dependents(self) -> None:
        ex = self.make_executor()
        with ex.start():
            with pytest.raises(ValueError, match="upstream broke"):
                bad = ex.submit(fail, "upstream broke")
                ex.wait(ex.submit(inc, bad))

    def test_exception_does_not_spoil_other_calls(self) -> None:
        ex = self.make_executor()
        with ex.start():
            good = ex.submit(inc, 1)
            with pytest.raises(ValueError):
                ex.wait(ex.submit(fail, "one bad call"))
            assert ex.wait(good) == 2
            assert ex.wait(ex.submit(inc, good)) == 3

    # -- context ------------------------------------------------------------------------------
    def test_extra_context_is_visible(self) -> None:
        ex = self.make_executor()
        with ex.start():
            fut = ex.submit(
                read_context,
                "task_name",
                "map_index",
                extra_context={"task_name": "t", "map_index": 3},
            )
            assert ex.wait(fut) == {"task_name": "t", "map_index": 3}
        assert "task_name" not in _context

    def test_extra_context_per_submission(self) -> None:
        ex = self.make_executor()
        with ex.start():
            futs = [ex.submit(read_context, "i", extra_context={"i": i}) for i in range(5)]
            plain = ex.submit(read_context, "i")
            assert ex.wait(futs) == [{"i": i} for i in range(5)]
            assert ex.wait(plain) == {}

    def test_extra_context_with_future_arguments(self) -> None:
        ex = self.make_executor()
        with ex.start():
            a = ex.submit(inc, 1, extra_context={"who": "a"})
            b = ex.submit(read_context, "who", extra_context={"who": "b", "upstream": 0})
            c = ex.submit(echo, a, b, extra_context={"who": "c"})
            assert ex.wait(c) == ((2, {"who": "b"}), {})

    # -- pickling and lifecycle -----------------------------------------------------------------
    def test_pickle_before_start(self) -> None:
        import cloudpickle

        ex = self.make_executor()
        copy = pickle.loads(cloudpickle.dumps(ex))
        assert type(copy) is type(ex)
        with copy.start():
            assert copy.wait(copy.submit(inc, 1)) == 2

    def test_pickle_after_start(self) -> None:
        import cloudpickle

        ex = self.make_executor()
        with ex.start():
            fut = ex.submit(inc, 1)
            data = cloudpickle.dumps(ex)
            assert ex.wait(fut) == 2
        copy = pickle.loads(data)
        with copy.start():
            assert copy.wait(copy.submit(inc, 2)) == 3
        copy2 = pickle.loads(cloudpickle.dumps(ex))
        with copy2.start():
            assert copy2.wait(copy2.submit(inc, 3)) == 4

    def test_start_twice_in_a_row(self) -> None:
        ex = self.make_executor()
        for run in range(2):
            with ex.start():
                a = ex.submit(inc, run)
                assert ex.wait(ex.submit(add, a, 10)) == run + 11

    def test_start_releases_after_an_error(self) -> None:
        ex = self.make_executor()
        with pytest.raises(RuntimeError, match="inside the run"):
            with ex.start():
                ex.submit(inc, 1)
                raise RuntimeError("inside the run")
        with ex.start():
            assert ex.wait(ex.submit(inc, 1)) == 2

    # -- declared capabilities ----------------------------------------------------------------
    def test_calls_run_somewhere_sensible(self) -> None:
        ex = self.make_executor()
        with ex.start():
            pids = ex.wait([ex.submit(current_pid) for _ in range(4)])
        if not ex.pickles_calls:  # not pickled: the calls cannot have left this process
            assert set(pids) == {os.getpid()}

    def test_inline_calls_have_run_when_submit_returns(self) -> None:
        ex = self.make_executor()
        if not ex.runs_inline:
            pytest.skip("the executor does not declare runs_inline")
        calls: list[int] = []
        with ex.start():
            first = ex.submit(note_thread, calls, 1)
            assert calls == [threading.get_ident()], "the call had not run in this thread"
            second = ex.submit(note_thread, calls, first, extra_context={"who": "second"})
            assert calls == [threading.get_ident()] * 2
            assert ex.wait([first, second]) == [1, 1]
        assert calls == [threading.get_ident()] * 2  # nothing ran again

    def test_pickled_calls_receive_copies(self) -> None:
        ex = self.make_executor()
        if not ex.pickles_calls:
            pytest.skip("the executor does not declare pickles_calls")
        mine = [1]
        with ex.start():
            theirs = ex.wait(ex.submit(append_and_return, mine, 2))
        assert theirs == [1, 2]
        assert mine == [1], "the call changed the caller's list: its arguments were not pickled"

    def test_unpicklable_submission_is_explained(self) -> None:
        ex = self.make_executor()
        if not ex.pickles_calls:
            pytest.skip("the executor does not declare pickles_calls")
        lock = threading.Lock()
        with ex.start():
            with pytest.raises(Exception, match=r"(?s)pickle.*argument 1"):
                ex.wait(ex.submit(echo, 1, lock))
            # the executor is still usable afterwards
            assert ex.wait(ex.submit(inc, 1)) == 2

    def test_futures_report_completion(self) -> None:
        ex = self.make_executor()
        if not ex.reports_completion:
            pytest.skip("the executor does not declare reports_completion")
        seen: list[tuple[int, Any, Any, Any]] = []

        def record(future: Any) -> None:
            error = future.exception()
            value = None if error is not None else future.result()
            seen.append((os.getpid(), future, value, error))

        with ex.start():
            good = ex.submit(inc, 1)
            good.add_done_callback(record)
            bad = ex.submit(fail, "reported failure")
            bad.add_done_callback(record)
            assert ex.wait(good) == 2
            with pytest.raises(ValueError):
                ex.wait(bad)
            assert _wait_until(lambda: len(seen) >= 2, self.callback_timeout), seen
            late: list[Any] = []
            good.add_done_callback(late.append)  # added once done: called all the same
            assert _wait_until(lambda: late == [good], self.callback_timeout), late
        by_future = {id(entry[1]): entry for entry in seen}
        assert len(seen) == 2 and set(by_future) == {id(good), id(bad)}  # once each
        assert by_future[id(good)][0] == os.getpid()  # in this process
        assert by_future[id(good)][2:] == (2, None)
        pid, _, _, error = by_future[id(bad)]
        assert pid == os.getpid()
        assert isinstance(error, ValueError) and "reported failure" in str(error)
