"""Secrets from the run context and the configuration, and the (server-only) ``Client``.

::

    from headwater.client import Secret

headwater runs in-process, so only local secrets exist: see :mod:`headwater.client.secrets`.
:class:`~headwater.client.client.Client`, Prefect's API client, raises
:class:`~headwater.exceptions.ServerNotAvailableError` when created.
"""

from __future__ import annotations

from headwater.client.client import Client
from headwater.client.secrets import Secret

__all__ = ["Client", "Secret"]
