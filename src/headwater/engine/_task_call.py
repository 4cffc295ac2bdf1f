"""The steps of a task run that call the task and decide on a retry.

:class:`TaskCall` adds :meth:`TaskCall._run_task` and :meth:`TaskCall._check_for_retry` to the
steps of :class:`~headwater.engine._task_reuse.TaskReuse`. The call itself is
:func:`headwater.engine._invoke.invoke` (timeouts, ``async def`` tasks, ``log_stdout``); what the
task raised becomes a state in :meth:`TaskCall._state_from_exception`, one table for every
outcome:

- a signal sets the state it stands for; ``SUCCESS`` and ``LOOP`` keep their result like a
  returned value (checkpointed when checkpointing is on);
- :class:`~headwater.exceptions.TaskTimeoutSignal` gives ``TimedOut``;
- any other exception — ``BaseException`` subclasses such as ``SystemExit``, ``GeneratorExit``
  or ``asyncio.CancelledError`` included — fails the task with the exception as its result;
- ``KeyboardInterrupt`` stops the whole run, ``PAUSE`` and ``ENDRUN`` end this one in their
  state.

Like every step, they return the new state or raise
:class:`~headwater.engine.signals.ENDRUN` with it; the task runner's pipeline applies the state
handlers.
"""

from __future__ import annotations

from typing import Any

from headwater.engine import signals
from headwater.engine._invoke import invoke
from headwater.engine._task_reuse import TaskReuse
from headwater.engine.signals import ENDRUN
from headwater.engine.state import (
    Failed,
    Looped,
    Retrying,
    Running,
    State,
    Success,
    TimedOut,
    TriggerFailed,
)
from headwater.exceptions import TaskTimeoutSignal
from headwater.utilities.logging import error_summary

__all__ = ["TaskCall"]

_KEPT_SIGNALS = (signals.LOOP, signals.SUCCESS)  # their result is kept like a returned value
_PASSED_ON = (KeyboardInterrupt, signals.PAUSE, ENDRUN)  # end more than the call


def _now() -> Any:
    import pendulum

    return pendulum.now("UTC")


class TaskCall(TaskReuse):
    """The call of ``task.run`` and the retry decision (see the module docstring)."""

    _plain_call: bool  # no timeout, stdout capture or coroutine (see ``_invoke.is_plain``)

    def _run_task(self, state: State, inputs: dict[str, Any], ctx: Any) -> State:
        """Call ``task.run(**inputs)`` (see :func:`~headwater.engine._invoke.invoke`), checkpoint.

        Raises:
            ENDRUN: ``state`` is not ``Running`` (a state handler chose another state), or the
                task raised ``ENDRUN`` itself.
            PAUSE: raised by the task.
        """
        if not isinstance(state, Running):
            raise ENDRUN(state)
        task = self.task
        try:
            if self._plain_call:
                value = task.run(**inputs)
            else:
                value = invoke(task, inputs, self._name(ctx), self._task_logger)
        except _KEPT_SIGNALS as sig:
            new = self._kept_signal_state(sig, inputs, ctx)
            value = new.result
        except _PASSED_ON:
            raise
        except BaseException as exc:  # every error of the task fails the task
            return self._state_from_exception(exc, inputs, ctx)
        else:
            new = Success("Task run succeeded.", value)  # positional: the hot path
        if self._secret:
            new.secret = True  # type: ignore[attr-defined]
        result = self.result
        if result is not None:
            failed = self._checkpoint(new, value, result, inputs, ctx)
            if failed is not None:
                return failed
        elif value is None:
            new.result_holder = None  # a Result holding None, made when it is read
        return new

    def _kept_signal_state(
        self, sig: signals.HeadwaterStateSignal, inputs: dict[str, Any], ctx: Any
    ) -> State:
        """The state of a ``SUCCESS`` or ``LOOP`` signal (a loop counts and keeps its inputs)."""
        new = sig.state
        if isinstance(new, Looped):
            if new.result is sig:  # no result given: the signal's repr, as Prefect Core 1.x
                new.result = repr(sig)
            count = ctx.get("task_loop_count")
            if count is not None:  # the run's own count (ctx may be given explicitly)
                new.loop_count = count
            new.cached_inputs = inputs
            new.message = new.message or f"Task is looping ({new.loop_count})"
        return new

    def _state_from_exception(self, exc: BaseException, inputs: dict[str, Any], ctx: Any) -> State:
        """The state a task run ends in when the task raised ``exc`` (not a kept signal).

        Raises:
            BaseException: ``exc`` itself, under ``raise_on_exception`` (signals aside).
        """
        if isinstance(exc, signals.HeadwaterStateSignal):
            new = exc.state
            if isinstance(new, Retrying) and new.start_time is None:
                new.start_time = _now()
            if new.is_failed() or isinstance(new, Retrying):
                new.cached_inputs = inputs
            return new
        if ctx.get("raise_on_exception"):
            raise exc
        if isinstance(exc, TaskTimeoutSignal):
            return TimedOut("Task timed out during execution.", result=exc)
        if self._retries_left(exc, ctx):
            self._log_retried_failure(exc, ctx)
        elif self.logger.isEnabledFor(40):
            self.logger.error(
                "Task '%s': Exception encountered during task execution!",
                self._name(ctx),
                exc_info=exc,
            )
        return Failed(f"Error during execution of task: {exc!r}", result=exc, cached_inputs=inputs)

    # -- retries ------------------------------------------------------------------------------
    def _log_retried_failure(self, exc: BaseException, ctx: Any) -> None:
        """A failure that will be retried: one WARNING line, its traceback at DEBUG."""
        logger = self.logger
        name = self._name(ctx)
        if logger.isEnabledFor(30):
            delay = self.task.retry_delay
            logger.warning(
                "Task '%s': attempt %d of %d failed, retrying%s: %s",
                name,
                ctx.get("task_run_count", 1),
                self.task.max_retries + 1,
                f" in {delay.total_seconds():g} s" if delay else "",
                error_summary(exc),
            )
        if logger.isEnabledFor(10):
            logger.debug("Task '%s': the failure's traceback", name, exc_info=exc)

    def _retries_left(self, exc: BaseException, ctx: Any) -> bool:
        """Whether a failure with ``exc`` will be retried (as :meth:`_check_for_retry` decides)."""
        task = self.task
        if task.retry_on is not None and not isinstance(exc, tuple(task.retry_on)):
            return False
        return bool(ctx.get("task_run_count", 1) <= task.max_retries)

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
        return Retrying(
            message=f"Retrying Task (after attempt {run_count} of {task.max_retries + 1})",
            start_time=_now() + delay if delay is not None else _now(),
            run_count=run_count,
            cached_inputs=inputs,
            context=extra,
            result=loop_result,
        )
