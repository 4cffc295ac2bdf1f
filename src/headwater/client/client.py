"""``Client``: Prefect's API client. headwater has no server, so creating one raises.

Secrets, the one part of Prefect's client that works locally, are
:class:`~headwater.client.secrets.Secret`.
"""

from __future__ import annotations

from headwater._server_only import ServerOnly

__all__ = ["Client"]


class Client(ServerOnly):
    """Prefect's server and Cloud API client; raises ``ServerNotAvailableError`` when created.

    Raises:
        ServerNotAvailableError: always. Run flows with ``flow.run()``, read secrets with
            ``Secret(name).get()``, and keep flows with ``flow.save()`` or ``Local`` storage.
    """

    _alternative = (
        "run flows with flow.run(), read local secrets with headwater.client.Secret(name).get(), "
        "and keep flows with flow.save() / Flow.load() or headwater.storage.Local"
    )
