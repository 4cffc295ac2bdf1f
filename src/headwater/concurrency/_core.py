"""Named limits: how many may hold a name at once, and how often it may be taken.

Limits come from code (:func:`set_concurrency_limit`, :func:`set_rate_limit`, which win) or from
the configuration::

    [concurrency.limits]
    database = 5            # at most 5 holders at once, across threads and processes

    [concurrency.rate_limits]
    api = "10/s"            # at most 10 per second (bursts of up to 10); also "1/5s", "100/min"

A rate ``"N/period"`` is a bucket of ``N`` slots that refills at ``N`` per period, as a Prefect 3
limit with ``slot_decay_per_second = N / period``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import os
import re
import threading
from collections.abc import Iterator
from typing import Any

from headwater.exceptions import HeadwaterError

__all__ = [
    "AcquireConcurrencySlotTimeoutError",
    "ConcurrencySlotAcquisitionError",
    "Rate",
    "clear_limits",
    "concurrency_limit",
    "locks_dir",
    "parse_rate",
    "rate_limit_of",
    "saved_limits",
    "set_concurrency_limit",
    "set_rate_limit",
]


class ConcurrencySlotAcquisitionError(HeadwaterError):
    """Slots could not be acquired: no such limit (with ``strict``), or it can never allow it."""


class AcquireConcurrencySlotTimeoutError(TimeoutError):
    """The slots were not acquired within ``timeout_seconds``."""


@dataclasses.dataclass(frozen=True)
class Rate:
    """A rate limit: a bucket of ``limit`` slots refilled at ``per_second`` slots a second."""

    limit: int
    per_second: float

    def __str__(self) -> str:
        return f"{self.limit} per {self.limit / self.per_second:g}s"


_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
_RATE = re.compile(
    r"^\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)?\s*"
    r"(s|sec|secs|second|seconds|m|min|mins|minute|minutes|h|hr|hour|hours|d|day|days)\s*$"
)


def parse_rate(value: Any, name: str = "rate") -> Rate:
    """A :class:`Rate` from ``"N/s"``, ``"N/5s"``, ``"N/min"``, ``"N/h"``, ``"N/d"`` or a number
    of slots per second.

    >>> parse_rate("10/s"), parse_rate("1/5s"), parse_rate("120/min")
    (Rate(limit=10, per_second=10.0), Rate(limit=1, per_second=0.2), Rate(limit=120, per_second=2.0))

    Raises:
        ValueError: for anything else, naming the limit.
    """
    if isinstance(value, Rate):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return Rate(max(1, int(value)), float(value))
    match = _RATE.match(value) if isinstance(value, str) else None
    if match is not None and int(match.group(1)) > 0 and float(match.group(2) or 1) > 0:
        count = int(match.group(1))
        period = float(match.group(2) or 1) * _UNITS[match.group(3)[0]]
        return Rate(count, count / period)
    raise ValueError(
        f'Rate limit {name!r}: {value!r} is not a rate; write it as "N/s", "N/5s", '
        '"N/min", "N/h" or "N/d" with N > 0 (e.g. "10/s"), or a number of slots per second.'
    )


LIMITS_SECTION = "concurrency.limits"
_lock = threading.Lock()
_code_limits: dict[str, int] = {}
_code_rates: dict[str, Rate] = {}


def set_concurrency_limit(name: str, limit: int | None) -> None:
    """Limit ``name`` to ``limit`` holders at once in code (``None`` removes the code limit).

    Raises:
        ValueError: if ``limit`` is not a whole number >= 0.
    """
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 0):
        raise ValueError(f"Concurrency limit {name!r}: {limit!r} is not a whole number >= 0.")
    with _lock:
        if limit is None:
            _code_limits.pop(name, None)
        else:
            _code_limits[name] = limit


def set_rate_limit(name: str, rate: Any) -> None:
    """Limit how often ``name`` may be taken, in code (``"10/s"``...; ``None`` removes it)."""
    parsed = None if rate is None else parse_rate(rate, name)
    with _lock:
        if parsed is None:
            _code_rates.pop(name, None)
        else:
            _code_rates[name] = parsed


@contextlib.contextmanager
def saved_limits() -> Iterator[None]:
    """Limits set in code inside the block are undone when it ends."""
    with _lock:
        limits, rates = dict(_code_limits), dict(_code_rates)
    try:
        yield
    finally:
        with _lock:
            _code_limits.clear()
            _code_limits.update(limits)
            _code_rates.clear()
            _code_rates.update(rates)


def clear_limits() -> None:
    """Remove every limit set in code (configured limits stay)."""
    with _lock:
        _code_limits.clear()
        _code_rates.clear()


def _configured(section: str) -> Any:
    from headwater.configuration import setting

    table = setting(section, default=None)
    return table if hasattr(table, "get") else None


def concurrency_limit(name: str, section: str = "concurrency.limits") -> int | None:
    """The concurrency limit of ``name`` (code first, then ``[concurrency.limits]``), or ``None``.

    With another ``section`` (``"tasks.concurrency"``), only that section is read.

    Raises:
        ValueError: if the configured value is not a whole number >= 0.
    """
    if section == LIMITS_SECTION and name in _code_limits:
        return _code_limits[name]
    table = _configured(section)
    value = None if table is None else table.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise ValueError(
            f"[{section}] {name} = {value!r}: a concurrency limit must be a whole number >= 0."
        )
    return value


def rate_limit_of(name: str) -> Rate | None:
    """The rate limit of ``name`` (code first, then ``[concurrency.rate_limits]``), or ``None``."""
    if name in _code_rates:
        return _code_rates[name]
    table = _configured("concurrency.rate_limits")
    value = None if table is None else table.get(name)
    return None if value is None else parse_rate(value, name)


def locks_dir(kind: str) -> str:
    """``{home_dir}/locks/<kind>``: where the lock files of limits live."""
    from headwater.configuration import setting

    home = os.path.expanduser(str(setting("home_dir", default=None) or "~/.headwater"))
    return os.path.join(os.path.abspath(home), "locks", kind)


def slug(name: str) -> str:
    """A file-name-safe form of a limit's name that still tells names apart."""
    import hashlib

    safe = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-.")[:60] or "x"
    return f"{safe}-{hashlib.sha256(name.encode()).hexdigest()[:8]}"
