"""How the flow runner hands one task run to an executor.

Every task run (or mapped child) is the call ``run_task_call(runner, state, upstream, ctx,
map_index)``. How it is submitted depends on what the executor can do:

- executors that declare ``runs_inline`` (``LocalExecutor`` and its subclasses: see
  :func:`is_inline`) get the call as it is — it runs at once;
- other executors get :func:`sharing_submit`: the run's context and a mapped task's runner are
  wrapped in :class:`~headwater.executors.base.Shared`, so that executors pickling calls send
  each of them once per run rather than once per call;
- executors that declare ``pickles_calls`` get :func:`explaining_submit` on top of that: a
  call that cannot be pickled fails its task with a message naming the culprit and the fix, and
  a value that cannot travel back fails the task that returned it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from time import time as _time
from typing import TYPE_CHECKING, Any

from headwater.engine._run_reports import REPORTS_KEY, run_reported
from headwater.engine.observers import OBSERVERS_KEY
from headwater.engine.state import Failed, Mapped, State
from headwater.utilities.logging import LOG_LEVEL_KEY, adopt_level

if TYPE_CHECKING:
    from headwater.core.edge import Edge
    from headwater.core.task import Task

__all__ = [
    "explaining_submit",
    "is_inline",
    "run_task",
    "run_task_call",
    "sharing_submit",
    "submitter_for",
]

_MAPPED_MESSAGE = "Mapped tasks submitted for execution."


def run_task_call(
    runner: Any,
    state: State | None,
    upstream: dict[Any, Any],
    ctx: dict[Any, Any],
    map_index: int | None,
) -> State:
    """What the executor runs for one task (or mapped child).

    ``upstream`` maps edges to states; a list stands for the children of a mapped upstream task
    (a reduce) and a ``(FLATTEN, value)`` pair for an edge with ``flatten``: both are turned into
    the state the task runner expects here, where the executor has resolved their futures.
    A worker process takes on the log level of the process the run started in. A task run
    whose run's observers are in another process carries its times (and log lines, if asked
    for) back on its state (:mod:`headwater.engine._run_reports`).
    """
    level = ctx.get(LOG_LEVEL_KEY)
    if level is not None:
        adopt_level(level)
    for s in upstream.values():
        t = type(s)
        if t is list or t is tuple:
            _prepare_upstream(upstream)
            break
    observers = ctx.get(OBSERVERS_KEY)
    if observers is None:
        wanted = ctx.get(REPORTS_KEY)  # observers in the run's process, task runs elsewhere
        if wanted is None:
            return runner.run_unit(state, upstream, ctx, map_index)  # type: ignore[no-any-return]
        return run_reported(wanted, runner, state, upstream, ctx, map_index)
    started = _time()  # the run's observers live in this process: tell them when it started
    new: State = runner.run_unit(state, upstream, ctx, map_index)
    # a task that keeps the state it had (a later pass) did not run: it has no start
    observers.task_ran(runner.task, new, map_index, None if new is state else started, state)
    return new


def _prepare_upstream(upstream: dict[Any, Any]) -> None:
    from headwater.engine.mapping import FLATTEN, flatten_upstream

    for e, s in upstream.items():
        t = type(s)
        if t is tuple and len(s) == 2 and s[0] == FLATTEN:
            upstream[e] = flatten_upstream(s[1])
        elif t is list:
            upstream[e] = Mapped(message=_MAPPED_MESSAGE, map_states=s)


def is_inline(executor: Any) -> bool:
    """Whether ``executor`` runs each call at once in this thread (its ``runs_inline``).

    An object that does not say (one not derived from
    :class:`~headwater.executors.base.Executor`) is taken not to.
    """
    return bool(getattr(executor, "runs_inline", False))


def submitter_for(executor: Any) -> Callable[..., Any]:
    """The ``submit`` the flow runner uses with ``executor`` (see the module docstring)."""
    if is_inline(executor):
        submit: Callable[..., Any] = executor.submit
        return submit
    if getattr(executor, "pickles_calls", False):
        return explaining_submit(executor)
    return sharing_submit(executor, in_process=False)


# -- executors other than LocalExecutor: what a task run sends --------------------------------
def _run_shared_task(
    shared: Any, state: State | None, states: tuple[Any, ...], ctx: Any, map_index: int | None
) -> State:
    """:func:`run_task_call` with the parts that do not change between calls sent as ``Shared``.

    ``shared.value`` is ``(runner, edges)`` — the task's runner (with its constant inputs) and
    its upstream edges, which hold the upstream tasks — and ``ctx.value`` the run's context:
    one copy of each per run (per mapped task for the runner), whatever the number of calls.
    ``states`` are the upstream states (or futures of them) in the order of ``edges``.
    """
    runner, edges = shared.value
    return run_task_call(runner, state, dict(zip(edges, states)), ctx.value, map_index)


def _run_shared_task_in_process(
    shared: Any, state: State | None, states: tuple[Any, ...], ctx: Any, map_index: int | None
) -> State:
    """:func:`_run_shared_task` for executors that pickle results (see :func:`_run_in_process`)."""
    runner, edges = shared.value
    return _run_in_process(runner, state, dict(zip(edges, states)), ctx.value, map_index)


def sharing_submit(executor: Any, in_process: bool) -> Callable[..., Any]:
    """``executor.submit`` that sends each task run's unchanging parts as ``Shared`` values.

    The run's context, and a mapped task's runner and upstream edges, are the same for many
    calls; wrapped in :class:`~headwater.executors.base.Shared`, an executor that pickles calls
    sends them once instead of once per call (a mapped task's edges hold its upstream tasks,
    constants included), and thread-based executors do not search them for futures.
    """
    from headwater.executors.base import Shared

    submit = executor.submit
    target = _run_shared_task_in_process if in_process else _run_shared_task
    contexts: dict[int, Any] = {}  # id(ctx) -> Shared(ctx)
    mapped: dict[
        int, tuple[Any, tuple[Any, ...]]
    ] = {}  # id(runner) -> (Shared((runner, edges)), edges)

    def submit_sharing(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        if fn is not run_task_call:
            return submit(fn, *args, **kwargs)
        runner, prior, ups, ctx, map_index = args
        shared_ctx = contexts.get(id(ctx))
        if shared_ctx is None or shared_ctx.value is not ctx:
            shared_ctx = contexts[id(ctx)] = Shared(ctx, "context")
        edges = tuple(ups)
        if map_index is None:  # used once: nothing to remember
            shared = Shared((runner, edges), runner.task.name)
        else:
            hit = mapped.get(id(runner))
            if hit is None or hit[0].value[0] is not runner or hit[1] != edges:
                hit = mapped[id(runner)] = (Shared((runner, edges), runner.task.name), edges)
            shared = hit[0]
        return submit(target, shared, prior, tuple(ups.values()), shared_ctx, map_index, **kwargs)

    return submit_sharing


# -- process-based executors: explain what cannot be pickled ----------------------------------
def _run_in_process(
    runner: Any,
    state: State | None,
    upstream: dict[Any, Any],
    ctx: dict[Any, Any],
    map_index: int | None,
) -> State:
    """:func:`run_task_call` for executors that pickle results: an unpicklable value fails the task."""
    new = run_task_call(runner, state, upstream, ctx, map_index)
    value = new.result
    if value is None or type(new) is Mapped or not new.is_successful():
        return new
    import cloudpickle

    try:
        cloudpickle.dumps(value)
    except Exception as exc:
        name = runner.task.name if map_index is None else f"{runner.task.name}[{map_index}]"
        from headwater.exceptions import SerializationError

        err = SerializationError(
            f"Task {name!r} returned {_short(value)}, which cannot be pickled to send it back from "
            f"the worker process ({exc}). To fix: return plain data (create objects such as open "
            "files, locks, connections or generators inside the tasks that use them), or run "
            "the flow on a thread-based executor."
        )
        failed = Failed(str(err), result=err)
        failed.run_report = new.run_report  # when it ran, for the run's observers
        return failed
    return new


def _short(obj: Any, limit: int = 80) -> str:
    try:
        text = repr(obj)
    except Exception:
        text = f"<{type(obj).__name__} object>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def explaining_submit(executor: Any) -> Callable[..., Any]:
    """``executor.submit`` for executors that pickle tasks: what cannot be pickled fails its task.

    A task run whose task, inputs or context cannot be pickled becomes a ``Failed`` state (in
    place of a future) whose message names the task, the value and the fix. A task downstream
    of such a task cannot be pickled either (its upstream edges hold the task); it is run here,
    in this process, so that it gets its normal trigger outcome.
    """
    from headwater.exceptions import SerializationError

    submit = sharing_submit(executor, in_process=True)
    explained: list[State] = []  # the Failed states made here (their downstream runs here)

    def submit_explaining(fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Any:
        if fn is not run_task_call:
            return submit(fn, *args, **kwargs)
        try:
            return submit(run_task_call, *args, **kwargs)
        except SerializationError as exc:
            runner, prior, ups, ctx, map_index = args
            if any(v is s for v in ups.values() for s in explained):
                return run_task_call(runner, prior, executor.wait(dict(ups)), ctx, map_index)
            msg = _explain_unpicklable_run(executor, runner, prior, ups, ctx, map_index, exc)
            err = SerializationError(msg)
            err.__cause__ = exc
            failed = Failed(msg, result=err)
            explained.append(failed)
            return failed

    return submit_explaining


def _explain_unpicklable_run(
    executor: Any,
    runner: Any,
    prior: Any,
    ups: dict[Any, Any],
    ctx: dict[Any, Any],
    map_index: int | None,
    exc: BaseException,
) -> str:
    import cloudpickle

    def cause(obj: Any) -> BaseException | None:
        try:
            cloudpickle.dumps(obj)
        except Exception as e:
            return e
        return None

    task = runner.task
    name = task.name if map_index is None else f"{task.name}[{map_index}]"
    candidates: list[tuple[str, Any]] = []
    fn = getattr(task, "__wrapped__", None) or getattr(type(task), "run", None)
    if fn is not None:
        candidates.append((f"its function {getattr(fn, '__qualname__', fn)!r}", fn))
    candidates += [(f"its attribute {k!r}", v) for k, v in vars(task).items() if k != "__wrapped__"]
    candidates += [
        (f"its input {k!r}", v) for k, v in (getattr(runner, "constants", None) or {}).items()
    ]
    candidates += [(f"parameter {k!r}", v) for k, v in (ctx.get("parameters") or {}).items()]
    candidates += [
        (f"its upstream input {e.key or e.upstream_task.name!r}", v) for e, v in ups.items()
    ]
    candidates += [(f"context key {k!r}", v) for k, v in ctx.items() if k != "parameters"]
    if prior is not None:
        candidates.append(("its previous state", prior))
    what, value, why = "the task run", task, exc
    for label, obj in candidates:
        found = cause(obj)
        if found is not None:
            what, value, why = label, obj, found
            break
    qualname = getattr(value, "__qualname__", "") or ""
    if qualname.endswith("<lambda>") or "<locals>" in qualname:
        fix = (
            "it is a lambda or a function defined inside another function: define it with `def` "
            "at module level in an importable module, and pass what it needs as task inputs "
            "instead of closing over it"
        )
    else:
        fix = (
            "pass only picklable values (no open files, locks, sockets, connections or "
            "generators: create those inside the task that uses them), or run the flow on a "
            "thread-based executor such as LocalDaskExecutor(scheduler='threads')"
        )
    return (
        f"Task {name!r} cannot run on {executor!r}, which sends tasks to other processes: "
        f"{what} ({_short(value)}) cannot be pickled ({why}). To fix: {fix}."
    )


# -- Prefect Core 1.x's helper -----------------------------------------------------------------
def run_task(
    task: Task,
    state: State | None,
    upstream_states: dict[Edge, State],
    context: dict[str, Any],
    flow_result: Any,
    task_runner_cls: Callable[..., Any],
    task_runner_state_handlers: Iterable[Callable[..., Any]] | None,
    upstream_mapped_states: dict[Edge, list[State]] | None = None,
    is_mapped_parent: bool = False,
) -> State:
    """Run one task with a new task runner, as an executor would (Prefect Core 1.x's helper).

    Args:
        task: the task.
        state: its state to start from.
        upstream_states: ``{edge: state}`` for its upstream edges.
        context: the context of the run (``map_index`` makes it one child of a mapped task).
        flow_result: the flow's ``result``.
        task_runner_cls: the task runner class.
        task_runner_state_handlers: handlers for the task runner.
        upstream_mapped_states: per unmapped edge from a mapped task, the children's states.
        is_mapped_parent: run the whole mapped task (its children one after another).
    """
    ups = dict(upstream_states)
    for edge, s in ups.items():
        children = (upstream_mapped_states or {}).get(edge)
        if not edge.mapped and type(s) is Mapped and children is not None:
            ups[edge] = Mapped(message=s.message, map_states=list(children))
    runner = task_runner_cls(
        task=task,
        state_handlers=list(task_runner_state_handlers or ()) or None,
        flow_result=flow_result,
    )
    ctx = dict(context)
    if is_mapped_parent:
        ctx.pop("map_index", None)
    from headwater.context import context as _context

    with _context(ctx):
        return runner.run(state=state, upstream_states=ups, context=ctx)  # type: ignore[no-any-return]
