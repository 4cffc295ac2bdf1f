"""The steps of a task run that call the task and decide on a retry.

:class:`TaskCall` adds :meth:`TaskCall._run_task` to the steps of
:class:`~headwater.engine._task_steps.TaskSteps`. Any exception the task raises —
``BaseException`` subclasses such as ``SystemExit``, ``GeneratorExit`` or
``asyncio.CancelledError`` included — fails the task with the exception as its result; only
``KeyboardInterrupt`` stops the whole run. Signals set the state they stand for; ``SUCCESS`` and
``LOOP`` keep their result like a returned value (checkpointed when checkpointing is on).
"""

from __future__ import annotations

from typing import Any

from headwater.engine import signals
from headwater.engine._callback_errors import checkpoint_failure
from headwater.engine._task_reuse import TaskReuse
from headwater.engine.signals import ENDRUN
from headwater.engine.state import (
    Failed,
    Retrying,
    Running,
    State,
    Success,
    TimedOut,
    TriggerFailed,
)
from headwater.exceptions import TaskTimeoutSignal

__all__ = ["TaskCall"]


def _now() -> Any:
    import pendulum

    return pendulum.now("UTC")


class TaskCall(TaskReuse):
    """The call of ``task.run`` (see the module docstring)."""

    _warned_unwritten_target: bool

    def _run_task(self, state: State, inputs: dict[str, Any], ctx: Any) -> State:
        """Call ``task.run(**inputs)`` (with timeout and stdout capture) and checkpoint.

        Raises:
            ENDRUN: ``state`` is not ``Running`` (a state handler chose another state), or the
                task raised ``ENDRUN`` itself.
            PAUSE: raised by the task.
        """
        if not isinstance(state, Running):
            raise ENDRUN(state)
        task = self.task
        new: State | None = None
        try:
            if task.timeout:
                value = self._run_with_timeout(inputs, self._name(ctx))
            elif task.log_stdout:
                value = self._call_capturing(inputs)
            else:
                value = self._call(inputs)
        except (signals.LOOP, signals.SUCCESS) as exc:
            new = exc.state
            if type(exc) is signals.LOOP:
                if new.result is exc:  # no result given: the signal's repr, as Prefect Core 1.x
                    new.result = repr(exc)
                count = ctx.get("task_loop_count")
                if count is not None:  # the run's own count (ctx may be given explicitly)
                    new.loop_count = count  # type: ignore[attr-defined]
                new.cached_inputs = inputs
                new.message = new.message or f"Task is looping ({new.loop_count})"  # type: ignore[attr-defined]
            value = new.result
        except signals.PAUSE:
            raise
        except signals.HeadwaterStateSignal as exc:
            new = exc.state
            if isinstance(new, Retrying) and new.start_time is None:
                new.start_time = _now()
            if new.is_failed() or isinstance(new, Retrying):
                new.cached_inputs = inputs
            return self._change(state, new)
        except ENDRUN as exc:
            raise ENDRUN(self._change(state, exc.state)) from None
        except TaskTimeoutSignal as exc:
            if ctx.get("raise_on_exception"):
                raise
            return self._change(state, TimedOut("Task timed out during execution.", result=exc))
        except KeyboardInterrupt:
            raise
        except BaseException as exc:  # noqa: BLE001 - every error of the task fails the task
            if ctx.get("raise_on_exception"):
                raise
            if self.logger.isEnabledFor(40):
                self.logger.error(
                    "Task '%s': Exception encountered during task execution!",
                    self._name(ctx),
                    exc_info=True,
                )
            return self._change(
                state,
                Failed(
                    f"Error during execution of task: {exc!r}", result=exc, cached_inputs=inputs
                ),
            )
        if new is None:
            new = Success(message="Task run succeeded.", result=value)
        if self._secret:
            new.secret = True  # type: ignore[attr-defined]
        result = self.result
        if result is not None:
            failed = self._keep(new, value, result, inputs, ctx)
            if failed is not None:
                return self._change(state, failed)
        elif value is None:
            new._result = None  # a Result holding None, made when it is read
        if self._has_handlers:
            new = self.handle_state_change(state, new)
        return new

    def _keep(
        self, new: State, value: Any, result: Any, inputs: dict[str, Any], ctx: Any
    ) -> State | None:
        """Put ``value`` in a copy of ``result`` on ``new``, written when checkpointing is on.

        Returns:
            The ``Failed`` state of a write that failed, else ``None``.
        """
        task = self.task
        if (
            value is not None
            and task.checkpoint is not False
            and not self._secret
            and ctx.get("checkpointing")
        ):
            from headwater.engine.result.base import ResultNotImplementedError

            fmt = self._format_kwargs(inputs, ctx)
            try:
                new._result = result.write(value, **fmt)
                return None
            except ResultNotImplementedError:
                pass  # a Result that does not store: the value is kept as it is
            except Exception as exc:  # noqa: BLE001 - a failed write fails the task, visibly
                if ctx.get("raise_on_exception"):
                    raise
                return Failed(checkpoint_failure(task.name, result, fmt, exc), result=exc)
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
                self._name(ctx),
                task.target,
                why,
                fix,
            )
        held = result.copy()
        held.location = None
        held.value = value
        new._result = held
        return None

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

    # -- retries ------------------------------------------------------------------------------
    def _check_for_retry(self, state: State, inputs: dict[str, Any], ctx: Any) -> State:
        """A failure with retries left becomes ``Retrying`` at ``now + retry_delay``."""
        if not isinstance(state, Failed) or isinstance(state, TriggerFailed):
            return state
        task = self.task
        if task.retry_on is not None and not isinstance(state.result, tuple(task.retry_on)):
            if self.logger.isEnabledFor(20):
                self.logger.info(
                    "Task '%s': Skipping retry. Exception of type %r is not an instance of the "
                    "retry on exception types.",
                    self._name(ctx),
                    type(state.result).__name__,
                )
            return state
        run_count = ctx.get("task_run_count", 1)
        if run_count > task.max_retries:
            return state
        delay = task.retry_delay
        extra: dict[str, Any] = {"failure": state.message}
        loop_result: Any = None
        loop_count = ctx.get("task_loop_count") or 1
        if loop_count > 1:
            # the retry continues the loop where it failed (see _init_run)
            extra["_loop_count"] = loop_count
            loop_result = self._loop_result(ctx.get("task_loop_result"), inputs, ctx)
        new = Retrying(
            message=f"Retrying Task (after attempt {run_count} of {task.max_retries + 1})",
            start_time=_now() + delay if delay is not None else _now(),
            run_count=run_count,
            cached_inputs=inputs,
            context=extra,
            result=loop_result,
        )
        return self._change(state, new)

    def _loop_result(self, value: Any, inputs: dict[str, Any], ctx: Any) -> Any:
        """The result of the last loop, written like a result when checkpointing is on."""
        result = self.result
        if (
            result is None
            or value is None
            or self.task.checkpoint is False
            or self._secret
            or ctx.get("checkpointing") is not True
        ):
            return value
        from headwater.engine.result.base import ResultNotImplementedError

        try:
            return result.write(value, **self._format_kwargs(inputs, ctx))
        except ResultNotImplementedError:
            return value
