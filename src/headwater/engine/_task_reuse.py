"""The steps of a task run that reuse a result instead of running: targets and caches.

:class:`TaskReuse` adds them to :class:`~headwater.engine._task_steps.TaskSteps`:

- a task with a ``target`` whose location exists ends ``Cached`` with the stored value read back
  (a callable target may return a template, formatted with the run's keys);
- a task with ``cache_for`` reuses a ``Cached`` state that its ``cache_validator`` accepts: the
  state it was given, one in ``context.caches`` (``cache_key or name``; a mapped child has an
  entry of its own, ``key[i]``, and with a validator that compares inputs also sees the other
  children's results under ``key``) or one in the persistent cache;
- a success of a task with ``cache_for`` becomes ``Cached`` (with ``hashed_inputs``: dask tokens
  of the inputs, as Prefect Core 1.x) and is added to those caches.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

from headwater.engine import signals
from headwater.engine._callback_errors import callback_failure, raised_in
from headwater.engine._task_steps import TaskSteps
from headwater.engine.caching.in_process import remember
from headwater.engine.result.base import render_location
from headwater.engine.signals import ENDRUN
from headwater.engine.state import Cached, Failed, Pending, State, Success

if TYPE_CHECKING:
    from headwater.core.task import Task

__all__ = ["PROCESS_CACHES", "TaskReuse", "cache_key"]

PROCESS_CACHES: dict[str, list[State]] = {}
"""``context.caches`` of task runs made outside a flow run (``TaskRunner(t).run()``)."""

_PER_CHILD_KEYS = frozenset({"map_index", "task_full_name", "task_run_name", "task_run_id"})


def _now() -> Any:
    import pendulum

    return pendulum.now("UTC")


class TaskReuse(TaskSteps):
    """Targets and caches (see the module docstring)."""

    # -- target -------------------------------------------------------------------------------
    def _check_target(self, state: State, inputs: dict[str, Any], ctx: Any) -> State:
        """If the task's ``target`` exists, end as ``Cached`` with the stored value read back."""
        target = self.task.target
        if target is None or self.result is None:
            return state
        if ctx.get("map_index") is not None and isinstance(target, str):
            self._check_child_target(state, target, inputs)
        fmt = self._format_kwargs(inputs, ctx)
        result = self.result
        try:
            if callable(target):
                # what it returns may be a template too (as Prefect Core 1.x reads it)
                target = render_location(target, fmt)
            found = result.exists(target, **fmt)
        except (KeyboardInterrupt, signals.HeadwaterStateSignal):
            raise
        except BaseException as exc:  # noqa: BLE001 - a target that cannot be checked fails the task
            if ctx.get("raise_on_exception"):
                raise
            given = self.task.target
            if callable(given) and raised_in(exc, given):
                msg = callback_failure(self.task.name, "target callable", given, exc)
            else:
                msg = (
                    f"Task {self.task.name!r}: checking whether its target {given!r} exists "
                    f"raised {type(exc).__name__}: {exc}"
                )
            raise ENDRUN(self._change(state, Failed(msg, result=exc))) from None
        if not found:
            return state
        location = render_location(target, fmt)
        try:
            loaded = result.read(location)
        except Exception as exc:  # noqa: BLE001 - a corrupt target fails the task, not the run
            msg = (
                f"Could not read the target of task {self.task.name!r} at {location!r} "
                f"with {result.serializer!r}: {exc}"
            )
            raise ENDRUN(self._change(state, Failed(msg, result=exc))) from None
        new = Cached(
            message=f"Result found at task target {location}",
            result=loaded,
            hashed_inputs=_hashed(inputs),
            cached_parameters=ctx.get("parameters"),
        )
        raise ENDRUN(self._change(state, new))

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

    # -- caches -------------------------------------------------------------------------------
    def _check_cached(self, state: State, inputs: dict[str, Any], ctx: Any) -> State:
        """Reuse a valid cached state (given, in ``context.caches`` or the persistent cache)."""
        task = self.task
        validator = task.cache_validator
        if isinstance(state, Cached):
            if validator is not None and self._cache_is_valid(state, state, inputs, ctx):
                raise ENDRUN(state)
            state = self._change(state, Pending("Cache was invalid; ready to run."))
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
            if validator is not None and self._cache_is_valid(state, candidate, inputs, ctx):
                if self._task_logger.isEnabledFor(20):
                    self._task_logger.info(
                        "Task '%s': using cached result from a previous run", self._name(ctx)
                    )
                raise ENDRUN(self._change(state, candidate))
        return state

    def _cache_is_valid(
        self, state: State, candidate: State, inputs: dict[str, Any], ctx: Any
    ) -> bool:
        """Call the cache validator on ``candidate``; if it raises, fail the task naming it."""
        validator = self.task.cache_validator
        try:
            return bool(validator(candidate, inputs, ctx.get("parameters") or {}))
        except (KeyboardInterrupt, signals.HeadwaterStateSignal):
            raise
        except BaseException as exc:  # noqa: BLE001 - a validator error fails this task only
            if ctx.get("raise_on_exception"):
                raise
            msg = callback_failure(self.task.name, "cache validator", validator, exc)
            raise ENDRUN(self._change(state, Failed(msg, result=exc))) from None

    def _cache_result(self, state: State, inputs: dict[str, Any], ctx: Any) -> State:
        """A success of a task with ``cache_for`` becomes ``Cached``, kept in ``context.caches``."""
        task = self.task
        if task.cache_for is None or type(state) is not Success:
            return state
        cached = Cached(
            message=state.message,
            result=state._result,
            cached_inputs=inputs,
            hashed_inputs=_hashed(inputs),
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
        return self._change(state, cached)


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


def _hashed(inputs: dict[str, Any]) -> dict[str, str]:
    """``{name: dask token}`` of the inputs (``Cached.hashed_inputs``, as Prefect Core 1.x)."""
    if not inputs:
        return {}
    from dask.base import tokenize

    out = {}
    for key, value in inputs.items():
        try:
            out[key] = tokenize(value)
        except Exception:  # noqa: BLE001,S112 - a value dask cannot tokenize is left out
            continue
    return out


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
