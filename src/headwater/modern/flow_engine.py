"""Running a ``@flow``: parameters, the run context, retries, timeout, final state, hooks.

The final state follows Prefect 3's rules: the flow's exception makes it ``Failed``
(``TimedOut`` past ``timeout_seconds``); a returned state is the final state; returned futures
and states are aggregated (any not completed: ``Failed``); any other value is the result of a
``Completed`` state. A task failure the flow catches does not fail it. Ctrl-C and ``SIGTERM``
end the run ``Crashed`` (the interruption is raised again). Submitted task runs are waited for
before the run ends.
"""

from __future__ import annotations

import contextlib
import signal
import threading
import time
from collections.abc import Iterator
from typing import Any

from headwater.context import context as _context
from headwater.modern import states as st
from headwater.modern.context import ACTIVE, FLOW_RUN, TASK_RUN, FlowRun, run_name
from headwater.modern.errors import ParameterTypeError, TerminationSignal
from headwater.modern.log import flow_run_logger, printing_to

__all__ = ["FlowRunEngine", "run_flow_async", "run_flow_sync"]


def _run_name(flow: Any, run: FlowRun) -> str:
    template = flow.flow_run_name
    if template is None:
        return run_name()
    if callable(template):
        return str(template())
    try:
        return str(template).format(**run.parameters)
    except (KeyError, IndexError, AttributeError) as exc:
        raise ValueError(
            f"Flow {flow.name!r}: flow_run_name {template!r} could not be formatted from the "
            f"parameters {sorted(run.parameters)}: {exc!r}."
        ) from None


def value_to_state(value: Any) -> st.State:
    """The final state of a run whose function returned ``value`` (Prefect 3's rules)."""
    from headwater.modern.futures import states_of

    if isinstance(value, st.State) and value.run_id is None:
        return value  # made by hand: taken as it is
    value = states_of(value)
    if isinstance(value, st.State):
        return st.aggregate([value], value)
    if (
        isinstance(value, (list, tuple, set))
        and value
        and all(isinstance(v, st.State) for v in value)
    ):
        return st.aggregate(value, value)
    return st.State(st.StateType.COMPLETED, "Completed", None, value)


@contextlib.contextmanager
def _sigterm_crashes(top_level: bool) -> Iterator[None]:
    """While a top-level flow runs in the main thread, ``SIGTERM`` raises TerminationSignal."""
    if not top_level or threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise TerminationSignal(signum)

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


class FlowRunEngine:
    """The steps of one flow run (see the module docstring)."""

    def __init__(self, flow: Any, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self.flow = flow
        self.parent = FLOW_RUN.get()
        parent_task = TASK_RUN.get()
        self.bound = flow.parameters.bind(args, kwargs)
        tags = frozenset(_context.get("tags") or ())
        if self.parent is not None:
            tags |= self.parent.tags
        self.run = run = FlowRun(flow, {}, tags, self.parent, parent_task)
        run.log_prints = bool(
            flow.log_prints
            if flow.log_prints is not None
            else self.parent and self.parent.log_prints
        )
        run.persist_result = flow.persist_result
        settings = {
            "result_storage": flow.result_storage,
            "result_serializer": flow.result_serializer,
        }
        run.result_settings = {k: v for k, v in settings.items() if v is not None}
        self.tokens: Any = None
        self.runner: Any = None
        self.raised = False  # the last attempt raised (only then is the flow retried)

    # -- start and end -----------------------------------------------------------------------
    def begin(self) -> st.State | None:
        """Validate the parameters and tell the observers: a final state, or ``None``."""
        from headwater.modern.notify import notifier_for

        run = self.run
        try:
            run.parameters = self.flow.parameters.validate(
                self.bound, self.flow.should_validate_parameters
            )
        except ParameterTypeError as exc:
            run.parameters = {k: v for k, v in self.bound.items() if k != "__given__"}
            run.name = run_name()
            return st.Failed(f"Validation of flow parameters failed with error: {exc}", data=exc)
        token = FLOW_RUN.set(run)  # a callable flow_run_name reads headwater.runtime
        try:
            run.name = _run_name(self.flow, run)
        finally:
            FLOW_RUN.reset(token)
        run.observers = notifier_for(self.flow, run.id, self.flow.observers)
        if run.observers is not None:
            run.observers.flow_started(run)
        return None

    def enter(self) -> None:
        """The run becomes current; its task runner starts."""
        from headwater.modern.runners import ThreadPoolTaskRunner

        run = self.run
        runner = self.flow.task_runner
        self.runner = runner.duplicate() if runner is not None else ThreadPoolTaskRunner()
        self.runner.__enter__()
        run.task_runner = self.runner
        self.tokens = (FLOW_RUN.set(run), TASK_RUN.set(None), ACTIVE.set(run))

    def leave(self) -> None:
        """Submitted runs have ended; the run is no longer current."""
        try:
            self.runner.__exit__(None, None, None)
        finally:
            flow_token, task_token, active_token = self.tokens
            ACTIVE.reset(active_token)
            TASK_RUN.reset(task_token)
            FLOW_RUN.reset(flow_token)

    def attempt_started(self) -> None:
        run = self.run
        run.run_count += 1
        if run.run_count == 1 and self.flow.hooks["on_running"]:
            self._hooks("on_running", st.Running())

    def prints(self) -> Any:
        if not self.run.log_prints:
            return contextlib.nullcontext()
        return printing_to(flow_run_logger(self.run))

    def call_arguments(self) -> tuple[list[Any], dict[str, Any]]:
        args: tuple[list[Any], dict[str, Any]] = self.flow.parameters.call_arguments(
            self.run.parameters
        )
        return args

    # -- outcomes ----------------------------------------------------------------------------
    def failed(self, exc: BaseException, timed_out: bool = False) -> st.State:
        self.raised = True
        if timed_out:
            message = f"Flow run exceeded timeout of {self.flow.timeout_seconds:g} second(s)"
            return st.TimedOut(message, data=TimeoutError(message))
        message = f"Flow run encountered an exception: {type(exc).__name__}: {exc}"
        return st.Failed(message, data=exc)

    def completed(self, value: Any) -> st.State:
        self.raised = False
        state = value_to_state(value)
        if state.is_completed():
            self._persist(state.data)
        return state

    def retry_delay(self, state: st.State) -> float | None:
        """Seconds before running the flow again after ``state``, or ``None``: no retry.

        Only a run that raised (or timed out) is retried, as in Prefect 3; a returned failed
        state is final.
        """
        if self.raised and self.run.run_count <= self.flow.retries:
            self.run.state = st.AwaitingRetry()
            return float(self.flow.retry_delay_seconds)
        return None

    def crashed(self, exc: BaseException) -> st.State:
        state = st.Crashed(f"Execution was interrupted: {type(exc).__name__}", data=exc)
        self.finish(state, exc)
        return state

    def finish(self, state: st.State, error: BaseException | None = None) -> st.State:
        """Hooks by outcome, then observers."""
        run = self.run
        state.taken_by(run)
        run.state = state
        hook = {
            st.StateType.COMPLETED: "on_completion",
            st.StateType.FAILED: "on_failure",
            st.StateType.CANCELLED: "on_cancellation",
            st.StateType.CRASHED: "on_crashed",
        }.get(state.type)
        if hook is not None and self.flow.hooks[hook]:
            self._hooks(hook, state)
        if run.observers is not None:
            run.observers.flow_finished(state, error)
        return state

    def _hooks(self, kind: str, state: st.State) -> None:
        for hook in self.flow.hooks[kind]:
            try:
                hook(self.flow, self.run, state)
            except Exception:  # a hook never changes the run's state
                name = getattr(hook, "__name__", repr(hook))
                flow_run_logger(self.run).exception("Hook %r (%s) failed", name, kind)

    def _persist(self, value: Any) -> None:
        flow = self.flow
        if flow.persist_result is None and flow.result_storage is None:
            return
        from headwater.modern import results
        from headwater.modern.options import TaskOptions

        options = TaskOptions(
            name=flow.name,
            fn=flow.fn,
            persist_result=flow.persist_result,
            result_storage=flow.result_storage,
            result_serializer=flow.result_serializer,
        )
        if results.should_persist(options, flow.persist_result):
            results.persist(options, value, default_key=self.run.id)


def _outcome(state: st.State, return_state: bool) -> Any:
    return state if return_state else state.result()


def _body_sync(engine: FlowRunEngine) -> Any:
    args, kwargs = engine.call_arguments()
    seconds = engine.flow.timeout_seconds
    with engine.prints():
        if seconds is None:
            return engine.flow.fn(*args, **kwargs)
        from headwater.engine._invoke import call_with_timeout

        logger = flow_run_logger(engine.run)
        return call_with_timeout(
            lambda _: engine.flow.fn(*args, **kwargs), {}, seconds, engine.run.name, logger
        )


def run_flow_sync(
    flow: Any, args: tuple[Any, ...], kwargs: dict[str, Any], return_state: bool
) -> Any:
    """Run a synchronous flow; its value, or its final state."""
    from headwater.exceptions import TaskTimeoutSignal

    engine = FlowRunEngine(flow, args, kwargs)
    state = engine.begin()
    if state is not None:
        return _outcome(engine.finish(state), return_state)
    with _sigterm_crashes(engine.parent is None):
        while True:
            engine.enter()
            engine.attempt_started()
            try:
                state = engine.completed(_body_sync(engine))
            except TaskTimeoutSignal as exc:
                state = engine.failed(exc, timed_out=True)
            except Exception as exc:
                state = engine.failed(exc)
            except BaseException as exc:
                engine.leave()
                engine.crashed(exc)
                raise
            engine.leave()
            delay = engine.retry_delay(state)
            if delay is None:
                break
            time.sleep(delay)
    return _outcome(engine.finish(state), return_state)


async def run_flow_async(
    flow: Any, args: tuple[Any, ...], kwargs: dict[str, Any], return_state: bool
) -> Any:
    """Run an ``async def`` flow; its value, or its final state."""
    import asyncio

    engine = FlowRunEngine(flow, args, kwargs)
    state = engine.begin()
    if state is not None:
        return _outcome(engine.finish(state), return_state)
    seconds = flow.timeout_seconds
    while True:
        engine.enter()
        engine.attempt_started()
        try:
            call_args, call_kwargs = engine.call_arguments()
            with engine.prints():
                coro = flow.fn(*call_args, **call_kwargs)
                value = await (asyncio.wait_for(coro, seconds) if seconds else coro)
            state = engine.completed(value)
        except TimeoutError as exc:
            state = engine.failed(exc, timed_out=seconds is not None)
        except Exception as exc:
            state = engine.failed(exc)
        except BaseException as exc:
            engine.leave()
            engine.crashed(exc)
            raise
        engine.leave()
        delay = engine.retry_delay(state)
        if delay is None:
            break
        await asyncio.sleep(delay)
    return _outcome(engine.finish(state), return_state)
