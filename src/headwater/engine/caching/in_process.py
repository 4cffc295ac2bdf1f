"""The in-process cache: ``context.caches``, a dict from cache key to cached states.

Each key holds a list of ``Cached`` states, newest first. :func:`remember` adds a state and
drops expired ones, so that a task run again and again with different inputs and a short
``cache_for`` does not keep every state it ever made::

    import datetime

    from headwater.engine.caching.in_process import remember
    from headwater.engine.state import Cached

    now = datetime.datetime.now(datetime.UTC)
    caches = {}
    remember(caches, "key", Cached(result=1, cached_result_expiration=now))  # already expired
    remember(caches, "key", Cached(result=2, cached_result_expiration=now.replace(year=now.year + 1)))
    assert [s.result for s in caches["key"]] == [2]

The work is amortized: expired states at the old end of the list (with one ``cache_for`` per
key, the oldest states expire first) are popped on every insert, each at most once; a full pass
over the list runs only when its length reaches a power of two of at least
:data:`FULL_PASS_AT`, which removes expired states from the middle of lists shared by tasks with
different ``cache_for`` (one ``cache_key``).

:func:`clear_process_caches` forgets every state of the process-wide cache (the one flow runs use
unless ``context.caches`` is given), for tests that must not see an earlier test's ``Cached``
states.
"""

from __future__ import annotations

import datetime
import threading
from typing import Any

__all__ = ["FULL_PASS_AT", "clear_process_caches", "is_expired", "remember"]

FULL_PASS_AT = 64
_lock = threading.Lock()


def is_expired(state: Any, now: datetime.datetime) -> bool:
    """Whether a cached state's ``cached_result_expiration`` has passed (``None``: never)."""
    expiration = getattr(state, "cached_result_expiration", None)
    return expiration is not None and expiration <= now


def remember(caches: dict[str, list[Any]], key: str, state: Any) -> None:
    """Add ``state`` as the newest entry of ``caches[key]`` and drop expired entries.

    The new state itself is always kept, even if it has already expired.

    Args:
        caches: the in-process cache (``context.caches``).
        key: the cache key.
        state: the ``Cached`` state to add.
    """
    now = datetime.datetime.now(datetime.UTC)
    with _lock:
        entries = caches.get(key)
        if entries is None:
            caches[key] = [state]
            return
        entries.insert(0, state)
        while len(entries) > 1 and is_expired(entries[-1], now):
            entries.pop()
        n = len(entries)
        if n >= FULL_PASS_AT and n & (n - 1) == 0:
            entries[1:] = [e for e in entries[1:] if not is_expired(e, now)]


def clear_process_caches() -> None:
    """Forget every cached state of the process-wide in-process cache.

    Flow runs keep ``Cached`` states there unless their ``context.caches`` is given; after this
    call the next run of a task with ``cache_for`` runs it again. The persistent cache
    (``{home_dir}/cache``) is not touched.
    """
    from headwater.engine._task_reuse import PROCESS_CACHES

    with _lock:
        PROCESS_CACHES.clear()


def input_tokens(inputs: dict[str, Any]) -> dict[str, str]:
    """``{name: token}`` of the inputs (``Cached.hashed_inputs``, as Prefect Core 1.x).

    Each token is :func:`~headwater.engine.caching.hashing.input_token`: the input's stable
    hash (the same in every process, no dask needed); an input without a token is left out.
    """
    if not inputs:
        return {}
    from headwater.engine.caching.hashing import input_token

    out = {}
    for key, value in inputs.items():
        token = input_token(value)
        if token is not None:
            out[key] = token
    return out
