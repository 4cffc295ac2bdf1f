"""``SlackTask``: post a message to a Slack incoming webhook.

The webhook URL is a secret (``SLACK_WEBHOOK_URL`` by default, see
:class:`~headwater.client.Secret`) or comes from an upstream secret task::

    from headwater import Flow
    from headwater.tasks.notifications import SlackTask

    notify = SlackTask(message="Nightly load finished")

    with Flow("nightly") as flow:
        notify()
"""

from __future__ import annotations

from typing import Any

from headwater.core.task import Task
from headwater.utilities.tasks import defaults_from_attrs

__all__ = ["SlackTask"]


class SlackTask(Task):
    """Send a message to Slack through an incoming-webhook URL.

    Args:
        message: the text, or a Slack message payload dict; can also be given to ``run``.
        webhook_secret: name of the secret holding the webhook URL.
        **kwargs: any :class:`~headwater.core.task.Task` option.
    """

    def __init__(
        self,
        message: str | dict[str, Any] | None = None,
        webhook_secret: str = "SLACK_WEBHOOK_URL",
        **kwargs: Any,
    ) -> None:
        self.message = message
        self.webhook_secret = webhook_secret
        super().__init__(**kwargs)

    @defaults_from_attrs("message", "webhook_secret")
    def run(
        self,
        message: str | dict[str, Any] | None = None,
        webhook_secret: str | None = None,
        webhook_url: str | None = None,
    ) -> None:
        """Post ``message``.

        Args:
            message: the text or payload (default: the one given at construction).
            webhook_secret: the secret holding the URL (default: the one given at construction).
            webhook_url: the URL itself (e.g. from an upstream secret task); wins over
                ``webhook_secret``.

        Raises:
            ValueError: no message, a missing or unusable URL, or Slack refused the message
                (the URL is never shown).
        """
        from headwater.utilities._webhooks import check_webhook_url, post_json, redact

        if message is None:
            raise ValueError(f"SlackTask {self.name!r}: no message given.")
        source = "webhook_url" if webhook_url else repr(webhook_secret)
        if not webhook_url:
            from headwater.client import Secret

            secret = Secret(str(webhook_secret))
            if not secret.exists():
                raise ValueError(
                    f"SlackTask {self.name!r}: the secret {webhook_secret!r} holding the Slack "
                    "webhook URL is not set; set it in [context.secrets] or "
                    f"HEADWATER__CONTEXT__SECRETS__{webhook_secret}, or pass webhook_url."
                )
            webhook_url = str(secret.get())
        check_webhook_url(webhook_url, source)
        payload = message if isinstance(message, dict) else {"text": message}
        try:
            post_json(webhook_url, payload)
        except ValueError as exc:
            close = getattr(exc.__cause__, "close", None)
            if close is not None:  # an HTTP error keeps the response open
                close()
            raise ValueError(
                f"SlackTask {self.name!r}: posting failed: {redact(str(exc), webhook_url)}"
            ) from None
