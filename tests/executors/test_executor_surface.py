"""What the engine reads from executors: capabilities, ``WorkerLostError``, third-party hooks."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

from headwater.exceptions import HeadwaterError, WorkerLostError
from headwater.executors import DaskExecutor, Executor, LocalDaskExecutor, LocalExecutor


# -- capabilities --------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("make", "inline", "pickles", "reports"),
    [
        (Executor, False, False, False),
        (LocalExecutor, True, False, False),
        (lambda: LocalDaskExecutor("threads"), False, False, False),
        (lambda: LocalDaskExecutor("sync"), False, False, False),
        (lambda: LocalDaskExecutor("processes"), False, True, False),
        (lambda: DaskExecutor(address="tcp://127.0.0.1:1"), False, True, True),
    ],
    ids=["base", "local", "threads", "sync", "processes", "distributed"],
)
def test_each_executor_declares_what_it_can_do(
    make: Any, inline: bool, pickles: bool, reports: bool
) -> None:
    ex = make()
    assert (ex.runs_inline, ex.pickles_calls, ex.reports_completion) == (inline, pickles, reports)


def test_capabilities_are_documented_on_the_base_class() -> None:
    doc = Executor.__doc__ or ""
    for name in ("runs_inline", "pickles_calls", "reports_completion"):
        assert name in doc
        assert getattr(Executor, name) is False


def test_pickling_follows_the_scheduler_of_a_local_dask_executor() -> None:
    ex = LocalDaskExecutor("threads")
    assert not ex.pickles_calls
    ex.scheduler = "processes"
    assert ex.pickles_calls
    copy = pickle.loads(pickle.dumps(ex))
    assert copy.pickles_calls


# -- WorkerLostError -----------------------------------------------------------------------------
def test_worker_lost_error_lives_in_exceptions_and_keeps_its_old_paths() -> None:
    import headwater.executors._dask_support as support
    import headwater.executors.dask as dask_executors

    assert dask_executors.WorkerLostError is WorkerLostError
    assert support.WorkerLostError is WorkerLostError
    assert issubclass(WorkerLostError, HeadwaterError)
    assert WorkerLostError.__module__ == "headwater.exceptions"


def test_worker_lost_error_pickles_with_its_details() -> None:
    err = WorkerLostError("the worker died", key="inc-3-0", task_name="inc[3]")
    copy = pickle.loads(pickle.dumps(err))
    assert type(copy) is WorkerLostError
    assert (str(copy), copy.key, copy.task_name) == ("the worker died", "inc-3-0", "inc[3]")


# -- the third-party internals the executors rely on -------------------------------------------
def test_cloudpickle_still_lists_modules_pickled_by_value() -> None:
    """``dumps`` reads this private set to know when plain pickle will not do."""
    import cloudpickle

    assert isinstance(cloudpickle.cloudpickle._PICKLE_BY_VALUE_MODULES, set)


def test_modules_pickled_by_value_are_pickled_by_value(tmp_path: Any, monkeypatch: Any) -> None:
    import subprocess
    import sys

    import cloudpickle

    from headwater.executors._payloads import dumps

    (tmp_path / "byvalue_mod.py").write_text("def f():\n    return 41\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    import byvalue_mod  # type: ignore[import-not-found]

    cloudpickle.register_pickle_by_value(byvalue_mod)
    try:
        data = dumps(byvalue_mod.f)
    finally:
        cloudpickle.unregister_pickle_by_value(byvalue_mod)
    # another process, which cannot import the module, still runs the function
    code = "import pickle, sys; print(pickle.loads(sys.stdin.buffer.read())() + 1)"
    out = subprocess.run(
        [sys.executable, "-c", code], input=data, capture_output=True, check=True
    ).stdout
    assert out.strip() == b"42"


def test_distributed_client_still_takes_graphs_with_priorities() -> None:
    """``send_graph`` sends each batch through this private method (else a slower fallback)."""
    distributed = pytest.importorskip("distributed")
    pytest.importorskip("dask._expr")

    assert callable(getattr(distributed.Client, "_graph_to_futures", None))
