"""``TaskRunner``: one task run as a pipeline of small state -> state steps.

:meth:`TaskRunner.run` takes the task's current state and its upstream states and passes the
state through these steps, each a method that can be tested on its own::

    initialize_run -> check_task_is_ready -> check_task_reached_start_time
    -> check_upstream_finished -> check_upstream_skipped -> get_task_inputs
    -> (map: run_mapped_task) -> set_task_run_name -> check_target -> check_task_is_cached
    -> check_task_trigger -> set_task_to_running -> get_task_run_state
    -> cache_result -> check_for_retry -> check_task_is_looping

A step stops the pipeline by raising :class:`~headwater.engine.signals.ENDRUN` with the final
state. Mapped tasks are expanded by the flow runner, which runs one pipeline per child; called
directly on a mapped task, ``run`` maps inline.
"""

from __future__ import annotations

import functools
import itertools
import uuid
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from headwater.context import context as _context
from headwater.core._options import mapping_hint
from headwater.engine import signals
from headwater.engine._callback_errors import callback_failure, checkpoint_failure, raised_in
from headwater.engine.caching.in_process import remember
from headwater.engine.runner import Runner
from headwater.engine.signals import ENDRUN
from headwater.engine.state import (
    Cached,
    Failed,
    Finished,
    Looped,
    Mapped,
    Paused,
    Pending,
    Resume,
    Retrying,
    Running,
    Scheduled,
    Skipped,
    State,
    Success,
    TimedOut,
    TriggerFailed,
)
from headwater.exceptions import TaskTimeoutSignal
from headwater.utilities.logging import get_logger

if TYPE_CHECKING:
    from headwater.core.edge import Edge
    from headwater.core.task import Task

__all__ = ["TaskRunner"]

_run_ids = itertools.count(1)
_PROCESS_CACHES: dict[str, list[State]] = {}
_RUNNING = Running(message="Starting task run.")


def _runner_logger() -> Any:
    return get_logger("TaskRunner")


def _now():
    import pendulum

    return pendulum.now("UTC")


class TaskRunner(Runner):
    """Runs one task (or, with ``context["map_index"]``, one mapped child of it).

    Args:
        task: the task to run.
        state_handlers: runner-level state handlers ``fn(runner, old, new)``.
        flow_result: the flow's default ``Result``, used when the task has none.
    """

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
        self.logger = _runner_logger()
        self.task = task
        result = task.result if task.result is not None else flow_result
        target = task.target
        self._task_hash: str | None = None
        self._warned_unwritten_target = False
        # a secret task's value is never checkpointed and is shown as ****
        self._secret = bool(getattr(task, "is_secret", False))
        self._secret_inputs: frozenset[str] | None = None  # inputs fed by secret tasks
        if target is not None:
            if result is None:
                # a target needs somewhere to look: LocalResult in {home_dir}/results
                from headwater.engine.results import LocalResult

                result = LocalResult(validate_dir=False)
            if result.location is not target:
                result = result.copy()
                result.location = target
        if result is not None and _wants_task_hash(result.location):
            self._task_hash = _task_hash(task)
        self.result = result
        self.constants: dict[str, Any] = {}
        self._has_handlers = bool(task.state_handlers or self.state_handlers or task.on_failure)
        self._task_logger = get_logger(task.name)
        self._static_ctx = {
            "task_name": task.name,
            "task_slug": task.slug,
            "task_tags": task.tags,
            "task_id": task.slug or str(task.id),
            "logger": self._task_logger,
        }

    def __repr__(self) -> str:
        return f"<TaskRunner: {self.task.name}>"

    def __getstate__(self) -> dict[str, Any]:
        d = self.__dict__.copy()
        d.pop("logger", None)
        d.pop("_task_logger", None)
        d["_static_ctx"] = {k: v for k, v in self._static_ctx.items() if k != "logger"}
        return d

    def __setstate__(self, d: dict[str, Any]) -> None:
        self.__dict__.update(d)
        from headwater.utilities.logging import get_logger

        self.logger = get_logger(type(self).__name__)
        self._task_logger = self.task.logger
        self._static_ctx["logger"] = self._task_logger

    # -- state handlers -------------------------------------------------------------------
    def call_runner_target_handlers(self, old_state: State, new_state: State) -> State:
        task = self.task
        for handler in task.state_handlers:
            new_state = self.call_state_handler(handler, (task, old_state, new_state), new_state)
        self.call_on_failure(task.on_failure, task, old_state, new_state)
        return new_state

    def _change(self, old: State, new: State) -> State:
        if self._has_handlers:
            return self.handle_state_change(old, new)
        return new

    # -- entry points ---------------------------------------------------------------------
    def run(
        self,
        state: State | None = None,
        upstream_states: dict[Edge, State] | None = None,
        context: dict[str, Any] | None = None,
    ) -> State:
        """Run the task once and return its new state.

        Args:
            state: the task's current state (default ``Pending``).
            upstream_states: ``{edge: state}`` for every upstream edge.
            context: extra context for the run (``map_index`` makes this a mapped child).
        """
        upstream_states = upstream_states or {}
        ctx = dict(context or {})
        map_index = ctx.pop("map_index", None)
        if map_index is None and any(e.mapped for e in upstream_states):
            return self.run_mapped_task(state, upstream_states, ctx)
        base = {**_context._get(), **ctx}
        return self.run_unit(state, upstream_states, base, map_index)

    def run_unit(
        self,
        state: State | None,
        upstream_states: dict[Edge, State],
        base_ctx: dict[str, Any],
        map_index: int | None = None,
    ) -> State:
        """Run the pipeline once (a plain task, or child ``map_index`` of a mapped task)."""
        if state is None:
            state = Pending()
        ctx = base_ctx.copy()
        ctx.update(self._static_ctx)
        name = self.task.name
        full_name = name if map_index is None else f"{name}[{map_index}]"
        ctx["map_index"] = map_index
        ctx["task_full_name"] = full_name
        ctx["task_run_name"] = full_name
        ctx["task_run_id"] = f"{base_ctx.get('flow_run_id', 'run')}-{next(_run_ids)}"
        var = _context._var
        token = var.set(ctx)
        try:
            while True:
                state = self._pipeline(state, upstream_states, ctx)
                if type(state) is not Looped:
                    return state
                ctx["task_loop_count"] = (state.loop_count or 1) + 1
                ctx["task_loop_result"] = state.result
        finally:
            var.reset(token)

    # -- the pipeline ---------------------------------------------------------------------
    def _pipeline(
        self, state: State, upstream_states: dict[Edge, State], ctx: dict[str, Any]
    ) -> State:
        logger = self._task_logger
        info = logger.isEnabledFor(20)
        if info:
            logger.info("Task '%s': Starting task run...", ctx["task_full_name"])
        try:
            state = self.initialize_run(state, ctx)
            state = self.check_task_is_ready(state)
            state = self.check_task_reached_start_time(state)
            state = self.check_upstream_finished(state, upstream_states)
            state = self.check_upstream_skipped(state, upstream_states)
            inputs = self.get_task_inputs(state, upstream_states)
            self.set_task_run_name(inputs, ctx, state)
            state = self.check_target(state, inputs, ctx)
            state = self.check_task_is_cached(state, inputs, ctx)
            state = self.check_task_trigger(state, upstream_states)
            state = self.set_task_to_running(state, inputs)
            state = self.get_task_run_state(state, inputs, ctx)
            state = self.cache_result(state, inputs, ctx)
            state = self.check_for_retry(state, inputs, ctx)
            state = self.check_task_is_looping(state, inputs, ctx)
        except ENDRUN as exc:
            state = exc.state
        except signals.HeadwaterStateSignal as exc:
            # PAUSE from the task, or a signal raised by a callback of a step
            try:
                state = self._change(state, exc.state)
            except ENDRUN as end:
                state = end.state
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: BLE001 - SystemExit, GeneratorExit...: fail this task
            if ctx.get("raise_on_exception"):
                raise
            msg = f"Unexpected error while running task: {exc!r}"
            logger.exception("Task '%s': %s", ctx["task_full_name"], msg)
            state = Failed(msg, result=exc)
        if info:
            logger.info(
                "Task '%s': Finished task run for task with final state: '%s'",
                ctx["task_full_name"],
                type(state).__name__,
            )
        return state

    def initialize_run(self, state: State, ctx: dict[str, Any]) -> State:
        """Set ``task_run_count``, loop keys and ``resume`` in the run context from ``state``."""
        if isinstance(state, Retrying):
            ctx["task_run_count"] = state.run_count + 1
        else:
            ctx.setdefault("task_run_count", 1)
        ctx.setdefault("task_loop_count", 1)
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
        if isinstance(state, Looped):
            ctx["task_loop_count"] = (state.loop_count or 0) + 1
            ctx["task_loop_result"] = state.result
            state = Pending(message=state.message)
        return state

    def check_task_is_ready(self, state: State) -> State:
        """Only pending states run; finished (or running) states end the pipeline as they are."""
        if isinstance(state, Pending):
            return state
        if state.is_finished():
            raise ENDRUN(state)
        raise ENDRUN(state)

    def check_task_reached_start_time(self, state: State) -> State:
        """A ``Scheduled`` state whose ``start_time`` is in the future ends the pipeline."""
        start = getattr(state, "start_time", None)
        if start is not None and isinstance(state, (Scheduled, Paused)) and start > _now():
            raise ENDRUN(state)
        if isinstance(state, Paused) and start is None:
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
        """With ``skip_on_upstream_skip``, a skipped upstream skips this task."""
        if not self.task.skip_on_upstream_skip:
            return state
        for e, s in upstream_states.items():
            if type(s) is Success or not isinstance(s, Success):
                continue
            if isinstance(s, Skipped) or (
                type(s) is Mapped
                and e.key is not None
                and not e.mapped
                and s.map_states
                and all(c.is_skipped() for c in s.map_states)
            ):
                new = Skipped(
                    message="Upstream task was skipped; if this was not the intended behavior, consider changing `skip_on_upstream_skip=False` for this task."
                )
                raise ENDRUN(self._change(state, new))
        return state

    def get_task_inputs(self, state: State, upstream_states: dict[Edge, State]) -> dict[str, Any]:
        """The keyword arguments for ``run()``: upstream results, constants, cached inputs."""
        inputs = dict(self.constants) if self.constants else {}
        cached = state.cached_inputs
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
                    holder = getattr(s, "_result", None)
                    if holder is not None and holder.value is None and holder.location is not None:
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

    def set_task_run_name(
        self, inputs: dict[str, Any], ctx: dict[str, Any], state: State | None = None
    ) -> None:
        """Format ``task_run_name`` (template or callable) into ``context.task_run_name``.

        A callable that raises, or a template naming a missing key, fails the task (from
        ``state``) with a message naming it.
        """
        tmpl = self.task.task_run_name
        if tmpl is None:
            return
        fmt = {**ctx, **(ctx.get("parameters") or {}), **inputs}
        try:
            ctx["task_run_name"] = tmpl(**fmt) if callable(tmpl) else str(tmpl).format(**fmt)
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

    def _format_kwargs(self, inputs: dict[str, Any], ctx: dict[str, Any]) -> dict[str, Any]:
        """Template keys for results and targets: context, then parameters, then inputs."""
        fmt = {**ctx, **(ctx.get("parameters") or {}), **inputs}
        # ``value`` is the positional argument of Result.write: an input of that name is
        # still available to templates as ``{value_}``
        if "value" in fmt:
            fmt["value_"] = fmt.pop("value")
        if self._task_hash is not None:
            fmt.setdefault("task_hash", self._task_hash)
        return fmt

    def check_target(self, state: State, inputs: dict[str, Any], ctx: dict[str, Any]) -> State:
        """If the task's ``target`` exists, end as ``Cached`` with the stored value read back."""
        target = self.task.target
        if target is None or self.result is None:
            return state
        if ctx.get("map_index") is not None and isinstance(target, str):
            self._check_child_target(state, target, inputs)
        fmt = self._format_kwargs(inputs, ctx)
        result = self.result
        try:
            found = result.exists(target, **fmt)
        except (KeyboardInterrupt, signals.HeadwaterStateSignal):
            raise
        except BaseException as exc:  # noqa: BLE001 - a target that cannot be checked fails the task
            if ctx.get("raise_on_exception"):
                raise
            if callable(target) and raised_in(exc, target):
                msg = callback_failure(self.task.name, "target callable", target, exc)
            else:
                msg = (
                    f"Task {self.task.name!r}: checking whether its target {target!r} exists "
                    f"raised {type(exc).__name__}: {exc}"
                )
            raise ENDRUN(self._change(state, Failed(msg, result=exc))) from None
        if found:
            from headwater.engine.result.base import render_location

            location = render_location(target, fmt)
            try:
                loaded = result.read(location)
            except Exception as exc:  # noqa: BLE001 - a corrupt target fails the task, not the run
                msg = (
                    f"Could not read the target of task {self.task.name!r} at {location!r} "
                    f"with {result.serializer!r}: {exc}"
                )
                raise ENDRUN(self._change(state, Failed(msg, result=exc))) from None
            new = Cached(message=f"Result found at task target {location}", result=loaded)
            raise ENDRUN(self._change(state, new))
        return state

    def _check_child_target(self, state: State, target: str, inputs: dict[str, Any]) -> None:
        """A mapped child's target must differ between children, or they share one value."""
        fields = _template_fields(target)
        if fields & _PER_CHILD_KEYS or fields & inputs.keys():
            return
        msg = (
            f"Task {self.task.name!r} is mapped, but its target {target!r} names neither "
            "{map_index} nor any of the task's inputs, so every child would read and write the "
            "same location; add {map_index} (or an input that differs between children) to it."
        )
        raise ENDRUN(self._change(state, Failed(msg)))

    def check_task_is_cached(
        self, state: State, inputs: dict[str, Any], ctx: dict[str, Any]
    ) -> State:
        """Reuse a valid cached state (given, in ``context.caches`` or the persistent cache)."""
        task = self.task
        params = ctx.get("parameters") or {}
        if isinstance(state, Cached):
            if task.cache_validator is not None and self._cache_is_valid(
                state, state, inputs, params, ctx
            ):
                raise ENDRUN(state)
            state = Pending("Cache was invalid; ready to run.")
        if task.cache_for is None and task.cache_key is None:
            return state
        if task.cache_for is None and task.cache_validator is None:
            return state
        key = _cache_key(task, ctx)
        caches = ctx.get("caches")
        if caches is None:
            caches = _PROCESS_CACHES
        candidates = list(caches.get(key, ()))
        store = ctx.get("_persistent_cache")
        if store is not None:
            candidates.extend(store.load(task, key, inputs, secret=self._secret_inputs or ()))
        validator = task.cache_validator
        for candidate in candidates:
            if validator is not None and self._cache_is_valid(
                state, candidate, inputs, params, ctx
            ):
                if self._task_logger.isEnabledFor(20):
                    self._task_logger.info(
                        "Task '%s': using cached result from a previous run", ctx["task_full_name"]
                    )
                raise ENDRUN(self._change(state, candidate))
        return state

    def _cache_is_valid(
        self,
        state: State,
        candidate: State,
        inputs: dict[str, Any],
        params: dict[str, Any],
        ctx: dict[str, Any],
    ) -> bool:
        """Call the cache validator on ``candidate``; if it raises, fail the task naming it."""
        validator = self.task.cache_validator
        try:
            return bool(validator(candidate, inputs, params))  # type: ignore[misc]
        except (KeyboardInterrupt, signals.HeadwaterStateSignal):
            raise
        except BaseException as exc:  # noqa: BLE001 - a validator error fails this task only
            if ctx.get("raise_on_exception"):
                raise
            msg = callback_failure(self.task.name, "cache validator", validator, exc)
            raise ENDRUN(self._change(state, Failed(msg, result=exc))) from None

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

    def get_task_run_state(
        self, state: State, inputs: dict[str, Any], ctx: dict[str, Any]
    ) -> State:
        """Call ``task.run(**inputs)`` (with timeout and stdout capture) and checkpoint.

        Any exception the task raises — ``BaseException`` subclasses such as ``SystemExit``,
        ``GeneratorExit`` or ``asyncio.CancelledError`` included — fails this task with the
        exception as its result; only ``KeyboardInterrupt`` stops the whole run. Signals set
        the state they stand for.
        """
        if not isinstance(state, Running):
            raise ENDRUN(state)  # a state handler chose another state: the task does not run
        task = self.task
        try:
            if task.timeout:
                value = self._run_with_timeout(inputs, ctx.get("task_full_name", task.name))
            elif task.log_stdout:
                value = self._call_capturing(inputs)
            else:
                value = self._call(inputs)
        except signals.LOOP as exc:
            new = exc.state
            new.loop_count = ctx.get("task_loop_count", 1)
            new.cached_inputs = inputs
            new.message = new.message or f"Looping task (on loop index {new.loop_count})"
            return self._change(state, new)
        except signals.PAUSE:
            raise
        except signals.HeadwaterStateSignal as exc:
            new = exc.state
            if isinstance(new, Retrying) and new.start_time is None:
                new.start_time = _now()
            if new.is_failed() or isinstance(new, Retrying):
                new.cached_inputs = inputs
            return self._change(state, new)
        except TaskTimeoutSignal as exc:
            if ctx.get("raise_on_exception"):
                raise
            return self._change(state, TimedOut("Task timed out during execution.", result=exc))
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: BLE001 - every error of the task fails the task
            if ctx.get("raise_on_exception"):
                raise
            if self._task_logger.isEnabledFor(40):
                self._task_logger.error(
                    "Task '%s': Exception encountered during task execution!",
                    ctx["task_full_name"],
                    exc_info=True,
                )
            return self._change(
                state,
                Failed(
                    f"Error during execution of task: {exc!r}", result=exc, cached_inputs=inputs
                ),
            )
        new = Success(message="Task run succeeded.", result=value)
        if self._secret:
            new.secret = True  # type: ignore[attr-defined]
        result = self.result
        if (
            result is not None
            and value is not None
            and task.checkpoint is not False
            and not self._secret
            and ctx.get("checkpointing")
        ):
            fmt = self._format_kwargs(inputs, ctx)
            try:
                written = result.write(value, **fmt)
            except Exception as exc:  # noqa: BLE001 - a failed write fails the task, visibly
                if ctx.get("raise_on_exception"):
                    raise
                msg = checkpoint_failure(task.name, result, fmt, exc)
                return self._change(state, Failed(msg, result=exc))
            new._result = written
        elif task.target is not None and value is not None and not self._warned_unwritten_target:
            self._warned_unwritten_target = True
            if task.checkpoint is False:
                why, fix = "checkpoint=False", "remove checkpoint=False from the task"
            else:
                why = "checkpointing is off"
                fix = "set config.flows.checkpointing = true or run with context={'checkpointing': True}"
            self._task_logger.warning(
                "Task '%s' has target %r but %s, so its result was not written and the next run "
                "will run it again; %s.",
                ctx["task_full_name"],
                task.target,
                why,
                fix,
            )
        if self._has_handlers:
            new = self.handle_state_change(state, new)
        return new

    def _call(self, inputs: dict[str, Any], timeout: float | None = None) -> Any:
        task = self.task
        if getattr(task, "is_async", False):
            from headwater.engine.async_loop import run_coroutine

            return run_coroutine(task.run, inputs, timeout)
        return task.run(**inputs)

    def _call_capturing(self, inputs: dict[str, Any], timeout: float | None = None) -> Any:
        from headwater.utilities.logging import capture_stdout

        with capture_stdout(self._task_logger):
            return self._call(inputs, timeout)

    def _run_with_timeout(self, inputs: dict[str, Any], name: str) -> Any:
        """Call the task with its ``timeout`` (any thread; see :mod:`headwater.engine._invoke`).

        A coroutine is cancelled when the time is up; synchronous code runs in a daemon thread
        that is asked to stop, and that is left running (with a warning) if it is blocked in C.
        """
        timeout: Any = self.task.timeout
        seconds = timeout.total_seconds() if hasattr(timeout, "total_seconds") else float(timeout)
        call = self._call_capturing if self.task.log_stdout else self._call
        if getattr(self.task, "is_async", False):
            return call(inputs, seconds)
        from headwater.engine._invoke import call_with_timeout

        return call_with_timeout(call, inputs, seconds, name, self._task_logger)

    def cache_result(self, state: State, inputs: dict[str, Any], ctx: dict[str, Any]) -> State:
        """Store a successful state in ``context.caches`` (and the persistent cache) if cached."""
        task = self.task
        if task.cache_for is None or type(state) is not Success:
            return state
        expiration = _now() + task.cache_for
        cached = Cached(
            message=state.message,
            result=state.result,
            cached_inputs=inputs,
            cached_parameters=ctx.get("parameters"),
            cached_result_expiration=expiration,
        )
        cached._result = state._result
        key = _cache_key(task, ctx)
        caches = ctx.get("caches")
        if caches is None:
            caches = _PROCESS_CACHES
        remember(caches, key, cached)
        store = ctx.get("_persistent_cache")
        if store is not None:
            store.save(task, key, inputs, cached, secret=self._secret_inputs or ())
        return state

    def check_for_retry(self, state: State, inputs: dict[str, Any], ctx: dict[str, Any]) -> State:
        """A failure with retries left becomes ``Retrying`` at ``now + retry_delay``."""
        if not isinstance(state, Failed) or isinstance(state, TriggerFailed):
            return state
        task = self.task
        run_count = ctx.get("task_run_count", 1)
        if run_count > task.max_retries:
            return state
        if task.retry_on is not None and not isinstance(state.result, task.retry_on):
            return state
        delay = task.retry_delay
        start = _now() + delay if delay is not None else _now()
        new = Retrying(
            message=f"Retrying Task (after attempt {run_count} of {task.max_retries + 1})",
            start_time=start,
            run_count=run_count,
            cached_inputs=inputs,
            context={"failure": state.message},
        )
        return self._change(state, new)

    def check_task_is_looping(
        self, state: State, inputs: dict[str, Any], ctx: dict[str, Any]
    ) -> State:
        """A ``Looped`` state is returned as is; :meth:`run_unit` runs the next loop."""
        return state

    # -- mapping (direct use) ---------------------------------------------------------------
    def run_mapped_task(
        self, state: State | None, upstream_states: dict[Edge, State], ctx: dict[str, Any]
    ) -> State:
        """Run every child of a mapped task here, one after another; returns ``Mapped``."""
        from headwater.engine.mapping import child_upstream_states, map_length

        base = {**_context._get(), **ctx}
        ready, prepared = self.map_readiness(state or Pending(), upstream_states)
        if not ready:
            return prepared
        n = map_length(upstream_states)
        prior = state.map_states if isinstance(state, Mapped) else []
        children = []
        for i in range(n):
            child_state = prior[i] if i < len(prior) else None
            children.append(
                self.run_unit(child_state, child_upstream_states(upstream_states, i), base, i)
            )
        return Mapped(message="Mapped tasks submitted for execution.", map_states=children)

    def check_ready_to_map(self, state: State, upstream_states: dict[Edge, State]) -> State:
        """Parent-level checks of a mapped task; returns ``state`` itself when ready to map."""
        return self.map_readiness(state, upstream_states)[1]

    def map_readiness(self, state: State, upstream_states: dict[Edge, State]) -> tuple[bool, State]:
        """``(True, state)`` if the task can be expanded into children, else ``(False, final)``."""
        if isinstance(state, Mapped):
            state = Pending()
        try:
            self.check_upstream_finished(state, upstream_states)
            self.check_upstream_skipped(state, upstream_states)
        except ENDRUN as exc:
            return False, exc.state
        mapped_edges = [e for e in upstream_states if e.mapped]
        if not mapped_edges:
            return False, Failed("No upstream states can be mapped over.")
        for e in mapped_edges:
            s = upstream_states[e]
            if type(s) is Mapped:
                continue
            if not s.is_successful():
                try:
                    self.check_task_trigger(state, upstream_states)
                except ENDRUN as exc:
                    return False, exc.state
                return False, Failed(
                    f"Upstream task {e.upstream_task.name!r} did not produce a mappable result."
                )
            if isinstance(s.result, Mapping):
                return False, Failed(
                    f"Task {self.task.name!r} cannot map over the result of upstream task "
                    f"{e.upstream_task.name!r}: it returned a dict, and {mapping_hint()}."
                )
            if not hasattr(s.result, "__getitem__") or not hasattr(s.result, "__len__"):
                return False, Failed(
                    f"At least one upstream state has an unmappable result: {e.upstream_task.name!r} "
                    f"returned {type(s.result).__name__}, which cannot be indexed."
                )
        return True, state


_PER_CHILD_KEYS = frozenset({"map_index", "task_full_name", "task_run_name", "task_run_id"})


@functools.lru_cache(maxsize=256)
def _template_fields(template: str) -> frozenset[str]:
    """The top-level key names a ``str.format`` template uses (``{a.b[0]:x}`` -> ``a``)."""
    import re
    import string

    try:
        names = {f for _, f, _, _ in string.Formatter().parse(template) if f}
    except ValueError:
        return frozenset({"map_index"})  # malformed: formatting reports it
    return frozenset(re.split(r"[.\[]", name, maxsplit=1)[0] for name in names)


def _wants_task_hash(location: Any) -> bool:
    """Whether a location may use ``{task_hash}`` (templates naming it, and every callable)."""
    return callable(location) or (isinstance(location, str) and "task_hash" in location)


def _task_hash(task: Task) -> str:
    """The ``{task_hash}`` template key: a short hash of the task's own code."""
    from headwater.engine.persistent_cache import code_hash

    return code_hash(task)[:16]


def _cache_key(task: Task, ctx: dict[str, Any]) -> str:
    """``cache_key or name``; mapped children each get their own entry (``key[i]``)."""
    key = task.cache_key or task.name
    i = ctx.get("map_index")
    return key if i is None else f"{key}[{i}]"


def _secret_input_names(upstream_states: dict[Edge, State]) -> frozenset[str]:
    """The names of the inputs that receive the value of a secret task (``is_secret``)."""
    return frozenset(
        e.key
        for e in upstream_states
        if e.key is not None and getattr(e.upstream_task, "is_secret", False)
    )


def new_flow_run_id() -> str:
    return str(uuid.uuid4())
