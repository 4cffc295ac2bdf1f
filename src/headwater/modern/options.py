"""Prefect 3's task options, beside Prefect 1's on the same :class:`~headwater.core.task.Task`.

``@task`` takes both vocabularies. Prefect 1's options (``max_retries``, ``retry_delay``,
``timeout``, ``log_stdout``...) are read by ``Task`` itself; Prefect 3's (``retries``,
``retry_delay_seconds``, ``cache_key_fn``, ``timeout_seconds``, ``log_prints``...) are checked
here and kept on the task as ``task.modern_options``, a frozen :class:`TaskOptions`. A task
given only Prefect 1's options gets its :class:`TaskOptions` from them when it first runs in a
``@flow`` (see :func:`options_of`). Where both name the same thing, the Prefect 3 option wins
in ``@flow`` runs, and fills in for the Prefect 1 option in ``with Flow(...)`` graphs.

``on_failure`` is in both: a single callable is Prefect 1's ``fn(task, state)``; a list is
Prefect 3's hooks ``hook(task, task_run, state)``.
"""

from __future__ import annotations

import dataclasses
import datetime
import functools
import inspect
import random
from collections.abc import Callable, Iterable
from typing import Any

__all__ = [
    "MODERN_TASK_OPTIONS",
    "TaskOptions",
    "apply_modern_options",
    "exponential_backoff",
    "options_of",
    "retry_delay",
]

#: Prefect 3's keywords of ``@task`` that Prefect 1's ``Task`` does not take.
MODERN_TASK_OPTIONS = frozenset(
    {
        "description",
        "version",
        "cache_policy",
        "cache_key_fn",
        "cache_expiration",
        "retries",
        "retry_delay_seconds",
        "retry_jitter_factor",
        "retry_condition_fn",
        "persist_result",
        "result_storage",
        "result_serializer",
        "result_storage_key",
        "cache_result_in_memory",
        "timeout_seconds",
        "log_prints",
        "refresh_cache",
        "on_completion",
        "on_running",
        "viz_return_value",
    }
)
_NOT_BUILT = {
    "on_commit": "transactions are not part of headwater",
    "on_rollback": "transactions are not part of headwater",
    "asset_deps": "assets need Prefect's server",
}


@dataclasses.dataclass(frozen=True)
class TaskOptions:
    """A task's options for ``@flow`` runs (Prefect 3's meaning).

    ``retry_delay_seconds`` is a number, a list (its last value repeats for later retries) or a
    callable ``f(retries) -> list``; ``on_failure`` holds Prefect 3's hooks and
    ``legacy_on_failure`` Prefect 1's ``fn(task, state)``.
    """

    name: str
    fn: Callable[..., Any]
    tags: frozenset[str] = frozenset()
    description: str | None = None
    version: str | None = None
    cache_policy: Any = None
    cache_key_fn: Callable[..., Any] | None = None
    cache_expiration: datetime.timedelta | None = None
    refresh_cache: bool | None = None
    persist_result: bool | None = None
    result_storage: Any = None
    result_storage_key: str | None = None
    result_serializer: Any = None
    retries: int = 0
    retry_delay_seconds: Any = None
    retry_jitter_factor: float | None = None
    retry_condition_fn: Callable[..., bool] | None = None
    retry_on: tuple[type[BaseException], ...] = ()
    timeout_seconds: float | None = None
    task_run_name: str | Callable[..., str] | None = None
    log_prints: bool | None = None
    on_completion: tuple[Callable[..., Any], ...] = ()
    on_failure: tuple[Callable[..., Any], ...] = ()
    on_running: tuple[Callable[..., Any], ...] = ()
    legacy_on_failure: Callable[..., Any] | None = None
    is_async: bool = False
    #: whether the task was given any Prefect 3 option (it then also runs outside a flow)
    explicit: bool = False

    @functools.cached_property
    def caches(self) -> bool:
        """Whether a run looks in the cache first (a policy, a key function or persistence)."""
        return bool(
            self.cache_policy is not None
            or self.cache_key_fn is not None
            or self.refresh_cache
            or self.persist_result
        )

    @functools.cached_property
    def persists(self) -> bool:
        """Whether the task asks for its results to be persisted (else the flow decides)."""
        return bool(
            self.persist_result is not None
            or self.result_storage is not None
            or self.result_storage_key is not None
        )


def _hooks(value: Any, option: str, owner: str) -> tuple[Callable[..., Any], ...]:
    if value is None:
        return ()
    if callable(value):
        value = [value]
    hooks = tuple(value) if isinstance(value, (list, tuple)) else None
    if hooks is None or not all(callable(h) for h in hooks):
        raise TypeError(
            f"{owner}: {option} takes a list of hooks hook(task, task_run, state), got {value!r}."
        )
    return hooks


def check_delay(value: Any, owner: str) -> Any:
    if value is None or callable(value):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if value < 0:
            raise ValueError(f"{owner}: retry_delay_seconds must be >= 0, got {value}.")
        return float(value)
    if isinstance(value, (list, tuple)):
        if len(value) > 50:
            raise ValueError(f"{owner}: retry_delay_seconds takes at most 50 delays.")
        return tuple(check_delay(v, owner) for v in value)
    raise TypeError(
        f"{owner}: retry_delay_seconds takes seconds (a number), a list of them or a callable "
        f"f(retries) -> list, got {type(value).__name__}: {value!r}."
    )


def _seconds(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    return float(value)


def _from_task(task: Any, fn: Callable[..., Any]) -> dict[str, Any]:
    """The options a task's Prefect 1 settings imply."""
    retry_on = tuple(getattr(task, "retry_on", None) or ())
    return {
        "name": task.name,
        "fn": fn,
        "tags": frozenset(task.tags),
        "retries": int(task.max_retries or 0),
        "retry_delay_seconds": _seconds(task.retry_delay),
        "retry_on": retry_on,
        "timeout_seconds": _seconds(task.timeout),
        "task_run_name": task.task_run_name,
        "log_prints": True if task.log_stdout else None,
        "legacy_on_failure": task.on_failure,
        "is_async": inspect.iscoroutinefunction(fn),
    }


def _check(values: dict[str, Any], owner: str) -> dict[str, Any]:
    out = dict(values)
    if "retries" in out:
        retries = out["retries"]
        if not isinstance(retries, int) or isinstance(retries, bool) or retries < 0:
            raise ValueError(f"{owner}: retries must be an int >= 0, got {retries!r}.")
    out["retry_delay_seconds"] = check_delay(out.get("retry_delay_seconds"), owner)
    jitter = out.get("retry_jitter_factor")
    if jitter is not None and jitter < 0:
        raise ValueError(f"{owner}: retry_jitter_factor must be >= 0, got {jitter}.")
    for hook in ("on_completion", "on_failure", "on_running"):
        if hook in out:
            out[hook] = _hooks(out[hook], hook, owner)
    if out.get("timeout_seconds") is not None:
        out["timeout_seconds"] = _seconds(out["timeout_seconds"])
    if "cache_expiration" in out and out["cache_expiration"] is not None:
        if not isinstance(out["cache_expiration"], datetime.timedelta):
            raise TypeError(f"{owner}: cache_expiration must be a datetime.timedelta.")
    return out


def apply_modern_options(task: Any, modern: dict[str, Any]) -> None:
    """Check ``modern`` (Prefect 3 keywords given to ``Task()``) and keep them on ``task``.

    Prefect 1 settings the task was not given are filled in from them, so the task behaves
    the same in a ``with Flow(...)`` graph (``retries`` -> ``max_retries``...).

    Raises:
        TypeError: a keyword is unknown, or a value has the wrong type.
        ValueError: a value is out of range.
    """
    owner = f"Task {task.name!r}"
    for key in modern:
        if key in _NOT_BUILT:
            raise TypeError(f"{owner}: {key} is not supported: {_NOT_BUILT[key]}.")
        if key not in MODERN_TASK_OPTIONS and key != "on_failure":
            raise TypeError(f"{owner}: unknown option {key!r}; see help(headwater.task).")
    values = _check(modern, owner)
    fn = task.run
    base = _from_task(task, fn)
    values.pop("viz_return_value", None)
    values.pop("cache_result_in_memory", None)
    options = TaskOptions(**{**base, **values, "explicit": True})
    task.modern_options = options
    _fill_prefect1(task, options)


def _fill_prefect1(task: Any, options: TaskOptions) -> None:
    """Prefect 1 settings from Prefect 3 ones, for the task's use in ``with Flow(...)``."""
    if options.retries and not task.max_retries:
        delay = options.retry_delay_seconds
        first = delay[0] if isinstance(delay, tuple) and delay else delay
        seconds = first if isinstance(first, float) else 0.0
        task.max_retries = options.retries
        task.retry_delay = datetime.timedelta(seconds=seconds)
    if options.timeout_seconds and not task.timeout:
        task.timeout = options.timeout_seconds
    if options.log_prints and not task.log_stdout:
        task.log_stdout = True


def options_of(task: Any) -> TaskOptions:
    """``task.modern_options``, made from its Prefect 1 settings (once) if it has none."""
    options: TaskOptions | None = task.__dict__.get("modern_options")
    if options is None:
        options = TaskOptions(**_from_task(task, task.run))
        task.__dict__["modern_options"] = options
    return options


def with_options(task: Any, **changes: Any) -> Any:
    """A copy of ``task`` with Prefect 3 (or Prefect 1) options changed."""
    new = task.copy()
    base = options_of(task)
    modern = {k: v for k, v in changes.items() if k in MODERN_TASK_OPTIONS or k == "on_failure"}
    for key in ("name", "tags", "task_run_name"):
        if key in changes:
            value = changes[key]
            setattr(new, key, set(value) if key == "tags" else value)
    owner = f"Task {new.name!r}"
    values = _check(modern, owner)
    fields = {**dataclasses.asdict(base), **values, "explicit": True}
    fields.update(name=new.name, tags=frozenset(new.tags), task_run_name=new.task_run_name)
    new.modern_options = TaskOptions(**fields)
    return new


def retry_delay(options: TaskOptions, retry: int) -> float:
    """Seconds to wait before retry number ``retry`` (1 for the first retry).

    A list shorter than ``retries`` repeats its last value; a callable is called with
    ``retries`` and gives the list.
    """
    delay = options.retry_delay_seconds
    if callable(delay):
        delay = tuple(float(d) for d in delay(options.retries))
    if isinstance(delay, tuple):
        delay = delay[min(retry, len(delay)) - 1] if delay else 0.0
    seconds = float(delay or 0.0)
    jitter = options.retry_jitter_factor
    if jitter and seconds:
        seconds = max(0.0, seconds * (1 + random.uniform(-min(jitter, 1.0), jitter)))
    return seconds


def exponential_backoff(backoff_factor: float) -> Callable[[int], list[float]]:
    """``retry_delay_seconds=exponential_backoff(10)``: waits of 10, 20, 40... seconds.

    Args:
        backoff_factor: the first wait, doubled for each later retry.
    """

    def delays(retries: int) -> list[float]:
        return [backoff_factor * 2**r for r in range(retries)]

    return delays


def tag_set(values: Iterable[str] | None) -> frozenset[str]:
    """``values`` as a frozenset of tags."""
    return frozenset(values or ())
