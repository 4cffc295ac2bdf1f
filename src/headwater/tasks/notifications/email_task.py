"""``EmailTask``: send an email through an SMTP server.

The login comes from the secrets ``EMAIL_USERNAME`` and ``EMAIL_PASSWORD`` (not needed with
``smtp_type="INSECURE"``, e.g. an internal relay on port 25).
"""

from __future__ import annotations

import os
from typing import Any

from headwater.core.task import Task
from headwater.utilities.tasks import defaults_from_attrs

__all__ = ["EmailTask"]

_SMTP_TYPES = ("SSL", "STARTTLS", "INSECURE")


class EmailTask(Task):
    """Send an email (HTML and/or plain text, with attachments) over SMTP.

    Args:
        subject: the subject.
        msg: the HTML body.
        email_to: the recipient(s), comma separated.
        email_from: the sender address.
        smtp_server: the SMTP host (default ``smtp.gmail.com``).
        smtp_port: the SMTP port (default 465).
        smtp_type: ``"SSL"`` (default), ``"STARTTLS"`` or ``"INSECURE"``.
        msg_plain: the plain-text body.
        email_to_cc: carbon-copy recipient(s).
        email_to_bcc: blind carbon-copy recipient(s).
        attachments: paths of files to attach.
        **kwargs: any :class:`~headwater.core.task.Task` option.

    Raises:
        ValueError: ``smtp_type`` is not one of the three types.
    """

    def __init__(
        self,
        subject: str | None = None,
        msg: str | None = None,
        email_to: str | None = None,
        email_from: str = "notifications@prefect.io",
        smtp_server: str = "smtp.gmail.com",
        smtp_port: int = 465,
        smtp_type: str = "SSL",
        msg_plain: str | None = None,
        email_to_cc: str | None = None,
        email_to_bcc: str | None = None,
        attachments: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        _check_type(smtp_type)
        self.subject = subject
        self.msg = msg
        self.email_to = email_to
        self.email_from = email_from
        self.smtp_server = smtp_server
        self.smtp_port = smtp_port
        self.smtp_type = smtp_type
        self.msg_plain = msg_plain
        self.email_to_cc = email_to_cc
        self.email_to_bcc = email_to_bcc
        self.attachments = list(attachments or [])
        super().__init__(**kwargs)

    @defaults_from_attrs(
        "subject",
        "msg",
        "email_to",
        "email_from",
        "smtp_server",
        "smtp_port",
        "smtp_type",
        "msg_plain",
        "email_to_cc",
        "email_to_bcc",
        "attachments",
    )
    def run(
        self,
        subject: str | None = None,
        msg: str | None = None,
        email_to: str | None = None,
        email_from: str | None = None,
        smtp_server: str | None = None,
        smtp_port: int | None = None,
        smtp_type: str | None = None,
        msg_plain: str | None = None,
        email_to_cc: str | None = None,
        email_to_bcc: str | None = None,
        attachments: list[str] | None = None,
    ) -> None:
        """Build and send the message (arguments default to the ones given at construction).

        Raises:
            ValueError: no recipient, or an unknown ``smtp_type``.
            FileNotFoundError: an attachment does not exist.
        """
        import smtplib
        import ssl

        smtp_type = str(smtp_type)
        _check_type(smtp_type)
        if not email_to:
            raise ValueError(f"EmailTask {self.name!r}: no recipient; give email_to.")
        message = _build_message(
            subject, msg, msg_plain, email_to, email_from, email_to_cc, email_to_bcc, attachments
        )
        server: smtplib.SMTP
        if smtp_type == "INSECURE":
            server = smtplib.SMTP(smtp_server or "", smtp_port or 25)
        else:
            from headwater.client import Secret

            username = str(Secret("EMAIL_USERNAME").get())
            password = str(Secret("EMAIL_PASSWORD").get())
            context = ssl.create_default_context()
            if smtp_type == "SSL":
                server = smtplib.SMTP_SSL(smtp_server or "", smtp_port or 465, context=context)
            else:
                server = smtplib.SMTP(smtp_server or "", smtp_port or 587)
                server.starttls(context=context)
            server.login(username, password)
        try:
            server.send_message(message)
        finally:
            server.quit()


def _check_type(smtp_type: str) -> None:
    if smtp_type not in _SMTP_TYPES:
        raise ValueError(
            f"{smtp_type} is an unsupported value for smtp_type; use one of "
            f"{', '.join(_SMTP_TYPES)}."
        )


def _build_message(
    subject: str | None,
    html: str | None,
    plain: str | None,
    email_to: str,
    email_from: str | None,
    cc: str | None,
    bcc: str | None,
    attachments: list[str] | None,
) -> Any:
    from email import encoders
    from email.mime.base import MIMEBase
    from email.mime.multipart import MIMEMultipart
    from email.mime.text import MIMEText

    message = MIMEMultipart()
    message["Subject"] = subject or ""
    message["From"] = email_from or ""
    message["To"] = email_to
    if cc:
        message["Cc"] = cc
    if bcc:
        message["Bcc"] = bcc
    if plain:
        message.attach(MIMEText(plain, "plain"))
    if html:
        message.attach(MIMEText(html, "html"))
    for path in attachments or ():
        with open(path, "rb") as f:
            part = MIMEBase("application", "octet-stream")
            part.set_payload(f.read())
        encoders.encode_base64(part)
        part.add_header("Content-Disposition", f"attachment; filename= {os.path.basename(path)}")
        message.attach(part)
    return message
