"""Posting to a webhook whose URL is a secret: checking the URL, masking it, posting JSON.

Used by :func:`~headwater.utilities.notifications.slack_notifier` and
:class:`~headwater.tasks.notifications.slack_task.SlackTask`. The URL never appears in an error
message: :func:`redact` masks it, and every part of it longer than three characters::

    >>> redact("could not reach https://hooks.example.com/T000/B000", "https://hooks.example.com/T000/B000")
    'could not reach ****'
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["check_webhook_url", "post_json", "redact"]


def check_webhook_url(url: str, secret_name: str) -> None:
    """Refuse a webhook URL that cannot work, without ever showing it (it is a secret)."""
    from urllib.parse import urlsplit

    problem = None
    if any(c.isspace() or ord(c) < 32 or ord(c) == 127 for c in url):
        problem = "it contains spaces or control characters"
    else:
        try:
            parts = urlsplit(url)
            _ = parts.port  # a port that is not a number raises ValueError
        except ValueError:
            problem = "it is not a valid URL"
        else:
            if parts.scheme not in ("http", "https"):
                problem = "it does not start with https://"
            elif not parts.hostname:
                problem = "it has no host name"
    if problem is not None:
        raise ValueError(
            f"Secret {secret_name!r} does not hold a usable webhook URL: {problem} (expected "
            "https://hooks.slack.com/services/...). Its value is not shown because it is a "
            "secret."
        )


def redact(text: str, url: str) -> str:
    """``text`` with the URL, and every part of it longer than three characters, masked."""
    pieces = {url, *(p for p in re.split(r"[/:@?#&=;.]+", url) if len(p) > 3)}
    pieces -= {"http", "https"}
    for piece in sorted(pieces, key=len, reverse=True):
        text = text.replace(piece, "****")
    return text


def post_json(url: str, payload: dict[str, Any]) -> None:
    """POST ``payload`` as JSON to ``url``.

    Raises:
        ValueError: the webhook answered with an HTTP error or could not be reached (the cause
            keeps the response, to be closed).
    """
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode("utf-8"),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
    except urllib.error.HTTPError as exc:
        raise ValueError(f"the webhook answered HTTP {exc.code} {exc.reason}") from exc
    except urllib.error.URLError as exc:
        raise ValueError(f"the webhook could not be reached: {exc.reason}") from exc
