"""The UI's access to the run-history store: every call made in one thread of its own.

The store is opened, read and closed in that thread, so the UI works with any store
(``sqlite3`` connections belong to the thread that opened them) and its requests never block
the server's event loop.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

__all__ = ["StoreAccess"]

RUN_LOOKUP = 50
"""How many of a flow's newest runs :meth:`StoreAccess.find_run` looks through."""


def _open(target: str | None) -> Any:
    from headwater.history import flush, open_store

    flush()  # runs this process finished are written before the store looks for crashed ones
    return open_store(target)


class StoreAccess:
    """The history store at ``target`` (a SQLite path, a URL, or ``None`` for the configured one).

    Args:
        target: where the history is.
    """

    def __init__(self, target: str | None = None) -> None:
        self.target = target
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="headwater-ui-store")
        self._store = self._pool.submit(_open, target).result()

    def call(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """``store.METHOD(*args, **kwargs)``, run in the store's thread."""
        return self._pool.submit(getattr(self._store, method), *args, **kwargs).result()

    async def acall(self, method: str, *args: Any, **kwargs: Any) -> Any:
        """:meth:`call` for async code: awaits the store's thread."""
        future = self._pool.submit(getattr(self._store, method), *args, **kwargs)
        return await asyncio.wrap_future(future)

    def find_run(self, flow_name: str, names: tuple[str, ...]) -> int | None:
        """The id of the run of flow ``flow_name`` named one of ``names``, once it is recorded."""
        flush = getattr(self._store, "flush", None)
        if flush is not None:
            self.call("flush")
        runs = self.call("list_flow_runs", flow_name=flow_name, limit=RUN_LOOKUP)
        for run in runs:
            if run.get("name") in names:
                return int(run["id"])
        return None

    def close(self) -> None:
        """Close the store and end its thread."""
        try:
            self._pool.submit(self._store.close).result()
        finally:
            self._pool.shutdown(wait=True)
