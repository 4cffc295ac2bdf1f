"""``concurrency`` and ``rate_limit`` for ordinary (synchronous) code.

::

    from headwater.concurrency import set_concurrency_limit, set_rate_limit
    from headwater.concurrency.sync import concurrency, rate_limit

    set_concurrency_limit("database", 2)
    set_rate_limit("api", "100/s")

    with concurrency("database"):   # at most 2 holders at once, in all processes of this user
        pass
    rate_limit("api")               # at most 100 calls a second

Limits are declared in code or in the configuration (see :mod:`headwater.concurrency`); a name
with no limit is not limited (``strict=True`` makes that an error).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from headwater.concurrency._acquire import acquire_concurrency, acquire_rate, as_names

__all__ = ["concurrency", "rate_limit"]


@contextmanager
def concurrency(
    names: str | list[str],
    occupy: int = 1,
    timeout_seconds: float | None = None,
    max_retries: int | None = None,
    lease_duration: float = 300,
    strict: bool = False,
    holder: Any = None,
    *,
    clock: Any = None,
) -> Iterator[None]:
    """Hold ``occupy`` slots of each named concurrency limit while the block runs.

    A name that also has a rate limit takes that many of its rate slots on entry.

    Args:
        names: a limit's name, or a list of names.
        occupy: the slots to hold of each.
        timeout_seconds: give up after this many seconds (default: wait as long as needed).
        max_retries: accepted for compatibility (slots are waited for, not retried).
        lease_duration: accepted for compatibility (a slot is held until the block ends, and
            freed by the operating system if the process dies).
        strict: raise if a name has no limit.
        holder: accepted for compatibility.
        clock: the clock rate limits wait on (default: the engine's clock).

    Raises:
        AcquireConcurrencySlotTimeoutError: (a ``TimeoutError``) if ``timeout_seconds`` passed.
        ConcurrencySlotAcquisitionError: with ``strict`` for a name without a limit, or when
            ``occupy`` exceeds a limit.
    """
    held = acquire_concurrency(as_names(names), occupy, timeout_seconds, strict, clock)
    try:
        yield
    finally:
        for h in reversed(held):
            h.release()


def rate_limit(
    names: str | list[str],
    occupy: int = 1,
    timeout_seconds: float | None = None,
    strict: bool = False,
    *,
    clock: Any = None,
) -> None:
    """Wait until ``occupy`` slots of each named rate limit are free, and take them.

    Args:
        names: a rate limit's name, or a list of names.
        occupy: the slots to take of each.
        timeout_seconds: raise instead of waiting longer than this.
        strict: raise if a name has no rate limit.
        clock: the clock to read and wait on (default: the engine's clock; a
            :class:`~headwater.engine.schedule_loop.ManualClock` makes tests instant).

    Raises:
        AcquireConcurrencySlotTimeoutError: if the slots would come later than
            ``timeout_seconds``.
        ConcurrencySlotAcquisitionError: with ``strict`` for a name without a rate limit, or
            when ``occupy`` exceeds a bucket.
    """
    if not names:
        return
    acquire_rate(as_names(names), occupy, timeout_seconds, strict, clock)
