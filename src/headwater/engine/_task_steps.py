"""The first steps of a task run: context, readiness checks, trigger, inputs and run name.

:class:`TaskSteps` is the base of :class:`~headwater.engine.task_runner.TaskRunner` (then come
targets and checkpoints in :mod:`~headwater.engine._targets`, caches in
:mod:`~headwater.engine._task_reuse`, the call and retries in :mod:`~headwater.engine._task_call`,
the mapped parent in :mod:`~headwater.engine._task_mapping`).

Every step here is pure, ``state -> state``: it returns the state the run goes on with, or
raises :class:`~headwater.engine.signals.ENDRUN` with the state the run ends in. No step calls
the state handlers: the task runner's pipeline does, once for every change a step makes (see
:mod:`headwater.engine.task_runner`). The steps take the task's inputs as plain values and the
run context as a dict (``ctx``); the public steps of ``TaskRunner`` (Prefect Core 1.x's names and
signatures: inputs as ``Result`` objects, the context read from :data:`headwater.context`) are
thin wrappers around them that apply the handlers themselves.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from headwater.context import context as _context
from headwater.engine import signals
from headwater.engine._callback_errors import callback_failure
from headwater.engine._state_base import cached_inputs_if_any, context_if_any
from headwater.engine.runner import Runner
from headwater.engine.signals import ENDRUN
from headwater.engine.state import (
    Cached,
    Failed,
    Finished,
    Mapped,
    MetaState,
    Paused,
    Pending,
    Resume,
    Retrying,
    Running,
    Scheduled,
    Skipped,
    State,
    Success,
    TriggerFailed,
)

if TYPE_CHECKING:
    from headwater.core.edge import Edge
    from headwater.core.task import Task

__all__ = ["HandledEndRun", "TaskSteps", "start_state", "task_hash", "wants_task_hash"]

_RUNNING = Running(message="Starting task run.")
_SKIP_MESSAGE = (
    "Upstream task was skipped; if this was not the intended behavior, consider changing "
    "`skip_on_upstream_skip=False` for this task."
)
_READY = (Pending, Cached)  # with Mapped (exactly): the states a run starts from


class HandledEndRun(ENDRUN):
    """``ENDRUN`` with a state the state handlers have already seen (it is not handled again)."""


def _now() -> Any:
    import pendulum

    return pendulum.now("UTC")


def start_state(state: State | None) -> State:
    """The state a run starts from: a meta state's inner state; ``Pending`` for none."""
    while isinstance(state, MetaState):
        state = state.state
    return Pending() if state is None else state


class TaskSteps(Runner):
    """The decision steps of a task run (see the module docstring)."""

    task: Task
    result: Any
    constants: dict[str, Any]
    has_handlers: bool
    _task_logger: Any
    _task_hash: str | None
    _secret: bool
    _secret_inputs: frozenset[str] | None
    _reuses_caches: bool

    # -- state handlers -------------------------------------------------------------------
    def call_runner_target_handlers(self, old_state: State, new_state: State) -> State:
        """Call the task's own state handlers, then its ``on_failure`` for a new failure."""
        task = self.task
        if self.logger.isEnabledFor(10):
            self.logger.debug(
                "Task '%s': Handling state change from %s to %s",
                task.name,
                type(old_state).__name__,
                type(new_state).__name__,
            )
        for handler in task.state_handlers:
            new_state = self.call_state_handler(handler, (task, old_state, new_state), new_state)
        self.call_on_failure(task.on_failure, task, old_state, new_state)
        return new_state

    def change_state(self, old_state: State, new_state: State) -> State:
        """``new_state`` after the state handlers have seen the change from ``old_state``.

        The one place a task run calls its handlers: the task's own ``state_handlers``, its
        ``on_failure`` for a new failure, then the runner's (see
        :meth:`~headwater.engine.runner.Runner.handle_state_change`). Without handlers,
        ``new_state`` is returned as it is.

        Raises:
            HandledEndRun: a handler failed (with the ``Failed`` state naming it) or raised
                ``ENDRUN``; catch :class:`~headwater.engine.signals.ENDRUN`.
            PAUSE: raised by a handler.
        """
        if not self.has_handlers:
            return new_state
        try:
            return self.handle_state_change(old_state, new_state)
        except HandledEndRun:
            raise
        except ENDRUN as end:
            raise HandledEndRun(end.state) from end

    _change = change_state  # the name the flow runner's scheduler used

    def _name(self, ctx: Any) -> str:
        return ctx.get("task_full_name") or self.task.name

    # -- initialize ---------------------------------------------------------------------------
    def _init_run(self, state: State, ctx: Any) -> State:
        """Put ``task_run_count``, ``resume``, loop keys and ``checkpointing`` in ``ctx``.

        ``ctx`` is the run context (a dict, or :data:`headwater.context` itself) and ``state``
        the state to start from (see :func:`start_state`). Returns ``state``, or ``Resume`` for
        a ``Paused`` state that was resumed through the context or whose time is up.
        """
        if "task_loop_count" not in ctx:
            ctx["task_loop_count"] = 1
        if "checkpointing" not in ctx:
            ctx["checkpointing"] = _configured_checkpointing(ctx)
        extra = context_if_any(state)
        if extra is None and type(state) is Pending:  # the usual start: a first run
            ctx["task_run_count"] = 1
            return state
        if isinstance(state, Retrying):
            ctx["task_run_count"] = state.run_count + 1
        else:  # each loop after a retry counts from 1 again, as in Prefect Core 1.x
            ctx["task_run_count"] = extra.get("task_run_count", 1) if extra else 1
        if extra and "_loop_count" in extra:
            # a retry of a task that had looped: continue from the loop that failed
            ctx["task_loop_count"] = extra["_loop_count"]
            ctx["task_loop_result"] = self._stored_loop_result(state)
        if isinstance(state, Scheduled):
            return self._resumed(state, ctx)
        return state

    def _stored_loop_result(self, state: State) -> Any:
        """The result of the loop a retried looping task continues from (read back if stored)."""
        holder = state.result_holder
        value = holder.value
        if value is None and holder.location is not None and self.result is not None:
            value = self.result.read(holder.location).value
        return value

    def _resumed(self, state: Scheduled, ctx: Any) -> State:
        """``Resume`` for a ``Paused`` state resumed through ``ctx`` or whose time is up."""
        if isinstance(state, Resume):
            ctx["resume"] = True
        elif isinstance(state, Paused) and (
            ctx.get("resume") or (state.start_time is not None and state.start_time <= _now())
        ):
            ctx["resume"] = True
            return Resume("Resuming the paused task.", cached_inputs=state.cached_inputs)
        return state

    # -- readiness -----------------------------------------------------------------------
    def _ready(self, state: State) -> State:
        """Pending, ``Mapped`` and ``Cached`` states continue; others end the run as they are."""
        if isinstance(state, _READY) or type(state) is Mapped:
            return state
        raise ENDRUN(state)

    def _reached_start_time(self, state: State) -> State:
        """A ``Scheduled`` state (``Retrying``, ``Paused``...) waits for its ``start_time``.

        One without a ``start_time`` (a ``Paused`` state waiting for a person) ends the run.
        """
        if isinstance(state, Scheduled):
            start = state.start_time
            if start is None or start > _now():
                raise ENDRUN(state)
        return state

    def _upstream_ready(self, state: State, upstream_states: dict[Edge, State]) -> bool:
        """:meth:`_upstream_finished` and :meth:`_upstream_skipped`, in one pass when all succeeded.

        Returns:
            Whether every upstream state is a ``Success`` (exactly: the usual case).
        """
        for s in upstream_states.values():
            if type(s) is not Success:
                self._upstream_finished(state, upstream_states)
                self._upstream_skipped(state, upstream_states)
                return False
        return True

    def _upstream_finished(self, state: State, upstream_states: dict[Edge, State]) -> State:
        """Every upstream state must be finished (mapped: every child too)."""
        for s in upstream_states.values():
            if type(s) is Success:  # the usual case, first (tasks with thousands of inputs)
                continue
            if not isinstance(s, Finished):
                raise ENDRUN(state)
            if type(s) is Mapped:
                for c in s.map_states:
                    if not isinstance(c, Finished):
                        raise ENDRUN(state)
        return state

    def _upstream_skipped(self, state: State, upstream_states: dict[Edge, State]) -> State:
        """With ``skip_on_upstream_skip``, a skipped upstream skips this task.

        Over an edge that is not mapped, a ``Mapped`` upstream counts as skipped when any of
        its children was.
        """
        if not self.task.skip_on_upstream_skip:
            return state
        for e, s in upstream_states.items():
            if type(s) is Success or not isinstance(s, Success):
                continue
            if isinstance(s, Skipped) or (
                type(s) is Mapped
                and not e.mapped
                and any(isinstance(c, Skipped) for c in s.map_states)
            ):
                raise ENDRUN(Skipped(message=_SKIP_MESSAGE))
        return state

    def _trigger(self, state: State, upstream_states: dict[Edge, State]) -> State:
        """Run the trigger; ``False`` or ``TRIGGERFAIL`` gives ``TriggerFailed``."""
        trigger = self.task.trigger
        try:
            ok = trigger(upstream_states)
        except signals.HeadwaterStateSignal as sig:
            raise ENDRUN(sig.state) from None
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # any trigger error fails this task only
            if _context.get("raise_on_exception"):
                raise
            msg = callback_failure(self.task.name, "trigger", trigger, exc)
            raise ENDRUN(TriggerFailed(msg, result=exc)) from None
        if not ok:
            name = getattr(trigger, "__name__", repr(trigger))
            raise ENDRUN(TriggerFailed(f'Trigger was "{name}" and it returned False.'))
        return state

    def _to_running(self, state: State) -> State:
        """Move to ``Running`` (only from a pending state)."""
        if not isinstance(state, Pending):
            raise ENDRUN(state)
        if not self.has_handlers:
            # nobody can observe this transitional state: share one instance
            return _RUNNING
        return Running(message="Starting task run.")

    # -- inputs -------------------------------------------------------------------------------
    def _task_inputs(self, state: State, upstream_states: dict[Edge, State]) -> dict[str, Any]:
        """The keyword arguments for ``run()``: upstream results, constants, cached inputs."""
        inputs = dict(self.constants) if self.constants else {}
        cached = cached_inputs_if_any(state)
        if self._secret_inputs is None and self._reuses_caches:  # for the persistent cache
            self._secret_inputs = _secret_input_names(upstream_states)
        for e, s in upstream_states.items():
            key = e.key
            if key is None:
                continue
            value = s.result
            # a released state has no result (a released Mapped: its children have none), so
            # the attribute lookup is only needed then
            if (value is None or type(s) is Mapped) and getattr(s, "released", False):
                inputs[key] = _released_input(e, cached)
            elif value is None:
                inputs[key] = self._stored_input(e, s)
            else:
                inputs[key] = value
        if cached:
            for k, v in cached.items():
                inputs.setdefault(k, v)
        return inputs

    def _stored_input(self, edge: Edge, upstream: State) -> Any:
        """An upstream value that may be known only by its checkpoint's location (else None)."""
        holder = upstream.result_holder
        if holder.value is not None or holder.location is None:
            return holder.value
        try:
            return holder.read(holder.location).value
        except Exception as exc:  # an unreadable checkpoint fails this task only
            msg = (
                f"Could not read the checkpointed result of upstream task {edge.upstream_task.name!r} "
                f"at {holder.location!r} with {holder.serializer!r}: {exc}"
            )
            raise ENDRUN(Failed(msg, result=exc)) from None

    # -- run name, templates ------------------------------------------------------------------
    def _run_name(self, inputs: dict[str, Any], ctx: Any) -> str | None:
        """The formatted ``task_run_name`` (template or callable), or ``None`` if there is none.

        Raises:
            ENDRUN: with ``Failed`` naming the problem, when a callable raises or a template
                names a missing key.
        """
        tmpl = self.task.task_run_name
        if tmpl is None:
            return None
        fmt = {**ctx, **(ctx.get("parameters") or {}), **inputs}
        try:
            return tmpl(**fmt) if callable(tmpl) else str(tmpl).format(**fmt)
        except (KeyboardInterrupt, signals.HeadwaterStateSignal):
            raise
        except BaseException as exc:  # a bad name fails this task only
            if ctx.get("raise_on_exception"):
                raise
            name = self.task.name
            if callable(tmpl):
                msg = callback_failure(name, "task_run_name callable", tmpl, exc)
            elif isinstance(exc, KeyError):
                msg = (
                    f"Task {name!r}: task_run_name template {tmpl!r} uses {{{exc.args[0]}}}, "
                    "which is neither an input of the task, a parameter of the flow nor a "
                    "context key."
                )
            else:
                msg = (
                    f"Task {name!r}: task_run_name template {tmpl!r} could not be formatted: {exc}"
                )
            raise ENDRUN(Failed(msg, result=exc)) from None

    def _format_kwargs(self, inputs: dict[str, Any], ctx: Any) -> dict[str, Any]:
        """Template keys for results and targets: context, then parameters, then inputs."""
        fmt = {**ctx, **(ctx.get("parameters") or {}), **inputs}
        if "value" in fmt:  # an input named ``value``: ``{value}``, or ``{value_}``
            fmt["value_"] = fmt["value"]
        fmt.pop("self", None)
        if self._task_hash is not None:
            fmt.setdefault("task_hash", self._task_hash)
        return fmt


def _configured_checkpointing(ctx: Any) -> Any:
    """``checkpointing`` from the run's ``config`` (``context.config``), else the global one."""
    try:
        return ctx["config"]["flows"]["checkpointing"]
    except (KeyError, TypeError, AttributeError):
        pass
    from headwater.configuration import setting

    return setting("flows.checkpointing")


def wants_task_hash(location: Any) -> bool:
    """Whether a location may use ``{task_hash}`` (templates naming it, and every callable)."""
    return callable(location) or (isinstance(location, str) and "task_hash" in location)


def task_hash(task: Task) -> str:
    """The ``{task_hash}`` template key: a short hash of the task's own code."""
    from headwater.engine.persistent_cache import code_hash

    return code_hash(task)[:16]


def _released_input(edge: Edge, cached: dict[str, Any] | None) -> Any:
    """The value a task ran with before, for an upstream result a memory-bounded run released.

    Raises:
        ENDRUN: with ``Failed`` when the task has no such value (it never ran before).
    """
    key = edge.key
    if cached and key in cached:
        return cached[key]
    raise ENDRUN(
        Failed(
            f"The result of upstream task {edge.upstream_task.name!r} was released by a "
            "memory-bounded run (return_tasks) before this task could use it; include it in "
            "return_tasks to keep it."
        )
    )


def _secret_input_names(upstream_states: dict[Edge, State]) -> frozenset[str]:
    """The names of the inputs that receive the value of a secret task (``is_secret``)."""
    return frozenset(
        e.key
        for e in upstream_states
        if e.key is not None and getattr(e.upstream_task, "is_secret", False)
    )
