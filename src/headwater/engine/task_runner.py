"""``TaskRunner``: one task run as a pipeline of small state -> state steps.

:meth:`TaskRunner.run` takes the task's current state and its upstream states and passes the
state through these steps (Prefect Core 1.x's names and signatures; each can be called on its
own)::

    initialize_run -> check_task_is_ready -> check_task_reached_start_time
    -> check_upstream_finished -> check_upstream_skipped -> load_results -> get_task_inputs
    -> (mapped parent: check_task_ready_to_map) -> set_task_run_name
    -> check_target (a task with a target) or check_task_is_cached -> check_task_trigger
    -> set_task_to_running -> get_task_run_state -> cache_result -> check_for_retry
    -> check_task_is_looping

Each step returns the state the run goes on with, or raises
:class:`~headwater.engine.signals.ENDRUN` with the state it ends in. The steps themselves are
pure (see :mod:`headwater.engine._task_steps`): the state handlers are applied in one place,
:meth:`TaskRunner.change_state`, which the pipeline calls for every change a step makes — and
only then, so a task without handlers pays nothing for them. Called on its own, a public step
applies the handlers to its change the same way (as Prefect Core 1.x's ``@call_state_handlers``
steps do). The steps that take ``inputs`` take them as Prefect Core 1.x does, a ``Result`` per
argument of ``run()``, and read the run context from :data:`headwater.context` unless one is
given::

    from headwater import Task
    from headwater.engine.result import Result
    from headwater.engine.state import Running
    from headwater.engine.task_runner import TaskRunner

    class Add(Task):
        def run(self, x, y):
            return x + y

    state = TaskRunner(Add()).get_task_run_state(Running(), {"x": Result(1), "y": Result(2)})
    assert state.is_successful() and state.result == 3

Mapped tasks are expanded by the flow runner, which runs one pipeline per child; called
directly on a mapped task, ``run`` maps inline (``is_mapped_parent=True``: it only checks that
the task can be mapped and returns ``Mapped`` with ``n_map_states``). A ``LOOP`` signal runs the
pipeline again with ``task_loop_count`` and ``task_loop_result`` in the context. A subclass that
overrides any of the public steps has its overrides called, with inputs as ``Result`` objects.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, ClassVar

from headwater.context import context as _context
from headwater.engine import signals
from headwater.engine._initialize_result import TaskRunnerInitializeResult
from headwater.engine._invoke import is_plain
from headwater.engine._public_steps import PublicSteps
from headwater.engine._task_reuse import PROCESS_CACHES
from headwater.engine._task_steps import HandledEndRun, start_state, task_hash, wants_task_hash
from headwater.engine.signals import ENDRUN
from headwater.engine.state import Cached, Failed, Looped, Pending, State
from headwater.triggers import all_finished, all_successful
from headwater.utilities.logging import get_logger

if TYPE_CHECKING:
    from headwater.core.edge import Edge
    from headwater.core.task import Task

__all__ = ["ENDRUN", "PROCESS_CACHES", "HandledEndRun", "TaskRunner", "TaskRunnerInitializeResult"]


_run_ids = map(str, itertools.count(1))  # the numbers in task run ids
_CTX_VAR = _context.context_var  # set once per task run
# where a run without state handlers starts when it is given no state: nobody can observe it
_FRESH = Pending()
# the public steps: a subclass that overrides any of them runs the pipeline through them
_PUBLIC_STEPS = (
    "initialize_run",
    "check_task_is_ready",
    "check_task_reached_start_time",
    "check_upstream_finished",
    "check_upstream_skipped",
    "load_results",
    "get_task_inputs",
    "check_task_ready_to_map",
    "set_task_run_name",
    "check_target",
    "check_task_is_cached",
    "check_task_trigger",
    "set_task_to_running",
    "get_task_run_state",
    "cache_result",
    "check_for_retry",
    "check_task_is_looping",
)


class TaskRunner(PublicSteps):
    """Runs one task (or, with ``context["map_index"]``, one mapped child of it).

    Args:
        task: the task to run.
        state_handlers: runner-level state handlers ``fn(runner, old, new)``.
        flow_result: the flow's default ``Result``, used when the task has none.
    """

    _public_steps: ClassVar[bool] = False
    # set on the few runners that need them
    _task_hash: str | None = None  # the task's ``{task_hash}``, for templates that name it
    _warned_unwritten_target = False
    _secret_inputs: frozenset[str] | None = None  # the inputs fed by secret tasks

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._public_steps = any(
            getattr(cls, name) is not getattr(TaskRunner, name) for name in _PUBLIC_STEPS
        )

    def __init__(
        self,
        task: Task,
        state_handlers: list[Callable[..., Any]] | None = None,
        flow_result: Any = None,
    ) -> None:
        # (Runner.__init__ inlined: one TaskRunner is made per task per flow run)
        if state_handlers is not None and not isinstance(state_handlers, (list, tuple)):
            raise TypeError("state_handlers must be a list of callables.")
        self.state_handlers = list(state_handlers) if state_handlers else []
        self.logger = get_logger("TaskRunner")
        self.task = task
        self._created_in = _CTX_VAR.get()  # the context's current dict (None: its base values)
        # a secret task's value is never checkpointed and is shown as ****
        self._secret = bool(getattr(task, "is_secret", False))
        result = task.result if task.result is not None else flow_result
        if task.target is not None:
            result = _target_result(result, task.target)
        if result is not None and wants_task_hash(getattr(result, "location_template", None)):
            self._task_hash = task_hash(task)
        self.result = result
        self.flow_result = flow_result
        self.constants: dict[str, Any] = {}
        self.has_handlers = bool(task.state_handlers or self.state_handlers or task.on_failure)
        # fixed when the runner is made, as the task's options are
        self._plain_call = is_plain(task)
        self._reuses_caches = task.cache_for is not None or (
            task.cache_key is not None and task.cache_validator is not None
        )
        trigger = task.trigger
        self._passes_when_all_succeeded = trigger is all_successful or trigger is all_finished
        name = task.name
        slug = task.slug
        self._task_logger = logger = get_logger(name)
        # the context keys of every run of this task (a mapped child changes the last three)
        self._static_ctx = {
            "task_name": name,
            "task_slug": slug,
            "task_tags": task.tags,
            "task_id": slug or str(task.id),
            "logger": logger,
            "map_index": None,
            "task_full_name": name,
            "task_run_name": name,
        }

    @property
    def context(self) -> dict[str, Any]:
        """The run context as it was when this runner was created (a copy)."""
        created = self._created_in
        if type(created) is not _Snapshot:
            if created is None:
                created = _context.base_values
            created = self._created_in = _Snapshot(created)
        return created

    @context.setter
    def context(self, value: dict[str, Any]) -> None:
        self._created_in = _Snapshot(value)

    def __repr__(self) -> str:
        return f"<{type(self).__name__}: {self.task.name}>"

    def __getstate__(self) -> dict[str, Any]:
        d = self.__dict__.copy()
        d.pop("logger", None)
        d.pop("_task_logger", None)
        d.pop("_created_in", None)
        d["_static_ctx"] = {k: v for k, v in self._static_ctx.items() if k != "logger"}
        return d

    def __setstate__(self, d: dict[str, Any]) -> None:
        self.__dict__.update(d)
        self.logger = get_logger("TaskRunner")
        self._task_logger = self.task.logger
        self._static_ctx["logger"] = self._task_logger
        self._created_in = {}

    # -- entry points ---------------------------------------------------------------------
    def run(
        self,
        state: State | None = None,
        upstream_states: dict[Edge, State] | None = None,
        context: dict[str, Any] | None = None,
        is_mapped_parent: bool = False,
    ) -> State:
        """Run the task once and return its new state.

        Args:
            state: the task's current state (default ``Pending``).
            upstream_states: ``{edge: state}`` for every upstream edge.
            context: extra context for the run (``map_index`` makes this a mapped child).
            is_mapped_parent: run the parent of a mapped task: check that it can be mapped and
                return ``Mapped`` with ``n_map_states`` (its children are not run).
        """
        upstream_states = upstream_states or {}
        ctx = dict(context or {})
        map_index = ctx.pop("map_index", None)
        if not is_mapped_parent and map_index is None and any(e.mapped for e in upstream_states):
            return self.run_mapped_task(state, upstream_states, ctx)
        base = {**_context.current(), **ctx}
        return self.run_unit(
            state, upstream_states, base, map_index, mapped_parent=is_mapped_parent
        )

    def run_unit(
        self,
        state: State | None,
        upstream_states: dict[Edge, State],
        base_ctx: dict[str, Any],
        map_index: int | None = None,
        *,
        mapped_parent: bool = False,
    ) -> State:
        """Run the pipeline once (a plain task, or child ``map_index`` of a mapped task)."""
        if state is None and not self.has_handlers:
            state = _FRESH
        else:
            state = start_state(state)
        ctx = {**base_ctx, **self._static_ctx}
        if map_index is None:
            full_name = ctx["task_full_name"]
        else:
            full_name = f"{ctx['task_name']}[{map_index}]"
            ctx["map_index"] = map_index
            ctx["task_full_name"] = full_name
            ctx["task_run_name"] = full_name
        ctx["task_run_id"] = f"{base_ctx.get('flow_run_id', 'run')}-{next(_run_ids)}"
        logger = self.logger
        debug = logger.isEnabledFor(10)  # a run's lines per task (see headwater.utilities.logging)
        var = _CTX_VAR
        token = var.set(ctx)
        try:
            if debug:
                logger.debug("Task '%s': Starting task run...", full_name)
            pipeline = self._public_pipeline if self._public_steps else self._pipeline
            while True:
                state = pipeline(state, upstream_states, ctx, mapped_parent)
                if type(state) is not Looped:
                    break
                n = state.loop_count or 1
                ctx["task_loop_count"] = n + 1
                ctx["task_loop_result"] = state.result
                state = Pending(message=f"Looping task (on loop index {n})")
            if debug or (isinstance(state, Failed) and logger.isEnabledFor(20)):
                logger.log(
                    20 if isinstance(state, Failed) else 10,
                    "Task '%s': Finished task run for task with final state: '%s'",
                    full_name,
                    type(state).__name__,
                )
            if state is _FRESH:  # the run ended before it began: a state of its own
                state = Pending()
        finally:
            var.reset(token)
        return state

    # -- the pipeline ---------------------------------------------------------------------
    def _pipeline(
        self,
        state: State,
        upstream_states: dict[Edge, State],
        ctx: dict[str, Any],
        mapped_parent: bool = False,
    ) -> State:
        """Pass ``state`` through the steps; the state handlers see every change they make.

        The readiness checks and the trigger only ever return the state they are given (or
        end the run), so only the other steps' results are compared with the state before. A
        step that has nothing to do for this task is not called: the target and cache checks
        of a task without either (and without a ``Cached`` state), the trigger
        ``all_successful`` or ``all_finished`` when every upstream state is a ``Success``,
        ``cache_result`` without ``cache_for`` and the retry check of a state that did not fail.
        """
        handled = self.has_handlers
        task = self.task
        try:
            new = self._init_run(state, ctx)
            if new is not state:
                state = self.change_state(state, new)
            if type(state) is not Pending:  # a plain Pending state is ready and has no start time
                state = self._ready(state)
                state = self._reached_start_time(state)
            all_succeeded = self._upstream_ready(state, upstream_states)
            inputs = self._task_inputs(state, upstream_states)
            if mapped_parent:
                self._ready_to_map(state, upstream_states)
            if task.task_run_name is not None:
                ctx["task_run_name"] = self._run_name(inputs, ctx)
            if task.target is not None or self._reuses_caches or isinstance(state, Cached):
                new = self._reuse(state, inputs, ctx)
                if new is not state:
                    state = self.change_state(state, new)
            if not (all_succeeded and self._passes_when_all_succeeded):
                state = self._trigger(state, upstream_states)
            new = self._to_running(state)
            state = self.change_state(state, new) if handled else new
            new = self._run_task(state, inputs, ctx)
            state = self.change_state(state, new) if handled else new
            if task.cache_for is not None or isinstance(state, Failed):
                state = self._after_run(state, inputs, ctx)
        except HandledEndRun as end:
            state = end.state
        except ENDRUN as end:
            state = self._finish(state, end.state)
        except signals.HeadwaterStateSignal as sig:  # PAUSE from the task or a state handler
            state = self._finish(state, sig.state)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # SystemExit, GeneratorExit...: fail this task
            state = self._unexpected(exc, ctx)
        return state

    def _reuse(self, state: State, inputs: dict[str, Any], ctx: dict[str, Any]) -> State:
        """The target check (a task with a ``target``), else the cache check."""
        if self.task.target is not None:
            return self._check_target(state, inputs, ctx)
        return self._check_cached(state, inputs, ctx)

    def _after_run(self, state: State, inputs: dict[str, Any], ctx: dict[str, Any]) -> State:
        """``cache_result`` and ``check_for_retry``, for a task with ``cache_for`` or a failure."""
        new = self._cache_result(state, inputs, ctx)
        if new is not state:
            state = self.change_state(state, new)
        new = self._check_for_retry(state, inputs, ctx)
        if new is not state:
            state = self.change_state(state, new)
        return state

    def _unexpected(self, exc: BaseException, ctx: dict[str, Any]) -> State:
        """``Failed`` for an error of the engine itself (raised again under raise_on_exception)."""
        if ctx.get("raise_on_exception"):
            raise exc
        msg = f"Unexpected error while running task: {exc!r}"
        self.logger.error("Task '%s': %s", ctx["task_full_name"], msg, exc_info=exc)
        return Failed(msg, result=exc)

    def _public_pipeline(
        self,
        state: State,
        upstream_states: dict[Edge, State],
        ctx: dict[str, Any],
        mapped_parent: bool = False,
    ) -> State:
        """The pipeline through the public steps, for subclasses that override some of them.

        The public steps apply the state handlers to their own changes.
        """
        _CTX_VAR.set(ctx)  # each loop sees the keys run_unit set
        try:
            state = self.initialize_run(state, ctx).state
            state = self.check_task_is_ready(state)
            state = self.check_task_reached_start_time(state)
            state = self.check_upstream_finished(state, upstream_states)
            state = self.check_upstream_skipped(state, upstream_states)
            state, upstream_states = self.load_results(state, upstream_states)
            inputs = self.get_task_inputs(state, upstream_states)
            if mapped_parent:
                state = self.check_task_ready_to_map(state, upstream_states)
            self.set_task_run_name(inputs)
            if self.task.target is not None:
                state = self.check_target(state, inputs)
            else:
                state = self.check_task_is_cached(state, inputs)
            state = self.check_task_trigger(state, upstream_states)
            state = self.set_task_to_running(state, inputs)
            state = self.get_task_run_state(state, inputs)
            state = self.cache_result(state, inputs)
            state = self.check_for_retry(state, inputs)
            return self.check_task_is_looping(state, inputs, upstream_states, ctx)
        except ENDRUN as end:
            return end.state
        except signals.HeadwaterStateSignal as sig:  # PAUSE from a state handler
            return self._finish(state, sig.state)
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # SystemExit, GeneratorExit...: fail this task
            return self._unexpected(exc, ctx)

    # -- state handlers -------------------------------------------------------------------
    def _finish(self, old: State, new: State) -> State:
        """The state the run ends in when a step ended it with ``new`` (handlers applied)."""
        if new is old or not self.has_handlers:
            return new
        try:
            return self.change_state(old, new)
        except ENDRUN as end:
            return end.state
        except signals.HeadwaterStateSignal as sig:  # PAUSE raised by a handler
            try:
                return self.change_state(old, sig.state)
            except (ENDRUN, signals.HeadwaterStateSignal) as again:
                return again.state


def _target_result(result: Any, target: Any) -> Any:
    """The ``Result`` of a task with a ``target``: ``result`` (its own or the flow's) there.

    A target needs somewhere to look: without a result, ``LocalResult`` in
    ``{home_dir}/results``.
    """
    if result is None:
        from headwater.engine.results import LocalResult

        result = LocalResult(validate_dir=False)
    if result.location is not target:
        result = result.copy()
        result.location = target
    return result


class _Snapshot(dict):  # type: ignore[type-arg]
    """A copy of the run context made when ``TaskRunner.context`` is first read."""

    __slots__ = ()
