"""Concurrency and rate limits without a server, in threads and across processes on one machine.

- :func:`headwater.concurrency.sync.concurrency` / ``rate_limit`` (and their
  :mod:`headwater.concurrency.asyncio` twins) take slots of named limits;
- limits are declared in the configuration (``[concurrency.limits] name = N``,
  ``[concurrency.rate_limits] name = "N/s"``) or in code with :func:`set_concurrency_limit`
  and :func:`set_rate_limit`;
- tasks tagged with a tag that has a limit under ``[tasks.concurrency]`` hold one of its slots
  while they run.

Across processes, slots are locked files under ``{home_dir}/locks``, freed by the
operating system when a holder dies; see ``docs/how-to/concurrency-and-serving.md``.
"""

from __future__ import annotations

from headwater.concurrency._core import (
    AcquireConcurrencySlotTimeoutError,
    ConcurrencySlotAcquisitionError,
    Rate,
    clear_limits,
    concurrency_limit,
    parse_rate,
    rate_limit_of,
    set_concurrency_limit,
    set_rate_limit,
)

__all__ = [
    "AcquireConcurrencySlotTimeoutError",
    "ConcurrencySlotAcquisitionError",
    "Rate",
    "clear_limits",
    "concurrency_limit",
    "parse_rate",
    "rate_limit_of",
    "set_concurrency_limit",
    "set_rate_limit",
]
