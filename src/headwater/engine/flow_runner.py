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

from collections.abc import Callable, Iterable, MutableMapping, Sequence
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from headwater.context import context as _context
from headwater.engine._flow_steps import PassArgs, expand_mapped, flow_step, reference_outcome
from headwater.engine._initialize_result import FlowRunnerInitializeResult
from headwater.engine._run_reports import REPORTS_KEY
from headwater.engine.observers import OBSERVERS_KEY, RunObserver, RunObservers, check_observers
from headwater.engine.runner import Runner
from headwater.engine.scheduling.release import strip_state as _strip  # noqa: F401
from headwater.engine.signals import ENDRUN, PAUSE, HeadwaterStateSignal
from headwater.engine.state import Failed, Pending, Running, Scheduled, State
from headwater.engine.submission import run_task
from headwater.utilities.logging import LOG_LEVEL_KEY, run_level

if TYPE_CHECKING:
    from headwater.core.flow import Flow
    from headwater.core.task import Task

__all__ = ["ENDRUN", "FlowRunner", "FlowRunnerInitializeResult", "run_task"]


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
        #: the observers of the pass under way (``None`` between runs)
        self.run_observers: RunObservers | None = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.flow.name}>"

    # -- state handlers -------------------------------------------------------------------
    def has_handlers(self) -> bool:
        """Whether a change of the flow's state has handlers to call (flow's or runner's)."""
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
        observers: Sequence[RunObserver] | RunObservers | None = None,
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
            observers: :class:`~headwater.engine.observers.RunObserver` objects told what the
                run does (see :mod:`headwater.engine.observers`); this call is their whole
                flow run. ``flow.run()`` passes its own run's observers here instead.

        Returns:
            The flow's final state; an unexpected error gives ``Failed("Unexpected error while
            running flow: ...")`` (with ``raise_on_exception`` it propagates).

        Raises:
            PersistentCacheError: the flow's persistent cache directory is not safe to read.
            TypeError: ``observers`` is not a list of run observers.
        """
        watchers, whole_run = self._observers_for(progress, observers)
        executor = self._executor_for(executor)
        watchers.start_pass(executor)
        run_context = _context.to_dict()
        run_context.update(context or {})
        run_context.pop(OBSERVERS_KEY, None)  # an enclosing run's observers are not this run's
        run_context.pop(REPORTS_KEY, None)
        run_context[LOG_LEVEL_KEY] = run_level()  # for the run's tasks in worker processes
        if watchers and watchers.in_tasks:
            run_context[OBSERVERS_KEY] = watchers
        elif watchers:  # task runs elsewhere bring back their times (and log lines)
            run_context[REPORTS_KEY] = watchers.reports_wanted()
        self.task_states = {}
        self.run_observers = watchers
        args = PassArgs(
            dict(task_states or {}),
            return_tasks,
            dict(parameters or {}),
            task_runner_state_handlers,
            executor,
            dict(task_contexts or {}),
        )
        final: State | None = None
        try:
            final = self._run_pass(state, run_context, args, watchers if whole_run else None)
        except BaseException as exc:
            if whole_run:
                watchers.run_finished(None, exc)
            raise
        finally:
            self.run_observers = None
        if whole_run:
            watchers.run_finished(final)
        return final

    def _observers_for(
        self, progress: Any, observers: Sequence[RunObserver] | RunObservers | None
    ) -> tuple[RunObservers, bool]:
        """The run's observers, and whether this call is their whole run (else one pass)."""
        if isinstance(observers, RunObservers):
            return observers, False
        chosen = check_observers(observers, f"{type(self).__name__}.run()")
        from headwater.utilities.progress import progress_bar_for

        bar = progress_bar_for(self.flow.name, progress) if progress is not False else None
        if bar is not None:
            chosen += (bar,)
        return RunObservers(chosen, self.flow), True

    def _executor_for(self, executor: Any) -> Any:
        """``executor``, else the flow's, else a new one of the configured default class."""
        if executor is None:
            executor = getattr(self.flow, "executor", None)
        if executor is None:
            from headwater.engine import get_default_executor_class

            executor = get_default_executor_class()()
        return executor

    def _run_pass(
        self,
        state: State | None,
        run_context: dict[str, Any],
        args: PassArgs,
        starting: RunObservers | None,
    ) -> State:
        """The steps of one pass, in the run's context; an unexpected error ends it ``Failed``.

        ``starting`` (observers whose whole run this is) hears of the run's start once the run
        context holds the run id and the parameters.
        """
        with ExitStack() as stack:
            try:
                init = self.initialize_run(
                    state=state,
                    task_states=args.task_states,
                    context=run_context,
                    task_contexts=args.task_contexts,
                    parameters=args.parameters,
                )
                state, run_context = init.state, init.context
                if isinstance(run_context, dict):
                    var = _context.context_var
                    stack.callback(var.reset, var.set(run_context))
                    if starting is not None:
                        run_id = str(run_context.get("flow_run_id"))
                        starting.run_started(run_id, dict(run_context.get("parameters") or {}))
                state = self.check_flow_is_pending_or_running(state)
                state = self.check_flow_reached_start_time(state)
                state = self.set_flow_to_running(state)
                return self.get_flow_run_state(
                    state,
                    task_states=init.task_states,
                    task_contexts=init.task_contexts,
                    return_tasks=args.return_tasks,
                    task_runner_state_handlers=args.task_runner_state_handlers,
                    executor=args.executor,
                )
            except ENDRUN as exc:
                return exc.state
            except KeyboardInterrupt:
                raise
            except Exception as exc:
                return self._unexpected_error(exc, state, run_context)

    def _unexpected_error(self, exc: Exception, state: State | None, run_context: Any) -> State:
        """The ``Failed`` state for an error no step handled (the state handlers see it).

        Raises:
            Exception: ``exc`` itself, under ``raise_on_exception`` or when it is a
                ``PersistentCacheError`` (an unsafe cache directory is refused before any
                task runs).
        """
        if _context.get("raise_on_exception") or (
            isinstance(run_context, dict) and run_context.get("raise_on_exception")
        ):
            raise exc
        from headwater.engine.caching.signing import PersistentCacheError

        if isinstance(exc, PersistentCacheError):
            raise exc
        msg = f"Unexpected error while running flow: {exc!r}"
        self.logger.exception(msg)
        new = Failed(msg, result=exc)
        old = state if isinstance(state, State) else Pending()
        try:
            return self.handle_state_change(old, new) if self.has_handlers() else new
        except ENDRUN as end:
            return end.state

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

    @flow_step
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

    @flow_step
    def check_flow_reached_start_time(self, state: State) -> State:
        """A flow ``Scheduled`` for later does not run yet.

        Raises:
            ENDRUN: with ``state``, when its ``start_time`` is in the future.
        """
        from headwater.engine import schedule_loop

        if (
            isinstance(state, Scheduled)
            and state.start_time
            and state.start_time > schedule_loop.pendulum_now()
        ):
            raise ENDRUN(state)
        return state

    @flow_step
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

    @flow_step
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
        from headwater.engine.scheduling.plan import plan_for
        from headwater.engine.scheduling.scheduler import run_graph

        handlers = list(task_runner_state_handlers) if task_runner_state_handlers else None
        watchers = self.run_observers or None
        with executor.start():  # the executor's pools/cluster live for this run
            final = run_graph(
                flow,
                self.task_runner_cls,
                task_states,
                task_contexts or {},
                return_set,
                handlers,
                executor,
                _context.current(),
                watchers,
            )
        self.task_states = final
        if watchers:
            watchers.collected(final, plan_for(flow).mapped_tasks)
        reference = flow.reference_tasks()
        terminal = flow.terminal_tasks()
        if len(return_set) == len(final):
            return_states = dict(final)  # every task (flow.run's default): a plain copy
        else:
            return_states = {t: final[t] for t in return_set}
        return self.determine_final_state(
            state=state,
            key_states=expand_mapped(final[t] for t in reference),
            return_states=return_states,
            terminal_states=expand_mapped(final[t] for t in terminal),
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
        new = reference_outcome(self.logger, state, key_states, return_states, terminal_states)
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
