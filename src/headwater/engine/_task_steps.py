"""The first steps of a task run: context, readiness checks, trigger, inputs and run name.

:class:`TaskSteps` is the base of :class:`~headwater.engine.task_runner.TaskRunner` (then come
targets and caches in :mod:`~headwater.engine._task_reuse`, the call and retries in
:mod:`~headwater.engine._task_call`, the mapped parent in :mod:`~headwater.engine._task_mapping`).
The readiness checks have Prefect Core 1.x's signatures and the pipeline calls them as they are.
The other steps here (private) take the task's inputs as plain values and the run context as a
dict (``ctx``): they are what the pipeline calls, and the public steps of ``TaskRunner`` (Prefect
Core 1.x's signatures: inputs as ``Result`` objects, the context read from
:data:`headwater.context`) are thin wrappers around them. A step ends the run by raising
:class:`~headwater.engine.signals.ENDRUN` with the final state; every state it makes passes
through the state handlers first (:meth:`_change`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from headwater.context import context as _context
from headwater.engine import signals
from headwater.engine._callback_errors import callback_failure
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

__all__ = ["TaskSteps", "task_hash", "wants_task_hash"]

_RUNNING = Running(message="Starting task run.")
_SKIP_MESSAGE = (
    "Upstream task was skipped; if this was not the intended behavior, consider changing "
    "`skip_on_upstream_skip=False` for this task."
)


def _now() -> Any:
    import pendulum

    return pendulum.now("UTC")


class TaskSteps(Runner):
    """The decision steps of a task run (see the module docstring)."""

    task: Task
    result: Any
    constants: dict[str, Any]
    _has_handlers: bool
    _task_logger: Any
    _task_hash: str | None
    _secret: bool
    _secret_inputs: frozenset[str] | None

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

    def _change(self, old: State, new: State) -> State:
        if self._has_handlers:
            return self.handle_state_change(old, new)
        return new

    def _name(self, ctx: Any) -> str:
        return ctx.get("task_full_name") or self.task.name

    # -- initialize ---------------------------------------------------------------------------
    def _init_run(self, state: State | None, ctx: Any) -> State:
        """Put ``task_run_count``, ``resume``, loop keys and ``checkpointing`` in ``ctx``.

        ``ctx`` is the run context (a dict, or :data:`headwater.context` itself); the state to
        start from is returned (a meta state's inner state, ``Pending`` for none).
        """
        while isinstance(state, MetaState):
            state = state.state
        if state is None:
            state = Pending()
        extra = state._context  # noqa: SLF001 - read without creating an empty dict
        if isinstance(state, Retrying):
            ctx["task_run_count"] = state.run_count + 1
        else:  # each loop after a retry counts from 1 again, as in Prefect Core 1.x
            ctx["task_run_count"] = extra.get("task_run_count", 1) if extra else 1
        if "task_loop_count" not in ctx:
            ctx["task_loop_count"] = 1
        if extra and "_loop_count" in extra:
            # a retry of a task that had looped: continue from the loop that failed
            ctx["task_loop_count"] = extra["_loop_count"]
            holder = state._result
            value = holder.value
            if value is None and holder.location is not None and self.result is not None:
                value = self.result.read(holder.location).value
            ctx["task_loop_result"] = value
        if "checkpointing" not in ctx:
            ctx["checkpointing"] = _configured_checkpointing(ctx)
        if isinstance(state, Resume):
            ctx["resume"] = True
        elif isinstance(state, Paused) and (
            ctx.get("resume") or (state.start_time is not None and state.start_time <= _now())
        ):
            # resumed through the run's context, or the pause's duration is over
            ctx["resume"] = True
            state = self._change(
                state, Resume("Resuming the paused task.", cached_inputs=state.cached_inputs)
            )
        return state

    # -- readiness -----------------------------------------------------------------------
    def check_task_is_ready(self, state: State) -> State:
        """Pending, ``Mapped`` and ``Cached`` states continue; others end the run as they are."""
        if isinstance(state, Pending) or type(state) is Mapped or isinstance(state, Cached):
            return state
        raise ENDRUN(state)

    def check_task_reached_start_time(self, state: State) -> State:
        """A ``Scheduled`` state (``Retrying``, ``Paused``...) waits for its ``start_time``.

        One without a ``start_time`` (a ``Paused`` state waiting for a person) ends the run.
        """
        if isinstance(state, Scheduled):
            start = state.start_time
            if start is None or start > _now():
                raise ENDRUN(state)
        return state

    def check_upstream_finished(self, state: State, upstream_states: dict[Edge, State]) -> State:
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

    def check_upstream_skipped(self, state: State, upstream_states: dict[Edge, State]) -> State:
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
                raise ENDRUN(self._change(state, Skipped(message=_SKIP_MESSAGE)))
        return state

    def check_task_trigger(self, state: State, upstream_states: dict[Edge, State]) -> State:
        """Run the trigger; ``False`` or ``TRIGGERFAIL`` gives ``TriggerFailed``."""
        trigger = self.task.trigger
        try:
            ok = trigger(upstream_states)
        except signals.HeadwaterStateSignal as sig:
            raise ENDRUN(self._change(state, sig.state)) from None
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: BLE001 - any trigger error fails this task only
            if _context.get("raise_on_exception"):
                raise
            new = TriggerFailed(
                callback_failure(self.task.name, "trigger", trigger, exc), result=exc
            )
            raise ENDRUN(self._change(state, new)) from None
        if not ok:
            name = getattr(trigger, "__name__", repr(trigger))
            raise ENDRUN(
                self._change(state, TriggerFailed(f'Trigger was "{name}" and it returned False.'))
            )
        return state

    def set_task_to_running(self, state: State, inputs: dict[str, Any]) -> State:
        """Move to ``Running`` (only from a pending state)."""
        if not isinstance(state, Pending):
            raise ENDRUN(state)
        if not self._has_handlers:
            # nobody can observe this transitional state: share one instance
            return _RUNNING
        return self.handle_state_change(state, Running(message="Starting task run."))

    # -- inputs -------------------------------------------------------------------------------
    def _task_inputs(self, state: State, upstream_states: dict[Edge, State]) -> dict[str, Any]:
        """The keyword arguments for ``run()``: upstream results, constants, cached inputs."""
        inputs = dict(self.constants) if self.constants else {}
        cached = state._cached_inputs  # noqa: SLF001 - read without creating an empty dict
        if self._secret_inputs is None:
            self._secret_inputs = _secret_input_names(upstream_states)
        for e, s in upstream_states.items():
            key = e.key
            if key is not None:
                value = s.result
                # a released state has no result (a released Mapped: its children have none),
                # so the attribute lookup is only needed then
                if (value is None or type(s) is Mapped) and getattr(s, "released", False):
                    if not (cached and key in cached):
                        raise ENDRUN(
                            Failed(
                                f"The result of upstream task {e.upstream_task.name!r} was released "
                                "by a memory-bounded run (return_tasks) before this task could use "
                                "it; include it in return_tasks to keep it."
                            )
                        )
                    inputs[key] = cached[key]  # the value this task ran with before
                    continue
                if value is None:
                    holder = s._result
                    if holder.value is None and holder.location is not None:
                        value = self._read_checkpoint(state, e, holder)
                inputs[key] = value
        if cached:
            for k, v in cached.items():
                inputs.setdefault(k, v)
        return inputs

    def _read_checkpoint(self, state: State, edge: Edge, holder: Any) -> Any:
        """Read an upstream value that is known only by its checkpoint's location."""
        try:
            return holder.read(holder.location).value
        except Exception as exc:  # noqa: BLE001 - an unreadable checkpoint fails this task only
            msg = (
                f"Could not read the checkpointed result of upstream task {edge.upstream_task.name!r} "
                f"at {holder.location!r} with {holder.serializer!r}: {exc}"
            )
            raise ENDRUN(self._change(state, Failed(msg, result=exc))) from None

    # -- run name, templates ------------------------------------------------------------------
    def _run_name(self, inputs: dict[str, Any], ctx: Any, state: State | None) -> str | None:
        """The formatted ``task_run_name`` (template or callable), or ``None`` if there is none.

        A callable that raises, or a template naming a missing key, fails the task (from
        ``state``) with a message naming it.
        """
        tmpl = self.task.task_run_name
        if tmpl is None:
            return None
        fmt = {**ctx, **(ctx.get("parameters") or {}), **inputs}
        try:
            return tmpl(**fmt) if callable(tmpl) else str(tmpl).format(**fmt)
        except (KeyboardInterrupt, signals.HeadwaterStateSignal):
            raise
        except BaseException as exc:  # noqa: BLE001 - a bad name fails this task only
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
            new = Failed(msg, result=exc)
            raise ENDRUN(new if state is None else self._change(state, new)) from None

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
    from headwater.configuration import config

    try:
        return config.flows.checkpointing
    except AttributeError:
        return False


def wants_task_hash(location: Any) -> bool:
    """Whether a location may use ``{task_hash}`` (templates naming it, and every callable)."""
    return callable(location) or (isinstance(location, str) and "task_hash" in location)


def task_hash(task: Task) -> str:
    """The ``{task_hash}`` template key: a short hash of the task's own code."""
    from headwater.engine.persistent_cache import code_hash

    return code_hash(task)[:16]


def _secret_input_names(upstream_states: dict[Edge, State]) -> frozenset[str]:
    """The names of the inputs that receive the value of a secret task (``is_secret``)."""
    return frozenset(
        e.key
        for e in upstream_states
        if e.key is not None and getattr(e.upstream_task, "is_secret", False)
    )
