"""``PushbulletTask``: push a note to your devices with Pushbullet (needs ``pushbullet.py``)."""

from __future__ import annotations

from typing import Any

from headwater.core.task import Task
from headwater.utilities.tasks import defaults_from_attrs

__all__ = ["PushbulletTask"]


class PushbulletTask(Task):
    """Push a "Flow Notification" note with Pushbullet.

    Args:
        msg: the note's text; can also be given to ``run``.
        **kwargs: any :class:`~headwater.core.task.Task` option.
    """

    def __init__(self, msg: str | None = None, **kwargs: Any) -> None:
        self.msg = msg
        super().__init__(**kwargs)

    @defaults_from_attrs("msg")
    def run(self, msg: str | None = None, access_token: str | None = None) -> None:
        """Push ``msg``.

        Args:
            msg: the text (default: the one given at construction).
            access_token: a Pushbullet token (default: the secret ``PUSHBULLET_TOKEN``).

        Raises:
            ImportError: ``pushbullet.py`` is not installed.
            ValueError: no message.
        """
        try:
            from pushbullet import Pushbullet
        except ImportError:
            raise ImportError(
                "PushbulletTask needs the pushbullet.py package: pip install pushbullet.py"
            ) from None
        if msg is None:
            raise ValueError(f"PushbulletTask {self.name!r}: a message must be provided.")
        if access_token is None:
            from headwater.client import Secret

            access_token = str(Secret("PUSHBULLET_TOKEN").get())
        Pushbullet(access_token).push_note("Flow Notification", msg)
