"""``FlowRunner``: runs a flow's tasks on an executor and decides the flow's final state.

A run is a short pipeline of steps, each taking the flow's state and returning the next one,
as in Prefect Core 1.x::

    initialize_run -> check_flow_is_pending_or_running -> check_flow_reached_start_time
        -> set_flow_to_running -> get_flow_run_state (runs the tasks) -> determine_final_state

A step that changes the state calls the state handlers (the flow's, then the runner's); a step
that raises ``ENDRUN`` ends the run in the state it carries. The tasks themselves are planned
once per graph and handed to the executor by :mod:`headwater.engine.scheduling`.

The final state: if any terminal task is unfinished the flow stays ``Running``; if any
reference task (default: the terminal tasks; mapped ones child by child) failed it is
``Failed``; otherwise ``Success``. Its result maps ``return_tasks`` to their states.

>>> from headwater import Flow, task
>>> from headwater.engine.flow_runner import FlowRunner
>>> @task
... def one():
...     return 1
>>> with Flow("small") as flow:
...     x = one()
>>> state = FlowRunner(flow).run(return_tasks=[x])
>>> state.is_successful(), state.result[x].result
(True, 1)
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, MutableMapping
from typing import TYPE_CHECKING, Any

from headwater.context import context as _context
from headwater.engine._initialize_result import FlowRunnerInitializeResult
from headwater.engine.runner import Runner
from headwater.engine.scheduling.release import strip_state as _strip  # noqa: F401
from headwater.engine.signals import ENDRUN, PAUSE, HeadwaterStateSignal
from headwater.engine.state import Failed, Mapped, Pending, Running, Scheduled, State, Success
from headwater.engine.submission import LIVE_BARS, run_task

if TYPE_CHECKING:
    from headwater.core.flow import Flow
    from headwater.core.task import Task

__all__ = ["ENDRUN", "FlowRunner", "FlowRunnerInitializeResult", "run_task"]


def _calls_state_handlers(method: Callable[..., State]) -> Callable[..., State]:
    """Call the state handlers when the step returns (or ends the run in) a new state.

    An ordinary exception raised by the step becomes ``Failed("Unexpected error: ...")`` (with
    ``raise_on_exception`` it propagates), and a signal becomes its state.
    """

    @functools.wraps(method)
    def step(self: FlowRunner, state: State, *args: Any, **kwargs: Any) -> State:
        end = False
        try:
            new = method(self, state, *args, **kwargs)
        except ENDRUN as exc:
            end = True
            new = exc.state
        except HeadwaterStateSignal as sig:
            if _context.get("raise_on_exception"):
                raise
            new = sig.state
        except Exception as exc:
            if _context.get("raise_on_exception"):
                raise
            msg = f"Unexpected error while running flow: {exc!r}"
            self.logger.exception("Flow %r: %s", self.flow.name, msg)
            new = Failed(msg, result=exc)
        if new is not state and self._has_handlers():
            new = self.handle_state_change(state, new)
        if end:
            raise ENDRUN(new)
        return new

    return step


class FlowRunner(Runner):
    """Runs a :class:`~headwater.core.flow.Flow`.

    Args:
        flow: the flow to run.
        task_runner_cls: the class running each task (default from config).
        state_handlers: runner-level handlers ``fn(runner, old, new)``.
    """

    def __init__(
        self,
        flow: Flow,
        task_runner_cls: type | None = None,
        state_handlers: list[Callable[..., Any]] | None = None,
    ) -> None:
        super().__init__(state_handlers=state_handlers)
        self.flow = flow
        if task_runner_cls is None:
            from headwater.engine import get_default_task_runner_class

            task_runner_cls = get_default_task_runner_class()
        self.task_runner_cls = task_runner_cls
        self.task_states: dict[Task, State] = {}
        self._bar: Any = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.flow.name}>"

    # -- state handlers -------------------------------------------------------------------
    def _has_handlers(self) -> bool:
        flow = self.flow
        return bool(self.state_handlers or flow.state_handlers or flow.on_failure)

    def call_runner_target_handlers(self, old_state: State, new_state: State) -> State:
        """Call the flow's own state handlers (and its ``on_failure``)."""
        flow = self.flow
        for handler in flow.state_handlers:
            new_state = self.call_state_handler(handler, (flow, old_state, new_state), new_state)
        self.call_on_failure(flow.on_failure, flow, old_state, new_state)
        return new_state

    def handle_state_change(self, old_state: State, new_state: State) -> State:
        """:meth:`Runner.handle_state_change`; a ``PAUSE`` raised by a handler pauses the flow."""
        try:
            return super().handle_state_change(old_state, new_state)
        except PAUSE as sig:
            return self.state_from_signal(sig, new_state)

    def state_from_signal(self, sig: HeadwaterStateSignal, new_state: State) -> State:
        """The signal's state; without a result of its own, it keeps the task states."""
        state: State = sig.state
        if state.result is sig and isinstance(new_state.result, dict):
            state.result = new_state.result
        return state

    def handler_fault_state(
        self,
        handler: Callable[..., Any],
        what: str,
        exc: BaseException,
        new_state: State,
        kind: str = "state handler",
    ) -> State:
        """``Failed``, naming the handler; its result keeps the task states, if there are any."""
        state = super().handler_fault_state(handler, what, exc, new_state, kind)
        if isinstance(getattr(new_state, "result", None), dict):
            state.result = new_state.result
        return state

    # -- entry point ----------------------------------------------------------------------
    def run(
        self,
        state: State | None = None,
        task_states: dict[Task, State] | None = None,
        return_tasks: Iterable[Task] | None = None,
        parameters: dict[str, Any] | None = None,
        task_runner_state_handlers: Iterable[Callable[..., Any]] | None = None,
        executor: Any = None,
        context: dict[str, Any] | None = None,
        task_contexts: dict[Task, dict[str, Any]] | None = None,
        progress: Any = None,
    ) -> State:
        """Run the flow once and return its state.

        Args:
            state: the state to start from (default ``Pending``).
            task_states: known task states to start from.
            return_tasks: the tasks whose states the final state's result holds (default none).
            parameters: parameter values, by name.
            task_runner_state_handlers: handlers given to every task runner.
            executor: the executor (default: the flow's, else the configured default).
            context: context for the run, over the current context.
            task_contexts: extra context per task.
            progress: ``True``, ``False`` or ``"auto"`` (default: ``config.flows.progress``);
                see :mod:`headwater.utilities.progress`.

        Returns:
            The flow's final state; an unexpected error gives ``Failed("Unexpected error while
            running flow: ...")`` (with ``raise_on_exception`` it propagates).

        Raises:
            PersistentCacheError: the flow's persistent cache directory is not safe to read.
        """
        flow = self.flow
        parameters = dict(parameters or {})
        task_states = dict(task_states or {})
        run_context = _context.to_dict()
        run_context.update(context or {})
        if executor is None:
            executor = getattr(flow, "executor", None)
        if executor is None:
            from headwater.engine import get_default_executor_class

            executor = get_default_executor_class()()
        bar, own_bar = self._progress_bar(progress)
        self.task_states = {}
        var = _context._var
        token = None
        run_id = ""
        try:
            state, task_states, run_context, contexts = self.initialize_run(
                state=state,
                task_states=task_states,
                context=run_context,
                task_contexts=dict(task_contexts or {}),
                parameters=parameters,
            )
            if isinstance(run_context, dict):
                token = var.set(run_context)
                if bar is not None:
                    bar.new_pass()
                    # distributed futures report their own completion; elsewhere task runs tick
                    bar.count_in_tasks = not hasattr(executor, "client")
                    run_id = str(run_context.get("flow_run_id"))
                    LIVE_BARS[run_id] = bar
                    self._bar = bar
            state = self.check_flow_is_pending_or_running(state)
            state = self.check_flow_reached_start_time(state)
            state = self.set_flow_to_running(state)
            state = self.get_flow_run_state(
                state,
                task_states=task_states,
                task_contexts=contexts,
                return_tasks=return_tasks,
                task_runner_state_handlers=task_runner_state_handlers,
                executor=executor,
            )
        except ENDRUN as exc:
            state = exc.state
        except KeyboardInterrupt:
            raise
        except Exception as exc:
            if _context.get("raise_on_exception") or (
                isinstance(run_context, dict) and run_context.get("raise_on_exception")
            ):
                raise
            from headwater.engine.caching.signing import PersistentCacheError

            if isinstance(exc, PersistentCacheError):
                raise  # an unsafe cache directory is refused before any task runs
            msg = f"Unexpected error while running flow: {exc!r}"
            self.logger.exception(msg)
            new = Failed(msg, result=exc)
            old = state if isinstance(state, State) else Pending()
            try:
                state = self.handle_state_change(old, new) if self._has_handlers() else new
            except ENDRUN as end:
                state = end.state
        finally:
            if token is not None:
                var.reset(token)
            if bar is not None:
                LIVE_BARS.pop(run_id, None)
                self._bar = None
                if own_bar:
                    bar.close(state)
        return state

    def _progress_bar(self, progress: Any) -> tuple[Any, bool]:
        """``(bar, owned)``: the bar this run draws (``None`` for none), and whether it ends with it."""
        if progress is False:
            return None, False
        if progress is not None and hasattr(progress, "new_pass"):
            return progress, False  # one bar across the passes of flow.run()
        from headwater.utilities.progress import progress_bar_for

        bar = progress_bar_for(self.flow.name, progress)
        return bar, bar is not None

    # -- steps ----------------------------------------------------------------------------
    def initialize_run(  # type: ignore[override]
        self,
        state: State | None,
        task_states: dict[Task, State],
        context: dict[str, Any],
        task_contexts: dict[Task, dict[str, Any]],
        parameters: dict[str, Any],
    ) -> FlowRunnerInitializeResult:
        """Fill in the run context and each task's context; ``state`` defaults to ``Pending``.

        ``context`` gets the run keys described in :mod:`headwater.engine._flow_context`
        (parameters, dates, run ids, caches, secrets...); each task's context gets its
        ``task_name`` and ``task_slug``.

        Raises:
            ValueError: a parameter value that its parameter's ``type`` rejects.
        """
        from headwater.engine._flow_context import TaskContexts, flow_run_context

        flow = self.flow
        context = flow_run_context(flow, context, parameters, self.logger)
        contexts = TaskContexts(flow.slugs, task_contexts)
        state, context = super().initialize_run(state=state, context=context)
        return FlowRunnerInitializeResult(
            state=state, task_states=task_states, context=context, task_contexts=contexts
        )

    def validate_parameters(self, parameters: dict[str, Any]) -> dict[str, Any]:
        """Check names, required values and types of the flow's parameters, as ``flow.run`` does.

        Returns:
            Every parameter's value: the given ones (converted to their ``type``), else defaults.

        Raises:
            ValueError: an unknown name, a missing required parameter, or an invalid value.
        """
        from headwater.engine._run_options import validate_parameters

        return validate_parameters(self.flow, parameters)

    @_calls_state_handlers
    def check_flow_is_pending_or_running(self, state: State) -> State:
        """Only pending or running flows run (several runs of a flow may overlap).

        Raises:
            ENDRUN: with ``state``, for any other state.
        """
        if state.is_finished():
            self.logger.info("Flow run has already finished.")
            raise ENDRUN(state)
        if not (state.is_pending() or state.is_running()):
            self.logger.info("Flow is not ready to run.")
            raise ENDRUN(state)
        return state

    @_calls_state_handlers
    def check_flow_reached_start_time(self, state: State) -> State:
        """A flow ``Scheduled`` for later does not run yet.

        Raises:
            ENDRUN: with ``state``, when its ``start_time`` is in the future.
        """
        import pendulum

        if (
            isinstance(state, Scheduled)
            and state.start_time
            and state.start_time > pendulum.now("UTC")
        ):
            raise ENDRUN(state)
        return state

    @_calls_state_handlers
    def set_flow_to_running(self, state: State) -> State:
        """``Pending`` (and its subclasses) becomes ``Running``; ``Running`` stays.

        Raises:
            ENDRUN: with ``state``, for any other state.
        """
        if state.is_pending():
            if self.logger.isEnabledFor(20):
                self.logger.info("Beginning Flow run for '%s'", self.flow.name)
            return Running(message="Running flow.")
        if state.is_running():
            return state
        raise ENDRUN(state)

    @_calls_state_handlers
    def get_flow_run_state(
        self,
        state: State,
        task_states: dict[Task, State],
        task_contexts: MutableMapping[Task, dict[str, Any]],
        return_tasks: Iterable[Task] | None,
        task_runner_state_handlers: Iterable[Callable[..., Any]] | None,
        executor: Any,
    ) -> State:
        """Run the tasks on ``executor`` (started here) and return the flow's final state.

        Raises:
            ENDRUN: with ``state``, unless it is ``Running``.
            ValueError: ``return_tasks`` holds tasks that are not in the flow.
        """
        if not state.is_running():
            self.logger.info("Flow is not in a Running state.")
            raise ENDRUN(state)
        flow = self.flow
        return_set = set(return_tasks) if return_tasks else set()
        if not return_set <= flow.tasks:
            missing = ", ".join(sorted(repr(t) for t in return_set - flow.tasks))
            raise ValueError(f"return_tasks not in {flow!r}: {missing}")
        from headwater.engine.scheduling.scheduler import run_graph

        handlers = list(task_runner_state_handlers) if task_runner_state_handlers else None
        with executor.start():  # the executor's pools/cluster live for this run
            final = run_graph(
                flow,
                self.task_runner_cls,
                task_states,
                task_contexts or {},
                return_set,
                handlers,
                executor,
                _context._get(),
                self._bar,
            )
        self.task_states = final
        reference = flow.reference_tasks()
        terminal = flow.terminal_tasks()
        if len(return_set) == len(final):
            return_states = dict(final)  # every task (flow.run's default): a plain copy
        else:
            return_states = {t: final[t] for t in return_set}
        return self.determine_final_state(
            state=state,
            key_states=_expand(final[t] for t in reference),
            return_states=return_states,
            terminal_states=_expand(final[t] for t in terminal),
        )

    def determine_final_state(
        self,
        state: State,
        key_states: set[State],
        return_states: dict[Task, State],
        terminal_states: set[State],
    ) -> State:
        """The flow's state after a run, from its reference and terminal tasks' states.

        Args:
            state: the flow's current state (``Running``).
            key_states: the reference tasks' states (mapped tasks: their children's).
            return_states: the states the result holds.
            terminal_states: the terminal tasks' states (mapped tasks: their children's).

        Returns:
            ``state`` itself (with ``return_states`` as its result) while a terminal task is
            unfinished; else ``Failed`` or ``Success``. The flow's ``terminal_state_handler``
            (``fn(flow, state, key_states)``) has the last word.
        """
        info = self.logger.isEnabledFor(20)
        if not all(s.is_finished() for s in terminal_states):
            if info:
                self.logger.info("Flow run RUNNING: terminal tasks are incomplete.")
            state.result = return_states
            new = state
        elif any(s.is_failed() for s in key_states):
            if info:
                self.logger.info("Flow run FAILED: some reference tasks failed.")
            new = Failed(message="Some reference tasks failed.", result=return_states)
        elif all(s.is_successful() for s in key_states):
            if info:
                self.logger.info("Flow run SUCCESS: all reference tasks succeeded")
            new = Success(message="All reference tasks succeeded.", result=return_states)
        else:
            if info:
                self.logger.info("Flow run SUCCESS: no reference tasks failed")
            new = Success(message="No reference tasks failed.", result=return_states)
        flow = self.flow
        handler = getattr(flow, "terminal_state_handler", None)
        if handler is not None:
            try:
                new = self.call_state_handler(
                    handler, (flow, new, key_states), new, "terminal state handler"
                )
            except ENDRUN as exc:  # it returned junk or raised: the flow's handlers still run
                new = exc.state
            except HeadwaterStateSignal as sig:
                new = self.state_from_signal(sig, new)
        return new


def _expand(states: Iterable[State]) -> set[State]:
    """The states, with each ``Mapped`` state replaced by its children (kept if it has none)."""
    out: set[State] = set()
    for s in states:
        if type(s) is Mapped and s.map_states:
            out.update(c for c in s.map_states if c is not None)
        else:
            out.add(s)
    return out
