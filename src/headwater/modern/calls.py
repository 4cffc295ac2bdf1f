"""What a task call does outside graph building: call, ``.submit()`` and ``.map()``.

:class:`~headwater.core.task.Task` sends here the calls made inside a running ``@flow`` (or
task), and those of tasks given Prefect 3 options outside any flow; inside ``with Flow(...)``
a call still adds the task to the graph.
"""

from __future__ import annotations

import contextvars
import functools
import io
import threading
import types
from typing import Any

from headwater.core.edge import unmapped
from headwater.modern import states as st
from headwater.modern.annotations import UpstreamFailed, quote, resolve_inputs
from headwater.modern.context import FLOW_RUN, FlowRun
from headwater.modern.futures import FutureList, TaskRunFuture
from headwater.modern.options import TaskOptions, options_of
from headwater.modern.remote import snapshot
from headwater.modern.runners import TaskRunner, ThreadPoolTaskRunner, run_pickled
from headwater.modern.task_engine import arg_names, run_async, run_sync

__all__ = ["call", "map_task", "submit"]


def call(task: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``task(*args, **kwargs)`` in a run: its value (or, ``return_state=True``, its state).

    An ``async def`` task returns a coroutine to await.

    Raises:
        BaseException: the run failed (its exception), unless ``return_state=True``.
    """
    return_state = kwargs.pop("return_state", False) if "return_state" in kwargs else False
    wait_for = kwargs.pop("wait_for", None) if "wait_for" in kwargs else None
    options = options_of(task)
    flow_run = FLOW_RUN.get()
    if options.is_async:
        return _call_async(task, options, args, kwargs, wait_for, flow_run, return_state)
    state = run_sync(task, options, args, kwargs, wait_for, flow_run)
    return state if return_state else state.result()


async def _call_async(
    task: Any,
    options: TaskOptions,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    wait_for: Any,
    flow_run: FlowRun | None,
    return_state: bool,
) -> Any:
    state = await run_async(task, options, args, kwargs, wait_for, flow_run)
    return state if return_state else state.result()


# -- submitting ------------------------------------------------------------------------------
_default: list[TaskRunner] = []
_default_lock = threading.Lock()


def default_runner() -> TaskRunner:
    """The thread pool of tasks submitted outside any flow (started once, on first use)."""
    with _default_lock:
        if not _default:
            runner = ThreadPoolTaskRunner()
            runner.__enter__()
            _default.append(runner)
        return _default[0]


def _in_thread(
    task: Any,
    options: TaskOptions,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    wait_for: Any,
    flow_run: FlowRun | None,
) -> st.State:
    if options.is_async:
        import asyncio

        return asyncio.run(run_async(task, options, args, kwargs, wait_for, flow_run))
    return run_sync(task, options, args, kwargs, wait_for, flow_run)


def submit(task: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``task.submit(*args, wait_for=None, return_state=False, **kwargs)``: a future.

    With ``return_state=True``, waits and returns the run's final state instead.
    """
    return_state = kwargs.pop("return_state", False) if "return_state" in kwargs else False
    wait_for = kwargs.pop("wait_for", None) if "wait_for" in kwargs else None
    options = options_of(task)
    flow_run = FLOW_RUN.get()
    runner = flow_run.task_runner if flow_run is not None else None
    if runner is None:
        runner = default_runner()
    if runner.in_process:
        job = functools.partial(_in_thread, task, options, args, kwargs, wait_for, flow_run)
        inline = functools.partial(contextvars.copy_context().run, job)
        future = TaskRunFuture(task, inline)
        future.attach(runner.submit_call(job))
    else:
        future = _submit_remote(runner, task, options, args, kwargs, wait_for, flow_run)
    if return_state:
        future.wait()
        return future.state
    return future


def _submit_remote(
    runner: TaskRunner,
    task: Any,
    options: TaskOptions,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    wait_for: Any,
    flow_run: FlowRun | None,
) -> TaskRunFuture:
    import cloudpickle

    future = TaskRunFuture(task)
    try:
        if wait_for:
            resolve_inputs(list(wait_for))
        args = tuple(resolve_inputs(a) for a in args)
        kwargs = {k: resolve_inputs(v) for k, v in kwargs.items()}
    except UpstreamFailed as exc:
        future.set_state(st.State(st.StateType.PENDING, "NotReady", str(exc), exc))
        return future
    blob = cloudpickle.dumps((task, args, kwargs, snapshot(flow_run)))
    if flow_run is not None and flow_run.observers is not None:
        observers = flow_run.observers

        def report(done: TaskRunFuture) -> None:
            run = types.SimpleNamespace(id=done.state.run_id, name=options.name)
            observers.task_finished(task, done.state, run)

        future.add_done_callback(report)
    future.attach(runner.submit_call(run_pickled, blob))
    return future


# -- mapping ---------------------------------------------------------------------------------
def _iterable(value: Any) -> bool:
    if isinstance(value, (str, bytes, io.IOBase, unmapped, quote, dict)):
        return False
    try:
        iter(value)
    except TypeError:
        return False
    return True


def map_task(task: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """``task.map(...)``: one submitted run per item of the iterable arguments.

    Arguments that are not iterable (or are strings, dicts, ``unmapped(...)`` or
    ``quote(...)``) go whole to every run.

    Raises:
        TypeError: no argument is iterable.
        ValueError: the iterable arguments have different lengths.
    """
    return_state = kwargs.pop("return_state", False) if "return_state" in kwargs else False
    wait_for = kwargs.pop("wait_for", None) if "wait_for" in kwargs else None
    parameters = dict(zip(arg_names(task), args))
    parameters.update(kwargs)
    mapped = {k: list(v) for k, v in parameters.items() if _iterable(v)}
    if not mapped:
        raise TypeError(
            f"{task.name}.map() needs at least one iterable argument to map over, got "
            f"{sorted(parameters)}; call the task (or .submit() it) to run it once."
        )
    lengths = {k: len(v) for k, v in mapped.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(
            f"{task.name}.map(): the iterable arguments have different lengths {lengths}; "
            "wrap an argument in unmapped(...) to pass it whole to every run."
        )
    static = {
        k: v.value if isinstance(v, unmapped) else v
        for k, v in parameters.items()
        if k not in mapped
    }
    count = next(iter(lengths.values()))
    keys = list(mapped)
    futures = FutureList()
    for i in range(count):
        call_kwargs = dict(static)
        for key in keys:
            call_kwargs[key] = mapped[key][i]
        call_kwargs["wait_for"] = wait_for
        futures.append(submit(task, (), call_kwargs))
    if return_state:
        futures.wait()
        return [f.state for f in futures]
    return futures
