"""The run options of ``Task(...)``, checked and completed once, when the task is made.

:class:`~headwater.core.task.Task` takes its options from these functions, which hold the rules
in one place:

* ``max_retries``/``retry_delay``/``retry_on``/``timeout`` and their defaults from
  ``config.tasks.defaults`` (a ``retry_delay`` needs ``max_retries > 0`` and the other way
  round; the configured ``retry_delay`` is only used when the task retries);
* the cache options: the default ``cache_validator`` (``never_use``, or ``duration_only`` with
  ``cache_for``), and a warning when a validator is given with nothing to validate;
* the trigger (default ``all_successful``), the result and target, and ``nout``.

Each raises the exception Prefect Core 1.x raised for the mistake, with a message naming the
task, the option and the value given::

    >>> from datetime import timedelta
    >>> retry_options("Task 'load'", 2, None, None, (0, None, None))
    Traceback (most recent call last):
    ...
    ValueError: Task 'load': a datetime.timedelta `retry_delay` must be provided if max_retries > 0.
"""

from __future__ import annotations

import datetime
import warnings
from collections.abc import Callable, Iterable
from typing import Any

from headwater.core import _options

__all__ = [
    "TaskDefaults",
    "cache_options",
    "nout_option",
    "result_options",
    "retry_options",
    "seconds",
    "task_defaults",
    "timeout_option",
    "trigger_option",
]

TaskDefaults = tuple[int, datetime.timedelta | None, Any]
"""``(max_retries, retry_delay, timeout)`` from ``config.tasks.defaults``."""

_defaults_cache: list[Any] = [None, None]  # [configured values, TaskDefaults made from them]


def task_defaults() -> TaskDefaults:
    """``(max_retries, retry_delay, timeout)`` defaults from ``config.tasks.defaults``.

    Made again only when the configured values change (many tasks are made per second).
    """
    from headwater.configuration import setting

    d = setting("tasks.defaults", {})
    key = (d.get("max_retries"), d.get("retry_delay"), d.get("timeout"))
    if _defaults_cache[0] == key:
        cached: TaskDefaults = _defaults_cache[1]
        return cached
    mr, rd, to = key
    if isinstance(rd, (int, float)) and not isinstance(rd, bool):
        rd = datetime.timedelta(seconds=rd) if rd else None
    out: TaskDefaults = (int(mr or 0), rd, to or None)
    _defaults_cache[0] = key
    _defaults_cache[1] = out
    return out


def seconds(value: Any, what: str, owner: str) -> float | None:
    """``value`` (a number of seconds or a ``timedelta``) in seconds; ``None`` stays ``None``.

    Raises:
        TypeError: not a number or a ``timedelta``.
        ValueError: negative.
    """
    if value is None:
        return None
    if isinstance(value, datetime.timedelta):
        secs = value.total_seconds()
    elif isinstance(value, (int, float)) and not isinstance(value, bool):
        secs = float(value)
    else:
        raise TypeError(
            f"{owner}: {what} must be a number of seconds or a datetime.timedelta, got "
            f"{type(value).__name__}: {value!r}"
        )
    if secs < 0:
        raise ValueError(f"{owner}: {what} must not be negative, got {value!r}")
    return secs


# --------------------------------------------------------------------------- retries --
def retry_options(
    owner: str, max_retries: Any, retry_delay: Any, retry_on: Any, defaults: TaskDefaults
) -> tuple[int, datetime.timedelta | None, set[type[BaseException]] | None]:
    """``(max_retries, retry_delay, retry_on)`` checked, with config defaults filled in.

    Raises:
        ValueError: retries without a delay, a delay or ``retry_on`` without retries, or a
            negative ``max_retries``.
        TypeError: a ``retry_delay`` that is not a ``timedelta``, or ``retry_on`` holding
            something other than exception types.
    """
    max_retries = _max_retries(owner, max_retries, defaults)
    if retry_delay is None and max_retries:
        retry_delay = defaults[1]
    _check_retry_delay(owner, max_retries, retry_delay)
    if not retry_on:
        return max_retries, retry_delay, None
    if not max_retries:
        raise ValueError(
            f"{owner}: retry_on is only meaningful with max_retries > 0 (a number of "
            "`max_retries` must be provided if `retry_on` is set)."
        )
    return max_retries, retry_delay, _retry_kinds(owner, retry_on)


def _max_retries(owner: str, max_retries: Any, defaults: TaskDefaults) -> int:
    if max_retries is None:
        max_retries = defaults[0]
    if max_retries is False:
        max_retries = 0
    if not isinstance(max_retries, int) or isinstance(max_retries, bool) or max_retries < 0:
        raise ValueError(f"{owner}: max_retries must be a non-negative int, got {max_retries!r}")
    return max_retries


def _check_retry_delay(owner: str, max_retries: int, retry_delay: Any) -> None:
    if retry_delay is not None and not isinstance(retry_delay, datetime.timedelta):
        raise TypeError(
            f"{owner}: retry_delay must be a datetime.timedelta, got "
            f"{type(retry_delay).__name__}: {retry_delay!r}"
        )
    if max_retries > 0 and retry_delay is None:
        raise ValueError(
            f"{owner}: a datetime.timedelta `retry_delay` must be provided if max_retries > 0."
        )
    if retry_delay is not None and not max_retries:
        raise ValueError(
            f"{owner}: A `max_retries` argument greater than 0 must be provided if specifying "
            f"a retry delay (got retry_delay={retry_delay!r})."
        )


def _retry_kinds(owner: str, retry_on: Any) -> set[type[BaseException]]:
    kinds = (
        {retry_on}
        if isinstance(retry_on, type) or not isinstance(retry_on, Iterable)
        else set(retry_on)
    )
    for kind in kinds:
        if not isinstance(kind, type):
            raise TypeError(
                f"{owner}: invalid `retry_on` value {kind!r}: expected an exception type but got "
                f"an instance of {type(kind).__name__}"
            )
        if not issubclass(kind, BaseException):
            raise TypeError(
                f"{owner}: invalid `retry_on` value {kind!r}: expected an exception subclass"
            )
    return kinds


def timeout_option(owner: str, timeout: Any, defaults: TaskDefaults) -> float | int | None:
    """The timeout in seconds (an int when whole; ``None`` for none or zero)."""
    if timeout is None:
        timeout = defaults[2]
    t = seconds(timeout, "timeout", owner)
    if not t:
        return None
    return int(t) if float(t).is_integer() else t


# ------------------------------------------------------------------- other options --
def trigger_option(owner: str, trigger: Callable[..., bool] | None) -> Callable[..., bool]:
    """The trigger: ``trigger`` checked, or ``all_successful``."""
    if trigger is None:
        from headwater.triggers import all_successful

        return all_successful
    _options.check_callable(trigger, "trigger", owner, "fn(upstream_states) -> bool")
    return trigger


def cache_options(
    owner: str, cache_for: Any, cache_validator: Callable[..., bool] | None, cache_key: Any
) -> Callable[..., bool]:
    """The cache options checked; returns the validator the task uses.

    That is the given one, else ``duration_only`` (with ``cache_for``) or ``never_use``. Warns
    (``UserWarning``) when a validator is given without ``cache_for`` or ``cache_key``:
    nothing would ever be cached for it to check.

    Raises:
        TypeError: ``cache_for`` is not a ``timedelta``, or the validator is not callable.
    """
    from headwater.engine import cache_validators

    if cache_for is not None and not isinstance(cache_for, datetime.timedelta):
        raise TypeError(f"{owner}: cache_for must be a datetime.timedelta, got {cache_for!r}")
    _options.check_callable(
        cache_validator, "cache_validator", owner, "fn(state, inputs, parameters) -> bool"
    )
    _options.check_cache_key(cache_key, owner)
    if (
        cache_validator is not None
        and cache_validator is not cache_validators.never_use
        and cache_for is None
        and cache_key is None
    ):
        warnings.warn(
            f"{owner}: cache_validator provided without specifying cache expiration (cache_for); "
            "this Task will not be cached.",
            UserWarning,
            stacklevel=4,
        )
    if cache_validator is not None:
        return cache_validator
    return cache_validators.never_use if cache_for is None else cache_validators.duration_only


def result_options(owner: str, result: Any, target: Any, task_run_name: Any) -> Any:
    """The result the task uses: ``result`` checked, a copy at ``target`` when both are given.

    Raises:
        TypeError: ``result`` is not a Result, or ``target``/``task_run_name`` is neither a
            string nor a callable.
    """
    _options.check_result(result, owner)
    _options.check_template(target, "target", owner)
    _options.check_template(task_run_name, "task_run_name", owner)
    if result is not None and target is not None:
        result = result.copy()
        result.location = target
    return result


def nout_option(owner: str, nout: Any, class_nout: int | None) -> int | None:
    """The number of outputs: ``nout``, else the one read from the class's ``run()``.

    Raises:
        ValueError: not a non-negative int.
    """
    if nout is None:
        nout = class_nout
    if nout is not None and (not isinstance(nout, int) or nout < 0):
        raise ValueError(f"{owner}: nout must be a non-negative int, got {nout!r}")
    return nout
