"""Tasks that send notifications, for when a state handler is not the right place.

- :class:`SlackTask` posts a message to a Slack incoming-webhook URL (kept in a secret);
- :class:`EmailTask` sends an email over SMTP;
- :class:`PushbulletTask` pushes a note with the ``pushbullet.py`` package.
"""

from __future__ import annotations

from headwater.tasks.notifications.email_task import EmailTask
from headwater.tasks.notifications.pushbullet_task import PushbulletTask
from headwater.tasks.notifications.slack_task import SlackTask

__all__ = ["EmailTask", "PushbulletTask", "SlackTask"]
