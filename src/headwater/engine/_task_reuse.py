"""The steps of a task run that reuse a cached state instead of running.

:class:`TaskReuse` adds them to :class:`~headwater.engine._targets.TaskTargets` (which looks
for a task's ``target``):

- a task with ``cache_for`` reuses a ``Cached`` state that its ``cache_validator`` accepts: the
  state it was given, one in ``context.caches`` (``cache_key or name``; a mapped child has an
  entry of its own, ``key[i]``, and with a validator that compares inputs also sees the other
  children's results under ``key``) or one in the persistent cache;
- a success of a task with ``cache_for`` becomes ``Cached`` (with ``hashed_inputs``: dask tokens
  of the inputs, as Prefect Core 1.x) and is added to those caches.

Like every step, they return the new state or raise
:class:`~headwater.engine.signals.ENDRUN` with it; the task runner's pipeline applies the state
handlers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from headwater.engine import signals
from headwater.engine._callback_errors import callback_failure
from headwater.engine._targets import TaskTargets
from headwater.engine.caching.in_process import input_tokens, remember
from headwater.engine.signals import ENDRUN
from headwater.engine.state import Cached, Failed, Pending, State, Success

if TYPE_CHECKING:
    from headwater.core.task import Task

__all__ = ["PROCESS_CACHES", "TaskReuse", "cache_key"]

PROCESS_CACHES: dict[str, list[State]] = {}
"""``context.caches`` of task runs made outside a flow run (``TaskRunner(t).run()``)."""


def _now() -> Any:
    import pendulum

    return pendulum.now("UTC")


class TaskReuse(TaskTargets):
    """Caches (see the module docstring)."""

    # -- caches -------------------------------------------------------------------------------
    def _check_cached(self, state: State, inputs: dict[str, Any], ctx: Any) -> State:
        """Reuse a valid cached state (given, in ``context.caches`` or the persistent cache)."""
        task = self.task
        validator = task.cache_validator
        if isinstance(state, Cached):
            if validator is not None and self._cache_is_valid(state, inputs, ctx):
                raise ENDRUN(state)
            state = Pending("Cache was invalid; ready to run.")
        if task.cache_for is None and (task.cache_key is None or validator is None):
            return state
        key = cache_key(task, ctx)
        caches = ctx.get("caches")
        if caches is None:
            caches = PROCESS_CACHES
        candidates = list(caches.get(key, ()))
        if ctx.get("map_index") is not None and _compares_inputs(validator):
            # children with equal inputs share results (Prefect Core 1.x keeps one list per key)
            candidates.extend(caches.get(task.cache_key or task.name, ()))
        store = ctx.get("_persistent_cache")
        if store is not None:
            candidates.extend(store.load(task, key, inputs, secret=self._secret_inputs or ()))
        for candidate in candidates:
            if validator is not None and self._cache_is_valid(candidate, inputs, ctx):
                if self._task_logger.isEnabledFor(20):
                    self._task_logger.info(
                        "Task '%s': using cached result from a previous run", self._name(ctx)
                    )
                raise ENDRUN(candidate)
        return state

    def _cache_is_valid(self, candidate: State, inputs: dict[str, Any], ctx: Any) -> bool:
        """Call the cache validator on ``candidate``; if it raises, fail the task naming it."""
        validator = self.task.cache_validator
        try:
            return bool(validator(candidate, inputs, ctx.get("parameters") or {}))
        except (KeyboardInterrupt, signals.HeadwaterStateSignal):
            raise
        except BaseException as exc:  # a validator error fails this task only
            if ctx.get("raise_on_exception"):
                raise
            msg = callback_failure(self.task.name, "cache validator", validator, exc)
            raise ENDRUN(Failed(msg, result=exc)) from None

    def _cache_result(self, state: State, inputs: dict[str, Any], ctx: Any) -> State:
        """A success of a task with ``cache_for`` becomes ``Cached``, kept in ``context.caches``."""
        task = self.task
        if task.cache_for is None or type(state) is not Success:
            return state
        cached = Cached(
            message=state.message,
            result=state.result_holder,
            cached_inputs=inputs,
            hashed_inputs=input_tokens(inputs),
            cached_parameters=ctx.get("parameters"),
            cached_result_expiration=_now() + task.cache_for,
        )
        if getattr(state, "secret", False):
            cached.secret = True  # type: ignore[attr-defined]
        key = cache_key(task, ctx)
        caches = ctx.get("caches")
        if caches is None:
            caches = PROCESS_CACHES
        remember(caches, key, cached)
        if ctx.get("map_index") is not None and _compares_inputs(task.cache_validator):
            remember(caches, task.cache_key or task.name, cached)
        store = ctx.get("_persistent_cache")
        if store is not None:
            store.save(task, key, inputs, cached, secret=self._secret_inputs or ())
        return cached


def _compares_inputs(validator: Any) -> bool:
    """Whether ``validator`` may tell the inputs of one mapped child from another's.

    ``duration_only`` (the default), ``never_use`` and the parameter validators do not: with
    them each child reuses only its own earlier results. Other validators (``all_inputs``,
    ``partial_inputs_only``, custom ones) also see the results of the other children, under the
    task's ``cache_key or name``, as in Prefect Core 1.x.
    """
    from headwater.engine import cache_validators as cv

    if validator is None or validator in (cv.duration_only, cv.never_use, cv.all_parameters):
        return False
    return getattr(validator, "__name__", None) != "partial_parameters_only"


def cache_key(task: Task, ctx: Any) -> str:
    """``cache_key or name``; mapped children each get their own entry (``key[i]``)."""
    key = task.cache_key or task.name
    i = ctx.get("map_index")
    return key if i is None else f"{key}[{i}]"
