"""Prefect's ``Webhook`` block (``prefect.blocks.webhook``): it raises, naming the local way.

Prefect saves the webhook's URL and headers on its server and loads them by name. headwater
saves no block holding a secret: call the URL from a task, with the URL or token kept under
``[context.secrets]`` in ``config.toml`` (``Secret.load("name").get()``)::

    from headwater.blocks.webhook import Webhook
    from headwater.exceptions import ServerNotAvailableError

    try:
        Webhook(url="https://example.com/hook")
    except ServerNotAvailableError as exc:
        assert "urllib.request" in str(exc)
"""

from __future__ import annotations

from headwater.modern.server_only import ServerOnlyBlock

__all__ = ["Webhook"]


class Webhook(ServerOnlyBlock):
    """An HTTP endpoint with its method and headers, saved on Prefect's server."""

    _alternative = (
        "call the URL from a task with urllib.request (or httpx), reading the URL or token "
        'with headwater.blocks.system.Secret.load("NAME").get() from [context.secrets] in '
        "config.toml"
    )
