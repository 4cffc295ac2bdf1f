"""Resolving names to limits and taking their slots: the shared part of ``sync`` and ``asyncio``."""

from __future__ import annotations

import logging
from typing import Any

from headwater.concurrency import _core, _rates, _slots

__all__ = ["acquire_concurrency", "acquire_rate", "as_names"]

_logger = logging.getLogger("headwater.concurrency")


def as_names(names: str | list[str] | tuple[str, ...]) -> list[str]:
    """``names`` as a list of limit names.

    Raises:
        TypeError: if they are not a string or a list of strings.
    """
    listed = [names] if isinstance(names, str) else list(names)
    bad = [n for n in listed if not isinstance(n, str) or not n]
    if bad:
        raise TypeError(f"Concurrency limit names must be non-empty strings, not {bad!r}.")
    return listed


def _check_occupy(occupy: Any) -> int:
    if isinstance(occupy, bool) or not isinstance(occupy, int) or occupy < 1:
        raise ValueError(f"occupy must be a whole number >= 1, not {occupy!r}.")
    return occupy


def _missing(name: str, kind: str, strict: bool) -> None:
    if strict:
        raise _core.ConcurrencySlotAcquisitionError(
            f"There is no {kind} named {name!r}. Declare it under [concurrency.limits] or "
            "[concurrency.rate_limits] in your config.toml, or with "
            "headwater.concurrency.set_concurrency_limit / set_rate_limit."
        )
    _logger.debug("No %s named %r: not limited.", kind, name)


def acquire_concurrency(
    names: list[str], occupy: int, timeout: float | None, strict: bool, clock: Any
) -> list[_slots.Held]:
    """Take rate slots (where a name has a rate) and hold concurrency slots of ``names``."""
    _check_occupy(occupy)
    limits: list[tuple[str, int]] = []
    for name in names:
        limit = _core.concurrency_limit(name)
        rate = _core.rate_limit_of(name)
        if limit is None and rate is None:
            _missing(name, "concurrency limit", strict)
            continue
        if limit is not None:
            if occupy > limit:
                raise _core.ConcurrencySlotAcquisitionError(
                    f"Cannot occupy {occupy} slots of concurrency limit {name!r}: it has only "
                    f"{limit}. Occupy fewer, or raise the limit."
                )
            limits.append((name, limit))
    acquire_rate(names, occupy, timeout, strict=False, clock=clock, quiet=True)
    return _slots.acquire_all("concurrency", limits, occupy, timeout)


def acquire_rate(
    names: list[str],
    occupy: int,
    timeout: float | None,
    strict: bool,
    clock: Any,
    quiet: bool = False,
) -> None:
    """Take ``occupy`` slots of the rate limit of each name (waiting as needed)."""
    _check_occupy(occupy)
    if clock is None:
        from headwater.engine import schedule_loop

        clock = schedule_loop.clock
    for name in sorted(names):
        rate = _core.rate_limit_of(name)
        if rate is None:
            if not quiet:
                _missing(name, "rate limit", strict)
            continue
        if occupy > rate.limit:
            raise _core.ConcurrencySlotAcquisitionError(
                f"Cannot take {occupy} slots of rate limit {name!r} ({rate}) at once: its "
                f"bucket holds {rate.limit}."
            )
        _rates.take(name, rate, occupy, timeout, clock)
