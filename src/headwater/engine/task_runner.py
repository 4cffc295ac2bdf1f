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

import contextvars
import functools
import itertools
import threading
import uuid
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from headwater.context import context as _context
from headwater.engine import signals
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
            new_state = handler(task, old_state, new_state) or new_state
        if task.on_failure is not None and new_state.is_failed() and not old_state.is_failed():
            task.on_failure(task, new_state)
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
            self.set_task_run_name(inputs, ctx)
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
        except signals.PAUSE as exc:
            state = self._change(state, exc.state)
        except KeyboardInterrupt:
            raise
        except Exception as exc:
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

    def set_task_run_name(self, inputs: dict[str, Any], ctx: dict[str, Any]) -> None:
        """Format ``task_run_name`` (template or callable) into ``context.task_run_name``."""
        tmpl = self.task.task_run_name
        if tmpl is None:
            return
        fmt = {**ctx, **(ctx.get("parameters") or {}), **inputs}
        ctx["task_run_name"] = tmpl(**fmt) if callable(tmpl) else str(tmpl).format(**fmt)

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
        if result.exists(target, **fmt):
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
            if task.cache_validator is not None and task.cache_validator(state, inputs, params):
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
            candidates.extend(store.load(task, key, inputs))
        validator = task.cache_validator
        for candidate in candidates:
            if validator is not None and validator(candidate, inputs, params):
                if self._task_logger.isEnabledFor(20):
                    self._task_logger.info(
                        "Task '%s': using cached result from a previous run", ctx["task_full_name"]
                    )
                raise ENDRUN(self._change(state, candidate))
        return state

    def check_task_trigger(self, state: State, upstream_states: dict[Edge, State]) -> State:
        """Run the trigger; ``False`` or ``TRIGGERFAIL`` gives ``TriggerFailed``."""
        trigger = self.task.trigger
        try:
            ok = trigger(upstream_states)
        except signals.HeadwaterStateSignal as sig:
            raise ENDRUN(self._change(state, sig.state)) from None
        except Exception as exc:
            if _context.get("raise_on_exception"):
                raise
            new = TriggerFailed(
                f"Unexpected error while checking task trigger: {exc!r}", result=exc
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
        """Call ``task.run(**inputs)`` (with timeout and stdout capture) and checkpoint."""
        task = self.task
        try:
            if task.timeout:
                value = self._run_with_timeout(inputs)
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
        except Exception as exc:
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
        result = self.result
        if (
            result is not None
            and value is not None
            and task.checkpoint is not False
            and ctx.get("checkpointing")
        ):
            try:
                written = result.write(value, **self._format_kwargs(inputs, ctx))
            except Exception as exc:  # noqa: BLE001 - a failed write fails the task, visibly
                if ctx.get("raise_on_exception"):
                    raise
                return self._change(
                    state,
                    Failed(
                        f"Could not checkpoint the result of {task.name!r}: {exc!r}", result=exc
                    ),
                )
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

    def _call(self, inputs: dict[str, Any]) -> Any:
        task = self.task
        if getattr(task, "is_async", False):
            from headwater.engine.async_loop import run_coroutine

            return run_coroutine(task.run, inputs)
        return task.run(**inputs)

    def _call_capturing(self, inputs: dict[str, Any]) -> Any:
        from headwater.utilities.logging import capture_stdout

        with capture_stdout(self._task_logger):
            return self._call(inputs)

    def _run_with_timeout(self, inputs: dict[str, Any]) -> Any:
        """Run in a helper thread and stop waiting after ``timeout`` seconds (any thread)."""
        timeout = self.task.timeout
        seconds = timeout.total_seconds() if hasattr(timeout, "total_seconds") else float(timeout)
        box: dict[str, Any] = {}
        done = threading.Event()
        call = self._call_capturing if self.task.log_stdout else self._call
        ctx = contextvars.copy_context()

        def target() -> None:
            try:
                box["value"] = ctx.run(call, inputs)
            except BaseException as exc:  # noqa: BLE001 - handed back to the waiting thread
                box["error"] = exc
            finally:
                done.set()

        worker = threading.Thread(
            target=target, name=f"headwater-timeout-{self.task.name}", daemon=True
        )
        worker.start()
        if not done.wait(seconds):
            _interrupt_thread(worker)
            raise TaskTimeoutSignal(f"Task {self.task.name!r} timed out after {seconds:g} seconds.")
        if "error" in box:
            raise box["error"]
        return box.get("value")

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
        caches.setdefault(key, []).insert(0, cached)
        store = ctx.get("_persistent_cache")
        if store is not None:
            store.save(task, key, inputs, cached)
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


def _interrupt_thread(thread: threading.Thread) -> None:
    """Ask a thread to stop by raising TaskTimeoutSignal in it at its next bytecode."""
    import ctypes

    ident = thread.ident
    if ident is None:
        return
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(ident), ctypes.py_object(TaskTimeoutSignal)
    )


def new_flow_run_id() -> str:
    return str(uuid.uuid4())
