"""Notification tasks: SlackTask against a real local HTTP server, EmailTask's message."""

from __future__ import annotations

import http.server
import json
import queue
import smtplib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import headwater
from headwater import Flow
from headwater.tasks.notifications import EmailTask, SlackTask


class _Webhook(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"]))
        self.server.received.put(json.loads(body))  # type: ignore[attr-defined]
        status = self.server.status  # type: ignore[attr-defined]
        self.send_response(status)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def webhook() -> Iterator[Any]:
    server: Any = http.server.HTTPServer(("127.0.0.1", 0), _Webhook)
    server.received = queue.Queue()
    server.status = 200
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.url = f"http://127.0.0.1:{server.server_address[1]}/services/T0/B0/secret-part"
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def run_task(t: Any, **kwargs: Any) -> Any:
    with Flow("notify") as flow:
        result = t(**kwargs)
    return flow.run().result[result]


class TestSlackTask:
    def test_text_is_posted_with_the_url_from_a_secret(self, webhook: Any) -> None:
        with headwater.context(secrets={"SLACK_WEBHOOK_URL": webhook.url}):
            state = run_task(SlackTask(message="load finished"))
        assert state.is_successful()
        assert webhook.received.get(timeout=5) == {"text": "load finished"}

    def test_payload_dict_and_url_argument(self, webhook: Any) -> None:
        payload = {"text": "x", "blocks": []}
        SlackTask().run(message=payload, webhook_url=webhook.url)
        assert webhook.received.get(timeout=5) == payload

    def test_missing_secret_is_named(self) -> None:
        with pytest.raises(ValueError, match="secret 'NOPE'.*HEADWATER__CONTEXT__SECRETS__NOPE"):
            SlackTask(message="m", webhook_secret="NOPE").run()

    def test_refused_post_does_not_show_the_url(self, webhook: Any) -> None:
        webhook.status = 400
        with pytest.raises(ValueError, match="HTTP 400") as info:
            SlackTask(message="m").run(webhook_url=webhook.url)
        assert "secret-part" not in str(info.value)


class _FakeSMTP:
    sent: list[Any] = []

    def __init__(self, host: str, port: int) -> None:
        self.address = (host, port)

    def send_message(self, message: Any) -> None:
        self.sent.append((self.address, message))

    def quit(self) -> None:
        pass


class TestEmailTask:
    def test_insecure_server_gets_the_message_with_attachments(
        self, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
    ) -> None:
        monkeypatch.setattr(smtplib, "SMTP", _FakeSMTP)
        _FakeSMTP.sent.clear()
        report = tmp_path / "report.csv"
        report.write_text("a,b\n1,2\n")
        task = EmailTask(
            subject="Daily report",
            msg="<b>done</b>",
            email_to="team@example.com",
            smtp_server="relay.local",
            smtp_port=25,
            smtp_type="INSECURE",
            attachments=[str(report)],
        )
        assert run_task(task).is_successful()
        [(address, message)] = _FakeSMTP.sent
        assert address == ("relay.local", 25)
        assert message["Subject"] == "Daily report"
        assert message["To"] == "team@example.com"
        names = [part.get_filename() for part in message.walk() if part.get_filename()]
        assert names == ["report.csv"]

    def test_unknown_smtp_type(self) -> None:
        with pytest.raises(ValueError, match="TLS1 is an unsupported value for smtp_type"):
            EmailTask(smtp_type="TLS1")
