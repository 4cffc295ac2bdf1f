"""Prefect's notification blocks (``prefect.blocks.notifications``): they raise, naming hooks.

Prefect saves a notification block (a Slack or Teams webhook, an e-mail account...) on its
server and loads it by name. headwater saves no block holding a secret, so these classes exist
for imports to work, and creating or loading one raises
:class:`~headwater.exceptions.ServerNotAvailableError` naming the local way: a hook of the flow
that sends the message, with the webhook URL kept under ``[context.secrets]``::

    from headwater.blocks.notifications import SlackWebhook
    from headwater.exceptions import ServerNotAvailableError

    try:
        SlackWebhook.load("alerts")
    except ServerNotAvailableError as exc:
        assert "on_failure" in str(exc)
"""

from __future__ import annotations

from headwater.modern.server_only import NOTIFY_LOCALLY, ServerOnlyBlock

__all__ = [
    "AbstractAppriseNotificationBlock",
    "AppriseNotificationBlock",
    "CustomWebhookNotificationBlock",
    "DiscordWebhook",
    "MattermostWebhook",
    "MicrosoftTeamsWebhook",
    "NotificationBlock",
    "OpsgenieWebhook",
    "PagerDutyWebHook",
    "SendgridEmail",
    "SlackWebhook",
    "TwilioSMS",
]


class NotificationBlock(ServerOnlyBlock):
    """The base of Prefect's notification blocks."""

    _alternative = NOTIFY_LOCALLY


class AbstractAppriseNotificationBlock(NotificationBlock):
    """The base of Prefect's notification blocks sending through Apprise."""


class AppriseNotificationBlock(AbstractAppriseNotificationBlock):
    """A notification block sending to one Apprise URL."""


class SlackWebhook(AppriseNotificationBlock):
    """Posts to a Slack incoming webhook."""


class MicrosoftTeamsWebhook(AppriseNotificationBlock):
    """Posts to a Microsoft Teams workflow webhook."""


class PagerDutyWebHook(AbstractAppriseNotificationBlock):
    """Opens a PagerDuty incident."""


class TwilioSMS(AbstractAppriseNotificationBlock):
    """Sends a text message through Twilio."""


class OpsgenieWebhook(AbstractAppriseNotificationBlock):
    """Opens an Opsgenie alert."""


class MattermostWebhook(AbstractAppriseNotificationBlock):
    """Posts to a Mattermost webhook."""


class DiscordWebhook(AbstractAppriseNotificationBlock):
    """Posts to a Discord webhook."""


class CustomWebhookNotificationBlock(NotificationBlock):
    """Calls any webhook with a templated request."""


class SendgridEmail(AbstractAppriseNotificationBlock):
    """Sends an e-mail through SendGrid."""
