"""Running one task run of a modern task: retries, timeouts, caching, hooks, observers.

:class:`TaskRunEngine` holds the steps of one run; :func:`run_sync` and :func:`run_async`
drive them for synchronous and ``async def`` tasks. A run ends in a modern state: its value
(``Completed``, or ``Cached`` from the cache), its exception (``Failed``, ``TimedOut``), or
``Crashed`` when interrupted (the interruption is raised again). Retries wait
:func:`~headwater.modern.options.retry_delay` seconds and run the function again in the same
thread.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from headwater.context import context as _context
from headwater.engine._run_reports import finished_report
from headwater.modern import states as st
from headwater.modern.annotations import UpstreamFailed, resolve_inputs, wait_for_all
from headwater.modern.context import ACTIVE, FLOW_RUN, TASK_RUN, FlowRun, TaskRun
from headwater.modern.futures import TaskRunFuture
from headwater.modern.log import printing_to, task_run_logger
from headwater.modern.options import TaskOptions, retry_delay

__all__ = ["TaskRunEngine", "arg_names", "run_async", "run_sync"]

_EMPTY: frozenset[str] = frozenset()
_current = _context.current


def _slots(tags: frozenset[str]) -> Any:
    if not tags:
        return contextlib.nullcontext()
    from headwater.modern import limits

    return limits.task_slots(tags)


def _format_name(template: Any, parameters: dict[str, Any], default: str) -> str:
    if template is None:
        return default
    if callable(template):
        import inspect

        # Prefect 3's callable takes nothing (it reads headwater.runtime); Prefect 1's the inputs
        takes_inputs = bool(inspect.signature(template).parameters)
        return str(template(**parameters) if takes_inputs else template())
    try:
        return str(template).format(**parameters)
    except (KeyError, IndexError, AttributeError) as exc:
        raise ValueError(
            f"task_run_name {template!r} could not be formatted from the task's arguments "
            f"{sorted(parameters)}: {exc!r}."
        ) from None


def bind(
    options: TaskOptions, names: tuple[str, ...], args: tuple[Any, ...], kwargs: dict[str, Any]
) -> dict[str, Any]:
    """The call's arguments by parameter name (positional ones named from ``names``)."""
    if not args:
        return dict(kwargs)
    parameters = dict(zip(names, args))
    if kwargs:
        parameters.update(kwargs)
    return parameters


def _inherit(options: TaskOptions, settings: dict[str, Any]) -> TaskOptions:
    """``options`` with the flow's result storage and serializer where the task sets none."""
    import dataclasses

    changes = {k: v for k, v in settings.items() if getattr(options, k) is None}
    return dataclasses.replace(options, **changes) if changes else options


class TaskRunEngine:
    """The steps of one task run (see the module docstring)."""

    __slots__ = (
        "args",
        "cache",
        "flow_run",
        "kwargs",
        "options",
        "report",
        "run",
        "task",
        "tokens",
    )

    def __init__(
        self,
        task: Any,
        options: TaskOptions,
        args: tuple[Any, ...],
        kwargs: dict[str, Any],
        flow_run: FlowRun | None,
        report: bool = True,
    ) -> None:
        self.task = task
        self.options = options
        self.args = args
        self.kwargs = kwargs
        self.flow_run = flow_run
        self.report = report
        self.cache: Any = None
        self.tokens: Any = None
        block_tags = _current().get("tags")
        tags = options.tags | frozenset(block_tags) if block_tags else options.tags
        self.run = TaskRun(task, options.name, kwargs, tags, flow_run)
        if flow_run is not None and flow_run.result_settings:
            self.options = _inherit(options, flow_run.result_settings)

    # -- before the first attempt ------------------------------------------------------------
    def begin(self, wait_for: Any = None) -> st.State | None:
        """Resolve the inputs and look in the cache: a final state, or ``None`` to run."""
        try:
            if wait_for:
                wait_for_all(wait_for)
            args = self.args
            if args:
                self.args = args = tuple([resolve_inputs(a) for a in args])
            kwargs = self.kwargs
            if kwargs:
                self.kwargs = kwargs = {k: resolve_inputs(v) for k, v in kwargs.items()}
        except UpstreamFailed as exc:
            state = st.State(st.StateType.PENDING, "NotReady", str(exc), exc)
            state.taken_by(self.run)
            return state
        run = self.run
        run.parameters = bind(self.options, arg_names(self.task), args, kwargs)
        token = TASK_RUN.set(run)  # a callable task_run_name reads headwater.runtime
        try:
            run.name = _format_name(self.options.task_run_name, run.parameters, run.task_name)
        finally:
            TASK_RUN.reset(token)
        flow_run = self.flow_run
        if self.options.caches or (flow_run is not None and flow_run.persist_result):
            return self._lookup()
        return None

    def _lookup(self) -> st.State | None:
        from headwater.modern import caching

        flow_run = self.flow_run
        self.cache = lookup = caching.lookup(
            self.options,
            inputs=self.run.parameters,
            flow_parameters=flow_run.parameters if flow_run is not None else {},
            flow_run_id=flow_run.id if flow_run is not None else "",
            task_run_id=self.run.id,
            flow_persist=flow_run.persist_result if flow_run is not None else None,
        )
        if lookup.hit:
            return st.Cached(data=lookup.value)
        return None

    # -- one attempt ---------------------------------------------------------------------------
    def enter(self) -> None:
        """An attempt starts: the run becomes current; ``on_running`` hooks are called."""
        run = self.run
        run.run_count += 1
        if run.started is None:
            run.started = time.time()
        self.tokens = (TASK_RUN.set(run), ACTIVE.set(run))
        if self.options.on_running:
            state = st.Running() if run.run_count == 1 else st.Retrying()
            self._hooks(self.options.on_running, state)

    def leave(self) -> None:
        """The attempt is over."""
        task_token, active_token = self.tokens
        ACTIVE.reset(active_token)
        TASK_RUN.reset(task_token)

    def wrappers(self) -> contextlib.ExitStack | None:
        """What an attempt runs inside: tag slots and ``print`` capture (``None``: nothing)."""
        prints = self.options.log_prints
        if prints is None:
            prints = self.flow_run is not None and self.flow_run.log_prints
        if not prints and not self.run.tags:
            return None
        stack = contextlib.ExitStack()
        stack.enter_context(_slots(self.run.tags))
        if prints:
            stack.enter_context(printing_to(task_run_logger(self.run)))
        return stack

    def completed(self, value: Any) -> st.State:
        """The function returned ``value``: the run's final state."""
        if isinstance(value, st.State):
            return value
        if isinstance(value, TaskRunFuture):
            value.wait()
            return value.state
        self._save(value)
        return st.State(st.StateType.COMPLETED, "Completed", None, value)

    def failed(self, exc: BaseException, timed_out: bool = False) -> tuple[st.State, float | None]:
        """The attempt raised ``exc``: its state, and the delay before a retry (or ``None``)."""
        if timed_out:
            message = f"Task run exceeded timeout of {self.options.timeout_seconds:g} second(s)"
            state = st.TimedOut(message, data=TimeoutError(message))
        else:
            message = f"Task run encountered an exception {type(exc).__name__}: {exc}"
            state = st.Failed(message, data=exc)
        options = self.options
        if self.run.run_count > options.retries:
            return state, None
        if options.retry_on and not isinstance(exc, options.retry_on):
            return state, None
        if options.retry_condition_fn is not None:
            if not options.retry_condition_fn(self.task, self.run, state):
                return state, None
        return state, retry_delay(options, self.run.run_count)

    def crashed(self, exc: BaseException) -> st.State:
        """The attempt was interrupted (Ctrl-C, ``SIGTERM``...)."""
        state = st.Crashed(f"Execution was interrupted: {type(exc).__name__}", data=exc)
        self.finish(state)
        return state

    # -- the end -----------------------------------------------------------------------------
    def _save(self, value: Any) -> None:
        options = self.options
        lookup = self.cache
        if lookup is not None and lookup.key is not None:
            from headwater.modern import caching

            caching.save(options, lookup, value)
        flow_run = self.flow_run
        flow_default = flow_run.persist_result if flow_run is not None else None
        if options.persists or options.caches or flow_default is not None:
            from headwater.modern import results

            if results.should_persist(options, flow_default):
                key = lookup.key if lookup is not None and lookup.key else self.run.id
                results.persist(
                    options, value, default_key=key, inputs=self.run.parameters, lookup=lookup
                )

    def finish(self, state: st.State) -> st.State:
        """The run ended in ``state``: hooks, then observers."""
        run = self.run
        state.taken_by(run)
        run.state = state
        options = self.options
        if state.type is st.StateType.COMPLETED:
            if options.on_completion:
                self._hooks(options.on_completion, state)
        elif state.type is st.StateType.FAILED:
            if options.on_failure:
                self._hooks(options.on_failure, state)
            if options.legacy_on_failure is not None:
                self._call_hook(options.legacy_on_failure, (self.task, state))
        flow_run = self.flow_run
        if self.report:
            if flow_run is not None and flow_run.observers is not None:
                flow_run.observers.task_finished(self.task, state, run)
        else:  # run in another process: what its observers asked for goes back on its state
            state.run_report = finished_report(run.started, run.run_count)
        return state

    def _hooks(self, hooks: tuple[Any, ...], state: st.State) -> None:
        for hook in hooks:
            self._call_hook(hook, (self.task, self.run, state))

    def _call_hook(self, hook: Any, args: tuple[Any, ...]) -> None:
        try:
            hook(*args)
        except Exception:  # a hook never changes the run's state (Prefect's rule)
            name = getattr(hook, "__name__", repr(hook))
            task_run_logger(self.run).exception("Hook %r failed", name)


def arg_names(task: Any) -> tuple[str, ...]:
    names: tuple[str, ...] | None = task.__dict__.get("_modern_arg_names")
    if names is None:
        import inspect

        params = inspect.signature(task.run).parameters.values()
        names = tuple(
            p.name for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        )
        task.__dict__["_modern_arg_names"] = names
    return names


def _call(engine: TaskRunEngine) -> Any:
    fn = engine.options.fn
    seconds = engine.options.timeout_seconds
    if seconds is None:
        return fn(*engine.args, **engine.kwargs)
    from headwater.engine._invoke import call_with_timeout

    logger = task_run_logger(engine.run)
    return call_with_timeout(
        lambda _: fn(*engine.args, **engine.kwargs), {}, seconds, engine.run.name, logger
    )


def run_sync(
    task: Any,
    options: TaskOptions,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    wait_for: Any = None,
    flow_run: FlowRun | None = None,
    report: bool = True,
) -> st.State:
    """Run a synchronous task to its final state."""
    from headwater.exceptions import TaskTimeoutSignal

    engine = TaskRunEngine(task, options, args, kwargs, flow_run, report)
    state = engine.begin(wait_for)
    while state is None:
        engine.enter()
        try:
            stack = engine.wrappers()
            if stack is None:
                value = _call(engine)
            else:
                with stack:
                    value = _call(engine)
        except TaskTimeoutSignal as exc:
            state, delay = engine.failed(exc, timed_out=True)
        except Exception as exc:
            state, delay = engine.failed(exc)
        except BaseException as exc:
            engine.leave()
            engine.crashed(exc)
            raise
        else:
            engine.leave()
            state = engine.completed(value)
            break
        engine.leave()
        if delay is not None:
            time.sleep(delay)
            state = None
    return engine.finish(state)


async def run_async(
    task: Any,
    options: TaskOptions,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    wait_for: Any = None,
    flow_run: FlowRun | None = None,
    report: bool = True,
) -> st.State:
    """Run an ``async def`` task to its final state."""
    import asyncio

    engine = TaskRunEngine(task, options, args, kwargs, flow_run, report)
    state = engine.begin(wait_for)
    seconds = options.timeout_seconds
    while state is None:
        engine.enter()
        try:
            stack = engine.wrappers()
            with stack if stack is not None else contextlib.nullcontext():
                coro = options.fn(*engine.args, **engine.kwargs)
                value = await (asyncio.wait_for(coro, seconds) if seconds else coro)
        except TimeoutError as exc:
            state, delay = engine.failed(exc, timed_out=bool(seconds))
        except Exception as exc:
            state, delay = engine.failed(exc)
        except BaseException as exc:
            engine.leave()
            engine.crashed(exc)
            raise
        else:
            engine.leave()
            state = engine.completed(value)
            break
        engine.leave()
        if delay is not None:
            await asyncio.sleep(delay)
            state = None
    return engine.finish(state)


def current_flow_run() -> FlowRun | None:
    """The flow run a task called here belongs to."""
    return FLOW_RUN.get()
