"""``concurrency`` and ``rate_limit`` for asyncio code: the waiting happens off the event loop.

::

    import asyncio
    from headwater.concurrency import set_concurrency_limit
    from headwater.concurrency.asyncio import concurrency, rate_limit

    set_concurrency_limit("database", 2)

    async def query():
        async with concurrency("database"):
            await asyncio.sleep(0)
        await rate_limit("no-such-limit")   # a name without a limit does not wait

    asyncio.run(query())
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from headwater.concurrency._acquire import acquire_concurrency, acquire_rate, as_names

__all__ = ["concurrency", "rate_limit"]


@asynccontextmanager
async def concurrency(
    names: str | list[str],
    occupy: int = 1,
    timeout_seconds: float | None = None,
    max_retries: int | None = None,
    lease_duration: float = 300,
    strict: bool = False,
    holder: Any = None,
    *,
    clock: Any = None,
) -> AsyncIterator[None]:
    """Hold ``occupy`` slots of each named limit while the block runs (see the sync version)."""
    listed = as_names(names)
    held = await asyncio.to_thread(
        acquire_concurrency, listed, occupy, timeout_seconds, strict, clock
    )
    try:
        yield
    finally:
        for h in reversed(held):
            h.release()


async def rate_limit(
    names: str | list[str],
    occupy: int = 1,
    timeout_seconds: float | None = None,
    strict: bool = False,
    *,
    clock: Any = None,
) -> None:
    """Wait until ``occupy`` slots of each named rate limit are free, and take them."""
    if not names:
        return
    await asyncio.to_thread(acquire_rate, as_names(names), occupy, timeout_seconds, strict, clock)
