"""Targets and checkpoints: where a task's result is looked for before it runs, and written after.

:class:`TaskTargets` adds these steps to :class:`~headwater.engine._task_steps.TaskSteps`:

- :meth:`~TaskTargets._check_target`: a task with a ``target`` whose location exists ends
  ``Cached`` with the stored value read back (a callable target may return a template, formatted
  with the run's keys). A mapped child's string target must name ``{map_index}`` or one of the
  task's inputs, or every child would share one location;
- :meth:`~TaskTargets._checkpoint`: the value a task returned is put in a copy of its ``Result``
  and, when checkpointing is on (``context.checkpointing``) and the task allows it, written; a
  task with a target whose result is not written says so once, with how to turn it on;
- :meth:`~TaskTargets._loop_result`: the result of the last loop of a looping task that is
  retried, written the same way.

Like every step, they return the new state or raise
:class:`~headwater.engine.signals.ENDRUN` with it; the task runner's pipeline applies the state
handlers.
"""

from __future__ import annotations

import functools
from typing import Any

from headwater.engine import signals
from headwater.engine._callback_errors import callback_failure, checkpoint_failure, raised_in
from headwater.engine._task_steps import TaskSteps
from headwater.engine.caching.in_process import input_tokens
from headwater.engine.result.base import render_location
from headwater.engine.signals import ENDRUN
from headwater.engine.state import Cached, Failed, State

__all__ = ["PER_CHILD_KEYS", "TaskTargets", "child_target_problem", "template_fields"]

PER_CHILD_KEYS = frozenset({"map_index", "task_full_name", "task_run_name", "task_run_id"})
"""Context keys that differ between the children of a mapped task."""


class TaskTargets(TaskSteps):
    """Target checks and checkpoint writes (see the module docstring)."""

    _warned_unwritten_target: bool

    def _check_target(self, state: State, inputs: dict[str, Any], ctx: Any) -> State:
        """If the task's ``target`` exists, end as ``Cached`` with the stored value read back.

        Raises:
            ENDRUN: with the ``Cached`` state, or ``Failed`` when the target cannot be checked
                or read, or names nothing that differs between mapped children.
        """
        target = self.task.target
        result = self.result
        if target is None or result is None:
            return state
        if ctx.get("map_index") is not None and isinstance(target, str):
            problem = child_target_problem(self.task.name, target, inputs)
            if problem is not None:
                raise ENDRUN(Failed(problem))
        fmt = self._format_kwargs(inputs, ctx)
        try:
            if callable(target):
                # what it returns may be a template too (as Prefect Core 1.x reads it)
                target = render_location(target, fmt)
            found = result.exists(target, **fmt)
        except (KeyboardInterrupt, signals.HeadwaterStateSignal):
            raise
        except BaseException as exc:  # a target that cannot be checked fails the task
            if ctx.get("raise_on_exception"):
                raise
            raise ENDRUN(Failed(self._target_check_failure(exc), result=exc)) from None
        if not found:
            return state
        location = render_location(target, fmt)
        try:
            loaded = result.read(location)
        except Exception as exc:  # a corrupt target fails the task, not the run
            msg = (
                f"Could not read the target of task {self.task.name!r} at {location!r} "
                f"with {result.serializer!r}: {exc}"
            )
            raise ENDRUN(Failed(msg, result=exc)) from None
        raise ENDRUN(
            Cached(
                message=f"Result found at task target {location}",
                result=loaded,
                hashed_inputs=input_tokens(inputs),
                cached_parameters=ctx.get("parameters"),
            )
        )

    def _target_check_failure(self, exc: BaseException) -> str:
        """The message of a task whose target could not be checked (``exists`` raised ``exc``)."""
        given = self.task.target
        if callable(given) and raised_in(exc, given):
            return callback_failure(self.task.name, "target callable", given, exc)
        return (
            f"Task {self.task.name!r}: checking whether its target {given!r} exists "
            f"raised {type(exc).__name__}: {exc}"
        )

    # -- checkpoints ------------------------------------------------------------------------
    def _checkpoint(
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
                new.result_holder = result.write(value, **fmt)
                return None
            except ResultNotImplementedError:
                pass  # a Result that does not store: the value is kept as it is
            except Exception as exc:  # a failed write fails the task, visibly
                if ctx.get("raise_on_exception"):
                    raise
                return Failed(checkpoint_failure(task.name, result, fmt, exc), result=exc)
        elif task.target is not None and value is not None and not self._warned_unwritten_target:
            self._warn_unwritten_target(ctx)
        held = result.copy()
        held.location = None
        held.value = value
        new.result_holder = held
        return None

    def _warn_unwritten_target(self, ctx: Any) -> None:
        """Say (once per runner) that a task with a target ran but its result was not written."""
        self._warned_unwritten_target = True
        task = self.task
        if task.checkpoint is False:
            why, fix = "checkpoint=False", "remove checkpoint=False from the task"
        else:
            why = "checkpointing is off"
            fix = (
                "set config.flows.checkpointing = true or run with context={'checkpointing': True}"
            )
        self._task_logger.warning(
            "Task '%s' has target %r but %s, so its result was not written and the next run "
            "will run it again; %s.",
            self._name(ctx),
            task.target,
            why,
            fix,
        )

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


def child_target_problem(task_name: str, target: str, inputs: dict[str, Any]) -> str | None:
    """Why a mapped child cannot use ``target`` (every child would share it), or ``None``."""
    fields = template_fields(target)
    if fields & PER_CHILD_KEYS or fields & inputs.keys():
        return None
    return (
        f"Task {task_name!r} is mapped, but its target {target!r} names neither "
        "{map_index} nor any of the task's inputs, so every child would read and write the "
        "same location; add {map_index} (or an input that differs between children) to it."
    )


@functools.lru_cache(maxsize=256)
def template_fields(template: str) -> frozenset[str]:
    """The top-level key names a ``str.format`` template uses (``{a.b[0]:x}`` -> ``a``)."""
    import re
    import string

    try:
        names = {f for _, f, _, _ in string.Formatter().parse(template) if f}
    except ValueError:
        return frozenset({"map_index"})  # malformed: formatting reports it
    return frozenset(re.split(r"[.\[]", name, maxsplit=1)[0] for name in names)
