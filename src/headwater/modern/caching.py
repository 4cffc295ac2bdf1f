"""Result caching of Prefect 3 style tasks: look a run's key up before it runs, save after.

A task caches when its result is persisted (see :func:`headwater.modern.results.should_persist`):
its cache policy (``cache_policy``, or ``cache_key_fn``, else
:data:`~headwater.cache_policies.DEFAULT`) gives the run a key, and the key names a record in
the task's result storage (default ``{home_dir}/storage``). When that record exists and its
``cache_expiration`` has not passed, the task does not run: the stored value is its result,
in this process or any later one. ``refresh_cache=True`` (or the ``tasks.refresh_cache``
setting) runs the task anyway and replaces the record. With a ``result_storage_key`` (and any
policy but ``NO_CACHE``), the filled-in storage key is the cache key.

The runtime calls :func:`lookup` before a task body runs and :func:`save` after it succeeded::

    import tempfile
    from types import SimpleNamespace
    from headwater.cache_policies import INPUTS
    from headwater.modern import caching

    def double(x):
        return 2 * x

    options = SimpleNamespace(name="double", fn=double, cache_policy=INPUTS,
                              result_storage=tempfile.mkdtemp())
    ids = dict(flow_parameters={}, flow_run_id="run-1", task_run_id="task-1")
    first = caching.lookup(options, inputs={"x": 2}, **ids)
    assert not first.hit
    caching.save(options, first, double(2))
    assert caching.lookup(options, inputs={"x": 2}, **ids).value == 4
"""

from __future__ import annotations

import dataclasses
import time
import warnings
from typing import Any

from headwater.cache_policies import (
    DEFAULT,
    NO_CACHE,
    CacheKeyContext,
    CacheKeyFnPolicy,
    CachePolicy,
    CachePolicyWarning,
    TaskRunView,
    TaskView,
    task_key_of,
)
from headwater.modern import results

__all__ = ["CacheLookup", "effective_policy", "lookup", "save"]


@dataclasses.dataclass
class CacheLookup:
    """What :func:`lookup` found.

    Attributes:
        key: the run's cache key, which is also its storage key (``None``: not cached).
        hit: whether an unexpired record was found.
        value: the cached value (when ``hit``).
        path: the record file (when ``hit``, or once :func:`save` wrote it).
    """

    key: str | None
    hit: bool = False
    value: Any = None
    path: str | None = None
    inputs: dict[str, Any] | None = dataclasses.field(default=None, repr=False)


_NO_KEY = CacheLookup(None)


def effective_policy(options: Any) -> CachePolicy | None:
    """The policy a task's options give (``None``: the filled storage key is the cache key).

    As in Prefect 3, a ``result_storage_key`` is the cache key unless the policy is
    ``NO_CACHE``; else ``cache_key_fn``, else ``cache_policy``, else ``DEFAULT``.
    """
    policy = getattr(options, "cache_policy", None)
    if isinstance(policy, CachePolicy) and policy == NO_CACHE:
        return policy
    if getattr(options, "result_storage_key", None) is not None:
        return None
    key_fn = getattr(options, "cache_key_fn", None)
    if key_fn is not None:
        return CacheKeyFnPolicy(cache_key_fn=key_fn)
    if isinstance(policy, CachePolicy):
        return policy
    return DEFAULT


def _context(
    options: Any, inputs: dict[str, Any], flow_run_id: str, task_run_id: str
) -> CacheKeyContext:
    fn = getattr(options, "fn", None) or (lambda: None)
    name = str(getattr(options, "name", None) or getattr(fn, "__name__", "task"))
    return CacheKeyContext(
        task=TaskView(fn=fn, name=name, task_key=task_key_of(fn, name)),
        task_run=TaskRunView(id=task_run_id, flow_run_id=flow_run_id, name=name),
        parameters=dict(inputs),
    )


def _compute_key(
    options: Any,
    inputs: dict[str, Any],
    flow_parameters: dict[str, Any],
    flow_run_id: str,
    task_run_id: str,
) -> str | None:
    policy = effective_policy(options)
    if policy is None:
        template = str(getattr(options, "result_storage_key", ""))
        return results.format_storage_key(
            template, options, inputs, flow_run_id=flow_run_id, task_run_id=task_run_id
        )
    ctx = _context(options, inputs, flow_run_id, task_run_id)
    try:
        return policy.compute_key(ctx, inputs, flow_parameters or {})
    except Exception as exc:  # unhashable inputs, a failing cache_key_fn
        warnings.warn(
            f"Task {ctx.task.name!r}: error encountered when computing the cache key - the "
            f"result will not be cached. {type(exc).__name__}: {exc}",
            CachePolicyWarning,
            stacklevel=3,
        )
        return None


def _refresh(options: Any) -> bool:
    refresh = getattr(options, "refresh_cache", None)
    if refresh is not None:
        return bool(refresh)
    from headwater.configuration import setting

    return bool(setting("tasks.refresh_cache", default=False))


def lookup(
    options: Any,
    *,
    inputs: dict[str, Any],
    flow_parameters: dict[str, Any],
    flow_run_id: str,
    task_run_id: str,
    flow_persist: bool | None = None,
) -> CacheLookup:
    """Look a task run up in the cache.

    Args:
        options: the task's options (``TaskOptions``).
        inputs: the task run's inputs, by name.
        flow_parameters: the parameters of the flow run (empty outside a flow).
        flow_run_id: the flow run's id.
        task_run_id: the task run's id.
        flow_persist: the flow's ``persist_result``, which tasks inherit.

    Returns:
        A :class:`CacheLookup`; its ``key`` is ``None`` when the run is not cached (results
        not persisted, ``NO_CACHE``, or inputs that cannot be hashed: then with a
        :class:`~headwater.cache_policies.CachePolicyWarning`).
    """
    if not results.should_persist(options, flow_persist):
        return _NO_KEY
    key = _compute_key(options, inputs, flow_parameters, flow_run_id, task_run_id)
    if key is None:
        return _NO_KEY
    found = CacheLookup(key, inputs=inputs)
    if _refresh(options):
        return found
    storage = getattr(options, "result_storage", None)
    name, serializer = results.resolve_serializer(
        getattr(options, "result_serializer", None), storage
    )
    record = results.load_record(results.storage_dir(storage), key, serializer)
    if record is None or record.expired():
        return found
    found.hit, found.value, found.path = True, record.value, record.path
    return found


def save(options: Any, lookup: CacheLookup, value: Any) -> None:
    """Store a task run's result under its cache key (no-op when the key is ``None``).

    The record expires after the task's ``cache_expiration`` (never when it has none).
    """
    if lookup.key is None:
        return
    expiration_delta = getattr(options, "cache_expiration", None)
    expiration = None
    if expiration_delta is not None:
        expiration = time.time() + expiration_delta.total_seconds()
    storage = getattr(options, "result_storage", None)
    name, serializer = results.resolve_serializer(
        getattr(options, "result_serializer", None), storage
    )
    try:
        lookup.path = results.write_record(
            results.storage_dir(storage), lookup.key, value, name, serializer, expiration
        )
        results.note_saved(options, lookup.key, lookup.path)
    except Exception as exc:  # an unserializable value or a full disk must not fail the run
        warnings.warn(
            f"Task {getattr(options, 'name', '?')!r}: its result was not cached under "
            f"{lookup.key!r}: {type(exc).__name__}: {exc}",
            results.ResultWarning,
            stacklevel=2,
        )
