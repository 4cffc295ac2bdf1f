"""Prefect's API client (Prefect 3's ``prefect.client.orchestration``): it needs the server.

``get_client()`` and the client classes exist, so a script importing them still imports, and
using them raises :class:`~headwater.exceptions.ServerNotAvailableError` naming the local way:
headwater keeps runs in its run history (``headwater.history``, the ``headwater runs`` command
and the ``headwater ui`` web UI) and named values in :mod:`headwater.variables`::

    from headwater.client.orchestration import get_client
    from headwater.exceptions import ServerNotAvailableError

    try:
        get_client()
    except ServerNotAvailableError as exc:
        assert "run history" in str(exc)
"""

from __future__ import annotations

from headwater._server_only import ServerOnly
from headwater.modern.server_only import HISTORY_LOCALLY, get_client

__all__ = ["PrefectClient", "SyncPrefectClient", "get_client"]


class PrefectClient(ServerOnly):
    """Prefect's async API client."""

    _alternative = HISTORY_LOCALLY


class SyncPrefectClient(PrefectClient):
    """Prefect's sync API client."""
